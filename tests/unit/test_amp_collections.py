"""AMP TCPping, DNS, HTTP, throughput and UDPstream report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in each module's docstring.
"""

from __future__ import annotations

import copy
import socket

import pytest

from nntsc.collections.amp_common import address_text, dscp_name
from nntsc.collections.amp_dns import AmpDns, instance_text, query_class_name, query_type_name
from nntsc.collections.amp_http import MAX_URL_LENGTH, AmpHttp
from nntsc.collections.amp_tcpping import AmpTcpping
from nntsc.collections.amp_throughput import AmpThroughput, Transfer, parse_schedule
from nntsc.collections.amp_udpstream import AmpUdpstream, deciles
from nntsc.errors import BadReport
from nntsc.store.models import QUANTILE_POINTS, rollup_columns

SOURCE = "amp-mon"
TIMESTAMP = 1_700_000_000
V4 = socket.AF_INET
V6 = socket.AF_INET6
#: How a missing IPv4 address is written (the unspecified address).
ANY_V4 = socket.inet_ntop(V4, bytes(4))


def ip(text):
    """A packed address, as on the wire."""
    return socket.inet_pton(V6 if ":" in text else V4, text)


def parse(collection, report, source=SOURCE, timestamp=TIMESTAMP):
    return collection.parse(report, source, timestamp)


def by(rows, *names):
    """Rows keyed by the given properties."""
    return {tuple(row.properties[name] for name in names): row for row in rows}


COLLECTIONS = [AmpTcpping(), AmpDns(), AmpHttp(), AmpThroughput(), AmpUdpstream()]


