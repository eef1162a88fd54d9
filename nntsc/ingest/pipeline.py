"""The ingest path shared by every source: report -> rows -> batch -> stores.

A report is parsed and its stream keys validated before anything is written,
so a malformed report raises `BadReport` and leaves no trace. Rows are
buffered per collection; a full batch is handed to a writer thread, so that
parsing the next batch overlaps with the stores ingesting this one. At most
`WRITERS` batches are in flight. `flush()` writes everything and waits for it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from nntsc.collections import Collection, Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.interfaces import PreparedWrite, WriteResult

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
#: Batches written at once: while one waits for a store, the next is sent.
WRITERS = 2
#: Seconds between two updates of the streams' first/last timestamps.
TOUCH_INTERVAL = 10.0

#: Called after each committed batch with the collection and its rows, on a
#: writer thread; with several writers, batches may commit out of order.
CommitListener = Callable[[Collection, list[Row]], None]

Batch = list[PreparedWrite]


class Ingestor:
    """Buffers rows and writes them to the time-series store in batches."""

    def __init__(
        self,
        services: Services,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_commit: CommitListener | None = None,
    ) -> None:
        self.services = services
        self.batch_size = batch_size
        self.on_commit = on_commit
        self.totals = WriteResult()
        self._rows: dict[str, list[Row]] = defaultdict(list)
        self._tags: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
        self._buffered = 0
        self._writer = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="nntsc-writer")
        self._in_flight: deque[Future[WriteResult]] = deque()
        # Streams' first/last timestamps, written at most every TOUCH_INTERVAL
        # seconds and at every flush: metadata, not data, so it may lag a little.
        self._spans: dict[int, tuple[int, int]] = {}
        self._touched = time.monotonic()

    def add(self, collection: str | Collection, report: Any, source: str, timestamp: int) -> int:
        """Parse one report and buffer its rows; return how many rows it made.

        Raises `BadReport` (nothing buffered, no stream created) when the
        report is malformed, and any error of an earlier batch's write.
        """
        if isinstance(collection, str):
            collection = get_collection(collection)
        parsed = collection.parse(report, source, timestamp)
        registry = self.services.streams
        ids = [registry.known_id(collection, row.properties) for row in parsed]
        if None in ids:
            # New streams: validate every key before creating any of them.
            keys = [registry.key_of(collection, row.properties) for row in parsed]
            ids = [
                known if known is not None else registry.stream_id_for_key(collection, key)
                for known, key in zip(ids, keys, strict=True)
            ]
        rows = self._rows[collection.name]
        tags = self._tags[collection.name]
        for stream_id, row in zip(ids, parsed, strict=True):
            rows.append(Row(stream_id, timestamp, row.values))  # type: ignore[arg-type]
            if stream_id not in tags:
                tags[stream_id] = dict(row.properties)  # type: ignore[index]
        self._buffered += len(parsed)
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
        store = self.services.timeseries
        batch = [
            store.prepare(get_collection(name), rows, self._tags.pop(name))
            for name, rows in self._rows.items()
        ]
        spans = self._spans
        for rows in self._rows.values():
            for row in rows:
                timestamp = row.timestamp
                span = spans.get(row.stream_id)
                if span is None:
                    spans[row.stream_id] = (timestamp, timestamp)
                elif timestamp < span[0] or timestamp > span[1]:
                    spans[row.stream_id] = (min(span[0], timestamp), max(span[1], timestamp))
        self._rows.clear()
        self._buffered = 0
        touch = None
        if spans and (final or time.monotonic() - self._touched >= TOUCH_INTERVAL):
            touch, self._spans = spans, {}
            self._touched = time.monotonic()
        if batch or touch:
            self._in_flight.append(self._writer.submit(self._write, batch, touch))

    def _wait_oldest(self) -> None:
        result = self._in_flight.popleft().result()
        self.totals += result

    def _wait(self) -> None:
        """Wait for every batch in flight; raise the first write error."""
        try:
            while self._in_flight:
                self._wait_oldest()
        finally:
            for future in self._in_flight:
                future.cancel()

    def _write(self, batch: Batch, touch: dict[int, tuple[int, int]] | None) -> WriteResult:
        """Writer thread: send each prepared batch, then widen the streams' first/last times."""
        result = WriteResult()
        store = self.services.timeseries
        for prepared in batch:
            result += store.write_prepared(prepared)
            if self.on_commit is not None:
                self.on_commit(prepared.collection, prepared.fresh + prepared.expired)
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
        self._wait()
        return WriteResult(
            written=self.totals.written - before.written,
            routed_to_rollups=self.totals.routed_to_rollups - before.routed_to_rollups,
            dropped=self.totals.dropped - before.dropped,
        )

    def close(self) -> None:
        """Flush, then stop the writer thread."""
        try:
            self.flush()
        finally:
            self._writer.shutdown(wait=True)

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            # Do not write a half-built batch after an error; wait for the one in flight.
            try:
                self._wait()
            finally:
                self._writer.shutdown(wait=True)
