"""The ingest path shared by every source: report -> rows -> batch -> stores.

A report is parsed and its stream keys validated before anything is written,
so a malformed report raises `BadReport` and leaves no trace. Rows are
buffered per collection; a full batch is handed to a writer thread, so that
parsing the next batch overlaps with the stores ingesting this one. At most
`WRITERS` batches are in flight. `flush()` writes everything and waits for it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from nntsc.collections import Collection, ParsedRow, Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.backend import WriteResult
from nntsc.store.timeseries import PreparedWrite

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
#: Batches written at once: while one waits for a store, the next is sent.
WRITERS = 2
#: Seconds between two updates of the streams' first/last timestamps.
TOUCH_INTERVAL = 10.0
#: Streams not known yet that are looked up (or created) ahead, on a thread of
#: their own, once this many have been buffered (see `Ingestor._look_ahead`).
LOOKAHEAD_KEYS = 1000

#: New objects between two young-generation garbage collections while ingesting.
#: CPython's default, 700, means hundreds of collections per batch being built,
#: each walking rows that are all still alive, and promoting them, so that the
#: full collections walk them again (with the whole heap). Above what the
#: buffered and in-flight batches hold, rows are freed (by reference counting,
#: once written) before a collection sees them. Measured in bench/collector.py
#: (3,600 reports): garbage collection took 0.13-0.21 s of the collector's run
#: with the default, 0.01 s with this; in bench/ingest.py 0.71 s of 3.3 s.
GC_YOUNG_OBJECTS = 100_000


class _YoungThreshold:
    """The raised threshold, shared: it is process-wide, as CPython's setting is.

    The first holder saves the thresholds in force, the last one restores them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = gc.get_threshold()

    @contextmanager
    def raised(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._saved = gc.get_threshold()
                gc.set_threshold(max(self._saved[0], GC_YOUNG_OBJECTS), *self._saved[1:])
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    gc.set_threshold(*self._saved)


_young_threshold = _YoungThreshold()


def fewer_collections() -> AbstractContextManager[None]:
    """Raise the young-generation GC threshold to `GC_YOUNG_OBJECTS` while inside."""
    return _young_threshold.raised()


#: Called with each collection and rows of a committed batch, on the thread that
#: adds reports, in the order the batches were submitted: a batch once every
#: batch before it is done (a batch's part that committed before a failure too).
#: So a listener (the live feed) sees the rows as the store has them, although
#: with several writers batches may commit out of order.
CommitListener = Callable[[Collection, list[Row]], None]


@dataclass(frozen=True)
class BatchOutcome:
    """A finished batch: the tokens added with its reports, its result or error, its timing."""

    tokens: list[Any]
    rows: int
    result: WriteResult | None
    error: BaseException | None
    seconds: float


#: Called on the ingest thread, in submission order, when a batch is done.
BatchListener = Callable[[BatchOutcome], None]

Batch = list[PreparedWrite]


class Ingestor:
    """Buffers rows and writes them to the time-series store in batches."""

    def __init__(
        self,
        services: Services,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_commit: CommitListener | None = None,
        on_batch_done: BatchListener | None = None,
    ) -> None:
        self.services = services
        self.batch_size = batch_size
        self.on_commit = on_commit
        self.on_batch_done = on_batch_done
        self.totals = WriteResult()
        self._tokens: list[Any] = []
        self._rows: dict[str, list[Row]] = defaultdict(list)
        self._tags: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
        # Per collection, keys of streams not known yet: the positions in
        # `_rows` of their rows (given ids at `_submit`), and their properties.
        self._unresolved: dict[str, dict[tuple[str, ...], tuple[list[int], Mapping[str, str]]]] = (
            defaultdict(dict)
        )
        self._buffered = 0
        # Per collection, keys added to `_unresolved` and not yet looked up ahead.
        self._ahead: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        self._lookups: list[Future[Any]] = []
        self._looker: ThreadPoolExecutor | None = None
        self._writer = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="nntsc-writer")
        # Per batch in flight: its write, tokens, row count, when it was
        # submitted, and the (collection, rows) its write has committed so far.
        self._in_flight: deque[
            tuple[Future[WriteResult], list[Any], int, float, list[tuple[Collection, list[Row]]]]
        ] = deque()
        # Streams' first/last timestamps, written at most every TOUCH_INTERVAL
        # seconds and at every flush: metadata, not data, so it may lag a little.
        self._spans: dict[int, tuple[int, int]] = {}
        self._touched = time.monotonic()
        self._finishing: Future[int] | None = None
        self._context = ExitStack()

    def add(
        self,
        collection: str | Collection,
        report: Any,
        source: str,
        timestamp: int,
        token: Any = None,
    ) -> int:
        """Parse one report and buffer its rows; return how many rows it made.

        `token` (e.g. an AMQP message) travels with the batch holding these
        rows and is handed to `on_batch_done` once the batch is committed.
        Raises `BadReport` (nothing buffered, no stream created) when the
        report is malformed; without `on_batch_done`, also the error of an
        earlier batch's write.
        """
        if isinstance(collection, str):
            collection = get_collection(collection)
        parsed = collection.resolve(self.services, collection.parse(report, source, timestamp))
        return self._buffer(collection, parsed, timestamp, token)

    def add_report(
        self,
        collections: Sequence[Collection],
        report: Any,
        source: str,
        timestamp: int,
        token: Any = None,
    ) -> int:
        """`add` for a report that feeds several collections: all parse, or none is kept."""
        parsed = [(c, c.parse(report, source, timestamp)) for c in collections]
        parsed = [(c, c.resolve(self.services, rows)) for c, rows in parsed]
        count = 0
        for index, (collection, rows) in enumerate(parsed):
            last = index == len(parsed) - 1
            count += self._buffer(collection, rows, timestamp, token if last else None)
        return count

    def add_parsed(
        self, collection: Collection, parsed: Sequence[ParsedRow], timestamp: int
    ) -> int:
        """`add` for rows a caller has parsed itself (e.g. some of a report's rows)."""
        return self._buffer(collection, collection.resolve(self.services, parsed), timestamp, None)

    def mark(self, token: Any) -> None:
        """Let `token` travel with the batch being built, without a report.

        It reaches `on_batch_done` once every row added before it is
        committed: e.g. an import's resume point after a chunk of rows.
        """
        self._tokens.append(token)

    def _buffer(
        self, collection: Collection, parsed: Sequence[ParsedRow], timestamp: int, token: Any
    ) -> int:
        registry = self.services.streams
        known = registry.known_id
        ids = [known(collection, row.properties) for row in parsed]
        rows = self._rows[collection.name]
        tags = self._tags[collection.name]
        if None in ids:
            # Streams not seen yet: every key is validated now, before anything
            # is buffered; they are looked up or created at `_submit`, all of
            # the batch's at once.
            keys = [
                registry.key_of(collection, row.properties) if stream_id is None else None
                for stream_id, row in zip(ids, parsed, strict=True)
            ]
            unresolved = self._unresolved[collection.name]
            ahead = self._ahead[collection.name]
            for stream_id, key, row in zip(ids, keys, parsed, strict=True):
                if stream_id is None:
                    entry = unresolved.get(key)  # type: ignore[arg-type]
                    if entry is None:
                        entry = unresolved[key] = ([], row.properties)  # type: ignore[index]
                        ahead.append(key)  # type: ignore[arg-type]
                    entry[0].append(len(rows))
                    rows.append(Row(0, timestamp, row.values))
                else:
                    rows.append(Row(stream_id, timestamp, row.values))
                    if stream_id not in tags:
                        tags[stream_id] = dict(row.properties)
            if len(ahead) >= LOOKAHEAD_KEYS:
                self._look_ahead(collection, ahead)
                self._ahead[collection.name] = []
        else:
            for stream_id, row in zip(ids, parsed, strict=True):
                rows.append(Row(stream_id, timestamp, row.values))  # type: ignore[arg-type]
                if stream_id not in tags:
                    tags[stream_id] = dict(row.properties)  # type: ignore[index]
        self._buffered += len(parsed)
        if token is not None:
            self._tokens.append(token)
        if self._buffered >= self.batch_size:
            self._submit()
        return len(parsed)

    def _submit(self, final: bool = False) -> None:
        """Encode the buffered rows and hand them to the writer thread.

        Waits first until fewer than `WRITERS` batches are in flight, so
        memory stays bounded when the stores are slower than the input.
        """
        while len(self._in_flight) >= WRITERS:
            self._wait_oldest()
        if self._unresolved:
            self._resolve_streams()
        store = self.services.timeseries
        # Built before any state is cleared, so a failure leaves the buffer whole.
        batch = [
            store.prepare(get_collection(name), rows, self._tags[name])
            for name, rows in self._rows.items()
        ]
        self._tags.clear()
        spans = self._spans
        for rows in self._rows.values():
            for stream_id, timestamp, _ in rows:
                span = spans.get(stream_id)
                if span is None:
                    spans[stream_id] = (timestamp, timestamp)
                elif timestamp < span[0] or timestamp > span[1]:
                    spans[stream_id] = (min(span[0], timestamp), max(span[1], timestamp))
        self._rows.clear()
        count, self._buffered = self._buffered, 0
        tokens, self._tokens = self._tokens, []
        touch = None
        if spans and (final or time.monotonic() - self._touched >= TOUCH_INTERVAL):
            touch, self._spans = spans, {}
            self._touched = time.monotonic()
        if batch or touch or tokens:
            committed: list[tuple[Collection, list[Row]]] = []
            future = self._writer.submit(self._write, batch, touch, committed)
            self._in_flight.append((future, tokens, count, time.monotonic(), committed))

    def _look_ahead(self, collection: Collection, keys: list[tuple[str, ...]]) -> None:
        """Have a thread look up (or create) the streams of `keys` while reports are parsed.

        A collector that starts meets each of thousands of streams for the
        first time: the lookups are SQL round trips which the consuming
        thread would otherwise wait for at every batch. This only fills the
        registry's cache: `_resolve_streams` still gives every row its id
        (from that cache, or by asking the database itself, which is where a
        failure counts), so a lookup that fails here is just a cache miss.
        """
        if self._looker is None:
            self._looker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nntsc-streams")
        registry = self.services.streams
        self._lookups.append(self._looker.submit(registry.stream_ids_for_keys, collection, keys))

    def _lookups_done(self) -> None:
        """Wait for the lookups ahead; their failures are left for `_resolve_streams` to meet."""
        lookups, self._lookups = self._lookups, []
        for lookup in lookups:
            error = lookup.exception()
            if error is not None:
                log.debug("looking streams up ahead failed: %s", error)

    def _resolve_streams(self) -> None:
        """Give the buffered rows of new streams their ids: a few statements per batch.

        On failure (e.g. the SQL database is down) the buffer is left whole.
        """
        self._lookups_done()
        self._ahead.clear()
        registry = self.services.streams
        for name, unresolved in self._unresolved.items():
            collection = get_collection(name)
            ids = registry.stream_ids_for_keys(collection, unresolved)
            rows = self._rows[name]
            tags = self._tags[name]
            for key, (positions, properties) in unresolved.items():
                stream_id = ids[key]
                for position in positions:
                    rows[position] = rows[position]._replace(stream_id=stream_id)
                if stream_id not in tags:
                    tags[stream_id] = dict(properties)
        self._unresolved.clear()

    def submit(self) -> None:
        """Send what is buffered now, without waiting (e.g. when a batch timeout expires)."""
        if self._buffered or self._tokens:
            self._submit()

    def poll(self) -> None:
        """Hand finished batches, oldest first, to `on_batch_done`; never blocks.

        With no batch in flight, it also has the writer thread finalise the
        rollups of held hours that are due (`TimeseriesStore.finish_rollups`),
        which writing a batch does otherwise.
        """
        while self._in_flight and self._in_flight[0][0].done():
            self._wait_oldest()
        if not self._in_flight and (self._finishing is None or self._finishing.done()):
            store = self.services.timeseries
            if store.rollups_due():
                self._finishing = self._writer.submit(store.finish_rollups)

    def _wait_oldest(self) -> None:
        future, tokens, rows, submitted, committed = self._in_flight.popleft()
        if self.on_batch_done is None:
            try:
                self.totals += future.result()
            finally:
                self._committed(committed)
            return
        error = future.exception()
        self._committed(committed)
        result = None if error is not None else future.result()
        if result is not None:
            self.totals += result
        seconds = time.monotonic() - submitted
        self.on_batch_done(BatchOutcome(tokens, rows, result, error, seconds))

    def wait(self) -> None:
        """Wait for every batch in flight (raising the first write error without a listener)."""
        try:
            while self._in_flight:
                self._wait_oldest()
        finally:
            for future, *_ in self._in_flight:
                future.cancel()

    def discard(self) -> None:
        """Drop buffered rows and forget batches in flight, e.g. after a store failed.

        Their reports are not acknowledged, so the broker delivers them again.
        """
        self._rows.clear()
        self._tags.clear()
        self._unresolved.clear()
        self._ahead.clear()
        # Not waited for (they may be waiting for a store that is down): they
        # only fill the registry's cache with ids the database confirmed.
        self._lookups = []
        self._tokens = []
        self._spans = {}
        self._buffered = 0
        in_flight, self._in_flight = self._in_flight, deque()
        for future, *_ in in_flight:
            future.cancel()
        for future, *_, committed in in_flight:
            if not future.cancelled():
                future.exception()
            # What did commit is in the store: its listener hears of it.
            self._committed(committed)

    def _committed(self, committed: list[tuple[Collection, list[Row]]]) -> None:
        if self.on_commit is not None:
            for collection, rows in committed:
                self.on_commit(collection, rows)

    def _write(
        self,
        batch: Batch,
        touch: dict[int, tuple[int, int]] | None,
        committed: list[tuple[Collection, list[Row]]],
    ) -> WriteResult:
        """Writer thread: send each prepared batch, then widen the streams' first/last times.

        Each collection's rows are added to `committed` once written, for
        `on_commit` (called in submission order, see `CommitListener`).
        """
        result = WriteResult()
        store = self.services.timeseries
        for prepared in batch:
            result += store.write_prepared(prepared)
            if self.on_commit is not None:
                committed.append((prepared.collection, prepared.fresh + prepared.expired))
        if touch:
            self.services.streams.touch(touch)
        if result.dropped:
            log.error("dropped %d rows: %s", result.dropped, "; ".join(result.dropped_reasons))
        return result

    def flush(self) -> WriteResult:
        """Write every buffered row and wait until it is committed."""
        before = WriteResult()
        before += self.totals
        self._submit(final=True)
        self.wait()
        return WriteResult(
            written=self.totals.written - before.written,
            routed_to_rollups=self.totals.routed_to_rollups - before.routed_to_rollups,
            dropped=self.totals.dropped - before.dropped,
        )

    def close_writer(self) -> None:
        """Stop the writer thread once the batches in flight are done; nothing more is sent."""
        self._writer.shutdown(wait=True)
        if self._looker is not None:
            self._looker.shutdown(wait=True)

    def close(self) -> None:
        """Flush, then stop the writer thread."""
        try:
            self.flush()
        finally:
            self.close_writer()

    def __enter__(self) -> Ingestor:
        """Open for a run of reports, with `fewer_collections` until the exit."""
        self._context.enter_context(fewer_collections())
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                self.close()
            else:
                # Do not write a half-built batch after an error; wait for the one in flight.
                try:
                    self.wait()
                finally:
                    self.close_writer()
        finally:
            self._context.close()
