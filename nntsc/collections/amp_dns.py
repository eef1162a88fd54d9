"""AMP DNS query latency and response details (amplet2 test ``dns``).

A report holds one item per queried server address; each item becomes one
row of the stream (server name, NSID instance, address, query options), see
`docs/wire.md`.

* ``requests`` is 1 when a query was sent (``query_length`` present and
  non-zero) and 0 when none could be (e.g. an unresolved server name, whose
  row has the unspecified address ``0.0.0.0`` or ``::``, as amplet2 prints
  it). ``lossrate`` is 0.0 when a response arrived (``rtt`` present), 1.0
  when the query went unanswered and null when none was sent: "could not
  test" is not loss.
* The response header flags are flattened to ``flag_rd``, ``flag_tc``,
  ``flag_aa``, ``flag_qr``, ``flag_cd``, ``flag_ad`` and ``flag_ra``, stored
  as 0/1 integers (our stores have no boolean type); ``opcode`` and ``rcode``
  become fields of their own. The reserved ``z`` bit, ``rrsig``, ``dscp`` and
  the NSID bytes beyond the instance name are not stored.
* Only the first result per stream in a report is kept: the stores key rows
  by (stream, timestamp), so a second row of the same stream in one report
  (a server listed twice in the schedule) would overwrite or collide with
  the first.
* The instance is the server's NSID answer when it gave one, else the server
  name. A query that goes unanswered has no NSID, so with NSID on, the losses
  of an anycast server fall in its name's stream, not in an instance's.

Where we differ from the predecessor: query types and classes without a
mnemonic are written in RFC 3597 form (``TYPE65``, ``CLASS3``) instead of
``0x41``; an unanswered item's stray response fields are ignored as ampsave
did, but a response to a query that was never sent is rejected; flags are
0/1 integers rather than booleans; the rtt (µs) keeps percentiles for smoke
graphs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_common import (
    MAX_RTT_US,
    UINT32,
    address_text,
    bool_text,
    check_envelope,
    flag,
    setting,
    submessage,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

DEFAULT_QUERY_TYPE = 1
DEFAULT_QUERY_CLASS = 1
DEFAULT_UDP_PAYLOAD_SIZE = 4096
#: Flags stored as ``flag_<name>``, in the order of the declaration.
FLAG_NAMES = ("rd", "tc", "aa", "qr", "cd", "ad", "ra")
MAX_INSTANCE_LENGTH = 255

#: Query type mnemonics (IANA DNS parameters) for the types a test is likely to ask.
QUERY_TYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    43: "DS",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
    257: "CAA",
}
QUERY_CLASSES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}


def query_type_name(value: int) -> str:
    return QUERY_TYPES.get(value) or f"TYPE{value}"


def query_class_name(value: int) -> str:
    return QUERY_CLASSES.get(value) or f"CLASS{value}"


def instance_text(instance: Any, name: str) -> str:
    """The NSID answer as text (hex when not printable ASCII); the server name without one."""
    if instance is None or instance == b"" or instance == "":
        return name
    if isinstance(instance, bytes):
        if all(0x20 <= byte < 0x7F for byte in instance):
            instance = instance.decode("ascii")
        else:
            instance = instance.hex()
    elif not isinstance(instance, str):
        raise BadReport(f"DNS item instance {instance!r} is neither bytes nor text")
    # An NSID may be up to 64 KiB; a stream key is not. Truncation is
    # deterministic, so one server still maps to one stream.
    return instance.strip()[:MAX_INSTANCE_LENGTH] or name


class AmpDns(Collection):
    name = "amp-dns"
    view_style = "latency"
    description = "AMP DNS query latency and response details"
    title = "DNS"
    properties = (
        Property("source", "Source"),
        Property("destination", "Server"),
        Property("instance", "Instance (NSID)"),
        Property("address", "Server address", 45),
        Property("query", "Query"),
        Property("query_type", "Query type", 16),
        Property("query_class", "Query class", 16),
        Property("udp_payload_size", "UDP payload size", 8, unit="bytes"),
        Property("recurse", "Recursion desired", 8),
        Property("dnssec", "DNSSEC", 8),
        Property("nsid", "NSID requested", 8),
    )
    fields = (
        Field("rtt", "int", "us", quantiles=True, description="query round-trip time"),
        Field("response_size", "int", "bytes", description="size of the response"),
        Field("query_len", "int", "bytes", description="size of the query sent"),
        Field("ttl", "int", description="TTL reported with the response"),
        Field("total_answer", "int", description="answer records"),
        Field("total_authority", "int", description="authority records"),
        Field("total_additional", "int", description="additional records"),
        Field("opcode", "int", description="response opcode"),
        Field("rcode", "int", description="response code (0 NOERROR, 3 NXDOMAIN, ...)"),
        *(
            Field(f"flag_{name}", "int", description=f"{name.upper()} flag, 0 or 1")
            for name in FLAG_NAMES
        ),
        Field("requests", "int", description="1 if a query was sent, else 0"),
        Field("lossrate", "float", description="0.0 answered, 1.0 unanswered, null if not sent"),
    )
    presence_field = "requests"
    #: Query time level shifts and changes of mode (anycast answers from
    #: another instance) in ms, and unanswered queries.
    detections = (
        Detection("level", "rtt", "ms", 0.001),
        Detection("mode", "rtt", "ms", 0.001),
        Detection("loss", "lossrate", "%"),
    )
    amp_test = "dns"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "DNS")
        items = report.get("reports")
        if not isinstance(items, list) or not items:
            raise BadReport("DNS report has no items")
        common = self._query_properties(header)

        rows = []
        seen = set()
        for index, item in enumerate(items):
            what = f"DNS item {index}"
            if not isinstance(item, Mapping):
                raise BadReport(f"{what} is not a mapping")
            name = text(item, "name", what)
            properties = {
                "source": source,
                "destination": name,
                "instance": instance_text(item.get("instance"), name),
                "address": address_text(item.get("address"), item.get("family"), what),
                **common,
            }
            values = self._values(item, what)
            key = tuple(properties.values())
            if key in seen:
                continue
            seen.add(key)
            rows.append(ParsedRow(properties, values))
        return rows

    @staticmethod
    def _query_properties(header: Mapping[str, Any]) -> dict[str, str]:
        what = "DNS header"
        query = text(header, "query", what)
        query_type = setting(header, "query_type", what, DEFAULT_QUERY_TYPE, 65535)
        query_class = setting(header, "query_class", what, DEFAULT_QUERY_CLASS, 65535)
        payload = setting(header, "udp_payload_size", what, DEFAULT_UDP_PAYLOAD_SIZE, 65535)
        return {
            "query": query,
            "query_type": query_type_name(query_type),
            "query_class": query_class_name(query_class),
            "udp_payload_size": str(payload),
            "recurse": bool_text(flag(header, "recurse", what)),
            "dnssec": bool_text(flag(header, "dnssec", what)),
            "nsid": bool_text(flag(header, "nsid", what)),
        }

    @staticmethod
    def _values(item: Mapping[str, Any], what: str) -> dict[str, Any]:
        query_len = uint(item, "query_length", what, maximum=65535)
        rtt = uint(item, "rtt", what, maximum=MAX_RTT_US)
        sent = bool(query_len)
        values: dict[str, Any] = {
            "rtt": rtt,
            "response_size": None,
            "query_len": query_len,
            "ttl": None,
            "total_answer": None,
            "total_authority": None,
            "total_additional": None,
            "opcode": None,
            "rcode": None,
            **{f"flag_{name}": None for name in FLAG_NAMES},
            "requests": 1 if sent else 0,
            "lossrate": (1.0 if rtt is None else 0.0) if sent else None,
        }
        if rtt is None:
            # amplet2 reports response details only with an rtt; ampsave
            # ignored any without one, and so do we.
            return values
        if not sent:
            raise BadReport(f"{what} has a response (rtt {rtt}) but no query was sent")
        values["response_size"] = uint(item, "response_size", what, maximum=65535)
        values["ttl"] = uint(item, "ttl", what, maximum=UINT32)
        for count in ("total_answer", "total_authority", "total_additional"):
            values[count] = uint(item, count, what, maximum=65535)
        if item.get("flags") is not None:
            flags = submessage(item, "flags", what)
            values["opcode"] = setting(flags, "opcode", f"{what} flags", 0, 15)
            values["rcode"] = setting(flags, "rcode", f"{what} flags", 0, 4095)
            for name in FLAG_NAMES:
                values[f"flag_{name}"] = int(flag(flags, name, f"{what} flags"))
        return values
