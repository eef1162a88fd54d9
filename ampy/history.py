"""History of a view: per line, aggregated rows at a binsize chosen for the detail level.

Detail levels and what they are for:

- ``full``: the detail graph (about 300 points of the range shown);
- ``summary``: the summary graph above it (same columns, a longer range);
- ``matrix``, ``tooltip``, ``spark``: the compact columns for small displays,
  in fewer, coarser points;
- ``raw``: the stored rows themselves, bounded (no binning, no cache).

The columns and aggregations per collection and level are in
`ampy.series`; the binsize comes from the ladder in `ampy.binsize`, which
divides into the stores' rollup levels. Bins without data are rows of
nulls: gaps are never interpolated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ampy.binsize import choose_binsize, describe_binsize
from ampy.cache import HistoryCache, digest
from ampy.errors import BadQuery, BadTimeRange
from ampy.groups import Line
from ampy.series import spec_for as series_for
from nntsc.collections import get as get_collection
from nntsc.store import TimeseriesStore
from nntsc.store.models import ROLLUP_LEVELS
from nntsc.store.planner import MAX_BINS, MAX_RAW_SPAN

#: The longest range a history call may cover (about 10 years).
MAX_RANGE = 3660 * 86400
#: Detail levels, and at most how many points each draws.
DETAIL_POINTS = {"full": 400, "summary": 400, "matrix": 50, "tooltip": 50, "spark": 50}
DETAILS = (*DETAIL_POINTS, "raw")


@dataclass(frozen=True)
class LineHistory:
    """The rows of one line: ``columns[0]`` is the bin start (or the row time for raw)."""

    line_id: str
    collection: str
    binsize: int
    aggregation: str
    columns: list[str]
    units: dict[str, str]
    rows: list[list[Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "collection": self.collection,
            "binsize": self.binsize,
            "aggregation": self.aggregation,
            "columns": self.columns,
            "units": self.units,
            "rows": self.rows,
        }


def check_range(start: int, end: int) -> None:
    """Raise `BadTimeRange` unless [start, end) is a range ampy answers."""
    if end <= start:
        raise BadTimeRange("end must be after start")
    if end - start > MAX_RANGE:
        raise BadTimeRange("the range may cover at most 10 years")
    if start < 0 or end > time.time() + 366 * 86400:
        raise BadTimeRange("start and end must be Unix times between 1970 and next year")


def binsize_for(collection: str, start: int, end: int, detail: str) -> int:
    """The binsize a `detail` graph of `collection` over [start, end) gets."""
    if detail not in DETAIL_POINTS:
        raise BadQuery(f"detail must be one of {', '.join(DETAILS)}; got {detail!r}")
    return choose_binsize(start, end, series_for(collection).minimum_binsize, DETAIL_POINTS[detail])


def _check_cost(start: int, end: int, binsize: int) -> None:
    """Refuse at once what the store would refuse, before the cache splits it into blocks."""
    bins = -(-(end - (start - start % binsize)) // binsize)
    if bins > MAX_BINS:
        raise BadQuery(f"binsize {binsize} gives {bins} bins; at most {MAX_BINS}: use a larger one")
    if not any(binsize % level == 0 for level in ROLLUP_LEVELS) and end - start > MAX_RAW_SPAN:
        raise BadQuery(
            f"binsize {binsize} would read {(end - start) // 86400} days of raw rows; use a "
            f"multiple of {ROLLUP_LEVELS[0]} s for ranges over {MAX_RAW_SPAN // 86400} days"
        )


class HistoryReader:
    """Reads lines' history from the time-series store through the block cache."""

    def __init__(self, store: TimeseriesStore, cache: HistoryCache) -> None:
        self.store = store
        self.cache = cache

    def line(
        self,
        line: Line,
        start: int,
        end: int,
        detail: str = "full",
        binsize: int | None = None,
    ) -> LineHistory:
        """One line's history; `binsize` overrides the choice of binsize."""
        return self.streams(
            line.line_id, line.collection, line.stream_ids, start, end, detail, binsize
        )

    def streams(
        self,
        line_id: str,
        collection: str,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        detail: str = "full",
        binsize: int | None = None,
    ) -> LineHistory:
        """The history of `stream_ids` aggregated together, as one line called `line_id`."""
        check_range(start, end)
        if detail == "raw":
            return self._raw(line_id, collection, stream_ids, start, end)
        spec = series_for(collection)
        columns = spec.columns(detail)
        if binsize is None:
            binsize = binsize_for(collection, start, end, detail)
        elif binsize < 1:
            raise BadQuery("binsize must be at least 1 second (detail=raw reads raw rows)")
        _check_cost(start, end, binsize)
        coll = get_collection(collection)
        aggregations = [column.aggregation for column in columns]
        ids = sorted(set(stream_ids))
        key = f"h:{collection}:{detail}:{digest(ids, aggregations)}"

        def compute(first: int, last: int) -> list[list[Any]]:
            if not ids:
                return [[b, *([None] * len(columns))] for b in range(first, last, binsize)]
            return self.store.aggregate(coll, ids, first, last, binsize, aggregations).rows

        rows = self.cache.rows(key, binsize, start, end, time.time(), compute)
        names, shaped = spec.shape(detail, rows)
        return LineHistory(
            line_id=line_id,
            collection=collection,
            binsize=binsize,
            aggregation=f"{spec.label} over {describe_binsize(binsize)}",
            columns=names,
            units=spec.units(detail),
            rows=shaped,
        )

    def _raw(
        self, line_id: str, collection: str, stream_ids: Sequence[int], start: int, end: int
    ) -> LineHistory:
        coll = get_collection(collection)
        rows = self.store.raw(coll, stream_ids, start, end)
        return LineHistory(
            line_id=line_id,
            collection=collection,
            binsize=0,
            aggregation="raw rows",
            columns=["timestamp", "stream_id", *coll.field_names],
            units={f.name: f.unit for f in coll.fields if f.unit},
            rows=[
                [row.timestamp, row.stream_id, *(row.values.get(f) for f in coll.field_names)]
                for row in rows
            ],
        )
