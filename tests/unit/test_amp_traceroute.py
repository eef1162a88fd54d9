"""AMP traceroute report parsing: path lengths, AS paths, one row per (name, family).

Reports are dicts shaped as `nntsc.wire.decode` returns them. `resolve` is
checked with a stand-in path registry; the SQL side is in
`tests/integration/test_traceroute.py`.
"""

from __future__ import annotations

import copy
import socket
from types import SimpleNamespace

import pytest

from nntsc import wire
from nntsc.collections.amp_traceroute import (
    AS_NULL,
    AS_PRIVATE,
    AS_UNKNOWN,
    MAX_HOPS,
    AmpAsTraceroute,
    AmpTraceroute,
    as_path_length,
    mode,
    path_length,
    run_length,
)
from nntsc.collections.base import ParsedRow
from nntsc.errors import BadReport

SOURCE = "amp-src"
TIMESTAMP = 1_700_000_000
V4 = socket.AF_INET
V6 = socket.AF_INET6
TRACEROUTE = AmpTraceroute()
ASTRACEROUTE = AmpAsTraceroute()


def ip(text):
    """A packed address, as on the wire."""
    return socket.inet_pton(V6 if ":" in text else V4, text)


def hop(address=None, rtt=None, asn=None):
    """A hop as decoded: only set fields present."""
    out = {}
    if address is not None:
        out["address"] = ip(address)
        out["rtt"] = 1000 if rtt is None else rtt
    elif rtt is not None:
        out["rtt"] = rtt
    if asn is not None:
        out["asn"] = asn
    return out


def item(name="t", target="192.0.2.9", hops=(), family=None):
    out = {"name": name, "path": list(hops)}
    if target is not None:
        out["address"] = ip(target)
    if family is not None:
        out["family"] = family
    elif target is not None:
        out["family"] = V6 if ":" in target else V4
    return out


def report(*items, **header):
    head = {"packet_size": 60, "random": False, "ip": True, "asn": False, "dscp": 0}
    head.update(header)
    return {"header": head, "reports": list(items)}


def path(*addresses, target="192.0.2.9"):
    """Hops through `addresses` (None = silent), ending at `target` unless it is None."""
    hops = [hop(a) for a in addresses]
    if target is not None:
        hops.append(hop(target))
    return hops


def only(collection, rep):
    rows = collection.parse(rep, SOURCE, TIMESTAMP)
    assert len(rows) == 1
    return rows[0]


# -- declarations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "name", "view_style"),
    [(TRACEROUTE, "amp-traceroute", "traceroute"), (ASTRACEROUTE, "amp-astraceroute", "as-path")],
)
def test_declaration(collection, name, view_style):
    assert collection.name == name
    assert collection.view_style == view_style
    assert collection.amp_test == "traceroute"
    assert collection.description
    assert collection.property_names == ("source", "destination", "family", "packet_size")
    assert collection.presence_field in collection.field_names
    assert len(set(collection.field_names)) == len(collection.field_names)
    assert all(not name.startswith("_") for name in collection.field_names)


def test_fields():
    kinds = {f.name: f.kind for f in TRACEROUTE.fields}
    assert kinds == {
        "path_length": "float",
        "hop_count": "int",
        "responded": "int",
        "ip_path_id": "int",
        "as_path_id": "int",
        "hop_rtts": "array",
    }
    assert {f.name: f.kind for f in ASTRACEROUTE.fields} == {
        "as_path_id": "int",
        "as_path_length": "float",
        "responded": "int",
        "hop_count": "int",
    }


# -- helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asns", "expected"),
    [
        ((), ()),
        ((64496,), ((64496, 1),)),
        ((64496, 64496, 64497), ((64496, 2), (64497, 1))),
        ((1, 1, -1, 1, 2, 2, 2), ((1, 2), (-1, 1), (1, 1), (2, 3))),
        ((-2, -2, 0, -1, -1), ((-2, 2), (0, 1), (-1, 2))),
    ],
)
def test_run_length(asns, expected):
    assert run_length(asns) == expected
    # Lossless: decoding gives the hops back.
    assert tuple(asn for asn, count in expected for _ in range(count)) == asns


