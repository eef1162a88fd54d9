"""AMP TCPping report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in the collection module's
docstring; tests/unit/amp_reports.py has the helpers the AMP collections' tests share.
"""

from __future__ import annotations

import copy

import pytest

from nntsc.collections.amp_tcpping import AmpTcpping
from nntsc.errors import BadReport
from tests.unit.amp_reports import SOURCE, V4, V6, by, ip, parse


def tcp_item(name="www.example.com", address="192.0.2.10", **fields):
    item = {"name": name}
    if address is not None:
        item["address"] = ip(address)
        item["family"] = V6 if ":" in address else V4
    item.update(fields)
    return item


def tcpping_report(*items, **header):
    return {
        "header": {"packet_size": 64, "random": False, "port": 443, **header},
        "reports": list(items),
    }


def test_tcpping_realistic_report():
    report = tcpping_report(
        tcp_item(address="192.0.2.10", rtt=12000, flags={"syn": True, "ack": True}),
        tcp_item(address="2001:db8::10", rtt=15000, flags={"syn": True, "ack": True}),
        tcp_item(address="192.0.2.11"),
        tcp_item(address="192.0.2.12", icmptype=3, icmpcode=13),
        tcp_item(address="192.0.2.13", rtt=10000, flags={"rst": True, "ack": True}),
        {"name": "unresolved.example", "family": V6},
    )
    rows = by(parse(AmpTcpping(), report), "destination", "family")
    assert set(rows) == {
        ("www.example.com", "ipv4"),
        ("www.example.com", "ipv6"),
        ("unresolved.example", "ipv6"),
    }
    v4 = rows[("www.example.com", "ipv4")]
    assert v4.properties == {
        "source": SOURCE,
        "destination": "www.example.com",
        "port": "443",
        "family": "ipv4",
        "packet_size": "64",
    }
    assert v4.values == {
        "median": 11000.0,
        "min": 10000,
        "max": 12000,
        "loss": 1,
        "icmperrors": 1,
        "results": 4,
        "lossrate": 0.25,
        "rtts": [10000, 12000, None, None],
    }
    assert rows[("www.example.com", "ipv6")].values == {
        "median": 15000.0,
        "min": 15000,
        "max": 15000,
        "loss": 0,
        "icmperrors": 0,
        "results": 1,
        "lossrate": 0.0,
        "rtts": [15000],
    }
    assert rows[("unresolved.example", "ipv6")].values == {
        "median": None,
        "min": None,
        "max": None,
        "loss": None,
        "icmperrors": None,
        "results": 0,
        "lossrate": None,
        "rtts": None,
    }


def test_tcpping_icmp_errors_are_neither_rtts_nor_losses():
    report = tcpping_report(
        tcp_item(icmptype=3, icmpcode=1), tcp_item(icmptype=11, icmpcode=0), tcp_item(rtt=500)
    )
    (row,) = parse(AmpTcpping(), report)
    assert row.values["icmperrors"] == 2
    assert row.values["loss"] == 0
    assert row.values["lossrate"] == 0.0
    assert row.values["results"] == 3
    assert row.values["rtts"] == [500, None, None]
    assert row.values["median"] == 500.0


def test_tcpping_icmp_type_zero_or_code_alone_is_an_error_reply():
    report = tcpping_report(tcp_item(icmptype=0, icmpcode=0), tcp_item(icmpcode=4))
    (row,) = parse(AmpTcpping(), report)
    assert (row.values["icmperrors"], row.values["loss"], row.values["results"]) == (2, 0, 2)


def test_tcpping_all_lost():
    report = tcpping_report(tcp_item(), tcp_item(address="192.0.2.99"))
    (row,) = parse(AmpTcpping(), report)
    assert row.values == {
        "median": None,
        "min": None,
        "max": None,
        "loss": 2,
        "icmperrors": 0,
        "results": 2,
        "lossrate": 1.0,
        "rtts": [None, None],
    }


def test_tcpping_unresolved_item_is_neither_result_nor_loss():
    report = tcpping_report(tcp_item(rtt=700), {"name": "www.example.com", "family": V4})
    (row,) = parse(AmpTcpping(), report)
    assert (row.values["results"], row.values["loss"], row.values["rtts"]) == (1, 0, [700])


def test_tcpping_port_and_packet_size_in_key_and_defaults():
    (row,) = parse(AmpTcpping(), {"header": {}, "reports": [tcp_item(rtt=1)]})
    assert (row.properties["port"], row.properties["packet_size"]) == ("80", "64")
    (row,) = parse(AmpTcpping(), {"reports": [tcp_item(rtt=1)]})
    assert (row.properties["port"], row.properties["packet_size"]) == ("80", "64")
    (row,) = parse(AmpTcpping(), tcpping_report(tcp_item(rtt=1), port=22, random=True))
    assert (row.properties["port"], row.properties["packet_size"]) == ("22", "random")


def test_tcpping_does_not_modify_report():
    report = tcpping_report(tcp_item(rtt=3), tcp_item(rtt=1), tcp_item())
    before = copy.deepcopy(report)
    parse(AmpTcpping(), report)
    assert report == before


@pytest.mark.parametrize(
    "report",
    [
        None,
        [],
        {},
        {"reports": []},
        {"reports": "x"},
        {"header": [], "reports": [tcp_item(rtt=1)]},
        tcpping_report("item"),
        tcpping_report(tcp_item(name="")),
        tcpping_report({"address": ip("192.0.2.1"), "family": V4, "rtt": 5}),
        tcpping_report(tcp_item(rtt=-1)),
        tcpping_report(tcp_item(rtt=1.5)),
        tcpping_report(tcp_item(rtt=True)),
        tcpping_report(tcp_item(rtt=60_000_001)),
        tcpping_report(tcp_item(rtt=100, icmptype=3, icmpcode=1)),
        tcpping_report(tcp_item(icmptype=256)),
        tcpping_report(tcp_item(icmptype=-3)),
        tcpping_report(tcp_item(icmpcode="1")),
        tcpping_report(tcp_item(family=V6)),
        tcpping_report({"name": "x"}),
        tcpping_report(tcp_item(rtt=1), port=0),
        tcpping_report(tcp_item(rtt=1), port=65536),
        tcpping_report(tcp_item(rtt=1), port="443"),
        tcpping_report(tcp_item(rtt=1), packet_size=0),
        tcpping_report(tcp_item(rtt=1), random="yes"),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_tcpping_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpTcpping(), report)


# -- through the protobuf codec ------------------------------------------------------


def test_report_decoded_from_protobuf():
    """A report that went through the wire codec parses as the hand-made dict does."""
    report = tcpping_report(
        tcp_item(rtt=5, flags={"syn": True}), tcp_item(icmptype=3, icmpcode=1), tcp_item()
    )
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode("tcpping", wire.encode("tcpping", report))
    assert parse(AmpTcpping(), decoded) == parse(AmpTcpping(), report)
