"""amplet2 result reports on the wire (`nntsc.wire`): the .proto files against the
documented format (`docs/wire.md`), encode/decode round trips, hand-built
wire bytes, and errors."""

from __future__ import annotations

import configparser
import copy
import importlib.util
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor

import nntsc.wire as wire
from nntsc.errors import BadReport
from nntsc.wire import (
    DEFAULTS,
    TEST_TYPES,
    UnknownTestType,
    decode,
    encode,
    icmp_pb2,
    throughput_pb2,
    traceroute_pb2,
)

ROOT = Path(__file__).resolve().parents[2]
WIRE_DIR = ROOT / "nntsc" / "wire"
PROTO_DIR = WIRE_DIR / "proto"


def v4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


def v6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


# --- realistic reports, one per test type ---------------------------------------------

REPORTS: dict[str, dict] = {
    "icmp": {
        "header": {"packet_size": 84, "random": False, "dscp": 0},
        "reports": [
            {"address": v4("192.0.2.10"), "family": 2, "rtt": 12345, "name": "www.example.org"},
            {"address": v6("2001:db8::10"), "family": 10, "rtt": 9876, "name": "www.example.org"},
            # Lost: no reply, so no rtt.
            {"address": v4("198.51.100.7"), "family": 2, "name": "lossy.example.net"},
            # Destination unreachable.
            {
                "address": v4("203.0.113.1"),
                "family": 2,
                "err_type": 3,
                "err_code": 1,
                "name": "unreachable.example.net",
            },
        ],
    },
    "traceroute": {
        "header": {"packet_size": 60, "random": False, "ip": True, "asn": True, "dscp": 0},
        "reports": [
            {
                "address": v4("192.0.2.10"),
                "family": 2,
                "name": "www.example.org",
                "path": [
                    {"address": v4("10.0.0.1"), "asn": -2, "rtt": 412},
                    {"asn": 0},  # no reply from this hop
                    {"address": v4("198.51.100.1"), "asn": 64500, "rtt": 8123},
                    {"address": v4("192.0.2.10"), "asn": 64501, "rtt": 12001},
                ],
            },
            {
                "address": v6("2001:db8::10"),
                "family": 10,
                "err_type": 1,
                "err_code": 4,
                "name": "www.example.org",
                "path": [{"address": v6("2001:db8:1::1"), "asn": -1, "rtt": 300}],
            },
        ],
    },
    "throughput": {
        "header": {
            "address": v4("192.0.2.20"),
            "family": 2,
            "schedule": "t10000,T10000",
            "write_size": 131072,
            "name": "tput.example.org",
            "dscp": 0,
            "protocol": 0,
        },
        "reports": [
            {
                "duration": 10_000_412_345,
                "bytes": 1_171_259_392,
                "direction": 1,
                "tcpinfo": {
                    "delivery_rate": 117_000_000,
                    "total_retrans": 12,
                    "rtt": 1520,
                    "rttvar": 210,
                    "busy_time": 9_990_000,
                    "rwnd_limited": 0,
                    "sndbuf_limited": 1200,
                    "min_rtt": 1210,
                },
            },
            {"duration": 10_001_000_000, "bytes": 987_654_321, "direction": 2},
        ],
    },
    "dns": {
        "header": {
            "query_type": 28,
            "query_class": 1,
            "udp_payload_size": 4096,
            "recurse": True,
            "dnssec": False,
            "nsid": True,
            "query": "www.example.org",
            "dscp": 0,
        },
        "reports": [
            {
                "address": v4("192.0.2.53"),
                "family": 2,
                "rtt": 2345,
                "query_length": 33,
                "response_size": 92,
                "total_answer": 1,
                "total_authority": 0,
                "total_additional": 1,
                "flags": {
                    "qr": True,
                    "opcode": 0,
                    "aa": False,
                    "tc": False,
                    "rd": True,
                    "ra": True,
                    "z": False,
                    "ad": False,
                    "cd": False,
                    "rcode": 0,
                },
                "name": "ns1.example.org",
                "instance": b"ns1-akl-1",
                "rrsig": False,
            },
            # No answer: only what identifies the server.
            {"address": v6("2001:db8::53"), "family": 10, "name": "ns2.example.org"},
        ],
    },
    "tcpping": {
        "header": {"packet_size": 64, "random": False, "port": 443, "dscp": 46},
        "reports": [
            {
                "address": v4("192.0.2.80"),
                "family": 2,
                "rtt": 3456,
                "flags": {
                    "fin": False,
                    "syn": True,
                    "rst": False,
                    "psh": False,
                    "ack": True,
                    "urg": False,
                },
                "name": "www.example.org",
            },
            {
                "address": v4("203.0.113.9"),
                "family": 2,
                "icmptype": 3,
                "icmpcode": 3,
                "name": "closed.example.net",
            },
            {"address": v6("2001:db8::80"), "family": 10, "name": "www.example.org"},
        ],
    },
    "http": {
        "header": {
            "url": "https://www.example.org/",
            "duration": 1532,
            "total_bytes": 245_112,
            "total_objects": 3,
            "max_connections": 24,
            "max_connections_per_server": 8,
            "pipelining_maxrequests": 4,
            "max_persistent_connections_per_server": 2,
            "persist": True,
            "pipelining": False,
            "caching": False,
            "dscp": 0,
            "useragent": "AMP HTTP test agent",
        },
        "servers": [
            {
                "hostname": "www.example.org",
                "start": 1_717_171_717.125,
                "end": 1_717_171_718.5,
                "address": "192.0.2.80",
                "total_bytes": 240_000,
                "objects": [
                    {
                        "path": "/",
                        "start": 1_717_171_717.125,
                        "end": 1_717_171_717.75,
                        "lookup": 0.012,
                        "connect": 0.034,
                        "start_transfer": 0.21,
                        "total_time": 0.625,
                        "code": 200,
                        "size": 40_000,
                        "connect_count": 1,
                        "pipeline": 1,
                        "cache_headers": {
                            "max_age": 3600,
                            "s_maxage": -1,
                            "x_cache": False,
                            "x_cache_lookup": False,
                            "pub": True,
                            "priv": False,
                            "no_cache": False,
                            "no_store": False,
                            "no_transform": False,
                            "must_revalidate": True,
                            "proxy_revalidate": False,
                        },
                    },
                    {
                        "path": "/missing.css",
                        "start": 1_717_171_717.8,
                        "end": 1_717_171_718.5,
                        "code": 0,
                        "size": 0,
                        "connect_count": 0,
                        "pipeline": 1,
                    },
                ],
            },
            {
                "hostname": "static.example.net",
                "start": 1_717_171_717.9,
                "end": 1_717_171_718.25,
                "address": "2001:db8::81",
                "total_bytes": 5112,
                "objects": [],
            },
        ],
    },
    "udpstream": {
        "header": {
            "address": v6("2001:db8::99"),
            "family": 10,
            "packet_size": 100,
            "packet_spacing": 20000,
            "packet_count": 21,
            "name": "voip.example.org",
            "dscp": 46,
            "rtt_samples": 1,
        },
        "reports": [
            {
                "direction": 1,
                "rtt": {"maximum": 15000, "minimum": 15000, "mean": 15000, "samples": 1},
                "jitter": {"maximum": 900, "minimum": -850, "mean": 12, "samples": 19},
                "percentiles": [-850, -300, -120, -40, 0, 20, 80, 150, 400, 900],
                "packets_received": 20,
                "loss_periods": [
                    {"status": 1, "length": 12},
                    {"status": 0, "length": 1},  # LOST = 0, set: present
                    {"status": 1, "length": 8},
                ],
                "loss_percent": 100 / 21,
                "voip": {"icpif": 3, "cisco_mos": 4.2, "itu_rating": 89.5, "itu_mos": 4.35},
            },
            {
                "direction": 2,
                "percentiles": [],
                "packets_received": 0,
                "loss_periods": [{"status": 0, "length": 21}],
                "loss_percent": 100.0,
            },
        ],
    },
    "youtube": {
        "header": {"video": "dQw4w9WgXcQ", "quality": 5, "dscp": 0, "maxruntime": 30},
        "item": {
            "title": "A video",
            "quality": 5,
            "initial_buffering": 850,
            "playing_time": 29_000,
            "stall_time": 1_200,
            "stall_count": 2,
            "total_time": 32_400,
            "pre_time": 1_350,
            "reported_duration": 212,
            "timeline": [
                {"timestamp": 1_350, "type": 3},
                {"timestamp": 2_200, "type": 5, "quality": 5},
            ],
        },
    },
    "fastping": {
        "header": {
            "address": v4("192.0.2.10"),
            "family": 2,
            "name": "fast.example.net",
            "count": 60,
            "rate": 10,
            "size": 64,
            "preprobe": True,
            "dscp": 0,
        },
        "reports": [
            {
                "runtime": 6_050_000,
                "rtt": {
                    "maximum": 21_000,
                    "minimum": 11_800,
                    "mean": 12_400,
                    "samples": 58,
                    "sd": 900,
                    "percentiles": [
                        11800,
                        11800,
                        11810,
                        11850,
                        11900,
                        12000,
                        12050,
                        12100,
                        12200,
                        12300,
                        12400,
                        12500,
                        12800,
                        13900,
                        19000,
                        21000,
                        21000,
                    ],
                },
                "jitter": {
                    "maximum": 8000,
                    "minimum": -7900,
                    "mean": 3,
                    "samples": 57,
                    "sd": 1100,
                    "percentiles": [],
                },
            }
        ],
    },
    "external": {
        "header": {"command": "count-users"},
        "reports": [{"value": 42, "name": "www.example.org"}, {"value": -3}],
    },
    "sip": {
        "header": {
            "uri": "sip:echo@voip.example.org",
            "hostname": "voip.example.org",
            "useragent": "AMP SIP test agent",
            "filename": "sip-test-8000.wav",
            "max_duration": 30,
            "proxy": ["sip:proxy.example.org"],
            "repeat": True,
            "dscp": 46,
            "address": v4("192.0.2.50"),
            "family": 2,
        },
        "reports": [
            {
                "time_till_first_response": 41_000,
                "time_till_connected": 180_000,
                "duration": 30_250_000,
                "rtt": {"maximum": 52_000, "minimum": 38_000, "mean": 41_000, "sd": 2_500},
                "rx": {
                    "packets": 1_490,
                    "bytes": 238_400,
                    "lost": 10,
                    "discarded": 1,
                    "reordered": 0,
                    "duplicated": 0,
                    "jitter": {"maximum": 4_000, "minimum": 0, "mean": 600, "sd": 300},
                    "loss": {"maximum": 3, "minimum": 1, "mean": 2, "sd": 1},
                    "mos": {"icpif": 5, "cisco_mos": 4.1, "itu_rating": 88.1, "itu_mos": 4.31},
                },
                "tx": {
                    "packets": 1_500,
                    "bytes": 240_000,
                    "lost": 0,
                    "discarded": 0,
                    "reordered": 2,
                    "duplicated": 1,
                    "mos": {"itu_rating": 92.5, "itu_mos": 4.41},
                },
            }
        ],
    },
}


