"""NNTSC rows back into amplet2 reports, so that our own parsers derive every value.

NNTSC stored, per stream and test run, values it had derived from the
report (a median, a loss count, an AS path as text...). The importer does
not copy those: it rebuilds the report that would have produced them (the
dict form of `nntsc.wire.decode`) and hands it to the ingest path, so an
imported row holds exactly what our collector makes of the same report.
What NNTSC did not keep cannot come back; each converter's ``lossy`` text
says what is approximated (it is printed by ``nntsc import nntsc --help``
and in ``docs/operations.md``).

A converter raises `LegacyRowError` for a row it cannot rebuild (the
importer counts it as rejected and goes on).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nntsc.collections.amp_dns import QUERY_CLASSES, QUERY_TYPES
from nntsc.collections.amp_udpstream import PERCENTILE_FIELDS
from nntsc.collections.base import ParsedRow
from nntsc.errors import NntscError
from nntsc.text import decimal_int

Stream = Mapping[str, Any]
LegacyRow = Mapping[str, Any]


class LegacyRowError(NntscError):
    """An NNTSC row that cannot be rebuilt into a report."""


@dataclass(frozen=True)
class LegacyCollection:
    """One NNTSC collection and how its rows become reports of amplet2 test `test`."""

    #: ``<module>_<modsubtype>`` as in NNTSC's ``collections`` table (``amp_icmp``).
    name: str
    test: str
    stream_table: str
    #: The InfluxDB measurement holding its rows; ``None`` when they are in PostgreSQL.
    measurement: str | None
    #: The rows of one stream at one time -> one report.
    to_report: Callable[[Stream, Sequence[LegacyRow]], dict[str, Any]]
    #: What NNTSC stored wrongly or lossily, and what the import makes of it.
    lossy: str
    #: NNTSC collections whose rows this one reads too (traceroute reads the AS rows).
    also_reads: tuple[str, ...] = ()
    #: Which of the rows our parsers make of the report belong to the NNTSC
    #: stream (SIP: a report makes both directions, an NNTSC stream is one);
    #: ``None`` keeps them all.
    keep: Callable[[Stream, ParsedRow], bool] | None = None
    #: Chunks this many times the importer's: for rows far apart (a traceroute
    #: every 15 minutes or so rather than a ping a minute).
    chunk_factor: int = 1


_FAMILY = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
_UNSPECIFIED = {"ipv4": bytes(4), "ipv6": bytes(16)}
_DSCP_CODES = {
    "Default": 0,
    **{f"CS{n}": n * 8 for n in range(1, 8)},
    **{f"AF{a}{b}": a * 8 + b * 2 for a in range(1, 5) for b in range(1, 4)},
    "VA": 44,
    "EF": 46,
}
_QUERY_TYPE_CODES = {name: code for code, name in QUERY_TYPES.items()}
_QUERY_CLASS_CODES = {name: code for code, name in QUERY_CLASSES.items()}


def array(value: Any) -> list[Any] | None:
    """An array field: NNTSC wrote lists into InfluxDB as their Python text (``[1, None]``)."""
    if value is None or isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise LegacyRowError(f"array value {value!r} is neither a list nor its text")
    if value.startswith("[") and value.endswith("]"):
        # The common case, integers and None as Python prints them, without
        # the JSON decoder (a third of the time).
        inner = value[1:-1]
        if not inner:
            return []
        try:
            return [None if part == "None" else int(part) for part in inner.split(", ")]
        except ValueError:
            pass
    try:
        parsed = json.loads(value.replace("None", "null"))
    except ValueError:
        raise LegacyRowError(f"array text {value[:60]!r} is not a list of numbers") from None
    if not isinstance(parsed, list):
        raise LegacyRowError(f"array text {value[:60]!r} is not a list")
    return parsed


def family(stream: Stream) -> tuple[str, int]:
    name = str(stream.get("family") or "ipv4")
    if name not in _FAMILY:
        raise LegacyRowError(f"stream family {name!r} is neither ipv4 nor ipv6")
    return name, _FAMILY[name]


def integer(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LegacyRowError(f"{what} {value!r} is not a number") from None


def boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("t", "true", "yes", "1")
    return bool(value)


def optional_int(value: Any) -> int | None:
    return None if value is None else round(value)


def _only(rows: Sequence[LegacyRow]) -> LegacyRow:
    # NNTSC's InfluxDB rows are keyed by (stream, time): there is one.
    return rows[0]


@functools.lru_cache(maxsize=4096)
def _fixed_size_header(size: int) -> dict[str, Any]:
    # Shared between reports: the parsers only read a header.
    return {"packet_size": size}


def _packet_header(stream: Stream, row: LegacyRow, default: int) -> dict[str, Any]:
    size = stream.get("packet_size")
    fixed = decimal_int(size) if type(size) is str else None
    if fixed is not None:
        return _fixed_size_header(fixed)
    if str(size) == "random":
        header: dict[str, Any] = {"random": True}
        if row.get("packet_size"):
            header["packet_size"] = integer(row["packet_size"], "packet_size")
        return header
    return {"packet_size": integer(size if size is not None else default, "packet_size")}


# -- ICMP and TCPping -----------------------------------------------------------------


def _probe_items(
    stream: Stream, row: LegacyRow, errors: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items answered (with rtt) and lost of an ICMP/TCPping row, from its rtts array.

    `errors` of the nulls are ICMP errors (TCPping), the rest lost probes.
    """
    fam, code = family(stream)
    name = str(stream["destination"])
    rtts = array(row.get("rtts"))
    loss = row.get("loss")
    if rtts is None:
        results = row.get("results") or 0
        if loss is None or not results:
            return [], []
        # No per-probe times (an old row): the answered probes take the median.
        median = row.get("median")
        answered = max(0, int(results) - int(loss) - errors)
        rtts = [median] * answered + [None] * (int(loss) + errors)
    address = _UNSPECIFIED[fam]
    answered_items = []
    nulls = 0
    for rtt in rtts:
        if rtt is None:
            nulls += 1
        else:
            answered_items.append(
                {
                    "name": name,
                    "family": code,
                    "address": address,
                    "rtt": rtt if type(rtt) is int else integer(rtt, "rtt"),
                }
            )
    lost = {"name": name, "family": code, "address": address}
    # The parsers only read the items: one dict may stand for every lost probe.
    return answered_items, [lost] * max(0, nulls - errors)


