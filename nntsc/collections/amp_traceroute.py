"""AMP traceroute (amplet2 test ``traceroute``): IP paths, AS paths and path lengths.

One report feeds two collections (`docs/wire.md`):

* ``amp-traceroute``: per (target name, family), the path length, hop count,
  whether the destination answered, the IP path and AS path (as ids into the
  deduplicated path tables of `nntsc.store.paths`) and the per-hop round
  trips;
* ``amp-astraceroute``: per (target name, family), the AS path id, its length
  in AS hops and whether the destination answered, for reports that carry AS
  numbers (header ``asn``).

Both share the ICMP stream key (source, destination name, family, packet
size). `parse` is pure: it leaves each row's raw hop list under the private
keys ``_ip_hops`` (``(family, hops)``) and ``_asns`` (per-hop AS numbers);
`resolve` swaps them for path ids, created on first sight.

Derivations, per item (one probed address):

* A hop *responded* when it carries an address or an rtt, or, in a report
  that carries AS numbers, an AS number other than ``AS_NULL`` (-1, which
  amplet2 gives a hop without a reply). An unresponsive hop is ``None`` in the
  IP path and in ``hop_rtts``.
* ``path_length``: the hop count when the last hop responded; when the path
  ends in unresponsive hops they are dropped and 0.5 is added ("ended half a
  hop past the last responding hop"), so an empty or all-silent path is 0.5;
  ``None`` when the target could not be tested (no target address and no
  hops).
* ``responded``: 1 when the last hop is the target address (or, when no hop
  addresses were recorded, when the last hop responded: the probe then stops
  at the destination or at a terminal error, which the AS-only data cannot
  tell apart); ``None`` when the target could not be tested.
* AS path: the per-hop AS numbers (0 unknown, -1 no reply, -2 private),
  stored run-length encoded as ``[[asn, count], ...]``; a hop without an AS
  number in an AS report is -1 if it has no address (older amplet2 omits it
  there), else 0. ``as_path_length`` counts AS hops: the runs of equal AS
  numbers once silent (-1) hops are left out, plus 0.5 when the path ends in
  silent hops (the same rule as ``path_length``, one level up).

Several items of one (name, family) (a name resolving to several addresses)
make one row, as for ICMP: the length is the **mode** over the items that
were tested (ties: the first seen), and the path, hop count, rtts and
``responded`` come from the most frequent path among the items having that
length (ties: the first seen), so every value of a row describes one path.

Differences from the predecessor, on purpose:

* It kept one IP row per item; a (stream, timestamp) here is one row, so the
  items of a name are combined as described above.
* Path tables were per stream; here one table of IP paths and one of AS paths
  serve every stream, so a path seen from many monitors is stored once.
* AS paths were text ``"count.asn"``; here ``[asn, count]`` integer pairs.
* For AS-only runs it added 0.5 when the last AS was *negative*, so a path
  ending at a responding private (-2) address got a half hop too many; here
  only silent (-1) hops count as unresponsive.
* The AS collection got rows only when the header's ``ip`` flag was off;
  here it gets a row for every report that carries AS numbers, and the IP
  collection keeps its ``as_path_id`` as well.
* Unresolved-target rows keep ``hop_count = 0`` (the presence field) and
  null everything else, so "could not test" differs from "no reply" (0.5).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from nntsc.collections.amp_common import MAX_RTT_US, family_of
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

DEFAULT_PACKET_SIZE = 60
#: The TTL is one byte: no path is longer.
MAX_HOPS = 255
#: AS numbers are 32-bit; amplet2's special values are below zero.
MAX_ASN = 2**32 - 1
AS_UNKNOWN = 0
AS_NULL = -1
AS_PRIVATE = -2
#: Longest stream property value (`Property.max_length`).
MAX_PROPERTY_LENGTH = 255

_ADDRESS_LENGTH = {"ipv4": 4, "ipv6": 16}

T = TypeVar("T")


class Trace(NamedTuple):
    """What one item (one probed address) of a report says."""

    tested: bool
    #: Hop addresses (``None`` when silent); ``None`` when no addresses were recorded.
    hops: tuple[str | None, ...] | None
    #: Per-hop AS numbers; ``None`` when the report carries none.
    asns: tuple[int, ...] | None
    rtts: tuple[int | None, ...]
    path_length: float | None
    as_path_length: float | None
    responded: int | None


def run_length(asns: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Run-length encode per-hop AS numbers: ``(1, 1, -1, 2)`` -> ``((1, 2), (-1, 1), (2, 1))``."""
    runs: list[list[int]] = []
    for asn in asns:
        if runs and runs[-1][0] == asn:
            runs[-1][1] += 1
        else:
            runs.append([asn, 1])
    return tuple((asn, count) for asn, count in runs)