def test_reports_cover_every_test_type():
    assert set(REPORTS) == set(TEST_TYPES)


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_round_trip_is_exact(test_type):
    report = REPORTS[test_type]
    body = encode(test_type, report)
    assert isinstance(body, bytes)
    assert decode(test_type, body) == report
    # And the bytes are stable: encoding the decoded dict gives the same message.
    assert encode(test_type, decode(test_type, body)) == body


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_decode_message_is_the_message_decode_converts(test_type):
    body = encode(test_type, REPORTS[test_type])
    message = wire.decode_message(test_type, body)
    assert isinstance(message, wire.report_class(test_type))
    assert wire.to_dict(message) == decode(test_type, body)


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_decode_accepts_bytearray_and_memoryview(test_type):
    body = encode(test_type, REPORTS[test_type])
    assert decode(test_type, bytearray(body)) == decode(test_type, memoryview(body))


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_empty_body_is_an_empty_report(test_type):
    cls = wire.report_class(test_type)
    repeated = [f.name for f in cls.DESCRIPTOR.fields if f.is_repeated]
    assert decode(test_type, b"") == {name: [] for name in repeated}


def test_unset_optional_fields_are_absent():
    decoded = decode("icmp", encode("icmp", REPORTS["icmp"]))
    lost = decoded["reports"][2]
    assert lost == {"address": v4("198.51.100.7"), "family": 2, "name": "lossy.example.net"}
    assert "rtt" not in lost
    assert lost.get("rtt") is None
    assert "ttl" not in decoded["reports"][0]
    assert "err_type" not in decoded["reports"][0]