# -- declarations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "name", "view_style", "amp_test"),
    [
        (COLLECTIONS[0], "amp-tcpping", "latency", "tcpping"),
        (COLLECTIONS[1], "amp-dns", "latency", "dns"),
        (COLLECTIONS[2], "amp-http", "http", "http"),
        (COLLECTIONS[3], "amp-throughput", "throughput", "throughput"),
        (COLLECTIONS[4], "amp-udpstream", "jitter", "udpstream"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_declaration(collection, name, view_style, amp_test):
    assert collection.name == name
    assert collection.view_style == view_style
    assert collection.amp_test == amp_test
    assert collection.description
    assert collection.property_names[:2] == ("source", "destination")
    assert len(set(collection.property_names)) == len(collection.property_names)
    assert len(set(collection.field_names)) == len(collection.field_names)
    assert collection.presence_field in collection.field_names
    assert all(fld.kind in ("int", "float", "array") for fld in collection.fields)
    columns = rollup_columns(collection)
    assert len(columns) == len(set(columns))
    for fld in collection.fields:
        assert f"{fld.name}_count" in columns
        assert (f"{fld.name}_p{QUANTILE_POINTS[-1]}" in columns) == fld.quantiles


def test_declared_fields_and_properties():
    tcpping, dns, http, throughput, udpstream = COLLECTIONS
    assert tcpping.property_names == ("source", "destination", "port", "family", "packet_size")
    assert tcpping.field_names == (
        "median",
        "min",
        "max",
        "loss",
        "icmperrors",
        "results",
        "lossrate",
        "rtts",
    )
    assert dns.property_names == (
        "source",
        "destination",
        "instance",
        "address",
        "query",
        "query_type",
        "query_class",
        "udp_payload_size",
        "recurse",
        "dnssec",
        "nsid",
    )
    assert http.property_names == (
        "source",
        "destination",
        "max_connections",
        "max_connections_per_server",
        "max_persistent_connections_per_server",
        "pipelining_max_requests",
        "persist",
        "pipelining",
        "caching",
    )
    assert throughput.property_names == (
        "source",
        "destination",
        "direction",
        "address",
        "duration",
        "writesize",
        "tcpreused",
        "protocol",
    )
    assert throughput.field_names == ("bytes", "runtime", "rate", "packets")
    assert udpstream.property_names == (
        "source",
        "destination",
        "address",
        "direction",
        "packet_size",
        "packet_spacing",
        "packet_count",
        "dscp",
    )
    quantiles = {c.name: [f.name for f in c.fields if f.quantiles] for c in COLLECTIONS}
    assert quantiles == {
        "amp-tcpping": ["rtts"],
        "amp-dns": ["rtt"],
        "amp-http": ["duration"],
        "amp-throughput": [],
        "amp-udpstream": ["mean_rtt", "mean_jitter"],
    }
    assert throughput.field("rate").unit == "bit/s"
    assert dns.field("rtt").unit == "us"
    assert http.field("duration").unit == "ms"


# -- shared helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "family", "expected"),
    [
        (ip("192.0.2.1"), V4, "192.0.2.1"),
        (ip("2001:db8::1"), V6, "2001:db8::1"),
        (ip("2001:db8::1"), None, "2001:db8::1"),
        ("2001:0db8:0:0::1", V6, "2001:db8::1"),
        (None, V4, ANY_V4),
        (None, V6, "::"),
        (b"", V6, "::"),
    ],
)
def test_address_text(address, family, expected):
    assert address_text(address, family, "item") == expected


@pytest.mark.parametrize(
    ("address", "family"),
    [(None, None), (b"\x01\x02\x03", None), (ip("192.0.2.1"), V6), ("nope", V4), (None, 99)],
)
def test_address_text_rejects(address, family):
    with pytest.raises(BadReport):
        address_text(address, family, "item")


@pytest.mark.parametrize(
    ("value", "name"),
    [(0, "Default"), (46, "EF"), (10, "AF11"), (8, "CS1"), (44, "VA"), (5, "0x05")],
)
def test_dscp_name(value, name):
    assert dscp_name(value) == name


# -- TCPping -----------------------------------------------------------------------


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


@pytest.mark.parametrize("collection", COLLECTIONS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("source", "timestamp"),
    [("", TIMESTAMP), (None, TIMESTAMP), (SOURCE, 0), (SOURCE, True), (SOURCE, 1.5)],
)
def test_bad_source_or_timestamp(collection, source, timestamp):
    with pytest.raises(BadReport):
        collection.parse({"reports": []}, source, timestamp)


# -- DNS ---------------------------------------------------------------------------

DNS_HEADER = {
    "query_type": 28,
    "query_class": 1,
    "udp_payload_size": 4096,
    "recurse": False,
    "dnssec": True,
    "nsid": True,
    "query": "example.com",
    "dscp": 0,
}


def dns_report(*items, **header):
    return {"header": {**DNS_HEADER, **header}, "reports": list(items)}


def dns_answer(name="a.iana-servers.net", address="199.43.135.53", **fields):
    item = {
        "name": name,
        "address": ip(address),
        "family": V6 if ":" in address else V4,
        "query_length": 40,
        "rtt": 25000,
        "response_size": 512,
        "total_answer": 2,
        "total_authority": 0,
        "total_additional": 1,
        "ttl": 55,
        "rrsig": True,
        "flags": {
            "qr": True,
            "opcode": 0,
            "aa": True,
            "tc": False,
            "rd": False,
            "ra": False,
            "z": False,
            "ad": False,
            "cd": False,
            "rcode": 0,
        },
    }
    item.update(fields)
    return item


def dns_properties(**changes):
    properties = {
        "source": SOURCE,
        "destination": "a.iana-servers.net",
        "instance": "a.iana-servers.net",
        "address": "199.43.135.53",
        "query": "example.com",
        "query_type": "AAAA",
        "query_class": "IN",
        "udp_payload_size": "4096",
        "recurse": "false",
        "dnssec": "true",
        "nsid": "true",
    }
    properties.update(changes)
    return properties


NO_RESPONSE = {
    "rtt": None,
    "response_size": None,
    "ttl": None,
    "total_answer": None,
    "total_authority": None,
    "total_additional": None,
    "opcode": None,
    "rcode": None,
    "flag_rd": None,
    "flag_tc": None,
    "flag_aa": None,
    "flag_qr": None,
    "flag_cd": None,
    "flag_ad": None,
    "flag_ra": None,
}


def test_dns_realistic_report():
    report = dns_report(
        dns_answer(instance=b"lax1.a"),
        {
            "name": "a.iana-servers.net",
            "address": ip("2001:500:8f::53"),
            "family": V6,
            "query_length": 40,
        },
        dns_answer(
            "b.iana-servers.net",
            "199.43.133.53",
            rtt=150000,
            response_size=100,
            total_answer=0,
            total_authority=1,
            total_additional=0,
            ttl=58,
            rrsig=False,
            flags={"qr": True, "aa": True, "ad": True, "rcode": 3, "opcode": 0},
        ),
        {"name": "c.iana-servers.net", "family": V4},
    )
    rows = parse(AmpDns(), report)
    assert [row.properties for row in rows] == [
        dns_properties(instance="lax1.a"),
        dns_properties(address="2001:500:8f::53"),
        dns_properties(
            destination="b.iana-servers.net",
            instance="b.iana-servers.net",
            address="199.43.133.53",
        ),
        dns_properties(
            destination="c.iana-servers.net", instance="c.iana-servers.net", address=ANY_V4
        ),
    ]
    assert rows[0].values == {
        "rtt": 25000,
        "response_size": 512,
        "query_len": 40,
        "ttl": 55,
        "total_answer": 2,
        "total_authority": 0,
        "total_additional": 1,
        "opcode": 0,
        "rcode": 0,
        "flag_rd": 0,
        "flag_tc": 0,
        "flag_aa": 1,
        "flag_qr": 1,
        "flag_cd": 0,
        "flag_ad": 0,
        "flag_ra": 0,
        "requests": 1,
        "lossrate": 0.0,
    }
    assert rows[1].values == {**NO_RESPONSE, "query_len": 40, "requests": 1, "lossrate": 1.0}
    assert rows[2].values == {
        "rtt": 150000,
        "response_size": 100,
        "query_len": 40,
        "ttl": 58,
        "total_answer": 0,
        "total_authority": 1,
        "total_additional": 0,
        "opcode": 0,
        "rcode": 3,
        "flag_rd": 0,
        "flag_tc": 0,
        "flag_aa": 1,
        "flag_qr": 1,
        "flag_cd": 0,
        "flag_ad": 1,
        "flag_ra": 0,
        "requests": 1,
        "lossrate": 0.0,
    }
    assert rows[3].values == {**NO_RESPONSE, "query_len": None, "requests": 0, "lossrate": None}


def test_dns_only_first_result_per_stream_is_kept():
    report = dns_report(dns_answer(rtt=1000), dns_answer(rtt=2000), dns_answer("other", rtt=3000))
    rows = parse(AmpDns(), report)
    assert [(r.properties["destination"], r.values["rtt"]) for r in rows] == [
        ("a.iana-servers.net", 1000),
        ("other", 3000),
    ]


def test_dns_response_without_flags_has_null_flags():
    item = dns_answer()
    del item["flags"]
    (row,) = parse(AmpDns(), dns_report(item))
    assert row.values["rtt"] == 25000
    assert all(
        row.values[f"flag_{name}"] is None for name in ("rd", "tc", "aa", "qr", "cd", "ad", "ra")
    )
    assert (row.values["opcode"], row.values["rcode"]) == (None, None)


def test_dns_unset_flags_take_proto_defaults():
    (row,) = parse(AmpDns(), dns_report(dns_answer(flags={})))
    assert row.values["flag_qr"] == 0
    assert (row.values["opcode"], row.values["rcode"]) == (0, 0)


def test_dns_response_fields_without_rtt_are_ignored():
    item = dns_answer()
    del item["rtt"]
    (row,) = parse(AmpDns(), dns_report(item))
    assert row.values == {**NO_RESPONSE, "query_len": 40, "requests": 1, "lossrate": 1.0}


def test_dns_zero_query_length_means_no_query_sent():
    (row,) = parse(
        AmpDns(),
        dns_report({"name": "ns", "address": ip("192.0.2.53"), "family": V4, "query_length": 0}),
    )
    assert (row.values["requests"], row.values["lossrate"]) == (0, None)


def test_dns_header_defaults():
    report = {"header": {"query": "example.org"}, "reports": [dns_answer()]}
    (row,) = parse(AmpDns(), report)
    assert {
        k: row.properties[k]
        for k in ("query_type", "query_class", "udp_payload_size", "recurse", "dnssec", "nsid")
    } == {
        "query_type": "A",
        "query_class": "IN",
        "udp_payload_size": "4096",
        "recurse": "false",
        "dnssec": "false",
        "nsid": "false",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "A"),
        (28, "AAAA"),
        (16, "TXT"),
        (65, "HTTPS"),
        (255, "ANY"),
        (3, "TYPE3"),
        (999, "TYPE999"),
    ],
)
def test_dns_query_type_name(value, expected):
    assert query_type_name(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(1, "IN"), (3, "CH"), (255, "ANY"), (2, "CLASS2")])
