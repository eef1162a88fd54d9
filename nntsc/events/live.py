"""Live detection: `nntsc events run`, and the in-process runner of the embedded default.

Delivery resumes from the store rather than from the live feed. The live
feed (Redis pub/sub, or in-process) drops what nobody listened for, and a
Redis Stream would still lose the batches committed while Redis was down.
The store has every committed row, and the ingest path already keeps each
stream's newest timestamp in SQL (`streams.last_timestamp`). So:

- each stream has a checkpoint (`event_checkpoints`): the newest row live
  detection went through. A cycle reads, per stream with rows newer than
  its checkpoint, those rows from the time-series store, feeds them to the
  detectors and stores the events **and** the new checkpoint in one SQL
  transaction. A restart, a crash or a Redis outage loses nothing: the next
  cycle starts at the checkpoint.
- a batch on the live feed (`nntsc.live.LiveBatch`) wakes the runner early
  and says which streams have new rows, before the ingest path's next
  update of `streams.last_timestamp`; without it the runner polls every
  `POLL_SECONDS`. The batch also carries its rows and, per stream, the
  timestamp of the stream's row before them as the collector knew it. When
  that is the stream's checkpoint, the rows follow on from it and are
  detected on as they are, without reading them back from the store (the
  rows are what a read would return); otherwise (a batch missed while
  Redis was down or the process restarting, a stream whose rows several
  collectors write, rows newer than the batches say) the stream's rows are
  read back from the store as above. Either way the events and the new
  checkpoint are stored in one transaction, so the checkpoints stay the
  truth.
- streams are split into `PARTITIONS` partitions (stream id modulo) that the
  running processes lease in SQL (`event_partitions`): each takes its fair
  share, renews it (in the first cycle after a third of the lease has
  passed: the six statements of a renewal are not paid every cycle; an idle
  process wakes for that cycle rather than wait out its poll; a long cycle
  renews between its reads and stores, and leaves the streams of any
  partition it gave up to their new owner), and takes over the share of a
  process whose lease expired. Two processes never hold one partition at
  once; if one stalls past its lease, the events both find have the same
  keys and are stored once.
- a stream's detectors warm up on the `WARMUP_SECONDS` of rows before its
  checkpoint when a process starts handling it (what they find there was
  stored before and is not stored again).

A row that reaches the store after a newer row of its stream was detected
(e.g. a batch committed out of order) is skipped by live detection and
counted in `late_rows`; `nntsc events detect` over the range covers it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nntsc.collections import Collection, Row, all_collections
from nntsc.collections import get as get_collection
from nntsc.config import Services, positive_seconds
from nntsc.errors import ConfigurationError, NntscError
from nntsc.events import sinks
from nntsc.events.engine import DetectionEngine, Series, store_events, watched_fields
from nntsc.events.models import EventCheckpoint, EventPartition, EventRunner
from nntsc.live import LiveBatch
from nntsc.store.models import CollectionRecord, Stream

log = logging.getLogger(__name__)

#: Shares the streams are split into; every process must use the same number.
PARTITIONS = 16
#: How long a lease lasts without renewal (seconds; ``nntsc.events_lease_seconds``).
LEASE_SECONDS = 60
#: The shortest lease the setting takes: renewals come every third of it, and a
#: cycle starts at most once a `MIN_CYCLE_SECONDS`.
MIN_LEASE_SECONDS = 3
#: Seconds between two cycles when nothing wakes the runner...
POLL_SECONDS = 5.0
#: ...and at least this many, whatever wakes it.
MIN_CYCLE_SECONDS = 1.0
#: Rows read before a stream's checkpoint to warm its detectors up.
WARMUP_SECONDS = 12 * 3600
#: Time span read at once per group of streams when catching up.
READ_SPAN = 86400
STREAMS_PER_READ = 50
#: A row's timestamp (rows are tuples: stream id, timestamp, values).
_TIMESTAMP = itemgetter(1)
#: Rows of live feed batches kept for the next cycle at most; beyond, the
#: batches only say which streams have new rows (which are then read back).
MAX_FEED_ROWS = 500_000
#: Events a cycle stores at once at most while catching up (one transaction, one call
#: of the sinks for all the others).
FLUSH_EVENTS = 5_000


def lease_seconds_setting(settings: Mapping[str, str]) -> int:
    """``nntsc.events_lease_seconds``: how long a partition's lease lasts (default 60 s).

    A process that stops renewing (a crash) holds its partitions this long
    before others take them over; it renews every third of it.
    """
    key = "nntsc.events_lease_seconds"
    problem = ConfigurationError(
        f"{key} {str(settings.get(key, '')).strip()!r}: expected a whole number of seconds, "
        f"at least {MIN_LEASE_SECONDS}"
    )
    try:
        seconds = float(positive_seconds(settings, key, LEASE_SECONDS))
    except ConfigurationError:
        raise problem from None
    if not seconds.is_integer() or seconds < MIN_LEASE_SECONDS:
        raise problem
    return int(seconds)


@dataclass
class _Work:
    collection: str
    stream_id: int
    checkpoint: int
    upto: int
    #: The rows after `read_upto` up to `upto` as columns (`Series`), when the live
    #: feed gave all of them (the rows up to `read_upto`, if after `checkpoint`, are
    #: read from the store).
    series: Series | None = None
    read_upto: int = 0


class LiveDetection:
    """Detects on the rows of this process's share of the streams as they are committed."""

    def __init__(
        self,
        services: Services,
        owner: str | None = None,
        since: int | None = None,
        partitions: int = PARTITIONS,
        lease_seconds: int | None = None,
        clock: Any = time.time,
    ) -> None:
        """`since`: where a stream without a checkpoint starts (None: at its first row).

        `lease_seconds`: how long a partition's lease lasts (None: the
        ``nntsc.events_lease_seconds`` setting, or `LEASE_SECONDS`).
        """
        self.services = services
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.since = since
        self.partitions = partitions
        self.lease_seconds = (
            lease_seconds_setting(services.settings) if lease_seconds is None else lease_seconds
        )
        #: When the leases were last renewed (None: never): renewed every third of a lease.
        self._renewed: float | None = None
        self.clock = clock
        self.engine = DetectionEngine(services)
        self.owned: set[int] = set()
        self.stored = 0
        self.rows = 0
        #: Rows detected on as the live feed gave them (not read back).
        self.fed_rows = 0
        self._collections = [c.name for c in all_collections() if c.detections]
        #: The feed's batches not yet taken by a cycle, and how many rows they keep.
        self._batches: list[_Batch] = []
        self._batch_rows = 0
        #: The fields each collection's detectors read (`_fields`).
        self._watched: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self.wake = threading.Event()
        sinks.load_sinks()

    @property
    def late_rows(self) -> int:
        return self.engine.late_rows

    # -- the live feed: wake-ups ----------------------------------------------------

    def on_batch(self, batch: LiveBatch) -> None:
        """Live feed listener: these rows are committed; detect on them soon.

        Called on the publisher's thread (in process: the collector's writer),
        so it only queues the batch's rows for the next cycle, split by stream
        and reduced to the fields the detectors read (`_split`): the
        publisher's rows, with all their values, are then freed by the
        publisher as when nobody listens, while they are still in the cache,
        rather than by the next cycle.
        """
        split = _split(batch, self._fields(batch.collection))
        with self._lock:
            if self._batch_rows + split.rows > MAX_FEED_ROWS:
                # Too far behind to keep rows: keep which streams have new rows
                # (they are read back from the store).
                self._batches = [b.newest_only() for b in self._batches]
                split = split.newest_only()
                self._batch_rows = 0
            self._batch_rows += split.rows
            self._batches.append(split)
        self.wake.set()

    def _fields(self, name: str) -> tuple[str, ...]:
        """The fields `name`'s detectors read (none for a collection without detections)."""
        fields = self._watched.get(name)
        if fields is None:
            collection = get_collection(name)
            fields = tuple(watched_fields(collection)) if collection.detections else ()
            self._watched[name] = fields
        return fields

    def _take_batches(self) -> tuple[dict[int, tuple[str, int]], dict[int, list[_Segment]]]:
        """The queued feed batches: per stream its newest row, and its rows batch by batch."""
        with self._lock:
            batches, self._batches, self._batch_rows = self._batches, [], 0
        hints: dict[int, tuple[str, int]] = {}
        segments: dict[int, list[_Segment]] = defaultdict(list)
        for batch in batches:
            for stream_id, segment in batch.segments.items():
                known = hints.get(stream_id)
                if known is None or known[1] < segment.newest:
                    hints[stream_id] = (batch.collection, segment.newest)
                segments[stream_id].append(segment)
        return hints, segments

    # -- leases -------------------------------------------------------------------------

    def renew_leases(self) -> set[int]:
        """Renew this process's partitions, take its fair share, give back the excess."""
        now = int(self.clock())
        expires = now + self.lease_seconds
        table = EventPartition.__table__
        runners = EventRunner.__table__
        with self.services.sessionmaker.begin() as session:
            _insert_partitions(session, self.partitions)
            session.execute(delete(runners).where(runners.c.expires < now))
            _upsert(session, runners, [{"owner": self.owner, "expires": expires}], "owner")
            alive: set[str] = set(session.scalars(select(runners.c.owner)))
            session.execute(
                update(table)
                .where(table.c.owner == self.owner, table.c.expires >= now)
                .values(expires=expires)
            )
            rows: Sequence[tuple[int, str | None, int]] = session.execute(
                select(table.c.partition, table.c.owner, table.c.expires)
            ).all()
            mine = {p for p, owner, until in rows if owner == self.owner and until >= now}
            share = math.ceil(self.partitions / len(alive | {self.owner}))
            for partition in sorted(mine, reverse=True)[: max(0, len(mine) - share)]:
                session.execute(
                    update(table)
                    .where(table.c.partition == partition, table.c.owner == self.owner)
                    .values(owner=None, expires=0)
                )
                mine.discard(partition)
            free = sorted(p for p, owner, until in rows if owner is None or until < now)
            wanted = free[: max(0, share - len(mine))]
            if wanted:
                # One statement for all of them (a process starting takes its whole
                # share at once); those another process took meanwhile are not returned.
                mine.update(
                    session.scalars(
                        update(table)
                        .where(
                            table.c.partition.in_(wanted),
                            or_(table.c.owner.is_(None), table.c.expires < now),
                        )
                        .values(owner=self.owner, expires=expires)
                        .returning(table.c.partition)
                    )
                )
        lost = self.owned - mine
        if lost:
            self.engine.forget(s for s in self.engine.streams() if s % self.partitions in lost)
        self.owned = mine
        return mine

    def _leases(self) -> set[int]:
        """This process's partitions: renewed when a third of the lease has passed since the
        last renewal (so at least two thirds of it remain), else as they were."""
        now = self.clock()
        if self._renewed is not None and 0 <= now - self._renewed < self.lease_seconds / 3:
            return self.owned
        owned = self.renew_leases()
        self._renewed = now
        return owned

    def _until_renewal(self) -> float:
        """Seconds until the leases are due for renewal (a third of a lease after the last)."""
        if self._renewed is None:
            return 0.0
        # A little after: a wait that ended a hair early by the wall clock
        # would leave the renewal to the cycle after.
        return self._renewed + self.lease_seconds / 3 - self.clock() + 0.01

    def release(self) -> None:
        """Give this process's partitions back (on a clean stop), so others take them at once."""
        table = EventPartition.__table__
        runners = EventRunner.__table__
        with self.services.sessionmaker.begin() as session:
            session.execute(
                update(table).where(table.c.owner == self.owner).values(owner=None, expires=0)
            )
            session.execute(delete(runners).where(runners.c.owner == self.owner))
        self.engine.forget(self.engine.streams())
        self.owned = set()
        self._renewed = None

    # -- a cycle ------------------------------------------------------------------------

    def cycle(self) -> int:
        """One round: renew leases, detect on every owned stream with new rows; events stored.

        The events and checkpoints of the whole cycle are stored in one
        transaction (or one per `FLUSH_EVENTS` events found while catching
        up), so the sinks (event grouping) run once a cycle. Between its
        reads and stores the leases are renewed when due (`_still_owned`),
        so a cycle catching up for longer than a lease keeps its partitions
        (or gives back the excess, and stops on those streams). Should storing
        fail, the detectors of the streams not stored are forgotten, so the
        next cycle warms them up again and detects on the same rows.
        """
        owned = self._leases()
        hints, segments = self._take_batches()
        if not owned:
            return 0
        work = self._work(owned, hints)
        for item in work:
            if item.stream_id in segments:
                _follow(item, segments[item.stream_id])
        by_collection: dict[str, list[_Work]] = defaultdict(list)
        for item in work:
            by_collection[item.collection].append(item)
        pending = _Pending()
        stored = self.stored
        try:
            for name, items in by_collection.items():
                collection = get_collection(name)
                for index in range(0, len(items), STREAMS_PER_READ):
                    # A long catch-up renews its leases as it goes, and leaves
                    # the streams whose partitions it gave up to their new owner.
                    chunk = self._still_owned(items[index : index + STREAMS_PER_READ])
                    if chunk:
                        self._detect(collection, chunk, pending)
            # The rows the feed gave, after what had to be read.
            fed = {
                name: [i for i in self._still_owned(items) if i.series is not None]
                for name, items in by_collection.items()
            }
            if any(fed.values()):
                self._detect_fed(fed, pending)
            self._flush(pending)
        except BaseException:
            # Their detectors went past rows whose events and checkpoints were
            # not stored: start them again from the stored checkpoints.
            self.engine.forget(pending.streams)
            raise
        return self.stored - stored

    def _still_owned(self, items: Sequence[_Work]) -> list[_Work]:
        """Those of `items` in partitions this process still holds, the leases renewed if due.

        Called between the steps of a cycle (a read of `READ_SPAN` for up to
        `STREAMS_PER_READ` streams, a store of up to `FLUSH_EVENTS` events):
        a cycle catching up on a long backlog can outlast a lease, and another
        process would take its partitions over while it still works on them.
        """
        owned = self._leases()
        return [item for item in items if item.stream_id % self.partitions in owned]

    def _flush(self, pending: _Pending) -> None:
        """Store the pending events and checkpoints in one transaction."""
        if pending.records or pending.checkpoints:
            with self.services.sessionmaker.begin() as session:
                stored = len(store_events(session, pending.records))
                _save_checkpoints(session, pending.checkpoints)
            self.stored += stored
        pending.records = []
        pending.checkpoints = {}
        pending.streams = set()

    def _work(self, owned: set[int], hints: Mapping[int, tuple[str, int]]) -> list[_Work]:
        partition = Stream.stream_id % self.partitions
        checkpoints = EventCheckpoint.__table__
        query = (
            select(
                CollectionRecord.name,
                Stream.stream_id,
                Stream.first_timestamp,
                Stream.last_timestamp,
                checkpoints.c.last_timestamp,
            )
            .join(CollectionRecord, CollectionRecord.id == Stream.collection_id)
            .outerjoin(checkpoints, checkpoints.c.stream_id == Stream.stream_id)
            .where(CollectionRecord.name.in_(self._collections))
            .where(partition.in_(sorted(owned)))
        )
        hinted = [s for s in hints if s % self.partitions in owned]
        news = or_(
            checkpoints.c.last_timestamp.is_(None),
            Stream.last_timestamp > checkpoints.c.last_timestamp,
        )
        if hinted:
            query = query.where(or_(news, Stream.stream_id.in_(hinted)))
        else:
            query = query.where(news)
        work = []
        with self.services.sessionmaker() as session:
            rows: Sequence[tuple[str, int, int | None, int | None, int | None]] = session.execute(
                query
            ).all()
        for name, stream_id, first, last, checkpoint in rows:
            upto = max(last or -1, hints.get(stream_id, (name, -1))[1])
            if checkpoint is None:
                if first is None:
                    continue
                checkpoint = first - 1 if self.since is None else max(first, self.since) - 1
            if upto > checkpoint:
                work.append(_Work(name, stream_id, checkpoint, upto))
        return work

    def _detect(self, collection: Collection, items: list[_Work], pending: _Pending) -> None:
        """Warm up what is cold; detect on what must be read (the rows the feed did not give)."""
        cold = [i for i in items if self.engine.newest(i.stream_id) is None]
        pending.streams.update(i.stream_id for i in cold)
        self._warm_up(collection, cold)
        # All of a stream's rows, or those before its batches follow on from each other.
        read = [item for item in items if item.series is None] + [
            _Work(i.collection, i.stream_id, i.checkpoint, i.read_upto)
            for i in items
            if i.series is not None and i.read_upto > i.checkpoint
        ]
        if read:
            self._detect_stored(collection, read, pending)

    def _warm_up(self, collection: Collection, cold: list[_Work]) -> None:
        """Feed the detectors of streams new to this process the rows before their checkpoints."""
        if not cold:
            return
        low = min(i.checkpoint for i in cold) - WARMUP_SECONDS
        high = max(i.checkpoint for i in cold) + 1
        limits = {i.stream_id: (i.checkpoint - WARMUP_SECONDS, i.checkpoint) for i in cold}
        for rows in _read(self.services.timeseries, collection, list(limits), low, high):
            warm = [
                r for r in rows if limits[r.stream_id][0] <= r.timestamp <= limits[r.stream_id][1]
            ]
            # Events of these rows were stored by whoever detected them first.
            self.engine.feed(collection, warm, detected_from=high + 1)

    def _detect_fed(self, fed: Mapping[str, list[_Work]], pending: _Pending) -> None:
        """Detect on the rows the feed gave (each stream's after `read_upto`)."""
        for name, items in fed.items():
            streams = {item.stream_id: item.series for item in items if item.series is not None}
            count = sum(len(stamps) for stamps, _ in streams.values())
            self.rows += count
            self.fed_rows += count
            pending.streams.update(streams)
            pending.records.extend(self.engine.feed_columns(get_collection(name), streams))
            pending.checkpoints.update({item.stream_id: item.upto for item in items})

    def _detect_stored(self, collection: Collection, items: list[_Work], pending: _Pending) -> None:
        """Read the rows after each stream's checkpoint back from the store and detect on them."""
        store = self.services.timeseries
        bounds = {i.stream_id: (i.checkpoint, i.upto) for i in items}
        low = min(i.checkpoint for i in items) + 1
        high = max(i.upto for i in items) + 1
        newest = {i.stream_id: i.checkpoint for i in items}
        pending.streams.update(bounds)
        for rows in _read(store, collection, list(bounds), low, high):
            if not bounds:
                break
            fresh = [
                r
                for r in rows
                if r.stream_id in bounds
                and bounds[r.stream_id][0] < r.timestamp <= bounds[r.stream_id][1]
            ]
            self.rows += len(fresh)
            pending.records.extend(self.engine.feed(collection, fresh))
            for row in fresh:
                if row.timestamp > newest[row.stream_id]:
                    newest[row.stream_id] = pending.checkpoints[row.stream_id] = row.timestamp
            if len(pending.records) >= FLUSH_EVENTS:
                # A long catch-up keeps what it found so far.
                self._flush(pending)
                pending.streams.update(bounds)
            # The rows of streams whose partitions were given up (what was
            # found in them is stored all the same) are left to their new owner.
            kept = {item.stream_id for item in self._still_owned(items)}
            bounds = {s: span for s, span in bounds.items() if s in kept}

    # -- running ------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
        """Cycle until `stop` is set; store outages are waited out and logged.

        Idle, a cycle comes every `poll` seconds, and when the leases are due
        for renewal if that is sooner.
        """
        backoff = 1.0
        while not stop.is_set():
            self.wake.clear()
            try:
                self.cycle()
                backoff = 1.0
            except (SQLAlchemyError, NntscError, OSError) as error:
                log.warning("event detection: %s; retrying in %.0f s", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            # A cycle costs some SQL statements whatever its rows (leases, the
            # streams with new rows, a transaction): at most one a
            # `MIN_CYCLE_SECONDS`, the batches that come meanwhile together.
            # Idle, the next cycle comes `poll` seconds on, or sooner when
            # the leases are due for renewal: they must not run out between
            # two cycles (a lease of 3 s, or --poll 90 with the default 60 s).
            idle = min(poll, max(MIN_CYCLE_SECONDS, self._until_renewal()))
            first = min(idle, MIN_CYCLE_SECONDS)
            if not stop.wait(first):
                self.wake.wait(idle - first)
        try:
            self.release()
        except (SQLAlchemyError, NntscError) as error:
            log.warning("event detection: could not release partitions: %s", error)


@dataclass
class _Pending:
    """What a cycle found and has not stored yet."""

    records: list[dict[str, Any]] = field(default_factory=list)
    #: The newest row detected on per stream.
    checkpoints: dict[int, int] = field(default_factory=dict)
    #: Streams whose detectors went past what is stored.
    streams: set[int] = field(default_factory=set)


@dataclass
class _Segment:
    """One feed batch's rows of one stream: the row before them (None: unknown), the newest.

    `series`: the rows as columns (`Series`: their timestamps in time order,
    and each watched field's values), or None when they are not kept.
    """

    previous: int | None
    newest: int
    series: Series | None


@dataclass
class _Batch:
    """A live feed batch as queued: its rows split by stream, one `_Segment` each."""

    collection: str
    segments: dict[int, _Segment]
    #: The rows its segments keep.
    rows: int

    def newest_only(self) -> _Batch:
        """The same batch without rows: only each stream's newest row is known."""
        return _Batch(
            self.collection,
            {s: _Segment(None, seg.newest, None) for s, seg in self.segments.items()},
            0,
        )


def _split(batch: LiveBatch, fields: Sequence[str]) -> _Batch:
    """`batch`'s rows by stream, each stream's as columns of `fields` (what the detectors read).

    A stream's rows are kept only when the batch names the row before them
    (`LiveBatch.previous`) and its collection has detections: otherwise
    they are read back from the store, and only the stream's newest row is
    kept. Kept rows become a `Series`: their timestamps in time order (a
    stable sort, as `DetectionEngine.feed_streams` sorts rows) and per field
    its values, so that no object is made per row and the publisher's rows
    are not held. One pass over the rows, each touched once.
    """
    previous = batch.previous if fields else {}
    count = len(fields)
    # Per stream: its timestamps, then one list per field.
    by_stream: dict[int, tuple[list[Any], ...]] = {}
    if count == 2:
        first, second = fields
        for stream_id, timestamp, values in batch.rows:
            lists = by_stream.get(stream_id)
            if lists is None:
                lists = by_stream[stream_id] = ([], [], [])
            lists[0].append(timestamp)
            lists[1].append(values.get(first))
            lists[2].append(values.get(second))
    else:
        for stream_id, timestamp, values in batch.rows:
            lists = by_stream.get(stream_id)
            if lists is None:
                lists = by_stream[stream_id] = tuple([] for _ in range(count + 1))
            lists[0].append(timestamp)
            for index in range(count):
                lists[index + 1].append(values.get(fields[index]))
    segments: dict[int, _Segment] = {}
    kept = 0
    for stream_id, (stamps, *columns) in by_stream.items():
        if stream_id not in previous:
            newest = max(stamps)
            segments[stream_id] = _Segment(None, newest, None)
            continue
        ordered = sorted(stamps)
        if ordered != stamps:
            # Time order, rows of one timestamp as they came (a stable sort).
            order = sorted(range(len(stamps)), key=stamps.__getitem__)
            columns = [[column[i] for i in order] for column in columns]
            stamps = ordered
        series = (stamps, dict(zip(fields, columns, strict=True)))
        segments[stream_id] = _Segment(previous[stream_id], stamps[-1], series)
        kept += len(stamps)
    return _Batch(batch.collection, segments, kept)


def _follow(item: _Work, segments: Sequence[_Segment]) -> None:
    """Which of `item`'s rows the feed's batches give: sets `series` and `read_upto`.

    A batch gives its rows when it follows on from the row before it: the
    checkpoint, or the newest row of the batch before (batches the
    checkpoint covers are passed over); the store then has no other row of
    the stream between them. The rows up to where the last run of such
    batches starts are read from the store (`read_upto`); all of them when
    the batches do not reach `item.upto` (`series` stays None).
    """
    reached = read_upto = item.checkpoint
    parts: list[tuple[Series, int]] = []
    for segment in segments:
        if segment.newest <= reached:
            continue
        if segment.series is not None and segment.previous == reached:
            # A row at or before the previous one (committed late) is late
            # here as it would be in the store: only the rows after it.
            parts.append((segment.series, reached))
        elif (
            segment.series is not None
            and segment.previous is not None
            and segment.previous > reached
        ):
            # Rows up to its previous one came in no batch seen: read them.
            read_upto = segment.previous
            parts = [(segment.series, read_upto)]
        else:
            read_upto = segment.newest
            parts = []
        reached = segment.newest
    if reached < item.upto:
        return
    item.upto = reached
    item.read_upto = read_upto
    item.series = _joined(parts)


def _joined(parts: Sequence[tuple[Series, int]]) -> Series:
    """The rows of each series after its timestamp, one after the other, as one series."""
    if len(parts) == 1:
        (stamps, columns), after = parts[0]
        if not stamps or stamps[0] > after:
            return stamps, columns
    joined: list[int] = []
    fields: dict[str, list[Any]] = {}
    for (stamps, columns), after in parts:
        # Each series is in time order: its rows after `after` are a tail.
        start = bisect_right(stamps, after)
        joined.extend(stamps[start:])
        for name, values in columns.items():
            fields.setdefault(name, []).extend(values[start:])
    return joined, fields


def _read(
    store: Any, collection: Collection, stream_ids: list[int], start: int, end: int
) -> Iterable[list[Row]]:
    """Raw rows of `stream_ids` in [start, end), one `READ_SPAN` at a time, oldest first."""
    cursor = start
    while cursor < end:
        upto = min(end, cursor + READ_SPAN)
        yield store.raw(collection, stream_ids, cursor, upto, fields=watched_fields(collection))
        cursor = upto


def _insert_partitions(session: Session, count: int) -> None:
    table = EventPartition.__table__
    existing = session.scalar(select(func.count()).select_from(table))
    if existing == count:
        return
    if existing and existing > count:
        session.execute(delete(table).where(table.c.partition >= count))
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["partition"]),
        [{"partition": p, "owner": None, "expires": 0} for p in range(count)],
    )


