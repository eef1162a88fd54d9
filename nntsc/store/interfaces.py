"""The time-series store contract, and the algorithms every implementation shares.

An implementation (SQL or InfluxDB) provides a handful of primitives: write
and read raw rows, write and read rollup rows, find the newest timestamp
after a bound, create its schema. On top of them this base class implements
what callers use: idempotent batched writes that keep rollups correct for
late and backfilled rows, aggregation over any set of streams that reads the
coarsest usable rollup and stitches the not-yet-rolled-up tail from raw data,
bounded raw reads, and the latest timestamp of a stream without scanning it.

Rollup bookkeeping lives in SQL (`rollup_pending`) for both implementations:
every write marks the hours (per stream) it touched; `process_rollups`
recomputes the 5-minute and hourly bins of marked hours from raw rows once
the hour has closed, then the daily bins of the days they fall in. A query
first brings the rollups of its streams and range up to date, so a row that
arrived late or was backfilled a year back is in the graph at once.
"""

from __future__ import annotations

import abc
import functools
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Engine, Select, and_, bindparam, delete, func, select, text
from sqlalchemy.dialects import sqlite

from nntsc.collections import Collection, Row
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery, ConfigurationError
from nntsc.store.models import ROLLUP_LEVELS, RollupPending
from nntsc.store.partials import (
    Aggregation,
    Partial,
    collect_values,
    columns_needed,
    merge,
    merge_columns,
    merge_stats,
    partial_from_columns,
    partial_from_rows,
    partial_to_columns,
    row_finalizer,
    rows_merger,
    summarise_values,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: More bins than this in one answer is a mistake, not a graph.
MAX_BINS = 20_000
#: Default cap on rows returned by a raw read.
MAX_RAW_ROWS = 200_000
#: The longest range aggregated from raw rows (a binsize that no rollup divides).
MAX_RAW_SPAN = 8 * 86400
#: Windows searched, smallest first, for the newest row of a stream.
LATEST_WINDOWS = (3600, 86400, 7 * 86400, 31 * 86400, 366 * 86400)
#: Pending bins processed per round of `process_rollups`.
ROLLUP_BATCH = 5000
#: Two pending bins of one stream closer than this many bins are read in one query.
ROLLUP_RUN_GAP = 12
HOUR = 3600
DAY = 86400
#: Seconds after an hour closes before its rollups are computed, so that
#: writes in flight when it closed are in them.
SETTLE = 120

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


@dataclass(frozen=True)
class PreparedWrite:
    """A batch encoded for a store and not yet sent: see `TimeseriesStore.prepare`."""

    collection: Collection
    fresh: list[Row]
    expired: list[Row]
    hours: set[tuple[int, int]]
    marks: set[tuple[int, int]]
    tags: Mapping[int, Mapping[str, str]]
    payload: Any
    now: float


@dataclass(frozen=True)
class RollupRead:
    """The `columns` of the rollup rows of `level` in [start, end), for one aggregate."""

    level: int
    start: int
    end: int
    columns: Sequence[str]


def align(timestamp: int, binsize: int) -> int:
    return timestamp - timestamp % binsize


class TimeseriesStore(abc.ABC):
    """A time-series store; see the module docstring for what is shared."""

    kind: ClassVar[str]
    #: Whether raw rows live in the SQL database (then written in the marks' transaction).
    raw_in_sql: ClassVar[bool] = False

    def __init__(
        self,
        engine: Engine,
        raw_retention: int | None = None,
        clock: Callable[[], float] = time.time,
        reader: Engine | None = None,
    ) -> None:
        """A store keeping its rollup marks in `engine`'s database.

        `reader`, an engine on the same database, serves single-statement
        reads of the marks (one per query); by default `engine` itself.
        """
        self.engine = engine
        self.reader = engine if reader is None else reader
        self.raw_retention = raw_retention
        self.clock = clock
        # (collection, stream, hour) marked by this store while the hour was open.
        self._open_marks: set[tuple[str, int, int]] = set()
        self._marks_lock = threading.Lock()

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
    def _encode_raw(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> Any:
        """Rows in the form `_write_raw` sends (CPU work only, no I/O)."""

    @abc.abstractmethod
    def _write_raw(
        self, collection: Collection, rows: Sequence[Row], payload: Any, connection: Any
    ) -> WriteResult:
        """Send encoded rows; `connection` is the SQL transaction of the rollup marks."""

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
        columns: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        """Rollup rows in [start, end); only `columns` of them when given."""

    def _read_bins(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        rollups: Sequence[RollupRead],
        raw_from: int | None,
        raw_end: int,
        raw_limit: int | None,
        raw_fields: Sequence[str],
    ) -> tuple[list[Iterable[RawRow]], Iterable[RawRow]]:
        """The rows of several rollup reads, and raw rows in [raw_from, raw_end) if `raw_from`.

        One read after the other here; a store that can ask for them all at
        once (InfluxDB: several statements in one request) does so, and may
        read only `raw_fields` of the raw rows.
        """
        return [
            self._read_rollup(collection, r.level, stream_ids, r.start, r.end, r.columns)
            for r in rollups
        ], (
            self._read_raw(collection, stream_ids, raw_from, raw_end, raw_limit)
            if raw_from is not None
            else ()
        )

    @abc.abstractmethod
    def _latest_since(
        self, collection: Collection, stream_ids: Sequence[int], since: int
    ) -> dict[int, int]: ...

    @abc.abstractmethod
    def _sum_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str],
    ) -> dict[int, dict[str, float | None]]:
        """Per stream, the sum of each rollup column over [start, end), summed by the store."""

    # -- writing ----------------------------------------------------------------

    def write(
        self,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> WriteResult:
        """Store `rows` idempotently (the same stream and timestamp twice leaves one row).

        Rows older than the raw retention would be dropped by the store, so
        they are summarised straight into the rollups instead and counted as
        such. `tags` maps each stream id to its properties.
        """
        return self.write_prepared(self.prepare(collection, rows, tags))

    def prepare(
        self,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> PreparedWrite:
        """The CPU-bound half of `write`: split by retention, find marks, encode rows.

        The ingest pipeline calls this on its own thread and `write_prepared`
        on a writer thread, so encoding one batch overlaps sending another.
        """
        now = self.clock()
        fresh, expired = self._split_by_retention(rows, now)
        hours = {(row.stream_id, row.timestamp - row.timestamp % HOUR) for row in fresh}
        return PreparedWrite(
            collection=collection,
            fresh=fresh,
            expired=expired,
            hours=hours,
            marks=self._new_marks(collection, hours, now),
            tags=tags,
            payload=self._encode_raw(collection, fresh, tags) if fresh else None,
            now=now,
        )

    def write_prepared(self, prepared: PreparedWrite) -> WriteResult:
        """The I/O half of `write`: mark hours, write raw rows, route expired rows.

        The marks are committed before the rows reach a store outside SQL (a
        mark without its rows only causes a harmless recomputation, rows
        without their mark would be missing from the rollups); a SQL store
        commits marks and rows together.
        """
        collection = prepared.collection
        result = WriteResult()
        if not prepared.fresh and not prepared.expired:
            return result
        # An hour skipped as "marked while open" may have closed since
        # `prepare`: mark it again so it cannot be computed without these rows.
        now = self.clock()
        marks = prepared.marks | {m for m in prepared.hours if m[1] + HOUR <= now}
        raw_in_sql = bool(prepared.fresh) and self.raw_in_sql
        # Live rows of open, already marked hours need no SQL round trip at all.
        if marks or prepared.expired or raw_in_sql:
            with self.engine.begin() as connection:
                self._mark_pending(connection, collection, HOUR, marks)
                if prepared.expired:
                    self._route_expired(connection, collection, prepared.expired, prepared.tags)
                    result.routed_to_rollups += len(prepared.expired)
                if raw_in_sql:
                    result += self._write_raw(
                        collection, prepared.fresh, prepared.payload, connection
                    )
        if prepared.fresh and not raw_in_sql:
            result += self._write_raw(collection, prepared.fresh, prepared.payload, None)
        with self._marks_lock:
            self._open_marks.update(
                (collection.name, stream_id, hour) for stream_id, hour in marks if hour + HOUR > now
            )
        if result.routed_to_rollups:
            log.warning(
                "%s: %d rows older than the raw retention went to the rollups only",
                collection.name,
                result.routed_to_rollups,
            )
        return result

    def _split_by_retention(self, rows: Sequence[Row], now: float) -> tuple[list[Row], list[Row]]:
        if self.raw_retention is None:
            return list(rows), []
        # A minute of slack: the store's own clock decides, and the write takes time.
        horizon = now - self.raw_retention + 60
        fresh = [row for row in rows if row.timestamp >= horizon]
        expired = [row for row in rows if row.timestamp < horizon]
        return fresh, expired

    def _new_marks(
        self, collection: Collection, hours: set[tuple[int, int]], now: float
    ) -> set[tuple[int, int]]:
        """The (stream, hour) marks to write, leaving out hours this store marked while open.

        An hour is recomputed only `SETTLE` seconds after it closes, so a
        mark made while the hour is open is still pending when later rows of
        the same hour are written; marking it again would only cost a query.
        (`write_prepared` re-marks any such hour that closed meanwhile.)
        """
        with self._marks_lock:
            if len(self._open_marks) > 100_000:
                self._open_marks = {m for m in self._open_marks if m[2] + HOUR > now}
            return {
                (stream_id, hour)
                for stream_id, hour in hours
                if hour + HOUR <= now or (collection.name, stream_id, hour) not in self._open_marks
            }

    def _route_expired(
        self,
        connection: Any,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> None:
        """Keep rows older than the raw retention where the rollups can find them.

        They go to the store's "late rows" (kept as long as the rollups), and
        their hours are marked: `_compute_hours` then summarises raw and late
        rows together, so writing such rows twice, or in several batches,
        gives the same rollups as writing them once.
        """
        self._write_late(collection, rows, tags)
        hours = {(row.stream_id, row.timestamp - row.timestamp % HOUR) for row in rows}
        self._mark_pending(connection, collection, HOUR, hours)

    def _write_late(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> None:
        """Store rows older than the raw retention (stores with a raw retention override this)."""
        raise ConfigurationError(f"the {self.kind} store keeps no rows beyond a raw retention")

    def _read_late(
        self, collection: Collection, stream_ids: Sequence[int], start: int, end: int
    ) -> Iterator[RawRow]:
        """Rows kept by `_write_late` in [start, end)."""
        return iter(())

    @staticmethod
    def _summaries(
        collection: Collection,
        stream_id: int,
        timed_values: Iterable[tuple[int, Mapping[str, Any]]],
    ) -> tuple[list[Row], list[Row]]:
        """5-minute and hourly rollup rows of one stream's raw rows, both exact.

        Values are gathered once per 5-minute bin; an hour's values are the
        concatenation of its bins', so its percentiles are exact too.
        """
        by_five: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for timestamp, values in timed_values:
            by_five[timestamp - timestamp % 300].append(values)
        five = []
        hours: dict[int, dict[str, list[float]]] = {}
        for bin_start, rows in sorted(by_five.items()):
            collected = collect_values(collection, rows)
            hour = hours.setdefault(bin_start - bin_start % HOUR, {name: [] for name in collected})
            for name, values in collected.items():
                hour[name].extend(values)
            partial = summarise_values(collection, collected)
            five.append(Row(stream_id, bin_start, partial_to_columns(collection, partial)))
        hourly = [
            Row(stream_id, hour, partial_to_columns(collection, summarise_values(collection, v)))
            for hour, v in hours.items()
        ]
        return five, hourly

    @staticmethod
    def _mark_pending(
        connection: Any, collection: Collection, level: int, marks: Iterable[tuple[int, int]]
    ) -> None:
        """Mark (stream, bin start) as pending at `level`; a repeated mark bumps its version."""
        marks = sorted(marks)
        if not marks:
            return
        if connection.dialect.name == "postgresql":
            # One statement for the whole batch: executemany costs a round trip per page.
            connection.execute(
                text(
                    "INSERT INTO rollup_pending (collection, level, stream_id, bin_start, version) "
                    "SELECT :collection, :level, s, b, 1 "
                    "FROM unnest(CAST(:streams AS integer[]), CAST(:bins AS bigint[])) AS t(s, b) "
                    "ON CONFLICT (collection, stream_id, bin_start, level) "
                    "DO UPDATE SET version = rollup_pending.version + 1"
                ),
                {
                    "collection": collection.name,
                    "level": level,
                    "streams": [m[0] for m in marks],
                    "bins": [m[1] for m in marks],
                },
            )
            return
        table = RollupPending.__table__
        statement = sqlite.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["collection", "stream_id", "bin_start", "level"],
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
                for stream_id, bin_start in marks
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
        progress: Callable[[int], object] | None = None,
    ) -> int:
        """Recompute the rollups of pending hours and days that have closed; return how many.

        `progress`, if given, is called with the number of marks done after
        each round (for a progress bar).

        A pending hour gets its 5-minute and hourly bins recomputed from raw
        rows and marks its day; a pending day is merged from its hourly bins.
        Optionally restricted to one collection, some streams and a range
        (what a query is about to read).
        """
        now = self.clock() if now is None else now
        processed = 0
        while True:
            # One query finds both kinds of mark; days wait until no hour is
            # pending, as a day is merged from its finished hours.
            pending = self._pending(collection, stream_ids, start, end, now)
            if not pending:
                return processed
            level = HOUR if any(mark[0] == HOUR for mark in pending) else DAY
            by_collection: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for mark_level, name, stream_id, bin_start, version in pending:
                if mark_level == level:
                    by_collection[name].append((stream_id, bin_start, version))
            for name, marks in by_collection.items():
                if level == HOUR:
                    self._compute_hours(get_collection(name), marks, now)
                else:
                    self._compute_days(get_collection(name), marks)
                processed += len(marks)
                if progress is not None:
                    progress(len(marks))

    def pending_count(self, now: float | None = None) -> int:
        """How many hour and day marks wait to be processed (for progress bars)."""
        now = self.clock() if now is None else now
        table = RollupPending.__table__
        with self.engine.connect() as connection:
            return connection.scalar(
                select(func.count()).where(table.c.bin_start + table.c.level + SETTLE <= now)
            )

    def _pending(
        self,
        collection: Collection | None,
        stream_ids: Sequence[int] | None,
        start: int | None,
        end: int | None,
        now: float,
    ) -> list[tuple[int, str, int, int, int]]:
        """Closed, settled marks: (level, collection, stream, bin start, version), hours first.

        Every query looks here first, so the statement is built once per set
        of conditions and run on the `reader` engine.
        """
        # Whole seconds: compared with integer columns, a float would make
        # PostgreSQL compare every row as numeric.
        parameters: dict[str, Any] = {"settled": math.floor(now) - SETTLE}
        if collection is not None:
            parameters["collection"] = collection.name
        if stream_ids is not None:
            parameters["streams"] = list(stream_ids)
        if start is not None:
            # A day mark starts at midnight, before an unaligned start.
            parameters["start"] = align(start, DAY)
        if end is not None:
            parameters["end"] = end
        query = _pending_query(frozenset(parameters))
        with self.reader.connect() as connection:
            return [tuple(row) for row in connection.execute(query, parameters)]  # type: ignore[misc]

    def _compute_hours(
        self, collection: Collection, marks: Sequence[tuple[int, int, int]], now: float
    ) -> None:
        # Hours reaching back past this hold rows kept as late rows too.
        horizon = None if self.raw_retention is None else now - self.raw_retention - 3600
        fine: list[Row] = []
        hourly: list[Row] = []
        for stream_id, run in _runs(marks, HOUR):
            wanted = {hour for hour, _ in run}
            first, last = min(wanted), max(wanted) + HOUR
            rows: dict[int, Mapping[str, Any]] = {}
            if horizon is not None and first < horizon + 2 * HOUR:
                rows.update(
                    (timestamp, values)
                    for _, timestamp, values in self._read_late(
                        collection, [stream_id], first, last
                    )
                )
            rows.update(
                (timestamp, values)
                for _, timestamp, values in self._read_raw(
                    collection, [stream_id], first, last, None
                )
            )
            five, hours = self._summaries(
                collection,
                stream_id,
                ((t, v) for t, v in sorted(rows.items()) if t - t % HOUR in wanted),
            )
            fine.extend(five)
            hourly.extend(hours)
        self._finish(collection, HOUR, marks, {300: fine, HOUR: hourly})

    def _compute_days(self, collection: Collection, marks: Sequence[tuple[int, int, int]]) -> None:
        daily: list[Row] = []
        for stream_id, run in _runs(marks, DAY):
            wanted = {day for day, _ in run}
            grouped: dict[int, list[Partial]] = defaultdict(list)
            for _, timestamp, columns in self._read_rollup(
                collection, HOUR, [stream_id], min(wanted), max(wanted) + DAY
            ):
                if align(timestamp, DAY) in wanted:
                    grouped[align(timestamp, DAY)].append(partial_from_columns(collection, columns))
            daily.extend(
                Row(stream_id, day, partial_to_columns(collection, merge(collection, parts)))
                for day, parts in grouped.items()
            )
        self._finish(collection, DAY, marks, {DAY: daily})

    def _finish(
        self,
        collection: Collection,
        level: int,
        marks: Sequence[tuple[int, int, int]],
        rollups: Mapping[int, Sequence[Row]],
    ) -> None:
        """Write computed rollups, mark the days of new hourly bins, clear the marks done."""
        table = RollupPending.__table__
        with self.engine.begin() as connection:
            for rollup_level, rows in rollups.items():
                if rows:
                    self._write_rollup(collection, rollup_level, rows, connection)
            if level == HOUR:
                days = {(row.stream_id, align(row.timestamp, DAY)) for row in rollups[HOUR]}
                self._mark_pending(connection, collection, DAY, days)
            # A mark whose version changed since it was read has new rows: keep it.
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
        # Only the fields asked about are read and summarised.
        fields = sorted({a.field for a in aggregations})
        # A bin made of one rollup row is answered from the few columns the
        # aggregations read; bins merged from several rows from the
        # statistics merging them needs (InfluxDB's time grows with each).
        single = columns_needed(aggregations)
        mergeable = merge_columns(merge_stats(aggregations))
        levels_read: list[str] = []
        cursor = first_bin
        usable = [level for level in ROLLUP_LEVELS if binsize % level == 0]
        reads: list[RollupRead] = []
        for level in reversed(usable):
            # Bins are final once their hour (or day) has closed and settled.
            settled = align(int(now) - SETTLE, max(level, HOUR))
            complete_until = min(align(end, level), settled)
            if complete_until <= cursor:
                continue
            wanted = single if level == binsize and len(stream_ids) == 1 else mergeable
            reads.append(RollupRead(level, cursor, complete_until, wanted))
            levels_read.append(f"rollup-{level}")
            cursor = complete_until
        raw_from = cursor if cursor < end and stream_ids else None
        if raw_from is not None:
            if end - raw_from > MAX_RAW_SPAN:
                raise BadQuery(
                    f"binsize {binsize} would read {(end - raw_from) // 86400} days of raw rows; "
                    f"use a multiple of {ROLLUP_LEVELS[0]} s for ranges over "
                    f"{MAX_RAW_SPAN // 86400} days"
                )
            levels_read.append("raw")

        def gather() -> tuple[dict[int, list[Mapping[str, Any]]], dict[int, Partial]]:
            rollup_rows, raw_rows = self._read_bins(
                collection,
                stream_ids,
                reads,
                raw_from,
                end,
                MAX_RAW_ROWS + 1,
                # With the field every row has, so no row goes unseen.
                sorted({*fields, collection.presence_field}),
            )
            rolled: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
            for found in rollup_rows:
                for _, timestamp, columns in found:
                    rolled[timestamp - timestamp % binsize].append(columns)
            grouped: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
            read = 0
            for _, timestamp, values in raw_rows:
                read += 1
                grouped[timestamp - timestamp % binsize].append(values)
            if read > MAX_RAW_ROWS:
                raise BadQuery(f"more than {MAX_RAW_ROWS} raw rows to aggregate: narrow the query")
            return rolled, {
                bin_start: partial_from_rows(collection, rows, fields)
                for bin_start, rows in grouped.items()
            }

        if usable and stream_ids:
            rolled, partials = self._with_rollups_current(
                collection, stream_ids, first_bin, end, now, gather
            )
        else:
            rolled, partials = gather()
        empty = [None] * len(aggregations)
        finalize_row = row_finalizer(aggregations)
        merge_rows = rows_merger(aggregations)
        rows = []
        for bin_start in range(first_bin, end, binsize):
            columns = rolled.get(bin_start)
            part = partials.get(bin_start)
            if columns and part is None and len(columns) == 1:
                # One rollup row is the whole bin: answer from its columns directly.
                values = finalize_row(columns[0])
            elif columns or part is not None:
                values = merge_rows(
                    [
                        *(columns or ()),
                        *([partial_to_columns(collection, part)] if part is not None else ()),
                    ]
                )
            else:
                values = empty
            rows.append([bin_start, *values])
        return AggregateResult(
            binsize=binsize,
            columns=["timestamp", *(a.name for a in aggregations)],
            rows=rows,
            levels_read=tuple(levels_read),
        )

    def _with_rollups_current(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        now: float,
        read: Callable[[], _T],
    ) -> _T:
        """`read()` once the rollups of [start, end) hold every row stored.

        Late or backfilled rows leave marks that `process_rollups` works off;
        looking for them is one SQL round trip (0.15 ms on PostgreSQL here).
        Looking in a thread while InfluxDB reads was tried: the two threads
        contended for the interpreter and the graph got slower, not faster.
        """
        self.process_rollups(collection, stream_ids, start, end, now)
        return read()

    def totals(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        fields: Sequence[str],
        now: float | None = None,
    ) -> dict[int, dict[str, float]]:
        """Per stream, the count and sum of each of `fields` over closed hours [start, end).

        Answered by the store from the daily rollups when the range is whole
        days, else the hourly ones (summed by the store), so a matrix of
        thousands of streams reads a row or a few per stream and never raw
        data. `start` and `end` must be whole hours that have closed and
        settled. Keys are ``<field>_count`` and ``<field>_sum``; a stream
        without rows in the range is absent.
        """
        if start % HOUR or end % HOUR or end <= start:
            raise BadQuery("totals need whole hours: start and end multiples of 3600, end later")
        now = self.clock() if now is None else now
        if end > int(now) - SETTLE:
            raise BadQuery("totals cover closed hours only")
        stream_ids = sorted(set(stream_ids))
        if not stream_ids:
            return {}
        for name in fields:
            if name not in collection.field_names:
                raise BadQuery(f"{collection.name} has no field {name!r}")
        level = DAY if start % DAY == 0 and end % DAY == 0 else HOUR
        self.process_rollups(collection, stream_ids, start, end, now)
        columns = [f"{name}_{stat}" for name in fields for stat in ("count", "sum")]
        found = self._sum_rollup(collection, level, stream_ids, start, end, columns)
        return {
            stream_id: {name: value for name, value in sums.items() if value is not None}
            for stream_id, sums in found.items()
        }

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


@functools.cache
def _pending_query(conditions: frozenset[str]) -> Select:
    """The look for closed marks under `conditions`, the names of the bound parameters given."""
    table = RollupPending.__table__
    where = [table.c.bin_start + table.c.level <= bindparam("settled")]
    if "collection" in conditions:
        where.append(table.c.collection == bindparam("collection"))
    if "streams" in conditions:
        where.append(table.c.stream_id.in_(bindparam("streams", expanding=True)))
    if "start" in conditions:
        where.append(table.c.bin_start >= bindparam("start"))
    if "end" in conditions:
        where.append(table.c.bin_start < bindparam("end"))
    return (
        select(
            table.c.level,
            table.c.collection,
            table.c.stream_id,
            table.c.bin_start,
            table.c.version,
        )
        .where(and_(*where))
        .order_by(table.c.level, table.c.collection, table.c.stream_id, table.c.bin_start)
        .limit(ROLLUP_BATCH)
    )


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
