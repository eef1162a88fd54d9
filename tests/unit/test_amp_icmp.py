"""AMP ICMP report parsing: one row per (target name, address family)."""

from __future__ import annotations

import copy
import random
import socket
import statistics

import pytest

from nntsc import wire
from nntsc.collections.amp_common import MAX_RTT_US, family_of, median
from nntsc.collections.amp_icmp import AmpIcmp
from nntsc.errors import BadReport

SOURCE = "amp-src"
TIMESTAMP = 1_700_000_000
IPV4 = b"\xc0\x00\x02\x01"
IPV6 = bytes.fromhex("20010db8000000000000000000000001")


def item(name="t", address=IPV4, family=socket.AF_INET, rtt=1000, **extra):
    return {"name": name, "address": address, "family": family, "rtt": rtt, **extra}


def report(*items, **header):
    head = {"packet_size": 84, "random": False, "dscp": 0}
    head.update(header)
    return {"header": head, "reports": list(items)}


def parse(rep, source=SOURCE, timestamp=TIMESTAMP):
    return AmpIcmp().parse(rep, source, timestamp)


def only_row(rep):
    rows = parse(rep)
    assert len(rows) == 1
    return rows[0]


# -- median and family_of --------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([7], 7.0),
        ([1, 3], 2.0),
        ([1, 2, 3], 2.0),
        ([1, 2, 3, 10], 2.5),
        ([5, 5, 6, 100, 1000], 6.0),
    ],
)
def test_median(values, expected):
    assert median(values) == expected


def test_median_of_odd_count_is_float():
    assert isinstance(median([1, 2, 3]), float)


def test_median_matches_statistics_on_random_data():
    rnd = random.Random(11)
    for _ in range(200):
        values = sorted(rnd.randint(0, 10_000) for _ in range(rnd.randint(1, 30)))
        assert median(values) == pytest.approx(statistics.median(values), rel=1e-12)


@pytest.mark.parametrize(
    ("address", "family", "expected"),
    [
        (None, socket.AF_INET, "ipv4"),
        (None, socket.AF_INET6, "ipv6"),
        (IPV4, None, "ipv4"),
        (IPV6, None, "ipv6"),
        ("192.0.2.1", None, "ipv4"),
        ("2001:db8::1", None, "ipv6"),
        (IPV4, socket.AF_INET, "ipv4"),
        (IPV6, socket.AF_INET6, "ipv6"),
    ],
)
def test_family_of(address, family, expected):
    assert family_of(address, family) == expected


@pytest.mark.parametrize(
    ("address", "family"),
    [(None, None), ("", None), ("not-an-ip", None), ("192.0.2.300", None), (None, 99)],
)
def test_family_of_rejects(address, family):
    with pytest.raises(BadReport):
        family_of(address, family)


# -- derivation ------------------------------------------------------------------


def test_single_target_statistics():
    row = only_row(report(item(rtt=3000), item(rtt=1000), item(rtt=2000)))
    assert row.properties == {
        "source": SOURCE,
        "destination": "t",
        "family": "ipv4",
        "packet_size": "84",
    }
    assert row.values == {
        "median": 2000.0,
        "min": 1000,
        "max": 3000,
        "loss": 0,
        "results": 3,
        "lossrate": 0.0,
        "rtts": [1000, 2000, 3000],
    }


def test_even_number_of_rtts_gives_mean_of_middle_two():
    row = only_row(report(item(rtt=40), item(rtt=10), item(rtt=30), item(rtt=20)))
    assert row.values["median"] == 25.0
    assert row.values["rtts"] == [10, 20, 30, 40]


def test_loss_counts_probed_items_without_rtt():
    row = only_row(report(item(rtt=500), item(rtt=None), item(rtt=100)))
    assert row.values["loss"] == 1
    assert row.values["results"] == 3
    assert row.values["lossrate"] == pytest.approx(1 / 3)
    assert row.values["rtts"] == [100, 500, None]
    assert row.values["median"] == 300.0
    assert (row.values["min"], row.values["max"]) == (100, 500)


def test_every_probe_lost():
    row = only_row(report(item(rtt=None), item(rtt=None, address=b"\xc0\x00\x02\x02")))
    assert row.values == {
        "median": None,
        "min": None,
        "max": None,
        "loss": 2,
        "results": 2,
        "lossrate": 1.0,
        "rtts": [None, None],
    }


