"""The time-series store: a backend composed with its rollup marks.

A backend (`nntsc.store.backend`: SQL or InfluxDB) provides a handful of
primitives. `TimeseriesStore` builds what callers use on top of them:
idempotent batched writes that keep rollups correct for late and backfilled
rows (the marks and the rollup pass of `nntsc.store.rollups`), aggregation
over any set of streams that reads the coarsest usable rollup and stitches
the not-yet-rolled-up tail from raw data (planned by `nntsc.store.planner`),
bounded raw reads, and the latest timestamp of a stream without scanning it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from nntsc.collections import Collection, Row, all_collections
from nntsc.errors import BadQuery
from nntsc.store.backend import Expired, TimeseriesBackend, WriteResult
from nntsc.store.partials import (
    Aggregation,
    Partial,
    partial_from_rows,
    partial_to_columns,
    row_finalizer,
    rows_merger,
)
from nntsc.store.planner import MAX_RAW_ROWS, AggregatePlan, plan_aggregate, totals_level
from nntsc.store.retention import record_expired
from nntsc.store.rollups import HELD_ROWS, HOUR, HeldRollups, RollupMarks, RollupPass, align

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Windows searched, smallest first, for the newest row of a stream.
LATEST_WINDOWS = (3600, 86400, 7 * 86400, 31 * 86400, 366 * 86400)


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


class TimeseriesStore:
    """A backend and its rollup marks; see the module docstring."""

    def __init__(
        self,
        backend: TimeseriesBackend,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        reader: Engine | None = None,
        held_rows: int = HELD_ROWS,
    ) -> None:
        """A store keeping its rollup marks in `engine`'s database.

        `reader`, an engine on the same database, serves single-statement
        reads of the marks (one per query); by default `engine` itself.
        `held_rows`: raw rows and hourly rows at most held to compute the
        rollups of the hours and days this process writes alone from memory
        (`HeldRollups`); 0: none, every hour and day is left to the
        re-reading pass.
        """
        self.backend = backend
        self.engine = engine
        self.clock = clock
        self.marks = RollupMarks(engine, reader)
        self.rollups = RollupPass(backend, self.marks)
        self.held = HeldRollups(backend, self.marks, max_rows=held_rows) if held_rows > 0 else None

    @property
    def kind(self) -> str:
        """The backend's name: ``sql`` or ``influxdb``."""
        return self.backend.kind

    def ensure_schema(self) -> None:
        """Create what the backend needs beyond the SQL migrations; idempotent."""
        self.backend.ensure_schema()

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the backend answers."""
        self.backend.ping()

    def close(self) -> None:
        """Finalise the held hours that are due, then release connections."""
        try:
            self.finish_rollups()
        finally:
            self.backend.close()

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
            marks=self.marks.new_marks(collection, hours, now),
            tags=tags,
            payload=self.backend.encode_raw(collection, fresh, tags) if fresh else None,
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
        backend = self.backend
        result = WriteResult()
        if not prepared.fresh and not prepared.expired:
            return result
        # An hour skipped as "marked while open" may have closed since
        # `prepare`: mark it again so it cannot be computed without these rows.
        now = self.clock()
        marks = prepared.marks | {m for m in prepared.hours if m[1] + HOUR <= now}
        raw_in_sql = bool(prepared.fresh) and backend.raw_in_sql
        held = self.held
        writer = None if held is None else held.writer
        # The hours of rows being written are not finalised from memory meanwhile.
        writing = (
            None if held is None or not prepared.fresh else held.begin(collection, prepared.hours)
        )
        stored = False
        try:
            # Live rows of open, already marked hours need no SQL round trip at all.
            if marks or prepared.expired or raw_in_sql:
                with self.engine.begin() as connection:
                    self.marks.mark(connection, collection, HOUR, marks, now, writer)
                    if prepared.expired:
                        self._route_expired(connection, collection, prepared.expired, prepared.tags)
                        result.routed_to_rollups += len(prepared.expired)
                    if raw_in_sql:
                        result += backend.write_raw(
                            collection, prepared.fresh, prepared.payload, connection
                        )
            if prepared.fresh and not raw_in_sql:
                result += backend.write_raw(collection, prepared.fresh, prepared.payload, None)
            stored = not result.dropped
        finally:
            if writing is not None:
                # Held only once stored; a failed batch's bins are left to the pass.
                held.end(writing, collection, prepared.fresh, now, stored)  # type: ignore[union-attr]
        self.marks.remember_open(collection, marks, now)
        if held is not None and held.due(now):
            # Another writer thread finishing the due hours is not waited for.
            held.finish(now, wait=False)
        if result.routed_to_rollups:
            log.warning(
                "%s: %d rows older than the raw retention went to the rollups only",
                collection.name,
                result.routed_to_rollups,
            )
        return result

    def _split_by_retention(self, rows: Sequence[Row], now: float) -> tuple[list[Row], list[Row]]:
        retention = self.backend.late_retention
        if retention is None:
            return list(rows), []
        # A minute of slack: the store's own clock decides, and the write takes time.
        horizon = now - retention + 60
        fresh = [row for row in rows if row.timestamp >= horizon]
        expired = [row for row in rows if row.timestamp < horizon]
        return fresh, expired

    def _route_expired(
        self,
        connection: Any,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> None:
        """Keep rows older than the raw retention where the rollups can find them.

        They go to the backend's "late rows" (kept as long as the rollups),
        and their hours are marked: the rollup pass then summarises raw and
        late rows together, so writing such rows twice, or in several
        batches, gives the same rollups as writing them once.
        """
        self.backend.write_late(collection, rows, tags)
        hours = {(row.stream_id, row.timestamp - row.timestamp % HOUR) for row in rows}
        self.marks.mark(connection, collection, HOUR, hours)

    # -- rollups ----------------------------------------------------------------

    def process_rollups(
        self,
        collection: Collection | None = None,
        stream_ids: Sequence[int] | None = None,
        start: int | None = None,
        end: int | None = None,
        now: float | None = None,
        progress: Callable[[int], object] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Recompute the rollups of pending hours and days that have closed; return how many.

        `progress`, if given, is called with the number of marks done after
        each batch (for a progress bar). `stop`, if given, is asked before
        each batch (at most `nntsc.store.rollups.ROLLUP_BATCH` marks
        of one collection); once it answers true the pass returns, leaving the rest
        pending for the next one.

        A pending hour gets its 5-minute and hourly bins recomputed from raw
        rows and marks its day; a pending day is merged from its hourly bins.
        Optionally restricted to one collection, some streams and a range
        (what a query is about to read).
        """
        now = self.clock() if now is None else now
        return self.rollups.run(now, collection, stream_ids, start, end, progress, stop)

    def rollups_due(self) -> bool:
        """Whether held hours wait for `finish_rollups`."""
        return self.held is not None and self.held.due(self.clock())

    def finish_rollups(self, now: float | None = None) -> int:
        """Finalise the held hours and days due (see `HeldRollups`); return the stream-hours
        done.

        Writing a batch does it too; a collector calls this when idle, so
        that a quiet hour's rollups need not wait for the next batch.
        """
        if self.held is None:
            return 0
        now = self.clock() if now is None else now
        return self.held.finish(now) if self.held.due(now) else 0

    def pending_count(self, now: float | None = None) -> int:
        """How many hour and day marks wait to be processed (for progress bars)."""
        return self.marks.pending_count(self.clock() if now is None else now)

    def rollup_backlog(self, now: float | None = None) -> tuple[int, float | None]:
        """(rollup marks due and waiting, age in seconds of the oldest or None), for metrics."""
        return self.marks.backlog(self.clock() if now is None else now)

    # -- retention --------------------------------------------------------------

    def expire(self, now: float | None = None) -> dict[str, Expired]:
        """Delete rows beyond ``nntsc.raw_retention`` and ``nntsc.rollup_retention``.

        Whole hours only: a raw row goes once its hour is older than the raw
        retention and its rollups are computed, a rollup row once its bin's
        hour is older than the rollup retention. Counted in SQL, per
        collection and kind, for the ``nntsc_rows_expired_total`` metric
        (`nntsc.store.retention`); returns the count per collection that lost
        rows. InfluxDB expires rows itself (its
        retention policies), so on it this deletes nothing.
        """
        backend = self.backend
        now = int(self.clock() if now is None else now)
        raw_before = (
            None if backend.raw_retention is None else align(now - backend.raw_retention, HOUR)
        )
        rollups_before = (
            None
            if backend.rollup_retention is None
            else align(now - backend.rollup_retention, HOUR)
        )
        done: dict[str, Expired] = {}
        if raw_before is None and rollups_before is None:
            return done
        for collection in all_collections():
            expired = backend.expire(collection, raw_before, rollups_before)
            if expired.raw or expired.rollups:
                record_expired(
                    self.engine, collection.name, {"raw": expired.raw, "rollup": expired.rollups}
                )
                done[collection.name] = expired
                log.info(
                    "%s: %d raw and %d rollup rows expired",
                    collection.name,
                    expired.raw,
                    expired.rollups,
                )
        return done

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
        for closed bins, finer levels for the rest, raw rows for the open tail
        (see `nntsc.store.planner`).
        """
        now = self.clock() if now is None else now
        stream_ids = sorted(set(stream_ids))
        plan = plan_aggregate(collection, len(stream_ids), start, end, binsize, aggregations, now)
        if plan.uses_rollups and stream_ids:
            rolled, partials = self._with_rollups_current(
                collection,
                stream_ids,
                plan.first_bin,
                end,
                now,
                lambda: self._gather(collection, stream_ids, plan),
            )
        else:
            rolled, partials = self._gather(collection, stream_ids, plan)
        empty = [None] * len(aggregations)
        finalize_row = row_finalizer(aggregations)
        merge_rows = rows_merger(aggregations)
        rows = []
        for bin_start in plan.bins:
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
            levels_read=plan.levels_read,
        )

    def _gather(
        self, collection: Collection, stream_ids: Sequence[int], plan: AggregatePlan
    ) -> tuple[dict[int, list[Mapping[str, Any]]], dict[int, Partial]]:
        """A plan's rollup rows by bin, and per bin a partial of its raw rows."""
        binsize = plan.binsize
        rollup_rows, raw_rows = self.backend.read_bins(
            collection,
            stream_ids,
            plan.reads,
            plan.raw_from,
            plan.end,
            MAX_RAW_ROWS + 1,
            plan.raw_fields,
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
            bin_start: partial_from_rows(collection, rows, plan.fields)
            for bin_start, rows in grouped.items()
        }

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
        now = self.clock() if now is None else now
        level = totals_level(collection, start, end, fields, now)
        stream_ids = sorted(set(stream_ids))
        if not stream_ids:
            return {}
        self.process_rollups(collection, stream_ids, start, end, now)
        columns = [f"{name}_{stat}" for name in fields for stat in ("count", "sum")]
        found = self.backend.sum_rollup(collection, level, stream_ids, start, end, columns)
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
        fields: Sequence[str] | None = None,
    ) -> list[Row]:
        """Raw rows of `stream_ids` in [start, end), by stream then time; at most `limit`.

        With `fields` (names of the collection's fields), rows hold only
        those, and rows where all of them are null may be left out.
        """
        if end <= start:
            raise BadQuery("end must be after start")
        if fields is not None:
            unknown = set(fields) - set(collection.field_names)
            if unknown:
                raise BadQuery(f"{collection.name} has no field {', '.join(sorted(unknown))}")
        rows = [
            Row(stream_id, timestamp, values)
            for stream_id, timestamp, values in self.backend.read_raw(
                collection, sorted(set(stream_ids)), start, end, limit + 1, fields
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
            found.update(self.backend.latest_since(collection, remaining, now - window))
            remaining = [s for s in remaining if s not in found]
        return found