def icmp_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    answered, lost = _probe_items(stream, row)
    items = answered + lost
    if not items:
        # Could not test (the name did not resolve): one item without an address.
        items = [{"name": str(stream["destination"]), "family": family(stream)[1]}]
    return {"header": _packet_header(stream, row, 84), "reports": items}


def tcpping_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    errors = int(row.get("icmperrors") or 0)
    answered, lost = _probe_items(stream, row, errors)
    fam, code = family(stream)
    failed = [
        {
            "name": str(stream["destination"]),
            "family": code,
            "address": _UNSPECIFIED[fam],
            "icmptype": 3,
            "icmpcode": 0,
        }
        for _ in range(errors)
    ]
    items = answered + lost + failed
    if not items:
        items = [{"name": str(stream["destination"]), "family": code}]
    header = dict(_packet_header(stream, row, 64))
    header["port"] = integer(stream.get("port", 80), "port")
    return {"header": header, "reports": items}


# -- DNS --------------------------------------------------------------------------------


def _code(value: Any, names: Mapping[str, int], prefix: str, what: str) -> int:
    """A query type or class from NNTSC's text: a mnemonic, ``0x41`` or ``TYPE65``."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.upper() in names:
        return names[text.upper()]
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        if text.upper().startswith(prefix):
            return int(text[len(prefix) :])
        return int(text)
    except ValueError:
        raise LegacyRowError(f"DNS {what} {value!r} is not understood") from None


def dns_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    header = {
        "query": str(stream["query"]),
        "query_type": _code(stream.get("query_type", 1), _QUERY_TYPE_CODES, "TYPE", "query type"),
        "query_class": _code(
            stream.get("query_class", 1), _QUERY_CLASS_CODES, "CLASS", "query class"
        ),
        "udp_payload_size": integer(stream.get("udp_payload_size", 4096), "udp_payload_size"),
        "recurse": boolean(stream.get("recurse")),
        "dnssec": boolean(stream.get("dnssec")),
        "nsid": boolean(stream.get("nsid")),
    }
    name = str(stream["destination"])
    item: dict[str, Any] = {"name": name, "address": str(stream["address"])}
    instance = stream.get("instance")
    if instance and instance != name:
        item["instance"] = str(instance)
    for ours, theirs in (
        ("query_length", "query_len"),
        ("rtt", "rtt"),
        ("response_size", "response_size"),
        ("ttl", "ttl"),
        ("total_answer", "total_answer"),
        ("total_authority", "total_authority"),
        ("total_additional", "total_additional"),
    ):
        if row.get(theirs) is not None:
            item[ours] = optional_int(row[theirs])
    if row.get("requests") == 0:
        # No query was sent: NNTSC may still hold a stray length.
        item.pop("query_length", None)
        item.pop("rtt", None)
    elif row.get("requests") and not item.get("query_length"):
        item["query_length"] = 1
    if item.get("rtt") is not None:
        flags: dict[str, Any] = {}
        for name_ in ("rd", "tc", "aa", "qr", "cd", "ad", "ra"):
            if row.get(f"flag_{name_}") is not None:
                flags[name_] = boolean(row[f"flag_{name_}"])
        for number in ("opcode", "rcode"):
            if row.get(number) is not None:
                flags[number] = optional_int(row[number])
        if flags:
            item["flags"] = flags
    return {"header": header, "reports": [item]}


# -- HTTP -------------------------------------------------------------------------------


def http_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    header: dict[str, Any] = {"url": str(stream["destination"])}
    for ours, theirs in (
        ("max_connections", "max_connections"),
        ("max_connections_per_server", "max_connections_per_server"),
        ("max_persistent_connections_per_server", "max_persistent_connections_per_server"),
        ("pipelining_maxrequests", "pipelining_max_requests"),
    ):
        if stream.get(theirs) is not None:
            header[ours] = integer(stream[theirs], theirs)
    for name in ("persist", "pipelining", "caching"):
        if stream.get(name) is not None:
            header[name] = boolean(stream[name])
    duration = optional_int(row.get("duration"))
    size = optional_int(row.get("bytes"))
    objects = int(row.get("object_count") or 0)
    servers = int(row.get("server_count") or 0)
    fetched = duration is not None or size is not None
    if duration is not None:
        header["duration"] = duration
    if size is not None:
        header["total_bytes"] = size
    header["total_objects"] = objects
    # NNTSC kept counts, not the objects: they are listed without detail, all
    # fetched when the page had a time or size, all failed when it had neither.
    listed = [{"code": 200 if fetched else 0} for _ in range(max(objects, 1 if fetched else 0))]
    server_list: list[dict[str, Any]] = [{"objects": []} for _ in range(servers)]
    if server_list:
        server_list[0]["objects"] = listed
    elif listed and fetched:
        server_list = [{"objects": listed}]
    return {"header": header, "servers": server_list}


# -- throughput -------------------------------------------------------------------------


def throughput_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    direction = str(stream["direction"])
    if direction not in ("in", "out"):
        raise LegacyRowError(f"throughput direction {direction!r} is neither in nor out")
    runtime = row.get("runtime")
    size = row.get("bytes")
    if runtime is None or size is None:
        raise LegacyRowError("throughput row has no runtime or no byte count")
    bound = integer(stream.get("duration"), "throughput duration")
    schedule = ("t" if direction == "in" else "T") + str(bound)
    header: dict[str, Any] = {
        "name": str(stream["destination"]),
        "address": str(stream["address"]),
        "schedule": schedule,
        "write_size": integer(stream.get("writesize"), "writesize"),
        "protocol": 1 if stream.get("protocol") == "http" else 0,
    }
    item = {
        "direction": 1 if direction == "in" else 2,
        "duration": integer(runtime, "runtime") * 1_000_000,
        "bytes": integer(size, "bytes"),
    }
    return {"header": header, "reports": [item]}


# -- UDPstream --------------------------------------------------------------------------


def udpstream_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    direction = str(stream["direction"])
    if direction not in ("in", "out"):
        raise LegacyRowError(f"udpstream direction {direction!r} is neither in nor out")
    dscp = stream.get("dscp", "Default")
    if isinstance(dscp, str):
        code = _DSCP_CODES.get(dscp)
        if code is None:
            code = int(dscp, 16) if dscp.lower().startswith("0x") else integer(dscp, "dscp")
    else:
        code = integer(dscp, "dscp")
    header: dict[str, Any] = {
        "name": str(stream["destination"]),
        "address": str(stream["address"]),
        "packet_size": integer(stream.get("packet_size"), "packet_size"),
        "packet_spacing": integer(stream.get("packet_spacing"), "packet_spacing"),
        "packet_count": integer(stream.get("packet_count"), "packet_count"),
        "dscp": code,
    }
    item: dict[str, Any] = {"direction": 1 if direction == "in" else 2}
    if row.get("mean_rtt") is not None:
        item["rtt"] = {"mean": optional_int(row["mean_rtt"])}
    jitter = {
        ours: optional_int(row[theirs])
        for ours, theirs in (
            ("mean", "mean_jitter"),
            ("minimum", "min_jitter"),
            ("maximum", "max_jitter"),
        )
        if row.get(theirs) is not None
    }
    if jitter:
        item["jitter"] = jitter
    deciles = [row.get(name) for name in PERCENTILE_FIELDS]
    if all(value is not None for value in deciles):
        item["percentiles"] = sorted(round(value) for value in deciles if value is not None)
    received = row.get("packets_recvd")
    if received is not None:
        item["packets_received"] = min(
            integer(received, "packets_recvd"), int(header["packet_count"])
        )
    if row.get("itu_mos") is not None:
        item["voip"] = {"itu_mos": float(row["itu_mos"])}
    return {"header": header, "reports": [item]}


# -- traceroute (PostgreSQL) -------------------------------------------------------------


def expand_aspath(aspath: Sequence[str] | None) -> list[int] | None:
    """NNTSC's run-length AS path (``["2.64496", "1.-1"]``) as one AS number per hop."""
    if aspath is None:
        return None
    asns: list[int] = []
    for element in aspath:
        count, _, asn = str(element).partition(".")
        try:
            asns.extend([int(asn)] * int(count))
        except ValueError:
            raise LegacyRowError(f"AS path element {element!r} is not count.asn") from None
    return asns