def test_dns_query_class_name(value, expected):
    assert query_class_name(value) == expected


def test_dns_unnamed_query_type_in_properties():
    (row,) = parse(AmpDns(), dns_report(dns_answer(), query_type=99, query_class=3))
    assert (row.properties["query_type"], row.properties["query_class"]) == ("TYPE99", "CH")


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        (None, "ns"),
        (b"", "ns"),
        (b"lax1.a", "lax1.a"),
        (b"\x00\xffab", "00ff6162"),
        (b"  padded  ", "padded"),
        (b"   ", "ns"),
        (b"x" * 300, "x" * 255),
        ("already-text", "already-text"),
    ],
)
def test_dns_instance_text(instance, expected):
    assert instance_text(instance, "ns") == expected


@pytest.mark.parametrize(
    "report",
    [
        {"reports": [dns_answer()]},
        dns_report(dns_answer(), query=""),
        dns_report(dns_answer(), query=5),
        dns_report(),
        {"header": DNS_HEADER},
        dns_report("item"),
        dns_report(dns_answer(name="")),
        dns_report(dns_answer(rtt=-5)),
        dns_report(dns_answer(rtt=60_000_001)),
        dns_report(dns_answer(query_length=None)),
        dns_report(dns_answer(query_length=0)),
        dns_report(dns_answer(response_size=70000)),
        dns_report(dns_answer(total_answer="2")),
        dns_report(dns_answer(flags="qr")),
        dns_report(dns_answer(flags={"qr": 1})),
        dns_report(dns_answer(flags={"opcode": 16})),
        dns_report(dns_answer(instance=42)),
        dns_report(dns_answer(family=V6)),
        dns_report(dns_answer(), query_type=70000),
        dns_report(dns_answer(), recurse=1),
        dns_report({"name": "ns"}),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_dns_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpDns(), report)


# -- HTTP --------------------------------------------------------------------------


def obj(code, path="/"):
    return {"path": path, "code": code, "size": 100, "lookup": 0.01, "total_time": 0.1}


def http_report(servers, **header):
    head = {
        "url": "https://www.example.com/index.html",
        "duration": 842,
        "total_bytes": 153_421,
        "total_objects": 4,
        "max_connections": 24,
        "max_connections_per_server": 4,
        "pipelining_maxrequests": 6,
        "max_persistent_connections_per_server": 3,
        "persist": True,
        "pipelining": False,
        "caching": False,
        "dscp": 0,
        "useragent": "AMP HTTP test agent",
    }
    head.update(header)
    return {"header": {k: v for k, v in head.items() if v is not None}, "servers": servers}


REALISTIC_SERVERS = [
    {
        "hostname": "www.example.com",
        "address": "192.0.2.80",
        "total_bytes": 150_000,
        "objects": [obj(200), obj(200, "/a.css"), obj(304, "/b.js")],
    },
    {"hostname": "cdn.example.net", "address": "198.51.100.8", "objects": [obj(0, "/c.png")]},
]


def test_http_realistic_report():
    (row,) = parse(AmpHttp(), http_report(REALISTIC_SERVERS))
    assert row.properties == {
        "source": SOURCE,
        "destination": "https://www.example.com/index.html",
        "max_connections": "24",
        "max_connections_per_server": "4",
        "max_persistent_connections_per_server": "3",
        "pipelining_max_requests": "6",
        "persist": "true",
        "pipelining": "false",
        "caching": "false",
    }
    assert row.values == {
        "server_count": 2,
        "object_count": 4,
        "failed_object_count": 1,
        "duration": 842,
        "bytes": 153_421,
    }


def test_http_defaults_when_options_unset():
    (row,) = parse(
        AmpHttp(), {"header": {"url": "http://x.example/"}, "servers": [{"objects": [obj(200)]}]}
    )
    assert row.properties == {
        "source": SOURCE,
        "destination": "http://x.example/",
        "max_connections": "24",
        "max_connections_per_server": "8",
        "max_persistent_connections_per_server": "2",
        "pipelining_max_requests": "4",
        "persist": "true",
        "pipelining": "false",
        "caching": "false",
    }
    # No duration, size or object total in the header: nulls and the listed count.
    assert row.values == {
        "server_count": 1,
        "object_count": 1,
        "failed_object_count": 0,
        "duration": None,
        "bytes": None,
    }


def test_http_every_object_failed_has_no_duration_or_size():
    report = http_report(
        [{"hostname": "www.example.com", "objects": [obj(0)]}],
        duration=3012,
        total_bytes=0,
        total_objects=1,
    )
    (row,) = parse(AmpHttp(), report)
    assert row.values == {
        "server_count": 1,
        "object_count": 1,
        "failed_object_count": 1,
        "duration": None,
        "bytes": None,
    }


def test_http_no_servers():
    (row,) = parse(AmpHttp(), http_report([], duration=5, total_bytes=0, total_objects=0))
    assert row.values == {
        "server_count": 0,
        "object_count": 0,
        "failed_object_count": 0,
        "duration": None,
        "bytes": None,
    }
    (row,) = parse(AmpHttp(), {"header": {"url": "http://x.example/"}})
    assert row.values["server_count"] == 0


def test_http_fetched_page_keeps_zero_values():
    report = http_report([{"objects": [obj(204)]}], duration=0, total_bytes=0, total_objects=1)
    (row,) = parse(AmpHttp(), report)
    assert (row.values["duration"], row.values["bytes"]) == (0, 0)


def test_http_long_url_accepted_up_to_limit():
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - 20)
    (row,) = parse(AmpHttp(), http_report(REALISTIC_SERVERS, url=url))
    assert row.properties["destination"] == url