@pytest.mark.parametrize(
    ("responded", "expected"),
    [
        ([], 0.5),
        ([True], 1.0),
        ([True, True, True], 3.0),
        ([True, False, True], 3.0),
        ([True, True, False], 2.5),
        ([True, False, False, False], 1.5),
        ([False] * 5, 0.5),
    ],
)
def test_path_length(responded, expected):
    assert path_length(responded) == expected
    assert isinstance(path_length(responded), float)


@pytest.mark.parametrize(
    ("asns", "expected"),
    [
        ((), 0.5),
        ((1, 1, 2, 2, 3), 3.0),
        ((1, 1, -1, 1), 1.0),
        ((1, -1, 2), 2.0),
        ((1, 2, -1, -1), 2.5),
        ((-1, -1), 0.5),
        ((-2, 1, 1, -2), 3.0),
        ((0, 0, 64496), 2.0),
    ],
)
def test_as_path_length(asns, expected):
    assert as_path_length(asns) == expected


def test_mode_prefers_most_frequent_then_first_seen():
    assert mode([3.0, 4.0, 4.0]) == 4.0
    assert mode([5.5, 3.0, 3.0, 5.5]) == 5.5
    assert mode(["b", "a"]) == "b"


# -- the IP collection -------------------------------------------------------------


def test_complete_path():
    row = only(TRACEROUTE, report(item(hops=path("10.0.0.1", "198.51.100.1"))))
    assert row.properties == {
        "source": SOURCE,
        "destination": "t",
        "family": "ipv4",
        "packet_size": "60",
    }
    assert row.values == {
        "path_length": 3.0,
        "hop_count": 3,
        "responded": 1,
        "hop_rtts": [1000, 1000, 1000],
        "_ip_hops": ("ipv4", ("10.0.0.1", "198.51.100.1", "192.0.2.9")),
        "_asns": None,
    }


def test_path_ending_in_silent_hops_gets_half_a_hop():
    hops = [*path("10.0.0.1", "198.51.100.1", target=None), hop(), hop()]
    row = only(TRACEROUTE, report(item(hops=hops)))
    assert row.values["path_length"] == 2.5
    assert row.values["hop_count"] == 4
    assert row.values["responded"] == 0
    assert row.values["hop_rtts"] == [1000, 1000, None, None]
    assert row.values["_ip_hops"] == ("ipv4", ("10.0.0.1", "198.51.100.1", None, None))


def test_silent_hop_inside_the_path_counts_as_a_hop():
    row = only(TRACEROUTE, report(item(hops=path("10.0.0.1", None, "198.51.100.1"))))
    assert row.values["path_length"] == 4.0
    assert row.values["responded"] == 1
    assert row.values["hop_rtts"] == [1000, None, 1000, 1000]


def test_every_hop_silent_is_half_a_hop():
    row = only(TRACEROUTE, report(item(hops=[hop()] * 5)))
    assert row.values["path_length"] == 0.5
    assert row.values["hop_count"] == 5
    assert row.values["responded"] == 0
    assert row.values["_ip_hops"] == ("ipv4", (None,) * 5)


def test_empty_path_to_a_resolved_target_is_half_a_hop():
    row = only(TRACEROUTE, report(item(hops=[])))
    assert row.values["path_length"] == 0.5
    assert row.values["hop_count"] == 0
    assert row.values["responded"] == 0
    assert row.values["hop_rtts"] == []
    assert row.values["_ip_hops"] == ("ipv4", ())


@pytest.mark.parametrize("target", [None, "0.0.0.0"])  # noqa: S104 - the "absent" address
def test_target_that_could_not_be_tested_is_null(target):
    row = only(TRACEROUTE, report(item(target=target, family=V4, hops=[])))
    assert row.properties["family"] == "ipv4"
    assert row.values == {
        "path_length": None,
        "hop_count": 0,
        "responded": None,
        "hop_rtts": None,
        "_ip_hops": None,
        "_asns": None,
    }


def test_last_hop_other_than_target_did_not_respond():
    hops = path("10.0.0.1", "198.51.100.1", target=None)
    row = only(TRACEROUTE, report(item(hops=hops)))
    assert row.values["path_length"] == 2.0
    assert row.values["responded"] == 0