def test_unresolved_item_is_neither_result_nor_loss():
    row = only_row(report(item(rtt=700), item(address=None, rtt=None)))
    assert row.values["results"] == 1
    assert row.values["loss"] == 0
    assert row.values["lossrate"] == 0.0
    assert row.values["rtts"] == [700]


def test_target_never_probed_is_all_null_with_zero_results():
    row = only_row(report(item(address=None, rtt=None), item(address=None, rtt=None)))
    assert row.values == {
        "median": None,
        "min": None,
        "max": None,
        "loss": None,
        "results": 0,
        "lossrate": None,
        "rtts": None,
    }


def test_rtt_without_address_still_counts_as_probed():
    row = only_row(report(item(address=None, rtt=900)))
    assert row.values["results"] == 1
    assert row.values["rtts"] == [900]


def test_one_row_per_name_and_family():
    rows = parse(
        report(
            item("a", IPV4, socket.AF_INET, 10),
            item("a", b"\xc0\x00\x02\x09", socket.AF_INET, 30),
            item("a", IPV6, socket.AF_INET6, 20),
            item("b", "198.51.100.7", socket.AF_INET, None),
            item("b", "2001:db8::7", socket.AF_INET6, 5),
        )
    )
    by_key = {(r.properties["destination"], r.properties["family"]): r.values for r in rows}
    assert set(by_key) == {("a", "ipv4"), ("a", "ipv6"), ("b", "ipv4"), ("b", "ipv6")}
    assert by_key[("a", "ipv4")]["rtts"] == [10, 30]
    assert by_key[("a", "ipv4")]["results"] == 2
    assert by_key[("a", "ipv6")]["rtts"] == [20]
    assert by_key[("b", "ipv4")]["loss"] == 1
    assert by_key[("b", "ipv6")]["median"] == 5.0
    assert all(r.properties["source"] == SOURCE for r in rows)


def test_family_from_address_when_family_missing():
    rows = parse(
        report(item(family=None, address=IPV6), item("u", family=None, address="192.0.2.9"))
    )
    families = {r.properties["destination"]: r.properties["family"] for r in rows}
    assert families == {"t": "ipv6", "u": "ipv4"}


def test_parse_does_not_modify_the_report():
    rep = report(item(rtt=3), item(rtt=1), item(rtt=None))
    before = copy.deepcopy(rep)
    parse(rep)
    assert rep == before


@pytest.mark.parametrize("rtt", [0, 1, MAX_RTT_US])
def test_rtt_bounds_accepted(rtt):
    assert only_row(report(item(rtt=rtt))).values["rtts"] == [rtt]


def test_random_reports_match_independent_derivation():
    rnd = random.Random(2024)
    for _ in range(150):
        items = []
        for _ in range(rnd.randint(1, 12)):
            resolved = rnd.random() > 0.15
            answered = resolved and rnd.random() > 0.3
            items.append(
                item(
                    "x",
                    IPV4 if resolved else None,
                    socket.AF_INET,
                    rnd.randint(0, 2_000_000) if answered else None,
                )
            )
        values = only_row(report(*items)).values
        rtts = sorted(i["rtt"] for i in items if i["rtt"] is not None)
        probed = [i for i in items if i["address"] is not None]
        lost = sum(1 for i in probed if i["rtt"] is None)
        if not probed:
            assert values["results"] == 0
            assert values["rtts"] is None
            continue
        assert values["results"] == len(probed)
        assert values["loss"] == lost
        assert values["lossrate"] == pytest.approx(lost / len(probed))
        assert values["rtts"] == rtts + [None] * lost
        if rtts:
            assert values["median"] == pytest.approx(statistics.median(rtts))
            assert (values["min"], values["max"]) == (min(rtts), max(rtts))
        else:
            assert values["median"] is None


# -- packet size -----------------------------------------------------------------


def test_random_packet_size():
    row = only_row(report(item(), random=True, packet_size=200))
    assert row.properties["packet_size"] == "random"


def test_explicit_packet_size():
    assert only_row(report(item(), packet_size=1500)).properties["packet_size"] == "1500"


def test_default_packet_size_when_header_missing():
    assert only_row({"reports": [item()]}).properties["packet_size"] == "84"