def _packed(address: str | None, fam: str) -> bytes | None:
    if address is None:
        return None
    try:
        packed = ipaddress.ip_address(str(address).split("/")[0]).packed
    except ValueError:
        raise LegacyRowError(f"hop address {address!r} is not an IP address") from None
    if len(packed) != len(_UNSPECIFIED[fam]):
        raise LegacyRowError(f"hop address {address!r} is not {fam}")
    return packed


def _ip_item(stream: Stream, row: LegacyRow) -> tuple[dict[str, Any], bool]:
    """One IP traceroute row as a report item; whether its hops carry AS numbers."""
    fam, code = family(stream)
    path = row.get("path") or []
    rtts = row.get("hop_rtt") or []
    asns = expand_aspath(row.get("aspath"))
    with_asns = asns is not None and len(asns) == len(path)
    hops = []
    for index, address in enumerate(path):
        hop: dict[str, Any] = {}
        packed = _packed(address, fam)
        if packed is not None:
            hop["address"] = packed
        if index < len(rtts) and rtts[index] is not None:
            hop["rtt"] = int(rtts[index])
        if with_asns:
            hop["asn"] = asns[index]  # type: ignore[index]
        hops.append(hop)
    return {"name": str(stream["destination"]), "family": code, "path": hops}, with_asns