def test_ipv6_addresses_are_canonical_text():
    hops = path("2001:db8:0:0::1", target="2001:db8::9")
    row = only(TRACEROUTE, report(item(target="2001:db8::9", hops=hops)))
    assert row.properties["family"] == "ipv6"
    assert row.values["_ip_hops"] == ("ipv6", ("2001:db8::1", "2001:db8::9"))
    assert row.values["responded"] == 1


def test_packet_size_default_and_random():
    rep = report(item(hops=path()))
    del rep["header"]["packet_size"]
    assert only(TRACEROUTE, rep).properties["packet_size"] == "60"
    rep = report(item(hops=path()), random=True, packet_size=123)
    assert only(TRACEROUTE, rep).properties["packet_size"] == "random"


def test_length_is_the_mode_over_the_items_of_a_name():
    short = path("10.0.0.1")  # 2 hops
    long_a = path("10.0.0.1", "10.0.0.2")  # 3 hops
    long_b = path("10.0.0.3", "10.0.0.4")  # 3 hops, another path
    rep = report(
        item(hops=short),
        item(hops=long_b),
        item(hops=long_a),
        item(hops=long_a),
    )
    row = only(TRACEROUTE, rep)
    assert row.values["path_length"] == 3.0
    # The most frequent path of that length describes the row.
    assert row.values["_ip_hops"][1] == ("10.0.0.1", "10.0.0.2", "192.0.2.9")


def test_ties_go_to_the_first_seen():
    first = [hop("10.0.0.1"), hop()]  # 1.5
    second = path("10.0.0.2", "10.0.0.3")  # 3.0
    row = only(TRACEROUTE, report(item(hops=first), item(hops=second)))
    assert row.values["path_length"] == 1.5
    assert row.values["_ip_hops"][1] == ("10.0.0.1", None)


def test_untested_items_do_not_vote():
    rep = report(item(target=None, family=V4), item(hops=path("10.0.0.1")))
    row = only(TRACEROUTE, rep)
    assert row.values["path_length"] == 2.0
    assert row.values["responded"] == 1


def test_one_row_per_name_and_family():
    rep = report(
        item("a", hops=path()),
        item("a", "2001:db8::9", hops=path(target="2001:db8::9")),
        item("b", "198.51.100.9", hops=path("10.0.0.1", target="198.51.100.9")),
    )
    rows = TRACEROUTE.parse(rep, SOURCE, TIMESTAMP)
    by_key = {(r.properties["destination"], r.properties["family"]): r.values for r in rows}
    assert set(by_key) == {("a", "ipv4"), ("a", "ipv6"), ("b", "ipv4")}
    assert by_key[("a", "ipv6")]["path_length"] == 1.0
    assert by_key[("b", "ipv4")]["path_length"] == 2.0


def test_without_asns_the_as_collection_has_no_rows():
    rep = report(item(hops=path("10.0.0.1")))
    assert ASTRACEROUTE.parse(rep, SOURCE, TIMESTAMP) == []
    assert only(TRACEROUTE, rep).values["_asns"] is None


def test_asns_of_a_report_without_the_asn_flag_are_ignored():
    # Older amplet2 sets asn 0 on every answering hop even without a lookup.
    hops = [hop("10.0.0.1", asn=0), hop("192.0.2.9", asn=0)]
    rep = report(item(hops=hops))
    assert only(TRACEROUTE, rep).values["_asns"] is None
    assert ASTRACEROUTE.parse(rep, SOURCE, TIMESTAMP) == []


# -- AS paths ----------------------------------------------------------------------


def as_report(*items, ip_flag=True):
    return report(*items, asn=True, ip=ip_flag)


def test_as_path_of_both_collections():
    hops = [
        hop("10.0.0.1", asn=AS_PRIVATE),
        hop("198.51.100.1", asn=64496),
        hop("198.51.100.2", asn=64496),
        hop(asn=AS_NULL),
        hop("203.0.113.1", asn=64497),
        hop("192.0.2.9", asn=64497),
    ]
    rep = as_report(item(hops=hops))
    values = only(TRACEROUTE, rep).values
    assert values["_asns"] == (-2, 64496, 64496, -1, 64497, 64497)
    assert values["path_length"] == 6.0
    as_row = only(ASTRACEROUTE, rep)
    assert as_row.properties == only(TRACEROUTE, rep).properties
    assert as_row.values == {
        "as_path_length": 3.0,
        "responded": 1,
        "hop_count": 6,
        "_asns": (-2, 64496, 64496, -1, 64497, 64497),
    }


