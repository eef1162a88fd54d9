"""The ingest path shared by every source: report -> rows -> batch -> stores.

A report is parsed completely before anything is written, so a malformed
report raises `BadReport` and leaves no trace. Rows are buffered per
collection and written when the batch is full or on `flush()`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nntsc.collections import Collection, Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.interfaces import WriteResult

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000

#: Called after each committed batch with the collection and its rows.
CommitListener = Callable[[Collection, list[Row]], None]


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

    def add(self, collection: str | Collection, report: Any, source: str, timestamp: int) -> int:
        """Parse one report and buffer its rows; return how many rows it made.

        Raises `BadReport` (nothing buffered) when the report is malformed.
        """
        if isinstance(collection, str):
            collection = get_collection(collection)
        parsed = collection.parse(report, source, timestamp)
        registry = self.services.streams
        keyed = [(registry.key_of(collection, row.properties), row) for row in parsed]
        for key, row in keyed:
            stream_id = registry.stream_id_for_key(collection, key)
            self._rows[collection.name].append(Row(stream_id, timestamp, row.values))
            self._tags[collection.name][stream_id] = dict(row.properties)
        self._buffered += len(parsed)
        if self._buffered >= self.batch_size:
            self.flush()
        return len(parsed)

    def flush(self) -> WriteResult:
        """Write every buffered row; return what this flush did."""
        result = WriteResult()
        store = self.services.timeseries
        for name in list(self._rows):
            collection = get_collection(name)
            rows = self._rows.pop(name)
            tags = self._tags.pop(name)
            result += store.write(collection, rows, tags)
            spans: dict[int, tuple[int, int]] = {}
            for row in rows:
                low, high = spans.get(row.stream_id, (row.timestamp, row.timestamp))
                spans[row.stream_id] = (min(low, row.timestamp), max(high, row.timestamp))
            self.services.streams.touch(spans)
            if self.on_commit is not None:
                self.on_commit(collection, rows)
        self._buffered = 0
        if result.dropped:
            log.error("dropped %d rows: %s", result.dropped, "; ".join(result.dropped_reasons))
        self.totals += result
        return result

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.flush()