def test_defaults_are_not_filled_in_but_set_defaults_are_present():
    decoded = decode("icmp", encode("icmp", {"header": {}, "reports": [{"family": 2}]}))
    assert decoded == {"header": {}, "reports": [{"family": 2}]}
    assert decoded["header"].get("packet_size", 84) == 84
    # Set to the default value: present (proto2 presence).
    decoded = decode("icmp", encode("icmp", {"header": {"packet_size": 84, "dscp": 0}}))
    assert decoded == {"header": {"packet_size": 84, "dscp": 0}, "reports": []}


def test_header_absent_when_not_sent():
    assert decode("icmp", encode("icmp", {"reports": []})) == {"reports": []}


def test_missing_repeated_fields_decode_as_empty_lists():
    decoded = decode("traceroute", encode("traceroute", {"reports": [{"name": "x"}]}))
    assert decoded == {"reports": [{"name": "x", "path": []}]}
    decoded = decode("udpstream", encode("udpstream", {"reports": [{"direction": 1}]}))
    assert decoded == {"reports": [{"direction": 1, "percentiles": [], "loss_periods": []}]}


def test_types_of_decoded_values():
    tput = decode("throughput", encode("throughput", REPORTS["throughput"]))
    assert type(tput["header"]["address"]) is bytes
    assert type(tput["header"]["protocol"]) is int
    assert type(tput["reports"][0]["direction"]) is int
    assert tput["reports"][0]["direction"] == throughput_pb2.Item.SERVER_TO_CLIENT
    assert tput["reports"][1]["direction"] == throughput_pb2.Item.CLIENT_TO_SERVER
    http = decode("http", encode("http", REPORTS["http"]))
    assert type(http["servers"][0]["start"]) is float
    assert type(http["servers"][0]["address"]) is str
    assert type(http["header"]["persist"]) is bool
    udp = decode("udpstream", encode("udpstream", REPORTS["udpstream"]))
    assert type(udp["reports"][0]["percentiles"]) is list


def test_none_means_unset_and_enums_by_name():
    body = encode(
        "throughput",
        {"header": {"protocol": "HTTP_POST", "name": None}, "reports": [{"direction": "NULL"}]},
    )
    assert decode("throughput", body) == {
        "header": {"protocol": 1},
        "reports": [{"direction": 0}],
    }


