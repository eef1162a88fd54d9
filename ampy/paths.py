"""Traceroute paths of a view: the distinct IP paths of a period, and AS paths over time.

A traceroute row holds the ids of its IP and AS paths (`nntsc.store.paths`),
so both questions are answered from the raw rows of the period: one bounded
raw read per line (`TimeseriesStore.raw`, which refuses more rows than the
store's limit), then one lookup of the paths seen. Ranges are limited to
`MAX_PATH_RANGE`, because raw rows are only kept for so long and a path map
of months is unreadable anyway; the summary graphs above the maps come from
the aggregated history instead.

AS numbers follow amplet2: 0 unknown, -1 no reply (a silent hop), -2 a
private address.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ampy.errors import BadQuery, BadTimeRange
from ampy.groups import Line
from ampy.history import check_range
from nntsc.collections import get as get_collection
from nntsc.store.paths import path_registry

__all__ = [
    "MAX_PATH_RANGE",
    "AsPathLine",
    "IpPathLine",
    "ViewPaths",
    "check_path_range",
    "expand_as_path",
    "read_as_paths",
    "read_ip_paths",
]

#: The longest period whose paths are listed (raw rows are read).
MAX_PATH_RANGE = 31 * 86400
#: A break in the rows longer than this many typical intervals splits an AS path segment.
GAP_INTERVALS = 3


def check_path_range(start: int, end: int) -> None:
    """Raise `BadTimeRange` unless [start, end) is a range paths are listed for."""
    check_range(start, end)
    if end - start > MAX_PATH_RANGE:
        raise BadTimeRange(f"paths are listed for at most {MAX_PATH_RANGE // 86400} days at a time")


def expand_as_path(path: Sequence[Sequence[int]]) -> list[int]:
    """Per-hop AS numbers from a run-length encoded path: ``[[1, 2], [3, 1]]`` -> ``[1, 1, 3]``."""
    return [asn for asn, count in path for _ in range(count)]


@dataclass(frozen=True)
class IpPathLine:
    """The distinct IP paths one line took in a period, most often seen first.

    Each path is ``{path_id, family, length, count, first_seen, last_seen,
    reached, hops}``, where ``reached`` says whether most of its rows had the
    destination answer and ``hops`` is a list of ``{address, asn}`` (address
    ``None`` for a silent hop; ``asn`` ``None`` when unknown for the path).
    `observations` counts the rows with a path; `untested` the rows without.
    """

    line_id: str
    label: str
    colour: str
    source: str
    destination: str
    observations: int
    untested: int
    paths: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "label": self.label,
            "colour": self.colour,
            "source": self.source,
            "destination": self.destination,
            "observations": self.observations,
            "untested": self.untested,
            "paths": self.paths,
        }


@dataclass(frozen=True)
class AsPathLine:
    """One line's AS paths in a period: the distinct paths, the segments over time, the changes.

    ``paths``: ``{path_id, path, length, hop_count, count, first_seen,
    last_seen}``, most often seen first, ``path`` run-length encoded
    ``[[asn, count], ...]``. ``segments``: runs of rows with one path,
    ``{path_id, first, last, count}``, oldest first, split where the rows
    stop for more than a few intervals. ``changes``: ``{timestamp,
    from_path_id, to_path_id}`` at the first row of each new path (a gap in
    the rows is not a change). ``interval`` is the typical time between rows.
    """

    line_id: str
    label: str
    colour: str
    source: str
    destination: str
    interval: int | None
    paths: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "label": self.label,
            "colour": self.colour,
            "source": self.source,
            "destination": self.destination,
            "interval": self.interval,
            "paths": self.paths,
            "segments": self.segments,
            "changes": self.changes,
        }


def _line_collection(line: Line, field_name: str) -> Any:
    collection = get_collection(line.collection)
    if field_name not in collection.field_names:
        kind = "IP" if field_name == "ip_path_id" else "AS"
        raise BadQuery(f"{line.collection} lines have no {kind} paths")
    return collection


def _ends(services: Any, line: Line) -> tuple[str, str]:
    """The source and destination a line's streams share (the first stream's, or empty)."""
    if not line.stream_ids:
        return "", ""
    properties = services.streams.get(line.stream_ids[0]).properties
    return properties.get("source", ""), properties.get("destination", "")


def _raw_rows(services: Any, collection: Any, line: Line, start: int, end: int) -> list[Any]:
    """The line's raw rows in [start, end): a bounded read (`BadQuery` past the store's limit)."""
    if not line.stream_ids:
        return []
    return services.timeseries.raw(collection, line.stream_ids, start, end)


def read_ip_paths(services: Any, line: Line, start: int, end: int) -> IpPathLine:
    """The distinct IP paths of `line` in [start, end), with per-hop AS numbers where known."""
    collection = _line_collection(line, "ip_path_id")
    seen: dict[int, list[int]] = {}
    reached: Counter[int] = Counter()
    as_ids: dict[int, Counter[int]] = {}
    untested = 0
    rows = _raw_rows(services, collection, line, start, end)
    for row in rows:
        path_id = row.values.get("ip_path_id")
        if path_id is None:
            untested += 1
            continue
        path_id = int(path_id)
        entry = seen.get(path_id)
        if entry is None:
            seen[path_id] = [1, row.timestamp, row.timestamp]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], row.timestamp)
            entry[2] = max(entry[2], row.timestamp)
        if row.values.get("responded") == 1:
            reached[path_id] += 1
        as_id = row.values.get("as_path_id")
        if as_id is not None:
            as_ids.setdefault(path_id, Counter())[int(as_id)] += 1

    registry = path_registry(services)
    ip_paths = registry.ip_paths(seen)
    # An IP path is nearly always seen with one AS path; when not, the most frequent names its hops.
    usual_as = {path_id: counts.most_common(1)[0][0] for path_id, counts in as_ids.items()}
    as_paths = registry.as_paths(set(usual_as.values()))
    paths = []
    for path_id, (count, first, last) in seen.items():
        ip_path = ip_paths[path_id]
        asns: list[int | None] = [None] * len(ip_path["hops"])
        if path_id in usual_as:
            expanded = expand_as_path(as_paths[usual_as[path_id]]["path"])
            if len(expanded) == len(asns):
                asns = list(expanded)
        paths.append(
            {
                "path_id": path_id,
                "family": ip_path["family"],
                "length": ip_path["length"],
                "count": count,
                "first_seen": first,
                "last_seen": last,
                "reached": reached[path_id] * 2 > count,
                "hops": [
                    {"address": address, "asn": asn}
                    for address, asn in zip(ip_path["hops"], asns, strict=True)
                ],
            }
        )
    paths.sort(key=lambda p: (-p["count"], p["first_seen"], p["path_id"]))
    source, destination = _ends(services, line)
    return IpPathLine(
        line_id=line.line_id,
        label=line.label,
        colour=line.colour,
        source=source,
        destination=destination,
        observations=sum(entry[0] for entry in seen.values()),
        untested=untested,
        paths=paths,
    )


def _typical_interval(timestamps: Iterable[int]) -> int | None:
    ordered = sorted(set(timestamps))
    steps = [b - a for a, b in pairwise(ordered)]
    return int(statistics.median(steps)) if steps else None


def read_as_paths(services: Any, line: Line, start: int, end: int) -> AsPathLine:
    """The AS paths of `line` in [start, end): distinct paths, segments over time and changes."""
    collection = _line_collection(line, "as_path_id")
    rows = _raw_rows(services, collection, line, start, end)
    # The rows come by stream then time; a line of several streams is read as one sequence.
    timeline = sorted(
        (row.timestamp, int(row.values["as_path_id"]))
        for row in rows
        if row.values.get("as_path_id") is not None
    )
    interval = _typical_interval(ts for ts, _ in timeline)
    counts: Counter[int] = Counter()
    first_seen: dict[int, int] = {}
    last_seen: dict[int, int] = {}
    segments: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    previous: int | None = None
    for timestamp, path_id in timeline:
        counts[path_id] += 1
        first_seen.setdefault(path_id, timestamp)
        last_seen[path_id] = timestamp
        if previous is not None and path_id != previous:
            changes.append(
                {"timestamp": timestamp, "from_path_id": previous, "to_path_id": path_id}
            )
        current = segments[-1] if segments else None
        gap = (
            current is not None
            and interval is not None
            and timestamp - current["last"] > GAP_INTERVALS * interval
        )
        if current is None or current["path_id"] != path_id or gap:
            segments.append({"path_id": path_id, "first": timestamp, "last": timestamp, "count": 1})
        else:
            current["last"] = timestamp
            current["count"] += 1
        previous = path_id

    stored = path_registry(services).as_paths(counts)
    paths = [
        {
            "path_id": path_id,
            "path": stored[path_id]["path"],
            "length": stored[path_id]["length"],
            "hop_count": stored[path_id]["hop_count"],
            "count": count,
            "first_seen": first_seen[path_id],
            "last_seen": last_seen[path_id],
        }
        for path_id, count in counts.items()
    ]
    paths.sort(key=lambda p: (-p["count"], p["first_seen"], p["path_id"]))
    source, destination = _ends(services, line)
    return AsPathLine(
        line_id=line.line_id,
        label=line.label,
        colour=line.colour,
        source=source,
        destination=destination,
        interval=interval,
        paths=paths,
        segments=segments,
        changes=changes,
    )


@dataclass(frozen=True)
class ViewPaths:
    """The paths of every line of a view over [start, end); `kind` is ``ip`` or ``as``."""

    view_id: str
    style: str
    kind: str
    start: int
    end: int
    lines: list[IpPathLine] | list[AsPathLine]

    def as_dict(self) -> dict[str, Any]:
        return {
            "view_id": self.view_id,
            "style": self.style,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "lines": [line.as_dict() for line in self.lines],
        }