def traceroute_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    """IP rows (``kind`` ``ip``) of one time, else its AS row (``kind`` ``as``)."""
    ip_rows = [row for row in rows if row.get("kind") == "ip"]
    first = (ip_rows or rows)[0]
    header = dict(_packet_header(stream, first, 60))
    if ip_rows:
        items = [_ip_item(stream, row) for row in ip_rows]
        header["ip"] = True
        header["asn"] = all(with_asns for _, with_asns in items)
        reports = [item for item, _ in items]
        if not header["asn"]:
            for item in reports:
                for hop in item["path"]:
                    hop.pop("asn", None)
        return {"header": header, "reports": reports}
    asns = expand_aspath(first.get("aspath"))
    header["ip"] = False
    header["asn"] = True
    _, code = family(stream)
    as_item: dict[str, Any] = {"name": str(stream["destination"]), "family": code}
    if asns is not None:
        as_item["path"] = [{"asn": asn} for asn in asns]
    return {"header": header, "reports": [as_item]}


def traceroute_statements(stream_id: int, tables: set[str]) -> list[str]:
    """SELECTs of one stream's IP and AS rows in [:start, :end), over the tables that exist.

    All have the same columns (kind, stream_id, timestamp, packet_size,
    hop_rtt, path, aspath), so that a chunk's may be joined by UNION ALL.
    """
    sid = int(stream_id)
    paths, aspaths = f"data_amp_traceroute_paths_{sid}", f"data_amp_traceroute_aspaths_{sid}"
    ip_table, as_table = f"data_amp_traceroute_{sid}", f"data_amp_astraceroute_{sid}"
    has_aspaths = aspaths in tables
    statements = []
    if ip_table in tables and paths in tables:
        aspath = "a.aspath" if has_aspaths else "NULL"
        join = f"LEFT JOIN {aspaths} a ON a.aspath_id = d.aspath_id" if has_aspaths else ""
        statements.append(
            f"SELECT 'ip' AS kind, {sid} AS stream_id, d.timestamp, d.packet_size, d.hop_rtt, "
            f"p.path::text[] AS path, {aspath}::text[] AS aspath "
            f"FROM {ip_table} d LEFT JOIN {paths} p ON p.path_id = d.path_id {join} "
            "WHERE d.timestamp >= :start AND d.timestamp < :end"
        )
    if as_table in tables:
        aspath = "a.aspath" if has_aspaths else "NULL"
        join = f"LEFT JOIN {aspaths} a ON a.aspath_id = d.aspath_id" if has_aspaths else ""
        statements.append(
            f"SELECT 'as' AS kind, {sid} AS stream_id, d.timestamp, d.packet_size, "
            f"NULL::integer[] AS hop_rtt, NULL::text[] AS path, {aspath}::text[] AS aspath "
            f"FROM {as_table} d {join} "
            "WHERE d.timestamp >= :start AND d.timestamp < :end"
        )
    return statements


