"""Helpers shared by the amplet2 collections: report validation, addresses, medians.

Each raises `BadReport` naming the part of the report that is wrong, so a
collection module only states its own rules.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from nntsc.errors import BadReport

#: A round trip longer than this (in microseconds) is not a measurement but garbage.
MAX_RTT_US = 60_000_000


#: (family number, packed address length) -> family name: the common, valid cases.
PACKED_FAMILY = {(socket.AF_INET, 4): "ipv4", (socket.AF_INET6, 16): "ipv6"}


def family_of(address: Any, family: Any) -> str:
    """``ipv4`` or ``ipv6`` of an item, checked against its address when it has one.

    The address may be packed (4 or 16 bytes, as on the wire) or text.
    """
    if type(address) is bytes:
        # The common case on the wire, answered by one lookup (the collector's hot path).
        known = PACKED_FAMILY.get((family, len(address)))
        if known is not None:
            return known
    from_address = None
    if isinstance(address, bytes) and address:
        if len(address) not in (4, 16):
            raise BadReport(f"packed address of {len(address)} bytes is neither IPv4 nor IPv6")
        from_address = "ipv4" if len(address) == 4 else "ipv6"
    elif isinstance(address, str) and address:
        try:
            version = ipaddress.ip_address(address).version
        except ValueError:
            raise BadReport(f"item address {address!r} is not an IP address") from None
        from_address = "ipv4" if version == 4 else "ipv6"
    elif address not in (None, b"", ""):
        raise BadReport(f"item address {address!r} is neither bytes nor text")
    from_family = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}.get(family)
    if family is not None and from_family is None:
        raise BadReport(f"item family {family!r} is neither AF_INET nor AF_INET6")
    if from_family and from_address and from_family != from_address:
        raise BadReport(f"item family {from_family} does not match its address {address!r}")
    result = from_family or from_address
    if result is None:
        raise BadReport("item has neither a family nor an address")
    return result


def median(sorted_values: Sequence[float]) -> float | None:
    """The middle value, or the mean of the two middle values; ``None`` when empty."""
    count = len(sorted_values)
    if count == 0:
        return None
    middle = count // 2
    if count % 2:
        return float(sorted_values[middle])
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


UINT32 = 2**32 - 1

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


def checked_family(address: Any, family: Any, what: str) -> str:
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
    family_name = checked_family(address, family, what)
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
