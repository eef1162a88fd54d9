"""The time-series store contract, and the algorithms every implementation shares.

An implementation (SQL or InfluxDB) provides a handful of primitives: write
and read raw rows, write and read rollup rows, find the newest timestamp
after a bound, create its schema. On top of them this base class implements
what callers use: idempotent batched writes that keep rollups correct for
late and backfilled rows, aggregation over any set of streams that reads the
coarsest usable rollup and stitches the not-yet-rolled-up tail from raw data,
bounded raw reads, and the latest timestamp of a stream without scanning it.

Rollup bookkeeping lives in SQL (`rollup_pending`) for both implementations:
every write marks the 5-minute bins it touched; `process_rollups` recomputes
marked bins that have closed, level by level, and marks the parent bins. A
query first brings the rollups of its streams and range up to date, so a row
that arrived late or was backfilled a year back is in the graph at once.
"""

from __future__ import annotations

import abc
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Engine, and_, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from nntsc.collections import Collection, Row
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery
from nntsc.store.models import ROLLUP_LEVELS, RollupPending
from nntsc.store.partials import (
    Aggregation,
    Partial,
    finalize,
    merge,
    partial_from_columns,
    partial_from_rows,
    partial_to_columns,
)

log = logging.getLogger(__name__)

#: More bins than this in one answer is a mistake, not a graph.
MAX_BINS = 20_000
#: Default cap on rows returned by a raw read.
MAX_RAW_ROWS = 200_000
#: Windows searched, smallest first, for the newest row of a stream.
LATEST_WINDOWS = (3600, 86400, 7 * 86400, 31 * 86400, 366 * 86400)
#: Pending bins processed per round of `process_rollups`.
ROLLUP_BATCH = 5000
#: Two pending bins of one stream closer than this many bins are read in one query.
ROLLUP_RUN_GAP = 12

RawRow = tuple[int, int, dict[str, Any]]


@dataclass
class WriteResult:
    """What a write did: rows stored raw, rows summarised straight into rollups, rows lost."""

    written: int = 0
    routed_to_rollups: int = 0
    dropped: int = 0
    dropped_reasons: list[str] = field(default_factory=list)

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.written += other.written
        self.routed_to_rollups += other.routed_to_rollups
        self.dropped += other.dropped
        self.dropped_reasons.extend(other.dropped_reasons)
        return self


@dataclass(frozen=True)
class AggregateResult:
    """Bins from the aligned start to the end; a bin without data is all ``None``."""

    binsize: int
    columns: list[str]
    rows: list[list[Any]]
    levels_read: tuple[str, ...]


def align(timestamp: int, binsize: int) -> int:
    return timestamp - timestamp % binsize