def traceroute_tables(stream_id: int) -> list[str]:
    sid = int(stream_id)
    return [
        f"data_amp_traceroute_{sid}",
        f"data_amp_astraceroute_{sid}",
        f"data_amp_traceroute_paths_{sid}",
        f"data_amp_traceroute_aspaths_{sid}",
    ]


# -- YouTube, fastping, external, SIP -------------------------------------------------

#: amplet2's YouTube Quality enum by the level names NNTSC may have stored instead.
_YOUTUBE_QUALITIES = {
    name: code
    for code, name in enumerate(
        (
            "unknown",
            "default",
            "small",
            "medium",
            "large",
            "hd720",
            "hd1080",
            "hd1440",
            "hd2160",
            "highres",
        )
    )
}
_YOUTUBE_TIMINGS = ("total_time", "pre_time", "initial_buffering", "playing_time", "stall_time")


def youtube_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    quality = stream.get("quality", 1)
    if isinstance(quality, str) and decimal_int(quality.strip()) is None:
        code = _YOUTUBE_QUALITIES.get(quality.strip().lower())
        if code is None:
            raise LegacyRowError(f"YouTube quality {quality!r} is not a quality level")
    else:
        code = integer(quality, "YouTube quality")
    report: dict[str, Any] = {"header": {"video": str(stream["destination"]), "quality": code}}
    item = {
        name: optional_int(row[name])
        for name in (*_YOUTUBE_TIMINGS, "stall_count")
        if row.get(name) is not None
    }
    if any(name in item for name in _YOUTUBE_TIMINGS):
        report["item"] = item
    return report


