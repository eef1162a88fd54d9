"""AMP TCPping latency, loss and ICMP errors (amplet2 test ``tcpping``).

Rows are made as for ICMP (`amp_icmp`): all probed addresses of one target
name and address family form one row per report, and the probed port is part
of the stream key (`reference/nntsc.md` 2.2 and 8.6).

Each item is one SYN; amplet2 reports exactly one of: an ``rtt`` (a TCP
answer, SYN-ACK or RST), an ``icmptype``/``icmpcode`` pair (an ICMP error
answered the SYN) or neither (nothing came back). Where we differ from the
predecessor:

* An item without an address (the name did not resolve, nothing was sent)
  is neither a result nor a loss, as for ICMP. The predecessor took ampsave's
  ``loss`` (1 whenever no answer arrived) and so counted unresolved names as
  lost probes.
* When nothing could be probed the row says so: ``results = 0`` and every
  other value null. The predecessor stored ``lossrate = 0.0``, i.e. "perfect".
* The family comes from the item's family and packed address, not from
  whether the printed address contains a dot (ampsave prints ``0.0.0.0`` for
  a missing address, which made unresolved IPv6 names count as IPv4).
* An ICMP error is an item carrying an ICMP type or code. The reference words
  it "non-zero ICMP type"; amplet2 sets the type only when an ICMP message
  answered the SYN, and type 0 (echo reply) cannot be such an answer, so the
  presence of the field is what counts. ICMP errors are neither rtts nor
  losses: ``lossrate = loss / results`` counts only probes that got no answer
  at all, and ``rtts`` carries one null per loss and per ICMP error so that
  its length is ``results``.
* An item with both an rtt and an ICMP error is contradictory and rejected.

This module also holds the small validation helpers that the other amplet2
collections (DNS, HTTP, throughput, UDPstream) share.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_icmp import MAX_RTT_US, family_of, median
from nntsc.collections.base import Collection, Field, ParsedRow, Property
from nntsc.errors import BadReport

__all__ = [
    "UINT32",
    "AmpTcpping",
    "address_text",
    "bool_text",
    "check_envelope",
    "dscp_name",
    "flag",
    "items_of",
    "setting",
    "submessage",
    "text",
    "uint",
]

UINT32 = 2**32 - 1
DEFAULT_PACKET_SIZE = 64
DEFAULT_PORT = 80
MAX_ICMP_TYPE = 255

# -- helpers shared by the amplet2 collections ------------------------------------


def check_envelope(report: Any, source: Any, timestamp: Any, test: str) -> Mapping[str, Any]:
    """Check the parts every report has; return its header (``{}`` if unset)."""
    if not isinstance(source, str) or not source:
        raise BadReport("report has no source monitor name")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise BadReport(f"report timestamp {timestamp!r} is not a positive integer")
    if not isinstance(report, Mapping):
        raise BadReport(f"{test} report is not a mapping")
    return submessage(report, "header", f"{test} report")


def submessage(message: Mapping[str, Any], name: str, what: str) -> Mapping[str, Any]:
    """A nested message of `message`; ``{}`` when unset (every field takes its default)."""
    value = message.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadReport(f"{what} {name} is not a mapping")
    return value


def items_of(message: Mapping[str, Any], name: str, what: str) -> list[Mapping[str, Any]]:
    """A repeated message field as a list of mappings (empty when unset)."""
    value = message.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadReport(f"{what} {name} is not a list")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise BadReport(f"{what} {name}[{index}] is not a mapping")
    return value


def uint(
    message: Mapping[str, Any],
    name: str,
    what: str,
    default: int | None = None,
    maximum: int = UINT32,
    minimum: int = 0,
) -> int | None:
    """An unsigned integer field within [minimum, maximum]; `default` when unset."""
    value = message.get(name, default)
    if value is None:
        return None
    if type(value) is not int:
        raise BadReport(f"{what} {name} {value!r} is not an integer")
    if not minimum <= value <= maximum:
        raise BadReport(f"{what} {name} {value} is outside {minimum}..{maximum}")
    return value


def setting(
    message: Mapping[str, Any],
    name: str,
    what: str,
    default: int,
    maximum: int = UINT32,
    minimum: int = 0,
) -> int:
    """An unsigned integer option with a documented default (used when unset)."""
    value = uint(message, name, what, default, maximum, minimum)
    return default if value is None else value


def flag(message: Mapping[str, Any], name: str, what: str, default: bool = False) -> bool:
    """A bool field; `default` when unset."""
    value = message.get(name)
    if value is None:
        return default
    if type(value) is not bool:
        raise BadReport(f"{what} {name} {value!r} is not a boolean")
    return value


def text(message: Mapping[str, Any], name: str, what: str, max_length: int = 255) -> str:
    """A required, non-empty string field of at most `max_length` characters."""
    value = message.get(name)
    if value is None or value == "":
        raise BadReport(f"{what} has no {name}")
    if not isinstance(value, str):
        raise BadReport(f"{what} {name} {value!r} is not a string")
    if len(value) > max_length:
        raise BadReport(f"{what} {name} is longer than {max_length} characters")
    return value


def _family(address: Any, family: Any, what: str) -> str:
    """`family_of`, naming the report part in its error."""
    try:
        return family_of(address, family)
    except BadReport as exc:
        raise BadReport(f"{what}: {exc}") from None


#: The unspecified address of each family, written as amplet2 prints a missing address.
_UNSPECIFIED = {"ipv4": str(ipaddress.IPv4Address(0)), "ipv6": str(ipaddress.IPv6Address(0))}


def address_text(address: Any, family: Any, what: str) -> str:
    """An address as text, checked against its family.

    A missing address becomes the unspecified address of the family
    (``0.0.0.0`` or ``::``), as amplet2's own decoder prints it: the target
    could not be resolved, and the row records that it could not be tested.
    """
    family_name = _family(address, family, what)
    if address is None or address == b"" or address == "":
        return _UNSPECIFIED[family_name]
    # family_of has checked the length of packed and the syntax of text addresses.
    return str(ipaddress.ip_address(address))


#: DSCP code points by their usual names (RFC 2474, 2597, 3246, 5865).
_DSCP_NAMES = {
    0: "Default",
    8: "CS1",
    16: "CS2",
    24: "CS3",
    32: "CS4",
    40: "CS5",
    48: "CS6",
    56: "CS7",
    10: "AF11",
    12: "AF12",
    14: "AF13",
    18: "AF21",
    20: "AF22",
    22: "AF23",
    26: "AF31",
    28: "AF32",
    30: "AF33",
    34: "AF41",
    36: "AF42",
    38: "AF43",
    44: "VA",
    46: "EF",
}


def dscp_name(value: int) -> str:
    """The name of a DSCP code point, or ``0xNN`` for an unnamed one (as amplet2 prints it)."""
    return _DSCP_NAMES.get(value) or f"0x{value:02x}"


def bool_text(value: bool) -> str:
    """A boolean property value."""
    return "true" if value else "false"


# -- the collection ----------------------------------------------------------------

#: (family number, packed address length) -> family name: the common, valid cases.
_PACKED_FAMILY = {(socket.AF_INET, 4): "ipv4", (socket.AF_INET6, 16): "ipv6"}


class AmpTcpping(Collection):
    name = "amp-tcpping"
    view_style = "latency"
    description = "AMP TCP SYN latency, loss and ICMP errors"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("port", "Port", 8),
        Property("family", "Address family", 8),
        Property("packet_size", "Packet size", 16),
    )
    fields = (
        Field("median", "float", "us", description="median round-trip time of the report"),
        Field("min", "int", "us", description="fastest round trip"),
        Field("max", "int", "us", description="slowest round trip"),
        Field("loss", "int", description="SYNs without any answer"),
        Field("icmperrors", "int", description="SYNs answered by an ICMP error"),
        Field("results", "int", description="SYNs sent to a resolved address"),
        Field("lossrate", "float", description="loss / results"),
        Field(
            "rtts",
            "array",
            "us",
            quantiles=True,
            description="round trips, sorted, then one null per loss and per ICMP error",
        ),
    )
    presence_field = "results"
    amp_test = "tcpping"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "TCPping")
        items = report.get("reports")
        if not isinstance(items, list) or not items:
            raise BadReport("TCPping report has no items")
        port = str(setting(header, "port", "TCPping header", DEFAULT_PORT, 65535, 1))
        packet_size = self._packet_size(header)

        # Per (target name, family): [rtts, lost, icmp errors, results].
        groups: dict[tuple[str, str], list[Any]] = {}
        for index, item in enumerate(items):
            if type(item) is not dict and not isinstance(item, Mapping):
                raise BadReport(f"TCPping item {index} is not a mapping")
            name = item.get("name")
            if type(name) is not str or not name:
                raise BadReport(f"TCPping item {index} has no target name")
            rtt = item.get("rtt")
            if rtt is not None and (type(rtt) is not int or not 0 <= rtt <= MAX_RTT_US):
                raise BadReport(f"TCPping item {index} rtt {rtt!r} is out of range")
            icmp = False
            icmptype = item.get("icmptype")
            icmpcode = item.get("icmpcode")
            if icmptype is not None or icmpcode is not None:
                for value in (icmptype, icmpcode):
                    if value is not None and (
                        type(value) is not int or not 0 <= value <= MAX_ICMP_TYPE
                    ):
                        raise BadReport(f"TCPping item {index} ICMP type/code {value!r} is invalid")
                if rtt is not None:
                    raise BadReport(f"TCPping item {index} has both an rtt and an ICMP error")
                icmp = True
            address = item.get("address")
            family = (
                _PACKED_FAMILY.get((item.get("family"), len(address)))
                if type(address) is bytes
                else None
            )
            if family is None:
                family = _family(address, item.get("family"), f"TCPping item {index}")
            entry = groups.get((name, family))
            if entry is None:
                entry = groups[(name, family)] = [[], 0, 0, 0]
            if rtt is not None:
                entry[0].append(rtt)
                entry[3] += 1
            elif icmp:
                entry[2] += 1
                entry[3] += 1
            elif address:
                entry[1] += 1
                entry[3] += 1

        return [
            ParsedRow(
                {
                    "source": source,
                    "destination": name,
                    "port": port,
                    "family": family,
                    "packet_size": packet_size,
                },
                self._derive(*entry),
            )
            for (name, family), entry in groups.items()
        ]

    @staticmethod
    def _packet_size(header: Mapping[str, Any]) -> str:
        if flag(header, "random", "TCPping header"):
            return "random"
        return str(setting(header, "packet_size", "TCPping header", DEFAULT_PACKET_SIZE, 65535, 1))

    @staticmethod
    def _derive(rtts: list[int], lost: int, icmp_errors: int, results: int) -> dict[str, Any]:
        """The row of one target's SYNs; all nulls but ``results = 0`` when none was sent."""
        if results == 0:
            return {
                "median": None,
                "min": None,
                "max": None,
                "loss": None,
                "icmperrors": None,
                "results": 0,
                "lossrate": None,
                "rtts": None,
            }
        rtts.sort()
        unanswered = lost + icmp_errors
        return {
            "median": median(rtts),
            "min": rtts[0] if rtts else None,
            "max": rtts[-1] if rtts else None,
            "loss": lost,
            "icmperrors": icmp_errors,
            "results": results,
            "lossrate": lost / results,
            "rtts": rtts + [None] * unanswered if unanswered else rtts,
        }