def test_missing_asn_is_null_for_silent_hops_and_unknown_for_answering_ones():
    hops = [hop("198.51.100.1"), hop(), hop("192.0.2.9", asn=64496)]
    values = only(TRACEROUTE, as_report(item(hops=hops))).values
    assert values["_asns"] == (AS_UNKNOWN, AS_NULL, 64496)


def test_as_path_ending_silent_gets_half_an_as_hop():
    hops = [hop("198.51.100.1", asn=64496), hop(asn=-1), hop(asn=-1)]
    values = only(ASTRACEROUTE, as_report(item(hops=hops))).values
    assert values["as_path_length"] == 1.5
    assert values["responded"] == 0


def test_as_only_report_uses_as_numbers_for_responses():
    hops = [{"asn": 64496}, {"asn": -1}, {"asn": 64497}, {"asn": 64497}]
    rep = as_report(item(hops=hops), ip_flag=False)
    values = only(TRACEROUTE, rep).values
    assert values["_ip_hops"] is None
    assert values["path_length"] == 4.0
    assert values["hop_rtts"] == [None, None, None, None]
    assert values["responded"] == 1
    assert only(ASTRACEROUTE, rep).values["as_path_length"] == 2.0


def test_as_only_path_ending_in_a_private_hop_is_complete():
    # The predecessor added 0.5 for any negative last AS, private (-2) included.
    hops = [{"asn": 64496}, {"asn": AS_PRIVATE}]
    rep = as_report(item(hops=hops), ip_flag=False)
    assert only(TRACEROUTE, rep).values["path_length"] == 2.0
    assert only(ASTRACEROUTE, rep).values["as_path_length"] == 2.0


def test_as_only_path_ending_silent():
    hops = [{"asn": 64496}, {"asn": -1}, {"asn": -1}]
    rep = as_report(item(hops=hops), ip_flag=False)
    assert only(TRACEROUTE, rep).values["path_length"] == 1.5
    assert only(TRACEROUTE, rep).values["responded"] == 0


def test_as_collection_picks_the_most_frequent_as_path():
    a = [hop("198.51.100.1", asn=1), hop("192.0.2.9", asn=2)]
    b = [hop("198.51.100.5", asn=3), hop("192.0.2.9", asn=2)]
    rep = as_report(item(hops=a), item(hops=b), item(hops=b))
    assert only(ASTRACEROUTE, rep).values["_asns"] == (3, 2)


def test_as_collection_untested_target():
    rep = as_report(item(target=None, family=V6))
    assert only(ASTRACEROUTE, rep).values == {
        "as_path_length": None,
        "responded": None,
        "hop_count": 0,
        "_asns": None,
    }


# -- through the wire --------------------------------------------------------------


def test_parse_of_a_decoded_wire_report():
    hops = [hop("10.0.0.1", 250, -2), hop(asn=-1), hop("192.0.2.9", 9000, 64496)]
    rep = as_report(item(hops=hops))
    decoded = wire.decode("traceroute", wire.encode("traceroute", rep))
    for collection in (TRACEROUTE, ASTRACEROUTE):
        assert collection.parse(decoded, SOURCE, TIMESTAMP) == collection.parse(
            rep, SOURCE, TIMESTAMP
        )
    values = only(TRACEROUTE, decoded).values
    assert values["hop_rtts"] == [250, None, 9000]
    assert values["path_length"] == 3.0


def test_header_defaults_when_absent():
    decoded = wire.decode("traceroute", wire.encode("traceroute", {"reports": [item()]}))
    row = only(TRACEROUTE, decoded)
    assert row.properties["packet_size"] == "60"
    assert row.values["path_length"] == 0.5
    assert ASTRACEROUTE.parse(decoded, SOURCE, TIMESTAMP) == []


# -- resolve -----------------------------------------------------------------------


class FakeRegistry:
    def __init__(self):
        self.ip, self.asn = {}, {}

    def ip_path_ids(self, keys):
        return {k: self.ip.setdefault(k, len(self.ip) + 1) for k in keys}

    def as_path_ids(self, keys):
        return {k: self.asn.setdefault(k, 100 + len(self.asn)) for k in keys}