def fastping_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    _, code = family(stream)
    count = integer(stream.get("packet_count"), "packet_count")
    header = {
        "name": str(stream["destination"]),
        "family": code,
        "size": integer(stream.get("packet_size"), "packet_size"),
        "rate": integer(stream.get("packet_rate"), "packet_rate"),
        "count": count,
        "preprobe": boolean(stream.get("preprobe")),
    }
    lossrate = row.get("lossrate")
    if lossrate is None:
        # NNTSC's "did not run" (no runtime): all null.
        return {"header": header, "reports": [{}]}
    percentiles = sorted(round(v) for v in array(row.get("percentiles")) or [] if v is not None)
    samples = max(0, min(count, round((1 - float(lossrate)) * count)))
    rtt: dict[str, Any] = {"samples": samples if percentiles else 0}
    if percentiles and samples:
        rtt.update(percentiles=percentiles, minimum=percentiles[0], maximum=percentiles[-1])
    return {"header": header, "reports": [{"runtime": 1, "rtt": rtt}]}


def external_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    value = row.get("value")
    if value is None:
        raise LegacyRowError("external row has no value")
    return {
        "header": {"command": str(stream["command"])},
        "reports": [{"name": str(stream["destination"]), "value": optional_int(value)}],
    }


_SIP_COUNTS = ("packets", "bytes", "lost", "discarded", "reordered", "duplicated")


def sip_report(stream: Stream, rows: Sequence[LegacyRow]) -> dict[str, Any]:
    row = _only(rows)
    direction = str(stream["direction"])
    if direction not in ("rx", "tx"):
        raise LegacyRowError(f"SIP direction {direction!r} is neither rx nor tx")
    dscp = stream.get("dscp", "Default")
    header: dict[str, Any] = {
        "uri": str(stream["destination"]),
        "proxy": [p for p in str(stream.get("proxy") or "").split(",") if p and p != "none"],
        "filename": str(stream["filename"]),
        "repeat": boolean(stream.get("repeat")),
        "max_duration": integer(stream.get("max_duration", 0), "max_duration"),
        "dscp": _DSCP_CODES.get(dscp) if isinstance(dscp, str) and dscp in _DSCP_CODES else 0,
    }
    address = stream.get("address")
    if address and str(address) not in ("unknown", ""):
        header["address"] = str(address)
    item: dict[str, Any] = {}
    for ours, theirs in (
        ("time_till_first_response", "response_time"),
        ("time_till_connected", "connect_time"),
        ("duration", "duration"),
    ):
        if row.get(theirs) is not None:
            item[ours] = optional_int(row[theirs])
    rtt = {
        ours: optional_int(row[f"rtt_{theirs}"])
        for ours, theirs in (("mean", "mean"), ("minimum", "min"), ("maximum", "max"), ("sd", "sd"))
        if row.get(f"rtt_{theirs}") is not None
    }
    if rtt:
        item["rtt"] = rtt
    stats: dict[str, Any] = {
        name: optional_int(row[name]) for name in _SIP_COUNTS if row.get(name) is not None
    }
    if row.get("mos") is not None:
        stats["mos"] = {"itu_mos": float(row["mos"])}
    if stats:
        item[direction] = stats
    return {"header": header, "reports": [item]}


def own_direction(stream: Stream, row: ParsedRow) -> bool:
    return row.properties.get("direction") == stream.get("direction")


# -- the registry ----------------------------------------------------------------------

_PROBES = (
    "median is recomputed from the rtts array (NNTSC truncated it to an integer); "
    "min and max, which NNTSC did not store, come from the same array"
)

