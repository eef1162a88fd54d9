"""AMP throughput report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in the collection module's
docstring; tests/unit/amp_reports.py has the helpers the AMP collections' tests share.
"""

from __future__ import annotations

import pytest

from nntsc.collections.amp_throughput import AmpThroughput, Transfer, parse_schedule
from nntsc.errors import BadReport
from tests.unit.amp_reports import SOURCE, V4, V6, ip, parse


def tput_report(*items, **header):
    head = {
        "address": ip("192.0.2.50"),
        "family": V4,
        "schedule": "t10000,T10000",
        "write_size": 131072,
        "name": "tput.example.net",
        "dscp": 0,
    }
    head.update(header)
    return {"header": {k: v for k, v in head.items() if v is not None}, "reports": list(items)}


def tput_item(direction, duration, size, **extra):
    return {"direction": direction, "duration": duration, "bytes": size, **extra}


def tput_properties(**changes):
    properties = {
        "source": SOURCE,
        "destination": "tput.example.net",
        "direction": "in",
        "address": "192.0.2.50",
        "duration": "10000",
        "writesize": "131072",
        "tcpreused": "false",
        "protocol": "default",
    }
    properties.update(changes)
    return properties


def test_throughput_realistic_report():
    report = tput_report(
        tput_item(1, 10_000_000_000, 117_187_500, tcpinfo={"rtt": 20000, "total_retrans": 3}),
        tput_item(2, 10_000_500_000, 62_503_125),
    )
    rows = parse(AmpThroughput(), report)
    assert [row.properties for row in rows] == [
        tput_properties(),
        tput_properties(direction="out", tcpreused="true"),
    ]
    # 117187500 bytes * 8 / 10 s; 62503125 * 8 / 10.0005 s; runtime rounds 10000.5 ms up.
    assert rows[0].values == {
        "bytes": 117_187_500,
        "runtime": 10000,
        "rate": 93_750_000.0,
        "packets": None,
    }
    assert rows[1].values == {
        "bytes": 62_503_125,
        "runtime": 10001,
        "rate": 50_000_000.0,
        "packets": None,
    }


def test_throughput_zero_duration_has_no_rate():
    (row,) = parse(AmpThroughput(), tput_report(tput_item(1, 0, 0), schedule="t10000"))
    assert row.values == {"bytes": 0, "runtime": 0, "rate": None, "packets": None}


def test_throughput_runtime_rounds_to_nearest_ms():
    (row,) = parse(AmpThroughput(), tput_report(tput_item(1, 1_499_999, 10), schedule="t1"))
    assert row.values["runtime"] == 1
    assert row.values["rate"] == pytest.approx(10 * 8 / 0.001499999)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("t10000,T10000", [("in", "10000", False), ("out", "10000", True)]),
        ("t10000,n,T10000", [("in", "10000", False), ("out", "10000", False)]),
        ("T5000,p100,t5000", [("out", "5000", False), ("in", "5000", True)]),
        ("s1000000,S2000", [("in", "1000000 bytes", False), ("out", "2000 bytes", True)]),
        ("t10000:1400,T0,,T10", [("in", "10000", False), ("out", "10", True)]),
        ("N,t1,P", [("in", "1", False)]),
        ("", []),
    ],
)
def test_parse_schedule(schedule, expected):
    assert parse_schedule(schedule) == [Transfer(*t) for t in expected]


@pytest.mark.parametrize("schedule", ["x100", "t", "t-5", "t10;T10", "tt10"])
def test_parse_schedule_rejects(schedule):
    with pytest.raises(BadReport):
        parse_schedule(schedule)


def test_throughput_items_match_transfers_by_direction():
    # The first transfer (in) reported nothing; the out item matches the second.
    report = tput_report(tput_item(2, 5_000_000_000, 1000), schedule="t10000,T5000,t2000")
    (row,) = parse(AmpThroughput(), report)
    assert row.properties == tput_properties(direction="out", duration="5000", tcpreused="true")


def test_throughput_same_stream_twice_keeps_first():
    report = tput_report(
        tput_item(1, 10**9, 100), tput_item(1, 10**9, 200), schedule="t1000,n,t1000"
    )
    (row,) = parse(AmpThroughput(), report)
    assert row.values["bytes"] == 100


def test_throughput_http_protocol_and_ipv6():
    report = tput_report(
        tput_item(2, 10**9, 1), protocol=1, address=ip("2001:db8::5"), family=V6, schedule="T1000"
    )
    (row,) = parse(AmpThroughput(), report)
    assert row.properties == tput_properties(
        direction="out", duration="1000", protocol="http", address="2001:db8::5"
    )


def test_throughput_without_items_makes_no_rows():
    assert parse(AmpThroughput(), tput_report()) == []
    assert parse(AmpThroughput(), {"header": {"name": "x", "family": V4}, "reports": []}) == []


@pytest.mark.parametrize(
    "report",
    [
        {"reports": "x"},
        tput_report("item"),
        tput_report(tput_item(0, 10**9, 1)),
        tput_report(tput_item(3, 10**9, 1)),
        tput_report({"duration": 10**9, "bytes": 1}),
        tput_report({"direction": 1, "bytes": 1}),
        tput_report({"direction": 1, "duration": 10**9}),
        tput_report(tput_item(1, -1, 1)),
        tput_report(tput_item(1, 10**9, -1)),
        tput_report(tput_item(1, 10**9, 2**63)),
        tput_report(tput_item(1, 86_400 * 10**9 + 1, 1)),
        tput_report(tput_item(1, 10**9, 1), tput_item(1, 10**9, 1)),
        tput_report(tput_item(1, 10**9, 1), schedule=None),
        tput_report(tput_item(1, 10**9, 1), schedule="q5"),
        tput_report(tput_item(1, 10**9, 1), write_size=None),
        tput_report(tput_item(1, 10**9, 1), name=None),
        tput_report(tput_item(1, 10**9, 1), protocol=2),
        tput_report(tput_item(1, 10**9, 1), family=V6),
        tput_report(tput_item(1, 10**9, 1), address=None, family=None),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_throughput_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpThroughput(), report)


# -- through the protobuf codec ------------------------------------------------------


def test_report_decoded_from_protobuf():
    """A report that went through the wire codec parses as the hand-made dict does."""
    report = tput_report(tput_item(1, 10**10, 10**8), tput_item(2, 10**10, 10**8))
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode("throughput", wire.encode("throughput", report))
    assert parse(AmpThroughput(), decoded) == parse(AmpThroughput(), report)