def test_defaults_table():
    assert DEFAULTS["icmp"]["Header"] == {"packet_size": 84, "random": False, "dscp": 0}
    assert DEFAULTS["traceroute"]["Header"]["ip"] is True
    assert DEFAULTS["http"]["Header"]["useragent"] == "AMP HTTP test agent"
    assert DEFAULTS["udpstream"]["Header"]["packet_spacing"] == 20000
    assert DEFAULTS["dns"]["Item"] == {"rrsig": False}
    assert DEFAULTS["throughput"]["Header"] == {"dscp": 0, "protocol": 0}


# --- hand-built wire bytes ---------------------------------------------------------------

VARINT, I64, LEN = 0, 1, 2


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def vfield(number: int, value: int) -> bytes:
    return key(number, VARINT) + varint(value)


def lfield(number: int, payload: bytes) -> bytes:
    return key(number, LEN) + varint(len(payload)) + payload


def dfield(number: int, value: float) -> bytes:
    return key(number, I64) + struct.pack("<d", value)


def zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def test_varint_helper_against_the_protobuf_encoder():
    from google.protobuf.internal import encoder

    for value in (0, 1, 127, 128, 300, 2**32 - 1, 2**63):
        parts: list[bytes] = []
        encoder._EncodeVarint(parts.append, value)
        assert varint(value) == b"".join(parts)


def test_icmp_field_numbers_on_the_wire():
    header = vfield(1, 100) + vfield(2, 1) + vfield(3, 46)
    item = (
        lfield(1, v4("192.0.2.10"))
        + vfield(2, 2)
        + vfield(3, 12345)
        + vfield(4, 11)
        + vfield(5, 7)
        + vfield(6, 55)
        + lfield(7, b"www.example.org")
    )
    lost = lfield(1, v6("2001:db8::1")) + vfield(2, 10) + lfield(7, b"v6.example.org")
    raw = lfield(1, header) + lfield(2, item) + lfield(2, lost)

    expected = {
        "header": {"packet_size": 100, "random": True, "dscp": 46},
        "reports": [
            {
                "address": v4("192.0.2.10"),
                "family": 2,
                "rtt": 12345,
                "err_type": 11,
                "err_code": 7,
                "ttl": 55,
                "name": "www.example.org",
            },
            {"address": v6("2001:db8::1"), "family": 10, "name": "v6.example.org"},
        ],
    }
    assert decode("icmp", raw) == expected
    # Our encoder writes exactly those bytes (fields in number order).
    assert encode("icmp", expected) == raw
    # And so do the generated classes.
    message = icmp_pb2.Report.FromString(raw)
    assert message.header.dscp == 46
    assert message.reports[0].rtt == 12345
    assert not message.reports[1].HasField("rtt")
    assert message.SerializeToString() == raw


def test_icmp_single_fields_land_where_documented():
    item_fields = {
        1: ("address", b"\x01\x02\x03\x04"),
        2: ("family", 2),
        3: ("rtt", 42),
        4: ("err_type", 3),
        5: ("err_code", 13),
        6: ("ttl", 64),
        7: ("name", "n"),
    }
    for number, (name, value) in item_fields.items():
        if isinstance(value, int):
            payload = vfield(number, value)
        else:
            payload = lfield(number, value.encode() if isinstance(value, str) else value)
        assert decode("icmp", lfield(2, payload)) == {"reports": [{name: value}]}
    for number, name in ((1, "packet_size"), (3, "dscp")):
        assert decode("icmp", lfield(1, vfield(number, 9))) == {
            "header": {name: 9},
            "reports": [],
        }
    assert decode("icmp", lfield(1, vfield(2, 1))) == {"header": {"random": True}, "reports": []}


def test_traceroute_asn_is_zigzag_sint64():
    hop = lfield(1, v4("10.0.0.1")) + vfield(2, zigzag(-2)) + vfield(3, 412)
    raw = lfield(1, vfield(3, 0) + vfield(4, 1)) + lfield(2, lfield(6, hop) + lfield(5, b"t"))
    assert vfield(2, zigzag(-2)) == b"\x10\x03"
    assert decode("traceroute", raw) == {
        "header": {"ip": False, "asn": True},
        "reports": [
            {"name": "t", "path": [{"address": v4("10.0.0.1"), "asn": -2, "rtt": 412}]},
        ],
    }
    message = traceroute_pb2.Report.FromString(raw)
    assert message.reports[0].path[0].asn == -2


def test_http_doubles_and_the_gap_at_server_field_5():
    obj = lfield(1, b"/") + dfield(4, 0.25) + vfield(8, 404) + lfield(12, vfield(1, 60))
    server = (
        lfield(1, b"h")
        + dfield(2, 1.5)
        + dfield(3, 2.75)
        + lfield(4, b"192.0.2.1")
        + vfield(6, 1234)
        + lfield(7, obj)
    )
    assert decode("http", lfield(2, server)) == {
        "servers": [
            {
                "hostname": "h",
                "start": 1.5,
                "end": 2.75,
                "address": "192.0.2.1",
                "total_bytes": 1234,
                "objects": [
                    {"path": "/", "lookup": 0.25, "code": 404, "cache_headers": {"max_age": 60}}
                ],
            }
        ]
    }
    # Field 5 of Server is not defined: ignored like any unknown field.
    assert decode("http", lfield(2, vfield(5, 1))) == {"servers": [{"objects": []}]}


