"""Rollup bookkeeping and the rollup pass, shared by every backend.

Rollup bookkeeping lives in SQL (`rollup_pending`) whatever the backend:
every write marks the hours (per stream) it touched; the rollup pass
recomputes the 5-minute and hourly bins of marked hours from raw rows once
the hour has closed, then the daily bins of the days they fall in. A query
first brings the rollups of its streams and range up to date, so a row that
arrived late or was backfilled a year back is in the graph at once.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, Select, TextClause, and_, bindparam, delete, func, select, text
from sqlalchemy.dialects import sqlite

from nntsc.collections import Collection, Row
from nntsc.collections import get as get_collection
from nntsc.store.backend import TimeseriesBackend
from nntsc.store.models import RollupPending
from nntsc.store.partials import (
    Partial,
    collect_values,
    merge,
    partial_from_columns,
    partial_to_columns,
    summary_columns,
)

#: Pending bins processed per round of `RollupPass.run`.
ROLLUP_BATCH = 5000
#: Two pending bins of one stream closer than this many bins are read in one query.
ROLLUP_RUN_GAP = 12
#: Streams whose rows one rollup pass reads at once (InfluxDB: one request).
READ_STREAMS = 2000
HOUR = 3600
DAY = 86400
#: Seconds after an hour closes before its rollups are computed, so that
#: writes in flight when it closed are in them.
SETTLE = 120

#: A pending mark read back: (level, collection, stream, bin start, version).
Mark = tuple[int, str, int, int, int]


def align(timestamp: int, binsize: int) -> int:
    return timestamp - timestamp % binsize


class RollupMarks:
    """The `rollup_pending` marks in SQL, and the hours this process marked while open."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        """Marks in `engine`'s database.

        `reader`, an engine on the same database, serves single-statement
        reads of the marks (one per query); by default `engine` itself.
        """
        self.engine = engine
        self.reader = engine if reader is None else reader
        # (collection, stream, hour) marked by this process while the hour was open.
        self._open_marks: set[tuple[str, int, int]] = set()
        self._marks_lock = threading.Lock()

    def new_marks(
        self, collection: Collection, hours: set[tuple[int, int]], now: float
    ) -> set[tuple[int, int]]:
        """The (stream, hour) marks to write, leaving out hours this process marked while open.

        An hour is recomputed only `SETTLE` seconds after it closes, so a
        mark made while the hour is open is still pending when later rows of
        the same hour are written; marking it again would only cost a query.
        (`TimeseriesStore.write_prepared` re-marks any such hour that closed meanwhile.)
        """
        with self._marks_lock:
            if len(self._open_marks) > 100_000:
                self._open_marks = {m for m in self._open_marks if m[2] + HOUR > now}
            return {
                (stream_id, hour)
                for stream_id, hour in hours
                if hour + HOUR <= now or (collection.name, stream_id, hour) not in self._open_marks
            }

    def remember_open(
        self, collection: Collection, marks: Iterable[tuple[int, int]], now: float
    ) -> None:
        """Note the marks just written whose hour is still open (see `new_marks`)."""
        with self._marks_lock:
            self._open_marks.update(
                (collection.name, stream_id, hour) for stream_id, hour in marks if hour + HOUR > now
            )

    @staticmethod
    def mark(
        connection: Any,
        collection: Collection,
        level: int,
        marks: Iterable[tuple[int, int]],
        now: float | None = None,
    ) -> None:
        """Mark (stream, bin start) as pending at `level`; a repeated mark bumps its version.

        With `now`, a repeated mark of a bin still open at `now` is left as it
        is: no rollup pass reads it before the bin has closed and settled, so
        no pass can hold its version, and leaving it saves PostgreSQL a new
        row version per stream (a collector that starts, or a second one,
        marks every stream's open hour again).
        """
        marks = sorted(marks)
        if not marks:
            return
        table = RollupPending.__table__
        closed = None if now is None else math.floor(now)
        if connection.dialect.name == "postgresql":
            # One statement for the whole batch: executemany costs a round trip per page.
            connection.execute(
                _mark_statement(closed is not None),
                {
                    "collection": collection.name,
                    "level": level,
                    "streams": [m[0] for m in marks],
                    "bins": [m[1] for m in marks],
                    "closed": closed,
                },
            )
            return
        statement = sqlite.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["collection", "stream_id", "bin_start", "level"],
            set_={"version": table.c.version + 1},
            where=None if closed is None else table.c.bin_start + table.c.level <= closed,
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

    @staticmethod
    def clear(
        connection: Any,
        collection: Collection,
        level: int,
        marks: Sequence[tuple[int, int, int]],
    ) -> None:
        """Delete (stream, bin start, version) marks whose version has not changed since read."""
        table = RollupPending.__table__
        # A mark whose version changed since it was read has new rows: keep it.
        if connection.dialect.name == "postgresql":
            # One statement for the whole batch, as `mark` does.
            connection.execute(
                text(
                    "DELETE FROM rollup_pending p USING unnest(CAST(:streams AS integer[]), "
                    "CAST(:bins AS bigint[]), CAST(:versions AS integer[])) AS t(s, b, v) "
                    "WHERE p.collection = :collection AND p.level = :level "
                    "AND p.stream_id = t.s AND p.bin_start = t.b AND p.version = t.v"
                ),
                {
                    "collection": collection.name,
                    "level": level,
                    "streams": [m[0] for m in marks],
                    "bins": [m[1] for m in marks],
                    "versions": [m[2] for m in marks],
                },
            )
            return
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

    def pending_count(self, now: float) -> int:
        """How many hour and day marks wait to be processed (for progress bars)."""
        table = RollupPending.__table__
        with self.engine.connect() as connection:
            count = connection.scalar(
                select(func.count()).where(table.c.bin_start + table.c.level + SETTLE <= now)
            )
        return count or 0

    def backlog(self, now: float) -> tuple[int, float | None]:
        """(marks due and waiting, seconds since the oldest of them closed, or None if none).

        Marks carry no time of writing: a backfilled hour a year back is due
        as soon as it is marked, and counts as a year old.
        """
        table = RollupPending.__table__
        with self.reader.connect() as connection:
            row: tuple[int, int | None] = connection.execute(
                select(func.count(), func.min(table.c.bin_start + table.c.level)).where(
                    table.c.bin_start + table.c.level + SETTLE <= now
                )
            ).one()
        count, oldest = row
        return int(count or 0), (None if oldest is None else max(0.0, now - oldest))

    def pending(
        self,
        collection: Collection | None,
        stream_ids: Sequence[int] | None,
        start: int | None,
        end: int | None,
        now: float,
    ) -> list[Mark]:
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


class RollupPass:
    """Recomputes the rollups of closed marked hours and days from a backend's rows."""

    def __init__(self, backend: TimeseriesBackend, marks: RollupMarks) -> None:
        self.backend = backend
        self.marks = marks

    def run(
        self,
        now: float,
        collection: Collection | None = None,
        stream_ids: Sequence[int] | None = None,
        start: int | None = None,
        end: int | None = None,
        progress: Callable[[int], object] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Recompute the rollups of pending hours and days that have closed; return how many.

        See `TimeseriesStore.process_rollups`.
        """
        processed = 0
        while True:
            if stop is not None and stop():
                return processed
            # One query finds both kinds of mark; days wait until no hour is
            # pending, as a day is merged from its finished hours.
            pending = self.marks.pending(collection, stream_ids, start, end, now)
            if not pending:
                return processed
            level = HOUR if any(mark[0] == HOUR for mark in pending) else DAY
            by_collection: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for mark_level, name, stream_id, bin_start, version in pending:
                if mark_level == level:
                    by_collection[name].append((stream_id, bin_start, version))
            for name, marks in by_collection.items():
                if processed and stop is not None and stop():
                    # Between two collections' batches: what is done is committed.
                    return processed
                if level == HOUR:
                    self._compute_hours(get_collection(name), marks, now)
                else:
                    self._compute_days(get_collection(name), marks)
                processed += len(marks)
                if progress is not None:
                    progress(len(marks))

    def _compute_hours(
        self, collection: Collection, marks: Sequence[tuple[int, int, int]], now: float
    ) -> None:
        backend = self.backend
        # Hours reaching back past this hold rows kept as late rows too.
        retention = backend.late_retention
        horizon = None if retention is None else now - retention - 3600
        days: set[tuple[int, int]] = set()
        with _RollupWriter(backend, collection) as writer:
            for (first, last), streams in _by_range(marks, HOUR):
                ids = [stream_id for stream_id, _ in streams]
                found: dict[int, dict[int, Mapping[str, Any]]] = defaultdict(dict)
                if horizon is not None and first < horizon + 2 * HOUR:
                    for stream_id, timestamp, values in backend.read_late(
                        collection, ids, first, last
                    ):
                        found[stream_id][timestamp] = values
                for stream_id, timestamp, values in backend.read_raw(
                    collection, ids, first, last, None
                ):
                    found[stream_id][timestamp] = values
                fine: list[Row] = []
                hourly: list[Row] = []
                for stream_id, wanted in streams:
                    rows = found.get(stream_id, {})
                    five, hours = summaries(
                        collection,
                        stream_id,
                        ((t, v) for t, v in sorted(rows.items()) if t - t % HOUR in wanted),
                    )
                    fine.extend(five)
                    hourly.extend(hours)
                del found
                days.update((row.stream_id, align(row.timestamp, DAY)) for row in hourly)
                writer.send({300: fine, HOUR: hourly})
            self._finish(writer, HOUR, marks, days)

    def _compute_days(self, collection: Collection, marks: Sequence[tuple[int, int, int]]) -> None:
        with _RollupWriter(self.backend, collection) as writer:
            for (first, last), streams in _by_range(marks, DAY):
                ids = [stream_id for stream_id, _ in streams]
                grouped: dict[int, dict[int, list[Partial]]] = defaultdict(
                    lambda: defaultdict(list)
                )
                for stream_id, timestamp, columns in self.backend.read_rollup(
                    collection, HOUR, ids, first, last
                ):
                    grouped[stream_id][align(timestamp, DAY)].append(
                        partial_from_columns(collection, columns)
                    )
                daily: list[Row] = []
                for stream_id, wanted in streams:
                    for day, parts in grouped.get(stream_id, {}).items():
                        if day in wanted:
                            merged = merge(collection, parts)
                            daily.append(
                                Row(stream_id, day, partial_to_columns(collection, merged))
                            )
                writer.send({DAY: daily})
            self._finish(writer, DAY, marks, set())

    def _finish(
        self,
        writer: _RollupWriter,
        level: int,
        marks: Sequence[tuple[int, int, int]],
        days: set[tuple[int, int]],
    ) -> None:
        """Once every rollup row is written, mark the days of new hourly bins and clear
        the marks done (a SQL store writes its rollup rows in the same transaction)."""
        writer.wait()
        collection = writer.collection
        with self.marks.engine.begin() as connection:
            writer.write_held(connection)
            if level == HOUR:
                self.marks.mark(connection, collection, DAY, days)
            self.marks.clear(connection, collection, level, marks)


class _RollupWriter:
    """Sends the rollup rows of a batch as each group of streams is computed.

    A store outside SQL gets them on a thread of its own while the next
    group is read and computed, so the pass does not wait for each write
    (with a few rows a stream-hour, InfluxDB spends longer taking the rollup
    rows than giving the raw ones). The marks are cleared only after every
    write has succeeded (`wait` raises the first failure), so a failed or
    interrupted write leaves them pending. A SQL store's rows are held and
    written in the marks' transaction (`write_held`).
    """

    def __init__(self, backend: TimeseriesBackend, collection: Collection) -> None:
        self.backend = backend
        self.collection = collection
        self._held: dict[int, list[Row]] = defaultdict(list)
        self._pool: ThreadPoolExecutor | None = None
        self._sent: list[Future[None]] = []

    def __enter__(self) -> _RollupWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            # On an error, writes already sent finish (or fail) before the pass gives up.
            self._pool.shutdown(wait=True)

    def send(self, rollups: Mapping[int, Sequence[Row]]) -> None:
        """Write (or hold, for SQL) the rows of each level."""
        if self.backend.raw_in_sql:
            for level, rows in rollups.items():
                self._held[level].extend(rows)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="rollup-write")
        for level, rows in rollups.items():
            if rows:
                self._sent.append(
                    self._pool.submit(self.backend.write_rollup, self.collection, level, rows, None)
                )

    def wait(self) -> None:
        """Wait for every write sent; raise the first failure."""
        sent, self._sent = self._sent, []
        for future in sent:
            future.result()

    def write_held(self, connection: Any) -> None:
        for level, rows in self._held.items():
            if rows:
                self.backend.write_rollup(self.collection, level, rows, connection)
        self._held.clear()


def summaries(
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
        for name, field_values in collected.items():
            hour[name].extend(field_values)
        five.append(Row(stream_id, bin_start, summary_columns(collection, collected)))
    hourly = [Row(stream_id, hour, summary_columns(collection, v)) for hour, v in hours.items()]
    return five, hourly


@functools.cache
def _mark_statement(open_bins_kept: bool) -> TextClause:
    """The PostgreSQL upsert of marks; `open_bins_kept`: bins open at ``:closed`` keep their
    version."""
    statement = (
        "INSERT INTO rollup_pending (collection, level, stream_id, bin_start, version) "
        "SELECT :collection, :level, s, b, 1 "
        "FROM unnest(CAST(:streams AS integer[]), CAST(:bins AS bigint[])) AS t(s, b) "
        "ON CONFLICT (collection, stream_id, bin_start, level) "
        "DO UPDATE SET version = rollup_pending.version + 1"
    )
    if open_bins_kept:
        statement += " WHERE rollup_pending.bin_start + rollup_pending.level <= :closed"
    return text(statement)


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


def _by_range(
    marks: Sequence[tuple[int, int, int]], level: int
) -> Iterator[tuple[tuple[int, int], list[tuple[int, set[int]]]]]:
    """Runs of marks (see `_runs`) grouped by the range they read, at most `READ_STREAMS`
    streams a group: ((start, end), [(stream, bins wanted)]).

    The streams of a group are read together, one request for thousands of
    streams instead of one each (a pass over 20,000 streams' hour took a
    request per stream before).
    """
    groups: dict[tuple[int, int], list[tuple[int, set[int]]]] = defaultdict(list)
    for stream_id, run in _runs(marks, level):
        wanted = {bin_start for bin_start, _ in run}
        groups[(min(wanted), max(wanted) + level)].append((stream_id, wanted))
    for span, streams in groups.items():
        for index in range(0, len(streams), READ_STREAMS):
            yield span, streams[index : index + READ_STREAMS]


def _runs(
    marks: Sequence[tuple[int, int, int]], level: int
) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """Group sorted (stream, bin, version) marks into runs of nearby bins of one stream."""
    run: list[tuple[int, int]] = []
    current = 0  # the stream of `run`, set with its first mark
    for stream_id, bin_start, version in marks:
        if run and (stream_id != current or bin_start - run[-1][0] > ROLLUP_RUN_GAP * level):
            yield current, run
            run = []
        current = stream_id
        run.append((bin_start, version))
    if run:
        yield current, run