def test_resolve_swaps_private_keys_for_ids():
    services = SimpleNamespace(paths=FakeRegistry())
    hops = [hop("10.0.0.1", asn=1), hop("192.0.2.9", asn=2)]
    rep = as_report(item(hops=hops), item("u", target=None, family=V4))
    rows = TRACEROUTE.resolve(services, TRACEROUTE.parse(rep, SOURCE, TIMESTAMP))
    by_name = {r.properties["destination"]: r.values for r in rows}
    assert by_name["t"]["ip_path_id"] == 1
    assert by_name["t"]["as_path_id"] == 100
    assert by_name["u"]["ip_path_id"] is None
    assert by_name["u"]["as_path_id"] is None
    for values in by_name.values():
        assert set(values) == set(TRACEROUTE.field_names)
    as_rows = ASTRACEROUTE.resolve(services, ASTRACEROUTE.parse(rep, SOURCE, TIMESTAMP))
    assert {r.properties["destination"]: r.values["as_path_id"] for r in as_rows} == {
        "t": 100,
        "u": None,
    }
    assert all(set(r.values) == set(ASTRACEROUTE.field_names) for r in as_rows)
    assert services.paths.asn == {(1, 2): 100}


def test_resolve_leaves_resolved_rows_alone():
    row = ParsedRow({"source": "s"}, {"ip_path_id": 4})
    assert TRACEROUTE.resolve(SimpleNamespace(), [row]) == [row]


# -- malformed reports -------------------------------------------------------------


def good():
    return as_report(item(hops=[hop("10.0.0.1", asn=1), hop("192.0.2.9", asn=2)]))


def broken(change):
    rep = copy.deepcopy(good())
    change(rep)
    return rep


@pytest.mark.parametrize(
    "rep",
    [
        None,
        [],
        {"header": {}, "reports": []},
        {"header": [], "reports": [item()]},
        broken(lambda r: r["reports"].append("x")),
        broken(lambda r: r["reports"][0].pop("name")),
        broken(lambda r: r["reports"][0].update(name="")),
        broken(lambda r: r["reports"][0].update(name="x" * 256)),
        broken(lambda r: r["reports"][0].update(family=V6)),
        broken(lambda r: r["reports"][0].update(family=99)),
        broken(lambda r: r["reports"][0].update(address=b"\x01\x02\x03")),
        broken(lambda r: r["reports"][0].update(address="192.0.2.9")),
        broken(lambda r: r["reports"][0].update(err_type=-1)),
        broken(lambda r: r["reports"][0].update(path="10.0.0.1")),
        broken(lambda r: r["reports"][0].update(path=[hop()] * (MAX_HOPS + 1))),
        broken(lambda r: r["reports"][0]["path"].append("x")),
        broken(lambda r: r["reports"][0]["path"][0].update(address=ip("2001:db8::1"))),
        broken(lambda r: r["reports"][0]["path"][0].update(address="10.0.0.1")),
        broken(lambda r: r["reports"][0]["path"][0].update(rtt=-5)),
        broken(lambda r: r["reports"][0]["path"][0].update(rtt=10**9)),
        broken(lambda r: r["reports"][0]["path"][0].update(rtt=1.5)),
        broken(lambda r: r["reports"][0]["path"][0].update(asn=-3)),
        broken(lambda r: r["reports"][0]["path"][0].update(asn=2**32)),
        broken(lambda r: r["reports"][0]["path"][0].update(asn="64496")),
        broken(lambda r: r["header"].update(ip=False, asn=False)),
        broken(lambda r: r["header"].update(asn="yes")),
        broken(lambda r: r["header"].update(packet_size=0)),
        broken(lambda r: r["header"].update(packet_size=70000)),
    ],
)
def test_malformed_reports_raise_bad_report(rep):
    for collection in (TRACEROUTE, ASTRACEROUTE):
        with pytest.raises(BadReport):
            collection.parse(rep, SOURCE, TIMESTAMP)


@pytest.mark.parametrize(("source", "timestamp"), [("", TIMESTAMP), (SOURCE, 0), (SOURCE, True)])
def test_bad_source_or_timestamp(source, timestamp):
    with pytest.raises(BadReport):
        TRACEROUTE.parse(good(), source, timestamp)