def test_udpstream_repeated_int32_packed_or_not():
    values = [-850, 0, 900]
    unpacked = b"".join(vfield(4, v) for v in values)
    packed = lfield(4, b"".join(varint(v) for v in values))
    for item in (unpacked, packed):
        decoded = decode("udpstream", lfield(2, item + vfield(1, 2)))
        assert decoded["reports"][0]["percentiles"] == values
        assert decoded["reports"][0]["direction"] == 2
    # proto2 repeated scalars are not packed unless declared so: we write them unpacked.
    assert encode("udpstream", {"reports": [{"percentiles": values}]}) == lfield(2, unpacked)


def test_unknown_fields_from_a_newer_sender_are_ignored():
    item = vfield(3, 500) + vfield(15, 1) + lfield(16, b"new")
    assert decode("icmp", lfield(2, item) + vfield(9, 1)) == {"reports": [{"rtt": 500}]}


def test_unknown_enum_value_on_the_wire_reads_as_unset():
    # proto2 enums are closed: a value this version does not know is kept aside.
    raw = lfield(2, vfield(1, 10) + vfield(3, 7))
    assert decode("throughput", raw) == {"reports": [{"duration": 10}]}


# --- the .proto files against the documented format ------------------------------------

# "Message number name type [repeated] [=default]" from docs/wire.md and the .proto files.
SPEC = {
    "icmp": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 packet_size uint32 =84
        Header 2 random bool =False
        Header 3 dscp uint32 =0
        Item 1 address bytes
        Item 2 family int32
        Item 3 rtt uint32
        Item 4 err_type uint32
        Item 5 err_code uint32
        Item 6 ttl uint32
        Item 7 name string
    """,
    "traceroute": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 packet_size uint32 =60
        Header 2 random bool =False
        Header 3 ip bool =True
        Header 4 asn bool =False
        Header 5 dscp uint32 =0
        Item 1 address bytes
        Item 2 family int32
        Item 3 err_type uint32
        Item 4 err_code uint32
        Item 5 name string
        Item 6 path Hop repeated
        Hop 1 address bytes
        Hop 2 asn sint64
        Hop 3 rtt uint32
    """,
    "throughput": """
        enum Protocol NONE=0 HTTP_POST=1
        enum Item.Direction NULL=0 SERVER_TO_CLIENT=1 CLIENT_TO_SERVER=2
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 address bytes
        Header 2 family int32
        Header 3 schedule string
        Header 4 write_size uint32
        Header 5 name string
        Header 6 dscp uint32 =0
        Header 7 protocol Protocol =0
        Item 1 duration uint64
        Item 2 bytes uint64
        Item 3 direction Direction
        Item 4 tcpinfo TCPInfo
        TCPInfo 1 delivery_rate uint64
        TCPInfo 2 total_retrans uint32
        TCPInfo 3 rtt uint32
        TCPInfo 4 rttvar uint32
        TCPInfo 5 busy_time uint64
        TCPInfo 6 rwnd_limited uint64
        TCPInfo 7 sndbuf_limited uint64
        TCPInfo 8 min_rtt uint32
    """,
    "dns": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 query_type uint32 =1
        Header 2 query_class uint32 =1
        Header 3 udp_payload_size uint32 =4096
        Header 4 recurse bool =False
        Header 5 dnssec bool =False
        Header 6 nsid bool =False
        Header 7 query string
        Header 8 dscp uint32 =0
        Item 1 address bytes
        Item 2 family int32
        Item 3 rtt uint32
        Item 4 query_length uint32
        Item 5 response_size uint32
        Item 6 total_answer uint32
        Item 7 total_authority uint32
        Item 8 total_additional uint32
        Item 9 flags DnsFlags
        Item 10 ttl uint32
        Item 11 name string
        Item 12 instance bytes
        Item 13 rrsig bool =False
        DnsFlags 1 qr bool
        DnsFlags 2 opcode uint32
        DnsFlags 3 aa bool
        DnsFlags 4 tc bool
        DnsFlags 5 rd bool
        DnsFlags 6 ra bool
        DnsFlags 7 z bool
        DnsFlags 8 ad bool
        DnsFlags 9 cd bool
        DnsFlags 10 rcode uint32
    """,
    "tcpping": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 packet_size uint32 =64
        Header 2 random bool =False
        Header 3 port uint32 =80
        Header 4 dscp uint32 =0
        Item 1 address bytes
        Item 2 family int32
        Item 3 rtt uint32
        Item 4 icmptype uint32
        Item 5 icmpcode uint32
        Item 6 flags TcpFlags
        Item 7 name string
        TcpFlags 1 fin bool
        TcpFlags 2 syn bool
        TcpFlags 3 rst bool
        TcpFlags 4 psh bool
        TcpFlags 5 ack bool
        TcpFlags 6 urg bool
    """,
    "http": """
        Report 1 header Header
        Report 2 servers Server repeated
        Header 1 url string
        Header 2 duration uint32
        Header 3 total_bytes uint32
        Header 4 total_objects uint32
        Header 5 max_connections uint32 =24
        Header 6 max_connections_per_server uint32 =8
        Header 7 pipelining_maxrequests uint32 =4
        Header 8 max_persistent_connections_per_server uint32 =2
        Header 9 persist bool =True
        Header 10 pipelining bool =False
        Header 11 caching bool =False
        Header 12 dscp uint32 =0
        Header 13 useragent string =AMP_HTTP_test_agent
        Header 14 proxy string
        Server 1 hostname string
        Server 2 start double
        Server 3 end double
        Server 4 address string
        Server 6 total_bytes uint32
        Server 7 objects Object repeated
        Object 1 path string
        Object 2 start double
        Object 3 end double
        Object 4 lookup double
        Object 5 connect double
        Object 6 start_transfer double
        Object 7 total_time double
        Object 8 code uint32
        Object 9 size uint32
        Object 10 connect_count uint32
        Object 11 pipeline uint32
        Object 12 cache_headers CacheHeaders
        CacheHeaders 1 max_age int32
        CacheHeaders 2 s_maxage int32
        CacheHeaders 3 x_cache bool
        CacheHeaders 4 x_cache_lookup bool
        CacheHeaders 5 pub bool
        CacheHeaders 6 priv bool
        CacheHeaders 7 no_cache bool
        CacheHeaders 8 no_store bool
        CacheHeaders 9 no_transform bool
        CacheHeaders 10 must_revalidate bool
        CacheHeaders 11 proxy_revalidate bool
    """,
    "udpstream": """
        enum Item.Direction NULL=0 SERVER_TO_CLIENT=1 CLIENT_TO_SERVER=2
        enum Period.Status LOST=0 RECEIVED=1
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 address bytes
        Header 2 family int32
        Header 3 schedule string
        Header 4 packet_size uint32 =100
        Header 5 packet_spacing uint32 =20000
        Header 6 packet_count uint32 =21
        Header 7 name string
        Header 8 dscp uint32 =0
        Header 9 rtt_samples uint32 =1
        Item 1 direction Direction
        Item 2 rtt SummaryStats
        Item 3 jitter SummaryStats
        Item 4 percentiles int32 repeated
        Item 5 packets_received uint32
        Item 6 loss_periods Period repeated
        Item 7 loss_percent double
        Item 8 voip Voip
        Period 1 status Status
        Period 2 length int32
        SummaryStats 1 maximum int32
        SummaryStats 2 minimum int32
        SummaryStats 3 mean int32
        SummaryStats 4 samples uint32
        Voip 1 icpif int32
        Voip 2 cisco_mos double
        Voip 3 itu_rating double
        Voip 4 itu_mos double
    """,
    "youtube": """
        Report 1 header Header
        Report 2 item Item
        Header 1 video string
        Header 2 quality Quality
        Header 3 dscp uint32 =0
        Header 4 useragent string
        Header 5 maxruntime uint32 =0
        Item 1 title string
        Item 2 quality Quality
        Item 3 initial_buffering uint64
        Item 4 playing_time uint64
        Item 5 stall_time uint64 =0
        Item 6 stall_count uint64 =0
        Item 7 total_time uint64
        Item 8 pre_time uint64
        Item 9 reported_duration uint64
        Item 10 timeline Event repeated
        Event 1 timestamp uint64
        Event 2 type EventType
        Event 3 quality Quality
    """
    + "enum Quality UNKNOWN=0 DEFAULT=1 SMALL=2 MEDIUM=3 LARGE=4 HD720=5 HD1080=6"
    + " HD1440=7 HD2160=8 HIGHRES=9\n"
    + "enum EventType UNKNOWN_EVENT=0 READY=1 UNSTARTED=2 BUFFERING=3 QUALITY=4"
    + " PLAYING=5 ENDED=6 ERROR=7",
    "fastping": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 address bytes
        Header 2 family int32
        Header 3 name string
        Header 4 count uint64 =60
        Header 5 rate uint64 =1
        Header 6 size uint32 =64
        Header 7 preprobe bool =False
        Header 8 dscp uint32 =0
        Item 1 runtime uint64
        Item 2 rtt SummaryStats
        Item 3 jitter SummaryStats
        SummaryStats 1 maximum int32
        SummaryStats 2 minimum int32
        SummaryStats 3 mean int32
        SummaryStats 4 samples uint64
        SummaryStats 5 sd uint32
        SummaryStats 6 percentiles int32 repeated
    """,
    "external": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 command string
        Item 1 value int64
        Item 2 name string
    """,
    "sip": """
        Report 1 header Header
        Report 2 reports Item repeated
        Header 1 uri string
        Header 2 hostname string
        Header 3 useragent string
        Header 4 filename string
        Header 5 max_duration uint32
        Header 6 proxy string repeated
        Header 7 repeat bool
        Header 8 dscp uint32 =0
        Header 9 address bytes
        Header 10 family uint32
        Item 1 time_till_first_response uint64
        Item 2 time_till_connected uint64
        Item 3 duration uint64
        Item 5 rtt SummaryStats
        Item 6 rx StreamStats
        Item 7 tx StreamStats
        StreamStats 1 packets uint32
        StreamStats 2 bytes uint32
        StreamStats 3 lost uint32
        StreamStats 4 discarded uint32
        StreamStats 5 reordered uint32
        StreamStats 6 duplicated uint32
        StreamStats 7 jitter SummaryStats
        StreamStats 8 loss SummaryStats
        StreamStats 9 mos Mos
        SummaryStats 1 maximum int32
        SummaryStats 2 minimum int32
        SummaryStats 3 mean int32
        SummaryStats 4 sd uint32
        Mos 1 icpif int32
        Mos 2 cisco_mos double
        Mos 3 itu_rating double
        Mos 4 itu_mos double
    """,
}