@pytest.mark.parametrize(
    "report",
    [
        {"servers": []},
        http_report(REALISTIC_SERVERS, url=""),
        http_report(REALISTIC_SERVERS, url="https://example.com/" + "a" * MAX_URL_LENGTH),
        http_report("servers"),
        http_report(["server"]),
        http_report([{"objects": "x"}]),
        http_report([{"objects": [obj(1000)]}]),
        http_report([{"objects": [obj(-1)]}]),
        http_report(REALISTIC_SERVERS, duration=-1),
        http_report(REALISTIC_SERVERS, duration=86_400_001),
        http_report(REALISTIC_SERVERS, total_bytes=1.5),
        http_report(REALISTIC_SERVERS, max_connections="24"),
        http_report(REALISTIC_SERVERS, persist=1),
        http_report(REALISTIC_SERVERS, pipelining_maxrequests=-4),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_http_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpHttp(), report)


# -- throughput --------------------------------------------------------------------


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


# -- UDPstream ---------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("test", "collection", "report"),
    [
        (
            "tcpping",
            AmpTcpping(),
            tcpping_report(
                tcp_item(rtt=5, flags={"syn": True}), tcp_item(icmptype=3, icmpcode=1), tcp_item()
            ),
        ),
        ("dns", AmpDns(), dns_report(dns_answer(instance=b"lax1.a"), {"name": "c", "family": V4})),
        ("http", AmpHttp(), http_report(REALISTIC_SERVERS)),
        (
            "throughput",
            AmpThroughput(),
            tput_report(tput_item(1, 10**10, 10**8), tput_item(2, 10**10, 10**8)),
        ),
        ("udpstream", AmpUdpstream(), udp_report(UDP_IN, UDP_OUT)),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_reports_decoded_from_protobuf(test, collection, report):
    """A report that went through the wire codec parses as the hand-made dict does."""
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode(test, wire.encode(test, report))
    assert parse(collection, decoded) == parse(collection, report)