def path_length(responded: Sequence[bool]) -> float:
    """Hops up to the last responding one, plus 0.5 if silent hops (or nothing) follow."""
    last = len(responded)
    while last and not responded[last - 1]:
        last -= 1
    return float(last) if last and last == len(responded) else last + 0.5


def as_path_length(asns: Sequence[int]) -> float:
    """AS hops of a path: runs of equal ASNs ignoring silent hops, +0.5 if it ends silent."""
    hops = 0
    previous = None
    for asn in asns:
        if asn != AS_NULL and asn != previous:
            hops += 1
            previous = asn
    ends_silent = not asns or asns[-1] == AS_NULL
    return hops + 0.5 if ends_silent else float(hops)


def mode(values: Iterable[T]) -> T:
    """The most frequent value; of equally frequent ones, the first seen."""
    counts = Counter(values)
    best = max(counts.values())
    return next(value for value, count in counts.items() if count == best)


def address_text(packed: bytes) -> str:
    """The canonical text of a packed IPv4 or IPv6 address."""
    return str(ipaddress.ip_address(packed))


def _int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _packet_size(header: Mapping[str, Any]) -> str:
    if header.get("random"):
        return "random"
    size = header.get("packet_size", DEFAULT_PACKET_SIZE)
    if not _int(size, 1, 65535):
        raise BadReport(f"traceroute packet size {size!r} is out of range")
    return str(size)


def parse_traces(
    report: Any, source: str, timestamp: int
) -> tuple[str, bool, dict[tuple[str, str], list[Trace]]]:
    """Validate a decoded traceroute report: (packet size, carries ASNs, traces per (name, family)).

    Raises `BadReport` for anything malformed, before any row exists.
    """
    if not isinstance(source, str) or not source or len(source) > MAX_PROPERTY_LENGTH:
        raise BadReport("report has no valid source monitor name")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise BadReport(f"report timestamp {timestamp!r} is not a positive integer")
    if not isinstance(report, Mapping):
        raise BadReport("traceroute report is not a mapping")
    header = report.get("header")
    if header is None:
        header = {}
    elif not isinstance(header, Mapping):
        raise BadReport("traceroute report header is not a mapping")
    items = report.get("reports")
    if not isinstance(items, list) or not items:
        raise BadReport("traceroute report has no items")
    packet_size = _packet_size(header)
    ip_flag = header.get("ip", True)
    asn_flag = header.get("asn", False)
    if type(ip_flag) is not bool or type(asn_flag) is not bool:
        raise BadReport("traceroute header ip/asn flags are not booleans")
    if not ip_flag and not asn_flag:
        raise BadReport("traceroute report recorded neither hop addresses nor AS numbers")

    groups: dict[tuple[str, str], list[Trace]] = {}
    for index, item in enumerate(items):
        trace, name, family = _trace(item, index, ip_flag, asn_flag)
        groups.setdefault((name, family), []).append(trace)
    return packet_size, asn_flag, groups


