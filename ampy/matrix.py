"""The matrix (source mesh x destination mesh, one cell per pair and split) and its tooltips.

Each metric names a collection, a value (a ratio of two rollup totals: the
mean is sum / count, loss is lost / sent), its split into lines and which
stream variant stands for a pair (e.g. 84-byte ICMP). A cell's value covers
the last closed hour and comes from the hourly rollups, summed per stream by
the store (one row per stream, never raw data); the relative mode compares
it with the pair's own mean over the last complete UTC day (24 hours, read as
one daily rollup row per stream). `last_result` is the
newest row of the cell's streams as ingest records it in SQL, so a pair that
fell silent shows as stale rather than keeping its last colour.

Tooltips give one pair a 24-hour sparkline (hourly points) and its value
over the last 1, 6 and 24 hours, from 5-minute bins read through the block
cache: the rollups for closed hours and the raw rows of the open one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

import ampy.collections as presentation
from ampy.cache import HistoryCache, digest
from ampy.errors import BadQuery, UnknownMetric
from ampy.groups import SPLIT, Group, Split, make_group, spec_for
from nntsc.collections import get as get_collection
from nntsc.events.models import Event, EventGroup, EventGroupMember
from nntsc.store import Aggregation, TimeseriesStore
from nntsc.store.models import Stream, property_table
from nntsc.store.rollups import DAY, HOUR, SETTLE

MODES = ("absolute", "relative")
#: A cell lists the events of its streams whose onset is in the last this many seconds.
EVENT_WINDOW = 6 * 3600
#: The newest events a cell lists (its ``event_count`` counts them all).
CELL_EVENTS = 5
#: The most events one matrix reads (the newest of the window); a bound, not a usual size.
MAX_MATRIX_EVENTS = 5000
#: Relative mode: how much worse (or better) than the baseline each class begins.
RELATIVE_STEPS: tuple[float, ...] = (-0.1, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True, kw_only=True)
class Metric:
    """What one matrix tab shows: value = scale * (numerator - minus) / denominator.

    Each term is a rollup total, (field, statistic). Declared in its
    collection's module (`ampy.collections`); `position` orders the matrix's
    tabs, and `prefer` picks the stream variant that stands for a pair
    (property -> acceptable values, best first). `minus` makes a spread: the
    mean of p90 - p10 is (sum of p90 - sum of p10) / count.
    """

    name: str
    position: int
    label: str
    collection: str
    style: str
    numerator: tuple[str, str]
    denominator: tuple[str, str]
    scale: float
    unit: str
    #: Absolute mode: where each colour class begins (higher is worse unless `higher_is_better`).
    steps: tuple[float, ...]
    stale_after: int
    prefer: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    higher_is_better: bool = False
    minus: tuple[str, str] | None = None
    #: The values of the collection's first split that the metric has (None: all). MOS is
    #: measured on the direction received only, so its cells show that one.
    split_values: tuple[str, ...] | None = None
    #: What the collection's ``destination`` names: a site (``None``), or something
    #: else whose column is the site this function reads from it (``None`` for none),
    #: declared with the collection: `url_site` for the URL amplet2's HTTP test
    #: fetched (``https://amp-akl/`` is fetched from site ``amp-akl``), the SIP
    #: collection's own for the URI a call was made to.
    destination: Callable[[str], str | None] | None = None

    @property
    def terms(self) -> tuple[tuple[str, str], ...]:
        """numerator, denominator and, when there is one, minus."""
        extra = (self.minus,) if self.minus is not None else ()
        return (self.numerator, self.denominator, *extra)

    @property
    def fields(self) -> list[str]:
        return sorted({name for name, _ in self.terms})

    def value(self, totals: Mapping[str, float]) -> float | None:
        numerator, denominator, *minus = (totals.get(f"{f}_{stat}") for f, stat in self.terms)
        if numerator is None or not denominator:
            return None
        if minus:
            if minus[0] is None:
                return None
            numerator -= minus[0]
        return self.scale * numerator / denominator

    def colour_class(self, value: float | None, baseline: float | None, mode: str) -> str:
        """``c0`` (best) to ``c6`` (worst), or ``none`` without a value."""
        if value is None:
            return "none"
        if mode == "relative":
            if baseline is None:
                return "none"
            if baseline == 0:
                # Usually zero (loss): any value is an infinite change, none is none.
                if value == 0:
                    return "c1"
                return "c0" if self.higher_is_better else f"c{len(RELATIVE_STEPS)}"
            change = (value - baseline) / baseline
            if self.higher_is_better:
                change = -change
            steps = RELATIVE_STEPS
        else:
            change, steps = value, self.steps
            if self.higher_is_better:
                return f"c{sum(1 for step in steps if value < step)}"
        return f"c{sum(1 for step in steps if change >= step)}"


def metrics() -> Mapping[str, Metric]:
    """Every matrix metric by name, in the order of the matrix's tabs."""
    return presentation.metrics()