LEGACY_COLLECTIONS: dict[str, LegacyCollection] = {
    c.name: c
    for c in (
        LegacyCollection(
            "amp_icmp",
            "icmp",
            "streams_amp_icmp",
            "data_amp_icmp",
            icmp_report,
            f"{_PROBES}; a row without rtts and loss (the target did not resolve) "
            "becomes 'could not test' (results 0).",
        ),
        LegacyCollection(
            "amp_tcpping",
            "tcpping",
            "streams_amp_tcpping",
            "data_amp_tcpping",
            tcpping_report,
            f"{_PROBES}; NNTSC counted probes to an unresolved name as lost, which "
            "cannot be told apart afterwards, so they stay losses.",
        ),
        LegacyCollection(
            "amp_dns",
            "dns",
            "streams_amp_dns",
            "data_amp_dns",
            dns_report,
            "query types NNTSC wrote in hex (0x63) get their mnemonic or RFC 3597 "
            "form (TYPE99); flags become 0/1.",
        ),
        LegacyCollection(
            "amp_http",
            "http",
            "streams_amp_http",
            "data_amp_http",
            http_report,
            "NNTSC stored duration and bytes as null when they were 0, so such a "
            "page stays 'nothing fetched'; failed_object_count (not stored by "
            "NNTSC) is 0, or object_count when nothing was fetched.",
        ),
        LegacyCollection(
            "amp_throughput",
            "throughput",
            "streams_amp_throughput",
            "data_amp_throughput",
            throughput_report,
            "rate is recomputed in bit/s from bytes and the millisecond runtime "
            "(NNTSC stored bytes per ms); the duration property is taken as "
            "milliseconds (NNTSC wrote byte-count transfers the same way); "
            "rows without runtime or bytes are rejected.",
        ),
        LegacyCollection(
            "amp_udpstream",
            "udpstream",
            "streams_amp_udpstream",
            "data_amp_udpstream",
            udpstream_report,
            "loss is recomputed as a 0..1 ratio from packets received and the "
            "packet count (NNTSC's lossrate was a 0-100 percentage); the ten "
            "stored jitter percentiles are kept as the deciles.",
        ),
        LegacyCollection(
            "amp_traceroute",
            "traceroute",
            "streams_amp_traceroute",
            None,
            traceroute_report,
            "the IP rows of one test run (NNTSC kept one per address) make one "
            "report, whose path lengths, AS paths and path ids are derived anew "
            "(NNTSC's data_amp_traceroute_pathlen is not read); NNTSC did not "
            "keep the target address, so 'responded' means the last hop "
            "answered; an empty path reads as 'could not test'.",
            also_reads=("amp_astraceroute", "amp_traceroute_pathlen"),
            chunk_factor=4,
        ),
        LegacyCollection(
            "amp_youtube",
            "youtube",
            "streams_amp_youtube",
            "data_amp_youtube",
            youtube_report,
            "NNTSC stored a timing the report lacked as 0, which stays 0; a row "
            "without any timing becomes 'did not play' (results 0).",
        ),
        LegacyCollection(
            "amp_fastping",
            "fastping",
            "streams_amp_fastping",
            "data_amp_fastping",
            fastping_report,
            "loss and results are rebuilt from lossrate and the packet count; min "
            "and max are the 0th and 100th percentiles; the mean, which NNTSC did "
            "not store, is null; a row without lossrate becomes 'could not run'.",
        ),
        LegacyCollection(
            "amp_external",
            "external",
            "streams_amp_external",
            "data_amp_external",
            external_report,
            "rows without a value are rejected.",
        ),
        LegacyCollection(
            "amp_sip",
            "sip",
            "streams_amp_sip",
            "data_amp_sip",
            sip_report,
            "each NNTSC stream is one direction of a call and gives that "
            "direction's row; jitter, which NNTSC did not store, is null; "
            "results and lossrate are derived from packets and lost.",
            keep=own_direction,
        ),
    )
}


def legacy_collection(name: str) -> LegacyCollection:
    """The converter for an NNTSC collection name (``amp_icmp``) or one of ours (``amp-icmp``)."""
    key = name.replace("-", "_")
    for collection in LEGACY_COLLECTIONS.values():
        if key == collection.name or key in collection.also_reads:
            return collection
    raise LegacyRowError(
        f"no import of collection {name!r}; importable: {', '.join(LEGACY_COLLECTIONS)}"
    )