def _trace(item: Any, index: int, ip_flag: bool, asn_flag: bool) -> tuple[Trace, str, str]:
    where = f"traceroute item {index}"
    if not isinstance(item, Mapping):
        raise BadReport(f"{where} is not a mapping")
    name = item.get("name")
    if type(name) is not str or not name or len(name) > MAX_PROPERTY_LENGTH:
        raise BadReport(f"{where} has no valid target name")
    for key in ("err_type", "err_code"):
        if key in item and not _int(item[key], 0, 255):
            raise BadReport(f"{where} {key} {item[key]!r} is out of range")
    target = item.get("address")
    if target is not None and type(target) is not bytes:
        raise BadReport(f"{where} target address {target!r} is not packed bytes")
    family = family_of(target, item.get("family"))
    target_text = address_text(target) if target and any(target) else None
    path = item.get("path", [])
    if not isinstance(path, list):
        raise BadReport(f"{where} path is not a list")
    if len(path) > MAX_HOPS:
        raise BadReport(f"{where} has {len(path)} hops; at most {MAX_HOPS}")

    size = _ADDRESS_LENGTH[family]
    hops: list[str | None] = []
    asns: list[int] = []
    rtts: list[int | None] = []
    responded: list[bool] = []
    any_address = False
    for number, hop in enumerate(path, 1):
        if not isinstance(hop, Mapping):
            raise BadReport(f"{where} hop {number} is not a mapping")
        packed = hop.get("address")
        text = None
        if packed is not None and packed != b"":
            if type(packed) is not bytes or len(packed) != size:
                raise BadReport(f"{where} hop {number} address {packed!r} is not a packed {family}")
            if any(packed):
                text = address_text(packed)
                any_address = True
        rtt = hop.get("rtt")
        if rtt is not None and not _int(rtt, 0, MAX_RTT_US):
            raise BadReport(f"{where} hop {number} rtt {rtt!r} is out of range")
        asn = hop.get("asn")
        if asn is not None and not _int(asn, AS_PRIVATE, MAX_ASN):
            raise BadReport(f"{where} hop {number} AS number {asn!r} is out of range")
        if asn_flag:
            if asn is None:
                asn = AS_NULL if text is None and rtt is None else AS_UNKNOWN
            asns.append(asn)
        hops.append(text)
        rtts.append(rtt)
        responded.append(text is not None or rtt is not None or (asn_flag and asn != AS_NULL))

    tested = target_text is not None or bool(path)
    if not tested:
        answered = None
    elif not path:
        answered = 0
    elif target_text is not None and (ip_flag or any_address):
        answered = int(hops[-1] == target_text)
    else:
        answered = int(responded[-1])
    trace = Trace(
        tested=tested,
        hops=tuple(hops) if ip_flag or any_address else None,
        asns=tuple(asns) if asn_flag else None,
        rtts=tuple(rtts),
        path_length=path_length(responded) if tested else None,
        as_path_length=as_path_length(asns) if tested and asn_flag else None,
        responded=answered,
    )
    return trace, name, family


def _representative(
    traces: Sequence[Trace],
    length: Callable[[Trace], float | None],
    key: Callable[[Trace], Hashable],
) -> Trace | None:
    """The trace standing for the group: the most frequent path among those of the modal length."""
    tested = [t for t in traces if t.tested]
    if not tested:
        return None
    modal = mode(length(t) for t in tested)
    candidates = [t for t in tested if length(t) == modal]
    chosen = mode(key(t) for t in candidates)
    return next(t for t in candidates if key(t) == chosen)


def _properties(source: str, name: str, family: str, packet_size: str) -> dict[str, str]:
    return {"source": source, "destination": name, "family": family, "packet_size": packet_size}


def resolve_paths(services: Any, rows: Sequence[ParsedRow]) -> list[ParsedRow]:
    """Swap the private ``_ip_hops``/``_asns`` values of `rows` for path ids."""
    pending = [row for row in rows if "_ip_hops" in row.values or "_asns" in row.values]
    if not pending:
        return list(rows)
    registry = services.paths
    ip_keys = {row.values["_ip_hops"] for row in pending if row.values.get("_ip_hops") is not None}
    as_keys = {row.values["_asns"] for row in pending if row.values.get("_asns") is not None}
    ip_ids = registry.ip_path_ids(ip_keys) if ip_keys else {}
    as_ids = registry.as_path_ids(as_keys) if as_keys else {}
    resolved = []
    for row in rows:
        values = row.values
        if "_ip_hops" in values or "_asns" in values:
            values = dict(values)
            if "_ip_hops" in values:
                ip_key = values.pop("_ip_hops")
                values["ip_path_id"] = None if ip_key is None else ip_ids[ip_key]
            if "_asns" in values:
                as_key = values.pop("_asns")
                values["as_path_id"] = None if as_key is None else as_ids[as_key]
        resolved.append(ParsedRow(row.properties, values))
    return resolved