def _upsert(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={c: statement.excluded[c] for c in rows[0] if c != key},
    )
    session.execute(statement, rows)


def _save_checkpoints(session: Session, newest: Mapping[int, int]) -> None:
    if not newest:
        return
    table = EventCheckpoint.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    # Never backwards: a process that stalled past its lease may write late.
    # SQLite's two-argument max() is PostgreSQL's greatest().
    larger = func.max if dialect == "sqlite" else func.greatest
    statement = statement.on_conflict_do_update(
        index_elements=["stream_id"],
        set_={"last_timestamp": larger(table.c.last_timestamp, statement.excluded.last_timestamp)},
    )
    session.execute(
        statement, [{"stream_id": s, "last_timestamp": t} for s, t in sorted(newest.items())]
    )


def checkpoints(services: Services, stream_ids: Sequence[int]) -> dict[int, int]:
    """The live checkpoints of `stream_ids` that have one."""
    table = EventCheckpoint.__table__
    with services.sessionmaker() as session:
        return dict(
            session.execute(
                select(table.c.stream_id, table.c.last_timestamp).where(
                    table.c.stream_id.in_(list(stream_ids))
                )
            ).all()
        )


def start_listening(services: Services, detection: LiveDetection, stop: threading.Event) -> None:
    """Wake `detection` on every committed batch the live feed announces.

    In process (the embedded default) it is a subscription; with Redis a
    daemon thread listens until `stop` is set.
    """
    from nntsc.live import MemoryLiveFeed, RedisLiveFeed

    feed = services.live
    if isinstance(feed, MemoryLiveFeed):
        for collection in all_collections():
            if collection.detections:
                feed.subscribe(collection.name, detection.on_batch)
    elif isinstance(feed, RedisLiveFeed):
        threading.Thread(
            target=feed.listen,
            args=(detection.on_batch, stop, [c.name for c in all_collections() if c.detections]),
            name="nntsc-events-feed",
            daemon=True,
        ).start()


def run_in_process(services: Services, stop: threading.Event) -> threading.Thread:
    """Live detection on a daemon thread of this process (the embedded default's collector)."""
    detection = LiveDetection(services)
    start_listening(services, detection, stop)
    thread = threading.Thread(target=detection.run, args=(stop,), name="nntsc-events", daemon=True)
    thread.start()
    return thread