def metric_for(name: str) -> Metric:
    """The matrix metric `name`; raises `UnknownMetric`."""
    found = presentation.metrics().get(name)
    if found is None:
        raise UnknownMetric(name)
    return found


@dataclass(frozen=True)
class Cell:
    source: str
    destination: str
    split: str
    value: float | None
    baseline: float | None
    colour_class: str
    last_result: int | None
    stale: bool
    view_id: str
    #: The newest events of the cell's streams in the last `EVENT_WINDOW` (newest first).
    events: list[dict[str, Any]] = field(default_factory=list)
    #: How many events its streams had in that window.
    event_count: int = 0
    #: Whether one of them is in an event group that is still open.
    event_open: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "split": self.split,
            "value": self.value,
            "baseline": self.baseline,
            "colour_class": self.colour_class,
            "last_result": self.last_result,
            "stale": self.stale,
            "view_id": self.view_id,
            "events": self.events,
            "event_count": self.event_count,
            "event_open": self.event_open,
        }


@dataclass(frozen=True)
class Matrix:
    metric: str
    unit: str
    mode: str
    src_mesh: str
    dst_mesh: str
    start: int
    end: int
    sources: list[str]
    destinations: list[str]
    splits: list[str]
    cells: list[Cell]
    generated: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "unit": self.unit,
            "mode": self.mode,
            "src_mesh": self.src_mesh,
            "dst_mesh": self.dst_mesh,
            "start": self.start,
            "end": self.end,
            "sources": self.sources,
            "destinations": self.destinations,
            "splits": self.splits,
            "cells": [cell.as_dict() for cell in self.cells],
            "generated": self.generated,
        }


@dataclass(frozen=True)
class PairLines:
    """A pair's group (the variant chosen for it) and its streams by split value."""

    group: Group
    lines: dict[str, list[int]]
    last: dict[str, int | None]