SCALAR_TYPES = {
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_SINT64: "sint64",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
}


def describe(test_type: str) -> tuple[set[tuple], set[tuple]]:
    """(fields, enums) of a test's .proto file in the SPEC's notation."""
    file = wire.report_class(test_type).DESCRIPTOR.file
    fields: set[tuple] = set()
    enums: set[tuple] = set()
    for enum in file.enum_types_by_name.values():
        enums.add((enum.name, tuple(f"{v.name}={v.number}" for v in enum.values)))
    for msg in file.message_types_by_name.values():
        assert not msg.nested_types, "the documented messages are all top level"
        for enum in msg.enum_types:
            values = tuple(f"{v.name}={v.number}" for v in enum.values)
            enums.add((f"{msg.name}.{enum.name}", values))
        for f in msg.fields:
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                type_name = f.message_type.name
            elif f.type == FieldDescriptor.TYPE_ENUM:
                type_name = f.enum_type.name
            else:
                type_name = SCALAR_TYPES[f.type]
            assert not f.is_required
            default = None
            if f.has_default_value:
                default = f.default_value
                if isinstance(default, str):
                    default = default.replace(" ", "_")
            fields.add((msg.name, f.number, f.name, type_name, f.is_repeated, default))
    return fields, enums


def parse_spec(text: str) -> tuple[set[tuple], set[tuple]]:
    fields: set[tuple] = set()
    enums: set[tuple] = set()
    for line in text.strip().splitlines():
        words = line.split()
        if words[0] == "enum":
            enums.add((words[1], tuple(words[2:])))
            continue
        msg, number, name, type_name, *rest = words
        default = None
        for word in rest:
            if word.startswith("="):
                raw = word[1:]
                default = {"True": True, "False": False}.get(raw, raw)
                if isinstance(default, str) and default.isdigit():
                    default = int(default)
        fields.add((msg, int(number), name, type_name, "repeated" in rest, default))
    return fields, enums


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_proto_matches_the_documented_format(test_type):
    assert describe(test_type) == parse_spec(SPEC[test_type])


