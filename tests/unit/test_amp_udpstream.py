"""AMP UDPstream report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in the collection module's
docstring; tests/unit/amp_reports.py has the helpers the AMP collections' tests share.
"""

from __future__ import annotations

import pytest

from nntsc.collections.amp_udpstream import AmpUdpstream, deciles
from nntsc.errors import BadReport
from tests.unit.amp_reports import SOURCE, V4, V6, ip, parse


def udp_report(*items, **header):
    head = {
        "address": ip("2001:db8::50"),
        "family": V6,
        "packet_size": 100,
        "packet_spacing": 20000,
        "packet_count": 21,
        "name": "udp.example.net",
        "dscp": 46,
        "rtt_samples": 1,
    }
    head.update(header)
    return {"header": {k: v for k, v in head.items() if v is not None}, "reports": list(items)}


UDP_IN = {
    "direction": 1,
    "rtt": {"maximum": 21500, "minimum": 20100, "mean": 20800, "samples": 1},
    "jitter": {"maximum": 900, "minimum": -850, "mean": 3, "samples": 19},
    "percentiles": [-850, -400, -120, -30, 0, 15, 60, 140, 420, 900],
    "packets_received": 20,
    "loss_periods": [
        {"status": 1, "length": 10},
        {"status": 0, "length": 1},
        {"status": 1, "length": 10},
    ],
    "loss_percent": 100 - 20 / 21 * 100,
    "voip": {"icpif": 1, "cisco_mos": 4.3, "itu_rating": 92.1, "itu_mos": 4.39},
}
UDP_OUT = {
    "direction": 2,
    "jitter": {"maximum": 300, "minimum": -250, "mean": -2, "samples": 4},
    "percentiles": [-250, -10, 40, 300],
    "packets_received": 5,
    "loss_percent": 100 - 5 / 21 * 100,
}


def udp_properties(direction):
    return {
        "source": SOURCE,
        "destination": "udp.example.net",
        "address": "2001:db8::50",
        "direction": direction,
        "packet_size": "100",
        "packet_spacing": "20000",
        "packet_count": "21",
        "dscp": "EF",
    }


def percentile_values(*values):
    return dict(zip([f"jitter_percentile_{p}" for p in range(10, 101, 10)], values, strict=True))


def test_udpstream_realistic_report():
    rows = parse(AmpUdpstream(), udp_report(UDP_IN, UDP_OUT))
    assert [row.properties for row in rows] == [udp_properties("in"), udp_properties("out")]
    assert rows[0].values == {
        "mean_rtt": 20800,
        "mean_jitter": 3,
        "min_jitter": -850,
        "max_jitter": 900,
        **percentile_values(-850, -400, -120, -30, 0, 15, 60, 140, 420, 900),
        "packets_sent": 21,
        "packets_recvd": 20,
        "loss": 1 / 21,
        "itu_mos": 4.39,
        "results": 1,
    }
    # Four values: decile k is value number ceil(0.4 k): 1 1 2 2 2 3 3 4 4 4.
    assert rows[1].values == {
        "mean_rtt": None,
        "mean_jitter": -2,
        "min_jitter": -250,
        "max_jitter": 300,
        **percentile_values(-250, -250, -10, -10, -10, 40, 40, 300, 300, 300),
        "packets_sent": 21,
        "packets_recvd": 5,
        "loss": 16 / 21,
        "itu_mos": None,
        "results": 1,
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], [None] * 10),
        ([7], [7] * 10),
        ([1, 2], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]),
        ([1, 2, 3], [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]),
        ([1, 2, 3, 4, 5], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        (list(range(1, 11)), list(range(1, 11))),
        (list(range(1, 21)), list(range(2, 21, 2))),
    ],
)
def test_deciles(values, expected):
    assert deciles(values) == expected


def test_udpstream_everything_lost():
    item = {"direction": 1, "packets_received": 0, "loss_percent": 100.0, "percentiles": []}
    (row,) = parse(AmpUdpstream(), udp_report(item))
    assert row.values == {
        "mean_rtt": None,
        "mean_jitter": None,
        "min_jitter": None,
        "max_jitter": None,
        **percentile_values(*[None] * 10),
        "packets_sent": 21,
        "packets_recvd": 0,
        "loss": 1.0,
        "itu_mos": None,
        "results": 1,
    }


def test_udpstream_unmeasured_direction_has_null_counts():
    (row,) = parse(AmpUdpstream(), udp_report({"direction": 2, "percentiles": []}))
    assert (row.values["packets_sent"], row.values["packets_recvd"], row.values["loss"]) == (
        None,
        None,
        None,
    )
    assert row.values["results"] == 0


def test_udpstream_header_defaults_and_ipv4():
    report = {
        "header": {"name": "u", "address": ip("192.0.2.7"), "family": V4},
        "reports": [dict(UDP_OUT)],
    }
    (row,) = parse(AmpUdpstream(), report)
    assert row.properties == {
        "source": SOURCE,
        "destination": "u",
        "address": "192.0.2.7",
        "direction": "out",
        "packet_size": "100",
        "packet_spacing": "20000",
        "packet_count": "21",
        "dscp": "Default",
    }


def test_udpstream_without_items_makes_no_rows():
    assert parse(AmpUdpstream(), udp_report()) == []


@pytest.mark.parametrize(
    "report",
    [
        {"reports": "x"},
        udp_report("item"),
        udp_report({**UDP_IN, "direction": 0}),
        udp_report({k: v for k, v in UDP_IN.items() if k != "direction"}),
        udp_report(UDP_IN, {**UDP_OUT, "direction": 1}),
        udp_report({**UDP_IN, "packets_received": 22}),
        udp_report({**UDP_IN, "packets_received": -1}),
        udp_report({**UDP_IN, "percentiles": [5, 3]}),
        udp_report({**UDP_IN, "percentiles": [1.5]}),
        udp_report({**UDP_IN, "percentiles": "1,2"}),
        udp_report({**UDP_IN, "rtt": {"mean": -5}}),
        udp_report({**UDP_IN, "rtt": [1]}),
        udp_report({**UDP_IN, "jitter": {"mean": 10**9}}),
        udp_report({**UDP_IN, "loss_percent": 150.0}),
        udp_report({**UDP_IN, "loss_percent": float("nan")}),
        udp_report({**UDP_IN, "voip": {"itu_mos": 7.0}}),
        udp_report({**UDP_IN, "voip": {"itu_mos": float("inf")}}),
        udp_report(UDP_IN, packet_count=0),
        udp_report(UDP_IN, dscp=64),
        udp_report(UDP_IN, name=None),
        udp_report(UDP_IN, address=b"\x01\x02", family=None),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_udpstream_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpUdpstream(), report)


# -- through the protobuf codec ------------------------------------------------------


def test_report_decoded_from_protobuf():
    """A report that went through the wire codec parses as the hand-made dict does."""
    report = udp_report(UDP_IN, UDP_OUT)
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode("udpstream", wire.encode("udpstream", report))
    assert parse(AmpUdpstream(), decoded) == parse(AmpUdpstream(), report)
