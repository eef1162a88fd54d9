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
import logging
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    TextClause,
    and_,
    bindparam,
    case,
    delete,
    func,
    null,
    or_,
    select,
    text,
)

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

log = logging.getLogger(__name__)

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
        writer: str | None = None,
    ) -> None:
        """Mark (stream, bin start) as pending at `level`; a repeated mark bumps its version.

        With `now`, a repeated mark of a bin still open at `now` is left as it
        is: no rollup pass reads it before the bin has closed and settled, so
        no pass can hold its version, and leaving it saves PostgreSQL a new
        row version per stream (a collector that starts, or a second one,
        marks every stream's open hour again).

        A new mark records `writer` (the process writing the rows, see
        `HeldRollups`); marking an existing one with another writer (or none)
        sets its writer to null, open or not, so that no process finalises
        from memory a bin it did not write alone.
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
                    "writer": writer,
                },
            )
            return
        # Imported here: a PostgreSQL process (`nntsc collect`) need not load SQLite's dialect.
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["collection", "stream_id", "bin_start", "level"],
            set_={
                "version": table.c.version + 1,
                "writer": case((table.c.writer == excluded.writer, table.c.writer), else_=null()),
            },
            where=None
            if closed is None
            else or_(
                table.c.bin_start + table.c.level <= closed,
                and_(table.c.writer.is_not(None), table.c.writer.is_distinct_from(excluded.writer)),
            ),
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
                    "writer": writer,
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
        writer: str | None = None,
    ) -> None:
        """Delete (stream, bin start, version) marks whose version has not changed since read
        (and, with `writer`, whose writer is still that one)."""
        if not marks:
            return
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
                    + ("" if writer is None else " AND p.writer = :writer")
                ),
                {
                    "collection": collection.name,
                    "level": level,
                    "streams": [m[0] for m in marks],
                    "bins": [m[1] for m in marks],
                    "versions": [m[2] for m in marks],
                    "writer": writer,
                },
            )
            return
        conditions = [
            table.c.collection == collection.name,
            table.c.level == level,
            table.c.stream_id == bindparam("stream_id"),
            table.c.bin_start == bindparam("bin_start"),
            table.c.version == bindparam("version"),
        ]
        if writer is not None:
            conditions.append(table.c.writer == writer)
        connection.execute(
            delete(table).where(*conditions),
            [{"stream_id": s, "bin_start": b, "version": v} for s, b, v in marks],
        )

    def written_by(self, collection: Collection, hour: int, writer: str) -> dict[int, int]:
        """The hour marks of `hour` that only `writer` marked: version by stream."""
        with self.engine.connect() as connection:
            return dict(_marks_of(connection, collection, HOUR, hour, writer))

    def days_written_by(self, collection: Collection, day: int, writer: str) -> dict[int, int]:
        """The day marks of `day` that only `writer` marked, of streams with no hour of the
        day pending: version by stream.

        Every hourly row is written before its day is marked (by whoever
        computed it), so such a day's stored hourly rows are all `writer`'s,
        computed from hours it wrote alone; a stream with an hour still
        pending (a late row, rows past the memory bound) gets a new hourly
        row once the pass takes it, and is left to the pass.
        """
        table = RollupPending.__table__
        # Two plain scans of the collection's marks rather than a correlated NOT EXISTS,
        # whose plan depends on the table's statistics. An hour pending that the second
        # scan misses was cleared by a pass after the first, which marked the day again.
        with self.engine.connect() as connection:
            found = _marks_of(connection, collection, DAY, day, writer)
            if not found:
                return {}
            pending: set[int] = set(
                connection.scalars(
                    select(table.c.stream_id).where(
                        table.c.collection == collection.name,
                        table.c.level == HOUR,
                        table.c.bin_start >= day,
                        table.c.bin_start < day + DAY,
                    )
                )
            )
        return {stream_id: version for stream_id, version in found if stream_id not in pending}

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
                writer.send(
                    {300: fine, HOUR: hourly},
                    None if backend.raw_in_sql else shared_kept(backend, collection, fine, hourly),
                )
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
                            daily.append(_day_row(collection, stream_id, day, parts))
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


#: Seconds after an hour closes before its held rows are finalised: rows of
#: the hour still on their way (a report sent as its test ends, a batch being
#: built) arrive first, instead of leaving the hour to the re-reading pass.
HELD_GRACE = 60
#: Seconds after an hour closes past which its held rows are no longer
#: finalised but left to the re-reading pass: before `SETTLE`, so that no
#: pass can have cleared a mark of the hour (and rows of another writer come
#: in after) while this process still holds it.
HELD_LIMIT = SETTLE - 15
#: Raw rows and hourly rows held for in-memory rollups by default
#: (``nntsc.rollup_memory_rows``).
HELD_ROWS = 500_000


class HeldRollups:
    """Rollups of the hours this process wrote alone, computed from the rows it wrote.

    Each row written into a stream-hour that was open when its first row was
    written (and marked) is kept, by timestamp, until the hour has closed
    and `HELD_GRACE` seconds passed. Then the 5-minute and hourly rollups of
    every stream-hour whose mark still names this process as its only writer
    are computed from the rows held (`summaries`, as the re-reading pass
    does: the same rows give the same rollup rows), written, the days marked
    and the hour marks cleared if unchanged. Everything else stays pending
    for `RollupPass`: hours another writer (a second collector, this one
    before a restart) also marked, hours whose first row came after they
    closed (late rows, rows after a finalisation), rows beyond `max_rows`,
    batches whose write failed or dropped rows. A process that dies loses
    only what it held; the marks stay pending.

    The hourly rows it writes are kept (as the store keeps them) for their
    day, which it marks with its id. A `grace` after the day closes, the
    days of the streams whose day mark still names it alone and have no
    hour of the day pending are merged from them, as `RollupPass` merges
    the stored hourly rows (`_merge_day`); the rest are the pass's. Raw rows
    and hourly rows held count together against `max_rows`.

    `finish` runs on the writer thread that wrote the last batch; batches
    being written into an hour keep it from being finalised until they are
    done (`begin`/`end`), so no row of the hour is marked and not yet held.
    """

    def __init__(
        self,
        backend: TimeseriesBackend,
        marks: RollupMarks,
        writer: str | None = None,
        max_rows: int = HELD_ROWS,
    ) -> None:
        self.backend = backend
        self.marks = marks
        #: This process's id in the marks' ``writer`` column.
        self.writer = writer or uuid.uuid4().hex
        self.max_rows = max_rows
        self.grace = HELD_GRACE
        self.limit = HELD_LIMIT
        self._lock = threading.Lock()
        # (collection, hour) -> stream -> timestamp -> values.
        self._bins: dict[tuple[str, int], dict[int, dict[int, Mapping[str, Any]]]] = {}
        # (collection, hour) -> streams whose rows of that open hour are not held.
        self._refused: dict[tuple[str, int], set[int]] = {}
        # (collection, hour) -> batches being written with rows of that hour.
        self._writing: dict[tuple[str, int], int] = defaultdict(int)
        # (collection, day) -> stream -> hour -> its hourly row as the store keeps it
        # (`keep_rollups`), for the hours of the day this process finalised.
        self._days: dict[tuple[str, int], dict[int, dict[int, Any]]] = {}
        # (collection, day) -> streams whose day is left to the pass.
        self._days_refused: dict[tuple[str, int], set[int]] = {}
        self._rows = 0
        self._kept = 0
        self._next_due = math.inf
        # One `finish` at a time: a day is merged only once no hour of it is being finalised.
        self._finishing = threading.Lock()
        #: What it cost (thread CPU and wall seconds) and did, for benches and tests.
        self.cpu = 0.0
        self.seconds = 0.0
        self.finalised = 0
        self.rows_finalised = 0
        self.days_merged = 0

    @property
    def rows(self) -> int:
        """Raw rows held."""
        return self._rows

    @property
    def kept_hours(self) -> int:
        """Hourly rows held for the days they fall in."""
        return self._kept

    def begin(
        self, collection: Collection, hours: Iterable[tuple[int, int]]
    ) -> list[tuple[str, int]]:
        """Note a batch with rows in the (stream, hour)s `hours` is being written."""
        keys = [(collection.name, hour) for hour in {hour for _, hour in hours}]
        with self._lock:
            for key in keys:
                self._writing[key] += 1
        return keys

    def end(
        self,
        writing: list[tuple[str, int]],
        collection: Collection,
        rows: Sequence[Row],
        marked_at: float,
        stored: bool,
    ) -> None:
        """The batch `begin` noted is done: hold its rows (`stored`: all of them were
        written, after their hours were marked at `marked_at`), or refuse its bins."""
        started, cpu = time.perf_counter(), time.thread_time()
        name = collection.name
        bins, refused = self._bins, self._refused
        with self._lock:
            for key in writing:
                self._writing[key] -= 1
                if not self._writing[key]:
                    del self._writing[key]
            last_hour = -1
            streams: dict[int, dict[int, Mapping[str, Any]]] | None = None
            refusing: set[int] | None = None
            is_open = False
            for stream_id, timestamp, values in rows:
                hour = timestamp - timestamp % HOUR
                if hour != last_hour:
                    last_hour = hour
                    streams = bins.get((name, hour))
                    refusing = refused.get((name, hour))
                    is_open = hour + HOUR > marked_at
                if streams is not None:
                    held = streams.get(stream_id)
                    if held is not None:
                        if not stored:
                            refusing = self._refuse(name, hour, stream_id)
                            continue
                        old = held.get(timestamp)
                        if old is None:
                            if self._rows + self._kept >= self.max_rows:
                                # Full: this stream-hour goes to the pass, its rows are freed.
                                refusing = self._refuse(name, hour, stream_id)
                                continue
                            self._rows += 1
                        elif old != values:
                            # A row rewritten with other values: the store may merge them.
                            refusing = self._refuse(name, hour, stream_id)
                            continue
                        held[timestamp] = values
                        continue
                if not is_open or (refusing is not None and stream_id in refusing):
                    continue
                if not stored or self._rows + self._kept >= self.max_rows:
                    refusing = self._refuse(name, hour, stream_id)
                    continue
                if streams is None:
                    streams = bins[(name, hour)] = {}
                    self._next_due = min(self._next_due, hour + HOUR + self.grace)
                streams[stream_id] = {timestamp: values}
                self._rows += 1
        self.cpu += time.thread_time() - cpu
        self.seconds += time.perf_counter() - started

    def _refuse(self, name: str, hour: int, stream_id: int) -> set[int]:
        """Stop holding (and never hold again) a stream-hour; under the lock.

        Returns the hour's refused streams."""
        streams = self._bins.get((name, hour))
        if streams is not None:
            dropped = streams.pop(stream_id, None)
            if dropped is not None:
                self._rows -= len(dropped)
        refused = self._refused.setdefault((name, hour), set())
        refused.add(stream_id)
        self._refuse_day(name, hour - hour % DAY, stream_id)
        return refused

    def _refuse_day(self, name: str, day: int, stream_id: int) -> None:
        """Leave a stream-day to the re-reading pass, freeing its hours held; under the lock."""
        streams = self._days.get((name, day))
        if streams is not None:
            dropped = streams.pop(stream_id, None)
            if dropped is not None:
                self._kept -= len(dropped)
        self._days_refused.setdefault((name, day), set()).add(stream_id)

    def due(self, now: float) -> bool:
        """Whether a held hour or day is ready for `finish`."""
        return self._next_due <= now

    def finish(self, now: float, wait: bool = True) -> int:
        """Finalise the held hours closed `grace` seconds ago, then merge the held days
        closed as long ago whose hours are all finalised; return the stream-hours done.

        Hours and days held past `limit` are dropped, as are those whose
        finalisation fails (logged): their marks stay pending for the
        re-reading pass. With `wait` false, return 0 at once while another
        thread is finishing (a writer thread then goes on writing batches: the
        hours it would finish are that thread's, or due again at its next batch).
        """
        if not wait and self._finishing.locked():
            return 0
        started, cpu = time.perf_counter(), time.thread_time()
        done = 0
        with self._finishing:
            due = []
            with self._lock:
                for key in list(self._bins):
                    end = key[1] + HOUR
                    if end + self.grace > now or self._writing.get(key):
                        continue
                    if end + self.limit <= now:
                        self._drop(key)
                    else:
                        due.append(key)
                for key in [k for k in self._refused if k[1] + HOUR + self.limit <= now]:
                    del self._refused[key]
            for key in sorted(due, key=lambda k: k[1]):
                try:
                    done += self._finalise(key)
                except Exception:
                    log.warning(
                        "%s: held rollups of hour %d not finalised; left to the rollup pass",
                        key[0],
                        key[1],
                        exc_info=True,
                    )
            days = []
            with self._lock:
                busy = {(name, hour - hour % DAY) for name, hour in (*self._bins, *self._writing)}
                for key in list(self._days):
                    end = key[1] + DAY
                    if end + self.grace > now or key in busy:
                        continue
                    if end + self.limit <= now:
                        self._drop_day(key)
                    else:
                        days.append(key)
                for key in [k for k in self._days_refused if k[1] + DAY + self.limit <= now]:
                    del self._days_refused[key]
            for key in sorted(days, key=lambda k: k[1]):
                try:
                    self._merge_day(key)
                except Exception:
                    log.warning(
                        "%s: held hourly rollups of day %d not merged; left to the rollup pass",
                        key[0],
                        key[1],
                        exc_info=True,
                    )
            with self._lock:
                self._next_due = min(
                    (
                        *(k[1] + HOUR + self.grace for k in self._bins),
                        *(k[1] + DAY + self.grace for k in self._days),
                    ),
                    default=math.inf,
                )
        self.cpu += time.thread_time() - cpu
        self.seconds += time.perf_counter() - started
        return done

    def _drop(self, key: tuple[str, int]) -> None:
        """Forget a held hour (its marks stay for the re-reading pass); under the lock."""
        streams = self._bins.pop(key, None)
        if streams:
            self._rows -= sum(len(held) for held in streams.values())
            self._refused.setdefault(key, set()).update(streams)
            name, hour = key
            for stream_id in streams:
                self._refuse_day(name, hour - hour % DAY, stream_id)

    def _drop_day(self, key: tuple[str, int]) -> None:
        """Forget a held day (its marks stay for the re-reading pass); under the lock."""
        streams = self._days.pop(key, None)
        if streams:
            self._kept -= sum(len(hours) for hours in streams.values())
        self._days_refused.pop(key, None)

    def _finalise(self, key: tuple[str, int]) -> int:
        name, hour = key
        collection = get_collection(name)
        # Read before the rows are taken: a row written into the hour after
        # that bumps its mark, so clearing the version read here fails.
        versions = self.marks.written_by(collection, hour, self.writer)
        with self._lock:
            if self._writing.get(key):
                return 0
            streams = self._bins.pop(key, None)
            if not streams:
                return 0
            self._rows -= sum(len(held) for held in streams.values())
            # Rows of the hour arriving from now on are left to the pass.
            self._refused.setdefault(key, set()).update(streams)
        day = align(hour, DAY)
        backend = self.backend
        done: list[tuple[int, int, int]] = []
        rows = 0
        written: list[tuple[list[Row], list[Any]]] = []
        items = list(streams.items())
        # Each group's rows go to the store while the next group is computed.
        with _RollupWriter(backend, collection) as writer:
            for index in range(0, len(items), READ_STREAMS):
                fine: list[Row] = []
                hourly: list[Row] = []
                for stream_id, held in items[index : index + READ_STREAMS]:
                    version = versions.get(stream_id)
                    if version is None:
                        # Another writer marked it too, or a pass already did it.
                        with self._lock:
                            self._refuse_day(name, day, stream_id)
                        continue
                    five, hours = summaries(collection, stream_id, sorted(held.items()))
                    fine.extend(five)
                    hourly.extend(hours)
                    done.append((stream_id, hour, version))
                    rows += len(held)
                if hourly:
                    forms = shared_kept(backend, collection, fine, hourly)
                    writer.send({300: fine, HOUR: hourly}, forms)
                    written.append((hourly, forms[HOUR]))
            if not done:
                return 0
            writer.wait()
            with self.marks.engine.begin() as connection:
                writer.write_held(connection)
                # The day names this process while every hour of it was finalised here.
                self.marks.mark(
                    connection, collection, DAY, {(s, day) for s, _, _ in done}, writer=self.writer
                )
                self.marks.clear(connection, collection, HOUR, done, self.writer)
        for hourly, kept in written:
            self._hold_day(name, day, hour, hourly, kept)
        self.finalised += len(done)
        self.rows_finalised += rows
        return len(done)

    def _hold_day(
        self, name: str, day: int, hour: int, hourly: Sequence[Row], kept: Sequence[Any]
    ) -> None:
        """Hold the hourly rows just written for the merge of their day (`_merge_day`)."""
        with self._lock:
            streams = self._days.get((name, day))
            refused = self._days_refused.get((name, day), ())
            for row, form in zip(hourly, kept, strict=True):
                stream_id = row.stream_id
                if stream_id in refused:
                    continue
                if self._rows + self._kept >= self.max_rows:
                    self._refuse_day(name, day, stream_id)
                    refused = self._days_refused[(name, day)]
                    continue
                if streams is None:
                    streams = self._days[(name, day)] = {}
                    self._next_due = min(self._next_due, day + DAY + self.grace)
                hours = streams.setdefault(stream_id, {})
                if hour not in hours:
                    self._kept += 1
                hours[hour] = form

    def _merge_day(self, key: tuple[str, int]) -> int:
        """Merge and write the daily rows of the held stream-days whose day mark still names
        this process alone (see `RollupMarks.days_written_by`), as the pass would from the
        stored hourly rows, and clear those marks if unchanged; return the days written."""
        name, day = key
        with self._lock:
            if not self._days.get(key):
                # Every stream of it refused (`_refuse_day`): nothing to merge or read.
                self._days.pop(key, None)
                self._days_refused.pop(key, None)
                return 0
        collection = get_collection(name)
        # Read before the hours are taken: an hourly row written after this marks the
        # day again, so clearing the version read here fails and the pass merges it.
        versions = self.marks.days_written_by(collection, day, self.writer)
        with self._lock:
            streams = self._days.pop(key, None)
            self._days_refused.pop(key, None)
            if not streams:
                return 0
            self._kept -= sum(len(hours) for hours in streams.values())
        backend = self.backend
        done: list[tuple[int, int, int]] = []
        items = list(streams.items())
        with _RollupWriter(backend, collection) as writer:
            for index in range(0, len(items), READ_STREAMS):
                daily: list[Row] = []
                # The daily rows' kept forms, where a day's only hour gives it (`kept_alone`):
                # on a mesh of a few rows a stream-day, most days have one hour.
                alone: list[Any] = []
                for stream_id, hours in items[index : index + READ_STREAMS]:
                    version = versions.get(stream_id)
                    if version is None:
                        continue
                    done.append((stream_id, day, version))
                    if len(hours) == 1:
                        (only,) = hours.values()
                        form = backend.kept_alone(collection, only)
                        if form is not None:
                            # Written from its form: the row's values are not read.
                            daily.append(Row(stream_id, day, {}))
                            alone.append(form)
                            continue
                    parts = [
                        partial_from_columns(
                            collection, backend.kept_columns(collection, hours[hour])
                        )
                        for hour in sorted(hours)
                    ]
                    daily.append(_day_row(collection, stream_id, day, parts))
                    alone.append(None)
                if any(form is not None for form in alone):
                    merging = [row for row, form in zip(daily, alone, strict=True) if form is None]
                    encoded = iter(backend.keep_rollups(collection, merging))
                    forms = [next(encoded) if form is None else form for form in alone]
                    writer.send({DAY: daily}, {DAY: forms})
                else:
                    writer.send({DAY: daily})
            if not done:
                return 0
            writer.wait()
            with self.marks.engine.begin() as connection:
                writer.write_held(connection)
                self.marks.clear(connection, collection, DAY, done, self.writer)
        self.days_merged += len(done)
        return len(done)