_PROPERTIES = (
    Property("source", "Source"),
    Property("destination", "Destination"),
    Property("family", "Address family", 8),
    Property("packet_size", "Packet size", 16, unit="bytes"),
)


class AmpTraceroute(Collection):
    name = "amp-traceroute"
    view_style = "traceroute"
    description = "AMP traceroute IP paths and path lengths"
    title = "Traceroute"
    properties = _PROPERTIES
    fields = (
        Field(
            "path_length",
            "float",
            "hops",
            description="modal path length; +0.5 when the path ends in silent hops",
        ),
        Field("hop_count", "int", "hops", description="hops reported, silent ones included"),
        Field("responded", "int", description="1 if the destination answered"),
        Field("ip_path_id", "int", description="id of the IP path (traceroute_ip_paths)"),
        Field("as_path_id", "int", description="id of the AS path (traceroute_as_paths)"),
        Field("hop_rtts", "array", "us", description="round trip to each hop, null if silent"),
    )
    presence_field = "hop_count"
    amp_test = "traceroute"
    #: IP path changes that persist, and changes of the usual path length.
    detections = (
        Detection("path", "ip_path_id", metric="ip_path", options={"paths": "ip"}),
        Detection("mode", "path_length", "hops", options={"quantum": 0.5, "floor": 1.0}),
    )

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        packet_size, _, groups = parse_traces(report, source, timestamp)
        rows = []
        for (name, family), traces in groups.items():
            trace = _representative(
                traces, lambda t: t.path_length, lambda t: (t.hops, t.asns, t.responded)
            )
            if trace is None:
                values: dict[str, Any] = {
                    "path_length": None,
                    "hop_count": 0,
                    "responded": None,
                    "hop_rtts": None,
                    "_ip_hops": None,
                    "_asns": None,
                }
            else:
                values = {
                    "path_length": trace.path_length,
                    "hop_count": len(trace.rtts),
                    "responded": trace.responded,
                    "hop_rtts": list(trace.rtts),
                    "_ip_hops": None if trace.hops is None else (family, trace.hops),
                    "_asns": trace.asns,
                }
            rows.append(ParsedRow(_properties(source, name, family, packet_size), values))
        return rows

    def resolve(self, services: Any, rows: Sequence[ParsedRow]) -> Sequence[ParsedRow]:
        return resolve_paths(services, rows)


class AmpAsTraceroute(Collection):
    name = "amp-astraceroute"
    view_style = "as-path"
    description = "AMP traceroute AS paths"
    title = "AS path"
    properties = _PROPERTIES
    fields = (
        Field("as_path_id", "int", description="id of the AS path (traceroute_as_paths)"),
        Field(
            "as_path_length",
            "float",
            "AS hops",
            description="modal AS hop count; +0.5 when the path ends in silent hops",
        ),
        Field("responded", "int", description="1 if the destination answered"),
        Field("hop_count", "int", "hops", description="IP hops reported, silent ones included"),
    )
    presence_field = "hop_count"
    amp_test = "traceroute"
    #: AS path changes that persist (their ASNs are what event groups share).
    detections = (Detection("path", "as_path_id", metric="as_path", options={"paths": "as"}),)

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        packet_size, carries_asns, groups = parse_traces(report, source, timestamp)
        if not carries_asns:
            return []
        rows = []
        for (name, family), traces in groups.items():
            trace = _representative(
                traces, lambda t: t.as_path_length, lambda t: (t.asns, t.responded)
            )
            if trace is None:
                values: dict[str, Any] = {
                    "as_path_length": None,
                    "responded": None,
                    "hop_count": 0,
                    "_asns": None,
                }
            else:
                values = {
                    "as_path_length": trace.as_path_length,
                    "responded": trace.responded,
                    "hop_count": len(trace.rtts),
                    "_asns": trace.asns,
                }
            rows.append(ParsedRow(_properties(source, name, family, packet_size), values))
        return rows

    def resolve(self, services: Any, rows: Sequence[ParsedRow]) -> Sequence[ParsedRow]:
        return resolve_paths(services, rows)