def _numeric_first(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def url_site(url: str) -> str | None:
    """The site a URL is fetched from: its host name (``None`` for none), for
    `Metric.destination`."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def pair_lines(
    sessions: sessionmaker[Session],
    metric: Metric,
    sources: Sequence[str],
    destinations: Sequence[str],
) -> dict[tuple[str, str], PairLines]:
    """For each (source, destination) with streams: the chosen variant and its lines.

    One SQL query reads the streams of every pair. Per pair, each further
    level takes the metric's preferred value when the pair has it, else the
    smallest; the split then divides the chosen streams into lines.
    """
    collection = get_collection(metric.collection)
    spec = spec_for(collection)
    table = property_table(collection)
    split = spec.splits[0] if spec.splits else None
    by_pair: dict[tuple[str, str], list[tuple[dict[str, str], int, int | None]]] = defaultdict(list)
    site_of = metric.destination
    wanted = set(destinations)
    with sessions() as session:
        query = (
            select(table, Stream.last_timestamp)
            .join(Stream, Stream.stream_id == table.c.stream_id)
            .where(table.c.source.in_(list(sources)))
        )
        if site_of is None:
            query = query.where(table.c.destination.in_(list(destinations)))
        for row in session.execute(query):
            props = {name: row._mapping[name] for name in collection.property_names}
            target = props["destination"] if site_of is None else site_of(props["destination"])
            if target in wanted:
                by_pair[(props["source"], target)].append(
                    (props, row.stream_id, row.last_timestamp)
                )
    result: dict[tuple[str, str], PairLines] = {}
    for pair, streams in by_pair.items():
        chosen: dict[str, str] = {"source": pair[0], "destination": pair[1]}
        # A site may serve several URLs: the pair stands for the first, as for any level.
        levels = spec.hierarchy[2:] if site_of is None else ["destination", *spec.hierarchy[2:]]
        for level in levels:
            present = {props[level] for props, _, _ in streams}
            preferred = [v for v in metric.prefer.get(level, ()) if v in present]
            chosen[level] = preferred[0] if preferred else min(present, key=_numeric_first)
            streams = [s for s in streams if s[0][level] == chosen[level]]
        group = make_group(collection.name, chosen, _cell_splits(metric, split))
        lines: dict[str, list[int]] = defaultdict(list)
        last: dict[str, int | None] = {}
        for props, stream_id, stream_last in streams:
            key = split.key_of(props) if split is not None else ""
            if metric.split_values is not None and key not in metric.split_values:
                continue
            lines[key].append(stream_id)
            if stream_last is not None and (last.get(key) or 0) < stream_last:
                last[key] = stream_last
            last.setdefault(key, None)
        result[pair] = PairLines(group, dict(lines), last)
    return result


def recent_events(
    sessions: sessionmaker[Session], collection: str, stream_ids: Sequence[int], since: int
) -> dict[int, list[dict[str, Any]]]:
    """The events of `stream_ids` with an onset at or after `since`, newest first, by stream.

    One query for the whole matrix, on the events' (onset, id) index: the
    collection's events of the window, of which those of the matrix's
    streams are kept. Each event says whether it is in a group still open
    (itself, or the group it was merged into).
    """
    events = Event.__table__
    members = EventGroupMember.__table__
    groups = EventGroup.__table__
    winners = groups.alias("winners")
    in_open_group = (
        select(members.c.event_id)
        .join(groups, groups.c.id == members.c.group_id)
        .outerjoin(winners, winners.c.id == groups.c.merged_into)
        .where(
            members.c.event_id == events.c.id,
            or_(groups.c.status == "open", winners.c.status == "open"),
        )
        .exists()
    )
    query = (
        select(
            events.c.id,
            events.c.stream_id,
            events.c.ts_onset,
            events.c.severity,
            events.c.kind,
            events.c.description,
            in_open_group.label("open"),
        )
        .where(events.c.collection == collection, events.c.ts_onset >= since)
        .order_by(events.c.ts_onset.desc(), events.c.id.desc())
        .limit(MAX_MATRIX_EVENTS)
    )
    wanted = set(stream_ids)
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with sessions() as session:
        for row in session.execute(query):
            if row.stream_id in wanted:
                found[row.stream_id].append(
                    {
                        "id": row.id,
                        "ts_onset": row.ts_onset,
                        "severity": row.severity,
                        "kind": row.kind,
                        "description": row.description,
                        "open": bool(row.open),
                    }
                )
    return found


def _cell_events(
    found: Mapping[int, list[dict[str, Any]]], ids: Sequence[int]
) -> tuple[list[dict[str, Any]], int, bool]:
    """A cell's newest `CELL_EVENTS` events, how many it had, and whether one is open."""
    every = sorted(
        (event for stream_id in ids for event in found.get(stream_id, ())),
        key=lambda event: (event["ts_onset"], event["id"]),
        reverse=True,
    )
    return every[:CELL_EVENTS], len(every), any(event["open"] for event in every)


def _cell_splits(metric: Metric, split: Split | None) -> dict[str, str]:
    """The split of the group a cell opens: its one value when the metric has only one."""
    if split is None:
        return {}
    only = metric.split_values
    return {split.keyword: only[0] if only is not None and len(only) == 1 else SPLIT}


class MatrixReader:
    """Computes matrices and tooltips; caches both for a minute."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: TimeseriesStore,
        cache: HistoryCache,
        members: Callable[[str], list[str]],
        view_ids: Callable[[str, list[Group]], list[str]],
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.cache = cache
        self.members = members
        self.view_ids = view_ids

    def matrix(
        self, metric_name: str, src_mesh: str, dst_mesh: str, mode: str = "absolute"
    ) -> Matrix:
        """The matrix of `metric_name` for two meshes; raises `UnknownMetric`, `UnknownMesh`."""
        metric = metric_for(metric_name)
        if mode not in MODES:
            raise BadQuery(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        now = time.time()
        key = f"matrix:{metric.name}:{mode}:{digest(src_mesh, dst_mesh)}"
        # Values change hourly, but last results and staleness every minute.
        return self.cache.value(
            key, lambda: self._compute(metric, src_mesh, dst_mesh, mode, now), ttl=60
        )

    def _compute(
        self, metric: Metric, src_mesh: str, dst_mesh: str, mode: str, now: float
    ) -> Matrix:
        sources = self.members(src_mesh)
        destinations = self.members(dst_mesh)
        collection = get_collection(metric.collection)
        end = int(now) - SETTLE
        end -= end % HOUR
        start = end - HOUR
        pairs = pair_lines(self.sessions, metric, sources, destinations)
        stream_ids = [s for p in pairs.values() for ids in p.lines.values() for s in ids]
        current = self.store.totals(collection, stream_ids, start, end, metric.fields, now)
        baseline = self._baseline(metric, stream_ids, start, now) if mode == "relative" else {}
        events = recent_events(self.sessions, collection.name, stream_ids, int(now) - EVENT_WINDOW)
        ordered = sorted(pairs)
        view_ids = dict(
            zip(
                ordered, self.view_ids(metric.style, [pairs[p].group for p in ordered]), strict=True
            )
        )
        cells = []
        splits: set[str] = set()
        for pair in ordered:
            lines = pairs[pair]
            for split, ids in sorted(lines.lines.items()):
                splits.add(split)
                value = metric.value(_sum_totals(current, ids))
                base = metric.value(_sum_totals(baseline, ids)) if baseline else None
                last = lines.last.get(split)
                cell_events, event_count, event_open = _cell_events(events, ids)
                cells.append(
                    Cell(
                        source=pair[0],
                        destination=pair[1],
                        split=split,
                        value=value,
                        baseline=base,
                        colour_class=metric.colour_class(value, base, mode),
                        last_result=last,
                        stale=last is None or now - last > metric.stale_after,
                        view_id=view_ids[pair],
                        events=cell_events,
                        event_count=event_count,
                        event_open=event_open,
                    )
                )
        return Matrix(
            metric=metric.name,
            unit=metric.unit,
            mode=mode,
            src_mesh=src_mesh,
            dst_mesh=dst_mesh,
            start=start,
            end=end,
            sources=sources,
            destinations=destinations,
            splits=sorted(splits),
            cells=cells,
            generated=int(now),
        )

    def _baseline(
        self, metric: Metric, stream_ids: list[int], start: int, now: float
    ) -> dict[int, dict[str, float]]:
        """Per stream, totals over the last UTC day closed by `start`; cached for the hour."""
        collection = get_collection(metric.collection)
        day_end = start - start % DAY
        if day_end + SETTLE > now:
            day_end -= DAY

        def compute() -> dict[int, dict[str, float]]:
            return self.store.totals(
                collection, stream_ids, day_end - DAY, day_end, metric.fields, now
            )

        key = f"baseline:{metric.name}:{day_end}:{digest(sorted(stream_ids))}"
        return self.cache.value(key, compute, ttl=HOUR)

    def tooltip(self, metric_name: str, source: str, destination: str) -> dict[str, Any]:
        """A pair's 24-hour sparkline (hourly) and its value over the last 1, 6 and 24 hours.

        Answered per split (``{"ipv4": {...}, "ipv6": {...}}``); raises
        `UnknownMetric`, or `BadQuery` when the pair has no streams.
        """
        metric = metric_for(metric_name)
        pairs = pair_lines(self.sessions, metric, [source], [destination])
        if (source, destination) not in pairs:
            raise BadQuery(f"no {metric.collection} streams from {source!r} to {destination!r}")
        lines = pairs[(source, destination)]
        collection = get_collection(metric.collection)
        now = time.time()
        end = int(now) - int(now) % 300 + 300
        start = end - 24 * HOUR
        aggregations = [
            Aggregation(f"term{index}", name, stat)
            for index, (name, stat) in enumerate(metric.terms)
        ]
        answer: dict[str, Any] = {}
        for split, ids in sorted(lines.lines.items()):
            ids = sorted(ids)
            key = f"tip:{metric.name}:{digest(ids)}"

            def compute(first: int, last: int, ids: list[int] = ids) -> list[list[Any]]:
                rows = self.store.aggregate(collection, ids, first, last, 300, aggregations).rows
                return [[row[0], *_difference(row[1:])] for row in rows]

            rows = self.cache.rows(key, 300, start, end, now, compute)
            hourly: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
            for timestamp, numerator, denominator in rows:
                if numerator is not None and denominator:
                    bucket = hourly[timestamp - timestamp % HOUR]
                    bucket[0] += numerator
                    bucket[1] += denominator
            first_hour = start - start % HOUR
            sparkline = [
                [hour, _ratio(metric, hourly.get(hour))] for hour in range(first_hour, end, HOUR)
            ]
            stats = {}
            for label, span in (("1h", HOUR), ("6h", 6 * HOUR), ("24h", 24 * HOUR)):
                numerator = denominator = 0.0
                for timestamp, num, den in rows:
                    if timestamp >= end - span and num is not None and den:
                        numerator += num
                        denominator += den
                stats[label] = _ratio(metric, [numerator, denominator])
            answer[split or "all"] = {
                "sparkline": sparkline,
                "stats": stats,
                "last_result": lines.last.get(split),
                "unit": metric.unit,
            }
        return {
            "metric": metric.name,
            "source": source,
            "destination": destination,
            "splits": answer,
        }


def _difference(terms: Sequence[Any]) -> list[Any]:
    """[numerator - minus, denominator] of a bin's terms (numerator, denominator[, minus])."""
    numerator, denominator, *minus = terms
    if minus and numerator is not None:
        numerator = None if minus[0] is None else numerator - minus[0]
    return [numerator, denominator]


def _ratio(metric: Metric, pair: Sequence[float] | None) -> float | None:
    if not pair or not pair[1]:
        return None
    return metric.scale * pair[0] / pair[1]


def _sum_totals(totals: Mapping[int, Mapping[str, float]], ids: Sequence[int]) -> dict[str, float]:
    summed: dict[str, float] = defaultdict(float)
    for stream_id in ids:
        for name, value in totals.get(stream_id, {}).items():
            summed[name] += value
    return summed