class TimeseriesStore(abc.ABC):
    """A time-series store; see the module docstring for what is shared."""

    kind: ClassVar[str]

    def __init__(
        self,
        engine: Engine,
        raw_retention: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.raw_retention = raw_retention
        self.clock = clock

    # -- primitives an implementation provides --------------------------------

    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create what the store needs beyond the SQL migrations; idempotent."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the store answers."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections."""

    @abc.abstractmethod
    def _write_raw(
        self,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
        connection: Any,
    ) -> WriteResult: ...

    @abc.abstractmethod
    def _read_raw(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None,
    ) -> Iterator[RawRow]: ...

    @abc.abstractmethod
    def _write_rollup(
        self, collection: Collection, level: int, rows: Sequence[Row], connection: Any
    ) -> None:
        """Write rollup rows (values are `rollup_columns`), replacing existing bins."""

    @abc.abstractmethod
    def _read_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
    ) -> Iterator[RawRow]: ...

    @abc.abstractmethod
    def _latest_since(
        self, collection: Collection, stream_ids: Sequence[int], since: int
    ) -> dict[int, int]: ...

    # -- writing ----------------------------------------------------------------

    def write(
        self,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> WriteResult:
        """Store `rows` idempotently (the same stream and timestamp twice leaves one row).

        Rows older than the raw retention would be dropped by the store, so
        they are summarised straight into the 5-minute rollups instead and
        counted as such. `tags` maps each stream id to its properties.
        """
        if not rows:
            return WriteResult()
        fresh, expired = self._split_by_retention(rows)
        result = WriteResult()
        with self.engine.begin() as connection:
            self._mark_pending(connection, collection, ROLLUP_LEVELS[0], fresh)
            if fresh:
                result += self._write_raw(collection, fresh, tags, connection)
            if expired:
                self._route_expired(connection, collection, expired)
                result.routed_to_rollups += len(expired)
        if result.routed_to_rollups:
            log.warning(
                "%s: %d rows older than the raw retention went to the rollups only",
                collection.name,
                result.routed_to_rollups,
            )
        return result

    def _split_by_retention(self, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        if self.raw_retention is None:
            return list(rows), []
        # A minute of slack: the store's own clock decides, and the write takes time.
        horizon = self.clock() - self.raw_retention + 60
        fresh = [row for row in rows if row.timestamp >= horizon]
        expired = [row for row in rows if row.timestamp < horizon]
        return fresh, expired

    def _route_expired(self, connection: Any, collection: Collection, rows: Sequence[Row]) -> None:
        """Summarise rows whose raw data cannot be kept into 5-minute rollup bins.

        The raw rows of such a bin are gone, so the bin is computed from the
        rows at hand and replaces what the rollup held.
        """
        level = ROLLUP_LEVELS[0]
        by_bin: dict[tuple[int, int], list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            by_bin[(row.stream_id, align(row.timestamp, level))].append(row.values)
        rollup_rows = [
            Row(
                stream_id,
                bin_start,
                partial_to_columns(collection, partial_from_rows(collection, values)),
            )
            for (stream_id, bin_start), values in by_bin.items()
        ]
        self._write_rollup(collection, level, rollup_rows, connection)
        self._mark_pending(connection, collection, ROLLUP_LEVELS[1], rollup_rows)

    @staticmethod
    def _mark_pending(
        connection: Any, collection: Collection, level: int, rows: Iterable[Row]
    ) -> None:
        marks = {(row.stream_id, align(row.timestamp, level)) for row in rows}
        if not marks:
            return
        table = RollupPending.__table__
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["collection", "level", "stream_id", "bin_start"],
            set_={"version": table.c.version + 1},
        )
        connection.execute(
            statement,
            [
                {
                    "collection": collection.name,
                    "level": level,
                    "stream_id": stream_id,
                    "bin_start": bin_start,
                    "version": 1,
                }
                for stream_id, bin_start in sorted(marks)
            ],
        )

    # -- rollups ----------------------------------------------------------------

    def process_rollups(
        self,
        collection: Collection | None = None,
        stream_ids: Sequence[int] | None = None,
        start: int | None = None,
        end: int | None = None,
        now: float | None = None,
    ) -> int:
        """Recompute pending rollup bins that have closed; return how many.

        Optionally restricted to one collection, some streams and a range
        (what a query is about to read). Level by level, finest first, so a
        coarse bin is computed from finished finer bins.
        """
        now = self.clock() if now is None else now
        processed = 0
        for index, level in enumerate(ROLLUP_LEVELS):
            while True:
                pending = self._pending(level, collection, stream_ids, start, end, now)
                if not pending:
                    break
                by_collection: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
                for name, stream_id, bin_start, version in pending:
                    by_collection[name].append((stream_id, bin_start, version))
                for name, marks in by_collection.items():
                    self._compute_bins(get_collection(name), index, marks, now)
                processed += len(pending)
                if len(pending) < ROLLUP_BATCH:
                    break
        return processed

    def _pending(
        self,
        level: int,
        collection: Collection | None,
        stream_ids: Sequence[int] | None,
        start: int | None,
        end: int | None,
        now: float,
    ) -> list[tuple[str, int, int, int]]:
        table = RollupPending.__table__
        conditions = [table.c.level == level, table.c.bin_start + level <= now]
        if collection is not None:
            conditions.append(table.c.collection == collection.name)
        if stream_ids is not None:
            conditions.append(table.c.stream_id.in_(list(stream_ids)))
        if start is not None:
            conditions.append(table.c.bin_start >= align(start, level))
        if end is not None:
            conditions.append(table.c.bin_start < end)
        query = (
            select(table.c.collection, table.c.stream_id, table.c.bin_start, table.c.version)
            .where(and_(*conditions))
            .order_by(table.c.collection, table.c.stream_id, table.c.bin_start)
            .limit(ROLLUP_BATCH)
        )
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]

    def _compute_bins(
        self,
        collection: Collection,
        level_index: int,
        marks: Sequence[tuple[int, int, int]],
        now: float,
    ) -> None:
        level = ROLLUP_LEVELS[level_index]
        expired_before = None
        if level_index == 0 and self.raw_retention is not None:
            expired_before = now - self.raw_retention
        rollup_rows: list[Row] = []
        for stream_id, run in _runs(marks, level):
            wanted = {bin_start for bin_start, _ in run}
            if expired_before is not None:
                # The raw rows of these bins are gone: their rollup was written
                # from the rows themselves and must not be recomputed from nothing.
                wanted = {b for b in wanted if b + level > expired_before}
            if not wanted:
                continue
            first, last = min(wanted), max(wanted) + level
            grouped: dict[int, list[Any]] = defaultdict(list)
            if level_index == 0:
                for _, timestamp, values in self._read_raw(
                    collection, [stream_id], first, last, None
                ):
                    grouped[align(timestamp, level)].append(values)
                partials = {
                    b: partial_from_rows(collection, rows)
                    for b, rows in grouped.items()
                    if b in wanted
                }
            else:
                finer = ROLLUP_LEVELS[level_index - 1]
                for _, timestamp, columns in self._read_rollup(
                    collection, finer, [stream_id], first, last
                ):
                    grouped[align(timestamp, level)].append(
                        partial_from_columns(collection, columns)
                    )
                partials = {
                    b: merge(collection, parts) for b, parts in grouped.items() if b in wanted
                }
            rollup_rows.extend(
                Row(stream_id, b, partial_to_columns(collection, partial))
                for b, partial in partials.items()
            )
        table = RollupPending.__table__
        with self.engine.begin() as connection:
            if rollup_rows:
                self._write_rollup(collection, level, rollup_rows, connection)
            if level_index + 1 < len(ROLLUP_LEVELS):
                self._mark_pending(
                    connection, collection, ROLLUP_LEVELS[level_index + 1], rollup_rows
                )
            connection.execute(
                delete(table).where(
                    table.c.collection == collection.name,
                    table.c.level == level,
                    table.c.stream_id == bindparam("stream_id"),
                    table.c.bin_start == bindparam("bin_start"),
                    table.c.version == bindparam("version"),
                ),
                [{"stream_id": s, "bin_start": b, "version": v} for s, b, v in marks],
            )

    # -- reading ----------------------------------------------------------------

    def aggregate(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        binsize: int,
        aggregations: Sequence[Aggregation],
        now: float | None = None,
    ) -> AggregateResult:
        """Aggregate the rows of all `stream_ids` together over [start, end) in bins.

        Bins are aligned to multiples of `binsize` (the first bin starts at or
        before `start`). The coarsest rollup level dividing `binsize` is read
        for closed bins, finer levels for the rest, raw rows for the open tail.
        """
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
        now = self.clock() if now is None else now
        stream_ids = sorted(set(stream_ids))
        partials: dict[int, list[Partial]] = defaultdict(list)
        levels_read: list[str] = []
        cursor = first_bin
        usable = [level for level in ROLLUP_LEVELS if binsize % level == 0]
        if usable and stream_ids:
            self.process_rollups(collection, stream_ids, first_bin, end, now)
        for level in reversed(usable):
            complete_until = min(align(end, level), align(int(now), level))
            if complete_until <= cursor:
                continue
            for _, timestamp, columns in self._read_rollup(
                collection, level, stream_ids, cursor, complete_until
            ):
                partials[align(timestamp, binsize)].append(
                    partial_from_columns(collection, columns)
                )
            levels_read.append(f"rollup-{level}")
            cursor = complete_until
        if cursor < end and stream_ids:
            grouped: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
            for _, timestamp, values in self._read_raw(collection, stream_ids, cursor, end, None):
                grouped[align(timestamp, binsize)].append(values)
            for bin_start, rows in grouped.items():
                partials[bin_start].append(partial_from_rows(collection, rows))
            levels_read.append("raw")
        empty = [None] * len(aggregations)
        rows = []
        for bin_start in range(first_bin, end, binsize):
            parts = partials.get(bin_start)
            values = finalize(merge(collection, parts), aggregations) if parts else empty
            rows.append([bin_start, *values])
        return AggregateResult(
            binsize=binsize,
            columns=["timestamp", *(a.name for a in aggregations)],
            rows=rows,
            levels_read=tuple(levels_read),
        )

    def raw(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int = MAX_RAW_ROWS,
    ) -> list[Row]:
        """Raw rows of `stream_ids` in [start, end), by stream then time; at most `limit`."""
        if end <= start:
            raise BadQuery("end must be after start")
        rows = [
            Row(stream_id, timestamp, values)
            for stream_id, timestamp, values in self._read_raw(
                collection, sorted(set(stream_ids)), start, end, limit + 1
            )
        ]
        if len(rows) > limit:
            raise BadQuery(f"more than {limit} raw rows in range: narrow it or aggregate")
        return rows

    def latest(
        self, collection: Collection, stream_ids: Sequence[int], now: float | None = None
    ) -> dict[int, int]:
        """The newest timestamp of each stream with data in the last year.

        Searched in widening windows (1 hour, 1 day, ...) so that a busy
        stream answers from a small, recent range and nothing scans a whole
        series; streams silent for over a year are absent from the answer.
        """
        now = int(self.clock() if now is None else now)
        remaining = sorted(set(stream_ids))
        found: dict[int, int] = {}
        for window in LATEST_WINDOWS:
            if not remaining:
                break
            found.update(self._latest_since(collection, remaining, now - window))
            remaining = [s for s in remaining if s not in found]
        return found


def _runs(
    marks: Sequence[tuple[int, int, int]], level: int
) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """Group sorted (stream, bin, version) marks into runs of nearby bins of one stream."""
    run: list[tuple[int, int]] = []
    current = None
    for stream_id, bin_start, version in marks:
        if run and (stream_id != current or bin_start - run[-1][0] > ROLLUP_RUN_GAP * level):
            yield current, run  # type: ignore[misc]
            run = []
        current = stream_id
        run.append((bin_start, version))
    if run:
        yield current, run  # type: ignore[misc]