@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_proto_file_is_proto2_in_the_amplet2_package(test_type):
    file = wire.report_class(test_type).DESCRIPTOR.file
    assert file.package == f"amplet2.{test_type}"
    assert file.name == f"{test_type}.proto"
    text = (PROTO_DIR / f"{test_type}.proto").read_text()
    assert 'syntax = "proto2";' in text
    assert f"package amplet2.{test_type};" in text
    assert wire.report_class(test_type).DESCRIPTOR.full_name == f"amplet2.{test_type}.Report"


def test_test_types_match_the_proto_files():
    protos = sorted(p.stem for p in PROTO_DIR.glob("*.proto"))
    assert sorted(TEST_TYPES) == protos
    modules = sorted(p.name.removesuffix("_pb2.py") for p in WIRE_DIR.glob("*_pb2.py"))
    assert modules == protos
    stubs = sorted(p.name.removesuffix("_pb2.pyi") for p in WIRE_DIR.glob("*_pb2.pyi"))
    assert stubs == protos
    assert len(set(TEST_TYPES)) == len(TEST_TYPES)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_generated_code_fits_the_pinned_protobuf_runtime():
    """The gencode needs a runtime of the same major version at least as new as itself."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pins = re.search(
        r"^\s*protobuf>=([\d.]+),<(\d+)\s*$", config["options"]["install_requires"], re.M
    )
    assert pins, "setup.cfg pins protobuf>=X,<Y"
    floor, ceiling = _version(pins.group(1)), int(pins.group(2))
    for path in WIRE_DIR.glob("*_pb2.py"):
        match = re.search(r"^# Protobuf Python Version: ([\d.]+)$", path.read_text(), re.M)
        assert match, path
        gencode = _version(match.group(1))
        assert gencode <= floor, f"{path.name} needs protobuf>={match.group(1)}"
        assert gencode[0] == floor[0] == ceiling - 1


@pytest.mark.skipif(importlib.util.find_spec("grpc_tools") is None, reason="no grpcio-tools")
def test_generated_modules_are_up_to_date(tmp_path):
    """What bin/gen-protos.sh would write (modules and their type stubs) is what is committed."""
    version = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    script = (ROOT / "bin" / "gen-protos.sh").read_text()
    expected = re.search(r'^EXPECTED_PROTOC="(.*)"$', script, re.M)
    assert expected
    if version != expected.group(1):
        pytest.skip(f"{version} installed, the modules come from {expected.group(1)}")
    protos = sorted(str(p) for p in PROTO_DIR.glob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_DIR}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            *protos,
        ],
        check=True,
    )
    for proto in protos:
        for name in (Path(proto).stem + "_pb2.py", Path(proto).stem + "_pb2.pyi"):
            assert (tmp_path / name).read_bytes() == (WIRE_DIR / name).read_bytes(), name


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("test_type", ["nosuchtest", "smokeping", "ICMP", ""])
def test_unknown_test_type(test_type):
    with pytest.raises(UnknownTestType, match="unknown amplet2 test type"):
        decode(test_type, b"")
    with pytest.raises(BadReport):
        encode(test_type, {})


def test_unknown_test_type_is_a_bad_report():
    assert issubclass(UnknownTestType, BadReport)
    with pytest.raises(BadReport) as info:
        decode(None, b"")  # type: ignore[arg-type]
    assert isinstance(info.value, UnknownTestType)
    assert info.value.test_type is None


@pytest.mark.parametrize(
    "body",
    [
        b"not a protobuf",  # wire type 6 does not exist
        b"\xff" * 12,  # varint longer than 10 bytes
        lfield(1, vfield(1, 84))[:-1],  # truncated
        key(2, LEN) + varint(50) + b"short",  # length past the end
        lfield(2, b"\x0a\x05ab"),  # nested message truncated
    ],
)
@pytest.mark.parametrize("test_type", TEST_TYPES)
def test_garbage_is_a_bad_report(test_type, body):
    with pytest.raises(BadReport, match="not a valid protobuf Report"):
        decode(test_type, body)


def test_invalid_utf8_in_a_string_is_a_bad_report():
    with pytest.raises(BadReport, match=r"amplet2.icmp.Item.name is not valid UTF-8"):
        decode("icmp", lfield(2, lfield(7, b"\xffname")))
    with pytest.raises(BadReport, match="not valid UTF-8"):
        decode("http", lfield(2, lfield(7, lfield(1, b"/\xc3("))))


def test_body_must_be_bytes():
    with pytest.raises(BadReport, match="not bytes"):
        decode("icmp", "text")  # type: ignore[arg-type]


def test_missing_required_fields_are_a_bad_report(monkeypatch):
    """The documented reports have no required field; the check still works if one had."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="required_test.proto", package="nntsc_test", syntax="proto2"
    )
    msg = proto.message_type.add(name="Report")
    msg.field.add(
        name="must",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_UINT32,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("nntsc_test.Report"))
    monkeypatch.setitem(wire._REPORTS, "icmp", cls)
    with pytest.raises(BadReport, match="lacks required fields: must"):
        decode("icmp", b"")
    assert decode("icmp", vfield(1, 5)) == {"must": 5}
    with pytest.raises(BadReport, match="cannot be encoded"):
        encode("icmp", {})


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"headers": {}}, "no such field"),
        ({"header": {"packet_sise": 84}}, "icmp.header.packet_sise"),
        ({"header": {"packet_size": "84"}}, "does not fit"),
        ({"header": {"packet_size": -1}}, "does not fit"),
        ({"header": {"packet_size": 2**32}}, "does not fit"),
        ({"header": {"packet_size": 84.0}}, "does not fit"),
        ({"header": {"packet_size": True}}, "does not fit"),
        ({"header": {"random": 1}}, "does not fit"),
        ({"header": []}, "must be a mapping"),
        ({"reports": {"name": "x"}}, "must be a list"),
        ({"reports": "x"}, "must be a list"),
        ({"reports": [{"address": "192.0.2.1"}]}, r"reports\[0\].address"),
        ({"reports": [{"name": b"x"}]}, "does not fit"),
    ],
)
def test_encode_rejects_what_does_not_fit(report, message):
    with pytest.raises(BadReport, match=message):
        encode("icmp", report)


def test_encode_rejects_bad_enums():
    with pytest.raises(BadReport, match="not one of NULL, SERVER_TO_CLIENT"):
        encode("throughput", {"reports": [{"direction": "UP"}]})
    with pytest.raises(BadReport, match="does not fit"):
        encode("throughput", {"reports": [{"direction": 9}]})
    with pytest.raises(BadReport, match="does not fit"):
        encode("throughput", {"reports": [{"direction": True}]})


def test_encode_does_not_change_its_argument():
    report = copy.deepcopy(REPORTS["udpstream"])
    encode("udpstream", report)
    assert report == REPORTS["udpstream"]