@pytest.mark.parametrize("size", [0, -1, 65536, "84", True, 84.0])
def test_bad_packet_size(size):
    with pytest.raises(BadReport):
        parse(report(item(), packet_size=size))


# -- malformed input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "rep",
    [
        None,
        [],
        "report",
        42,
        {},
        {"reports": []},
        {"reports": None},
        {"reports": {"name": "t"}},
        {"header": "x", "reports": [item()]},
        {"reports": ["not a mapping"]},
        report({"address": IPV4, "family": 2, "rtt": 1}),
        report(item(name="")),
        report(item(name=7)),
        report(item(rtt=-1)),
        report(item(rtt=True)),
        report(item(rtt=1.5)),
        report(item(rtt="100")),
        report(item(rtt=MAX_RTT_US + 1)),
        report(item(address="not-an-ip", family=None)),
        report(item(address=None, family=None)),
        report(item(), item(address=None, family=None, rtt=None)),
    ],
    ids=lambda rep: repr(rep)[:60],
)
def test_malformed_report_raises(rep):
    with pytest.raises(BadReport):
        parse(rep)


@pytest.mark.parametrize("source", ["", None, 5])
def test_bad_source(source):
    with pytest.raises(BadReport):
        parse(report(item()), source=source)


@pytest.mark.parametrize("timestamp", [0, -5, True, 1.5, "1700000000", None])
def test_bad_timestamp(timestamp):
    with pytest.raises(BadReport):
        parse(report(item()), timestamp=timestamp)


def test_bad_address_string_rejected_even_with_family():
    with pytest.raises(BadReport):
        parse(report(item(address="not-an-ip", family=socket.AF_INET)))


def test_packed_address_of_wrong_length_rejected():
    with pytest.raises(BadReport):
        parse(report(item(address=b"\x01\x02\x03", family=None)))


# -- the protobuf message off the wire (what the collector parses) --------------------


def as_message(rep):
    return wire.decode_message("icmp", wire.encode("icmp", rep))


def test_message_and_dict_forms_parse_alike():
    """`parse` reads `wire.decode_message`'s message as it reads `wire.decode`'s dict."""
    rnd = random.Random(7)
    addresses = [IPV4, IPV6, None, b"", b"\x01\x02\x03"]
    families = [socket.AF_INET, socket.AF_INET6, None, 0, 99]
    outcomes = {"rows": 0, "bad": 0}
    for _ in range(600):
        items = []
        for _ in range(rnd.randint(0, 8)):
            entry = {
                "name": rnd.choice(["a", "b", "c", ""]),
                "address": rnd.choice(addresses),
                "family": rnd.choice(families),
                "rtt": rnd.choice([None, 0, 1, 1500, MAX_RTT_US, MAX_RTT_US + 1]),
            }
            # Mostly well-formed, so that both outcomes are common.
            if rnd.random() < 0.8:
                entry["address"] = rnd.choice([IPV4, None])
                entry["family"] = socket.AF_INET
                entry["name"] = entry["name"] or "a"
                entry["rtt"] = rnd.choice([None, rnd.randint(0, MAX_RTT_US)])
            items.append(entry)
        rep = {"reports": items}
        header = rnd.choice([None, {}, {"random": True}, {"packet_size": rnd.choice([0, 1500])}])
        if header is not None:
            rep["header"] = header
        try:
            want = parse(rep)
        except BadReport:
            outcomes["bad"] += 1
            with pytest.raises(BadReport):
                parse(as_message(rep))
            continue
        outcomes["rows"] += 1
        assert parse(as_message(rep)) == want
    assert min(outcomes.values()) > 100


def test_message_without_header_or_family():
    message = as_message({"reports": [{"name": "t", "address": IPV6, "rtt": 5}]})
    row = only_row(message)
    assert row.properties == {
        "source": SOURCE,
        "destination": "t",
        "family": "ipv6",
        "packet_size": "84",
    }
    assert row.values["rtts"] == [5]


def test_message_with_a_name_that_is_not_utf8():
    body = wire.encode("icmp", report(item(name="ab"))).replace(b"ab", b"\xff\xfe")
    with pytest.raises(BadReport, match="not UTF-8"):
        parse(wire.decode_message("icmp", body))


def test_empty_message_has_no_items():
    with pytest.raises(BadReport, match="no items"):
        parse(wire.decode_message("icmp", b""))