def _day_row(collection: Collection, stream_id: int, day: int, parts: Sequence[Partial]) -> Row:
    """The daily rollup row of a stream-day from its hours' partials: the pass's merge of the
    stored hourly rows and a collector's of those it holds are the same."""
    return Row(stream_id, day, partial_to_columns(collection, merge(collection, parts)))


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

    def send(
        self,
        rollups: Mapping[int, Sequence[Row]],
        kept: Mapping[int, Sequence[Any]] | None = None,
    ) -> None:
        """Write (or hold, for SQL) the rows of each level (`kept`: `keep_rollups` of some
        levels' rows, see `TimeseriesBackend.write_rollup`)."""
        if self.backend.raw_in_sql:
            for level, rows in rollups.items():
                self._held[level].extend(rows)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="rollup-write")
        # The levels of a group together: a store may lay out an hour's 5-minute and
        # hourly rows together (`TimeseriesBackend.write_rollups`).
        self._sent.append(
            self._pool.submit(self.backend.write_rollups, self.collection, rollups, kept)
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
    # Per hour, its bins' rows (in `five`) and the values of all of them.
    hours: dict[int, tuple[list[Row], dict[str, list[float]]]] = {}
    for bin_start, rows in sorted(by_five.items()):
        collected = collect_values(collection, rows)
        bins, hour = hours.setdefault(
            bin_start - bin_start % HOUR, ([], {name: [] for name in collected})
        )
        for name, field_values in collected.items():
            hour[name].extend(field_values)
        row = Row(stream_id, bin_start, summary_columns(collection, collected))
        five.append(row)
        bins.append(row)
    # An hour of one 5-minute bin has that bin's values in the same order, so
    # the same statistics: its row shares the bin's values (the same dict, so
    # that a store encoding both encodes it once, `shared_kept`), computed once.
    hourly = [
        Row(stream_id, hour, bins[0].values if len(bins) == 1 else summary_columns(collection, v))
        for hour, (bins, v) in hours.items()
    ]
    return five, hourly


def shared_kept(
    backend: TimeseriesBackend, collection: Collection, fine: Sequence[Row], hourly: Sequence[Row]
) -> dict[int, list[Any]]:
    """`keep_rollups` of the hourly rows of `summaries` and, for a store that sends its
    rows encoded (not SQL, whose rows are written as they are), of the 5-minute rows,
    by level; each distinct values encoded once: an hourly row sharing its only bin's
    values gets that bin's form.

    On a mesh where each stream-hour has its rows in one 5-minute bin (amplet
    reports of a few rows an hour), this halves the encoding of the hours.
    """
    if backend.raw_in_sql:
        return {HOUR: backend.keep_rollups(collection, hourly)}
    fine_kept = backend.keep_rollups(collection, fine)
    by_values = {id(row.values): form for row, form in zip(fine, fine_kept, strict=True)}
    missing = [row for row in hourly if id(row.values) not in by_values]
    encoded = iter(backend.keep_rollups(collection, missing))
    hourly_kept = [
        by_values[id(row.values)] if id(row.values) in by_values else next(encoded)
        for row in hourly
    ]
    return {300: fine_kept, HOUR: hourly_kept}


@functools.cache
def _mark_statement(open_bins_kept: bool) -> TextClause:
    """The PostgreSQL upsert of marks; `open_bins_kept`: bins open at ``:closed`` keep their
    version."""
    statement = (
        "INSERT INTO rollup_pending (collection, level, stream_id, bin_start, version, writer) "
        "SELECT :collection, :level, s, b, 1, CAST(:writer AS varchar) "
        "FROM unnest(CAST(:streams AS integer[]), CAST(:bins AS bigint[])) AS t(s, b) "
        "ON CONFLICT (collection, stream_id, bin_start, level) "
        "DO UPDATE SET version = rollup_pending.version + 1, writer = CASE "
        "WHEN rollup_pending.writer = EXCLUDED.writer THEN rollup_pending.writer END"
    )
    if open_bins_kept:
        # An open bin's mark changes only when another writer marks it.
        statement += (
            " WHERE rollup_pending.bin_start + rollup_pending.level <= :closed "
            "OR (rollup_pending.writer IS NOT NULL "
            "AND rollup_pending.writer IS DISTINCT FROM EXCLUDED.writer)"
        )
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


def _marks_of(
    connection: Any, collection: Collection, level: int, bin_start: int, writer: str
) -> list[tuple[int, int]]:
    """(stream id, version) of the `level` marks of `bin_start` that only `writer` made."""
    table = RollupPending.__table__
    return connection.execute(
        select(table.c.stream_id, table.c.version).where(
            table.c.collection == collection.name,
            table.c.level == level,
            table.c.bin_start == bin_start,
            table.c.writer == writer,
        )
    ).all()
