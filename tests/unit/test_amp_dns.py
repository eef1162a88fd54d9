"""AMP DNS report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in the collection module's
docstring; tests/unit/amp_reports.py has the helpers the AMP collections' tests share.
"""

from __future__ import annotations

import pytest

from nntsc.collections.amp_dns import AmpDns, instance_text, query_class_name, query_type_name
from nntsc.errors import BadReport
from tests.unit.amp_reports import ANY_V4, SOURCE, V4, V6, ip, parse

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


# -- through the protobuf codec ------------------------------------------------------


def test_report_decoded_from_protobuf():
    """A report that went through the wire codec parses as the hand-made dict does."""
    report = dns_report(dns_answer(instance=b"lax1.a"), {"name": "c", "family": V4})
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode("dns", wire.encode("dns", report))
    assert parse(AmpDns(), decoded) == parse(AmpDns(), report)
