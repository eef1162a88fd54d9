"""What a query reads: pure functions, no store and no I/O.

An aggregate over [start, end) in bins of `binsize` reads the coarsest
rollup level dividing `binsize` for bins that have closed and settled, finer
levels for the rest, and raw rows for the open tail; `plan_aggregate` says
which levels and which raw range, and refuses a query too large to answer.
`totals_level` does the same for the per-stream totals of a matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nntsc.collections import Collection
from nntsc.errors import BadQuery
from nntsc.store.backend import RollupRead
from nntsc.store.models import ROLLUP_LEVELS
from nntsc.store.partials import Aggregation, columns_needed, merge_columns, merge_stats
from nntsc.store.rollups import DAY, HOUR, SETTLE, align

#: More bins than this in one answer is a mistake, not a graph.
MAX_BINS = 20_000
#: Default cap on rows returned by a raw read.
MAX_RAW_ROWS = 200_000
#: The longest range aggregated from raw rows (a binsize that no rollup divides).
MAX_RAW_SPAN = 8 * 86400


@dataclass(frozen=True)
class AggregatePlan:
    """The reads answering one aggregate, and the bins they fill."""

    first_bin: int
    end: int
    binsize: int
    #: Rollup reads, coarsest level first, covering [first_bin, raw_from or end).
    reads: tuple[RollupRead, ...]
    #: Raw rows are read from here to `end`; None when the rollups cover everything.
    raw_from: int | None
    #: Fields the aggregations summarise from raw rows.
    fields: tuple[str, ...]
    #: Fields read of raw rows: `fields` and the one every row has, so none goes unseen.
    raw_fields: tuple[str, ...]
    #: Whether a rollup level divides `binsize` (then marks of the range are processed first).
    uses_rollups: bool

    @property
    def bins(self) -> range:
        """Start of every bin, from the aligned start to the end."""
        return range(self.first_bin, self.end, self.binsize)

    @property
    def levels_read(self) -> tuple[str, ...]:
        """``rollup-<seconds>`` per level read, then ``raw`` if raw rows are read."""
        return (
            *(f"rollup-{read.level}" for read in self.reads),
            *(("raw",) if self.raw_from is not None else ()),
        )


def plan_aggregate(
    collection: Collection,
    stream_count: int,
    start: int,
    end: int,
    binsize: int,
    aggregations: Sequence[Aggregation],
    now: float,
) -> AggregatePlan:
    """Plan an aggregate of `stream_count` streams; `BadQuery` if it cannot be answered."""
    if binsize <= 0:
        raise BadQuery("binsize must be a positive number of seconds")
    if end <= start:
        raise BadQuery("end must be after start")
    first_bin = align(start, binsize)
    bins = math.ceil((end - first_bin) / binsize)
    if bins > MAX_BINS:
        raise BadQuery(f"{bins} bins asked for; at most {MAX_BINS}: use a larger binsize")
    for aggregation in aggregations:
        aggregation.validate(collection)
    usable = [level for level in ROLLUP_LEVELS if binsize % level == 0]
    # A bin made of one rollup row is answered from the few columns the
    # aggregations read; bins merged from several rows from the statistics
    # merging them needs (InfluxDB's time grows with each).
    single = columns_needed(aggregations)
    mergeable = merge_columns(merge_stats(aggregations))
    reads = []
    cursor = first_bin
    for level in reversed(usable):
        # Bins are final once their hour (or day) has closed and settled.
        settled = align(int(now) - SETTLE, max(level, HOUR))
        complete_until = min(align(end, level), settled)
        if complete_until <= cursor:
            continue
        wanted = single if level == binsize and stream_count == 1 else mergeable
        reads.append(RollupRead(level, cursor, complete_until, wanted))
        cursor = complete_until
    raw_from = cursor if cursor < end and stream_count else None
    if raw_from is not None and end - raw_from > MAX_RAW_SPAN:
        raise BadQuery(
            f"binsize {binsize} would read {(end - raw_from) // 86400} days of raw rows; "
            f"use a multiple of {ROLLUP_LEVELS[0]} s for ranges over "
            f"{MAX_RAW_SPAN // 86400} days"
        )
    # Only the fields asked about are read and summarised.
    fields = tuple(sorted({a.field for a in aggregations}))
    return AggregatePlan(
        first_bin=first_bin,
        end=end,
        binsize=binsize,
        reads=tuple(reads),
        raw_from=raw_from,
        fields=fields,
        raw_fields=tuple(sorted({*fields, collection.presence_field})),
        uses_rollups=bool(usable),
    )


def totals_level(
    collection: Collection, start: int, end: int, fields: Sequence[str], now: float
) -> int:
    """The rollup level per-stream totals over [start, end) are summed from.

    Daily rollups when the range is whole days, else hourly; `BadQuery`
    unless `start` and `end` are whole hours that have closed and settled
    and every field is the collection's.
    """
    if start % HOUR or end % HOUR or end <= start:
        raise BadQuery("totals need whole hours: start and end multiples of 3600, end later")
    if end > int(now) - SETTLE:
        raise BadQuery("totals cover closed hours only")
    for name in fields:
        if name not in collection.field_names:
            raise BadQuery(f"{collection.name} has no field {name!r}")
    return DAY if start % DAY == 0 and end % DAY == 0 else HOUR
