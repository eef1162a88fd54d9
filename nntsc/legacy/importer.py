"""`nntsc import nntsc`: an NNTSC 2.x deployment's streams and rows into our stores.

For each NNTSC collection, streams are read a page at a time (by id), and
the page's rows in time chunks; each stream's rows of one time become the
amplet2 report that NNTSC had derived them from (`nntsc.legacy.convert`),
which goes through the ingest path like a report off the wire: our parsers
derive the values, the stream registry creates our streams, the batches go
to the stores. Memory holds one page of streams and one chunk of rows.

After each chunk a token travels with the batch (`Ingestor.mark`); once the
batch is committed, the chunk's streams' checkpoints advance
(`nntsc.legacy.models.ImportCheckpoint`). A second run starts each stream
where its checkpoint ends, so an interrupted import resumes and a finished
one reads nothing again; as the stores key rows by (stream, time), even a
lost checkpoint means rows rewritten, not duplicated.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import select

from nntsc.collections import Collection, for_amp_test
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.errors import BadReport, ImportSourceError
from nntsc.ingest.pipeline import BatchOutcome, Ingestor
from nntsc.legacy.convert import (
    LegacyCollection,
    LegacyRowError,
    traceroute_statements,
    traceroute_tables,
)
from nntsc.legacy.models import ImportCheckpoint
from nntsc.legacy.source import LegacySource

#: Streams read at once.
STREAM_PAGE = 100
#: Seconds of rows read at once for a page of streams.
CHUNK_SECONDS = 6 * 3600
#: Per-stream traceroute SELECTs joined into one statement.
UNION_STATEMENTS = 100
#: Distinct rejection reasons kept for the summary.
MAX_REASONS = 10

#: Told the number of streams whose chunk was done (a fraction of a stream for a partial page).
Progress = Callable[[float], Any]


@dataclass
class ImportSummary:
    """What an import read, wrote and rejected."""

    streams: int = 0
    rows_read: int = 0
    reports: int = 0
    rows_written: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: NNTSC collections asked for that the deployment does not have.
    absent: list[str] = field(default_factory=list)
    #: NNTSC collections the deployment has but this version has no collection for.
    unsupported: list[str] = field(default_factory=list)
    #: InfluxDB-backed collections read from PostgreSQL only (no --influx given).
    postgres_only: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class _ChunkDone:
    """Token: these streams' rows up to `until` are in the batches submitted so far."""

    collection: str
    spans: dict[int, tuple[int, int]]


def _stream_and_time(row: tuple[int, int, dict[str, Any]]) -> tuple[int, int]:
    return row[0], row[1]


class Checkpoints:
    """The import checkpoints of one deployment in our SQL database."""

    def __init__(self, services: Services, source: str) -> None:
        self.sessions = services.sessionmaker
        self.source = source

    def load(self, collection: str, stream_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Per stream with a checkpoint, its (done_from, done_until)."""
        with self.sessions() as session:
            rows = session.execute(
                select(
                    ImportCheckpoint.legacy_stream_id,
                    ImportCheckpoint.done_from,
                    ImportCheckpoint.done_until,
                ).where(
                    ImportCheckpoint.source == self.source,
                    ImportCheckpoint.collection == collection,
                    ImportCheckpoint.legacy_stream_id.in_(list(stream_ids)),
                )
            )
            return {int(sid): (int(first), int(until)) for sid, first, until in rows}

    def save(self, collection: str, spans: dict[int, tuple[int, int]]) -> None:
        """Set the streams' spans (one transaction)."""
        with self.sessions.begin() as session:
            known = {
                c.legacy_stream_id: c
                for c in session.scalars(
                    select(ImportCheckpoint).where(
                        ImportCheckpoint.source == self.source,
                        ImportCheckpoint.collection == collection,
                        ImportCheckpoint.legacy_stream_id.in_(list(spans)),
                    )
                )
            }
            for sid, (first, until) in spans.items():
                checkpoint = known.get(sid)
                if checkpoint is None:
                    session.add(
                        ImportCheckpoint(
                            source=self.source,
                            collection=collection,
                            legacy_stream_id=sid,
                            done_from=first,
                            done_until=until,
                        )
                    )
                else:
                    checkpoint.done_from = first
                    checkpoint.done_until = until


class NntscImport:
    """One import run from `source` into `services`, rows of [start, end)."""

    def __init__(
        self,
        services: Services,
        source: LegacySource,
        start: int,
        end: int,
        progress: Progress | None = None,
        page_size: int = STREAM_PAGE,
        chunk_seconds: int = CHUNK_SECONDS,
        batch_size: int = 5000,
    ) -> None:
        self.services = services
        self.source = source
        self.start = start
        self.end = end
        self.progress = progress or (lambda _: None)
        self.page_size = page_size
        self.chunk_seconds = chunk_seconds
        self.batch_size = batch_size
        self.checkpoints = Checkpoints(services, source.identity)
        self.summary = ImportSummary()
        # The per-stream traceroute tables of the page being read that exist.
        self._tables: set[str] = set()

    def stream_total(self, collections: Iterable[LegacyCollection]) -> int:
        """How many streams the collections present in the deployment have (for a progress bar)."""
        present = self.source.collections()
        return sum(
            self.source.stream_count(c.stream_table)
            for c in collections
            if c.name in present or any(name in present for name in c.also_reads)
        )

    def run(self, collections: Sequence[LegacyCollection]) -> ImportSummary:
        """Import every collection of `collections`; the summary of what was done."""
        started = time.monotonic()
        with Ingestor(
            self.services, batch_size=self.batch_size, on_batch_done=self._batch_done
        ) as ingestor:
            for legacy in collections:
                present = self.source.collections()
                if legacy.name not in present and not any(n in present for n in legacy.also_reads):
                    self.summary.absent.append(legacy.name)
                    continue
                if not for_amp_test(legacy.test):
                    self.summary.unsupported.append(legacy.name)
                    continue
                if legacy.measurement is not None and self.source.influx is None:
                    if not self.source.has_tables_like(f"{legacy.measurement}_"):
                        raise ImportSourceError(
                            f"{legacy.name} keeps its rows in NNTSC's InfluxDB: give --influx"
                        )
                    # A deployment without InfluxDB (useinflux = no): PostgreSQL only.
                    self.summary.postgres_only.append(legacy.name)
                self._collection(ingestor, legacy)
        self.summary.rows_written = ingestor.totals.written
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _batch_done(self, outcome: BatchOutcome) -> None:
        if outcome.error is not None:
            raise outcome.error
        for token in outcome.tokens:
            if isinstance(token, _ChunkDone):
                self.checkpoints.save(token.collection, token.spans)

    def _collection(self, ingestor: Ingestor, legacy: LegacyCollection) -> None:
        ours = for_amp_test(legacy.test)
        for page in self.source.stream_pages(legacy.stream_table, self.page_size):
            self.summary.streams += len(page)
            self._page(ingestor, legacy, ours, {s["stream_id"]: s for s in page})

    def _spans(self, legacy: LegacyCollection, stream_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Per stream with rows, its first and last row's time, over InfluxDB and PostgreSQL."""
        if legacy.measurement is None:
            wanted = [name for sid in stream_ids for name in traceroute_tables(sid)]
            self._tables = self.source.existing_tables(wanted)
            data = {
                sid: [t for t in traceroute_tables(sid)[:2] if t in self._tables]
                for sid in stream_ids
            }
        else:
            # Rows from before NNTSC moved to InfluxDB (2.9), or of a deployment
            # without it, are in per-stream tables named after the measurement.
            self._tables = self.source.existing_tables(
                [f"{legacy.measurement}_{sid}" for sid in stream_ids]
            )
            data = {
                sid: [f"{legacy.measurement}_{sid}"]
                for sid in stream_ids
                if f"{legacy.measurement}_{sid}" in self._tables
            }
        spans = self.source.sql_spans({sid: names for sid, names in data.items() if names})
        if legacy.measurement is not None and self.source.influx is not None:
            for sid, (first, last) in self.source.influx_spans(
                legacy.measurement, stream_ids
            ).items():
                old = spans.get(sid)
                spans[sid] = (
                    (first, last) if old is None else (min(old[0], first), max(old[1], last))
                )
        return spans

    def _rows(
        self, legacy: LegacyCollection, stream_ids: list[int], start: int, end: int
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """(stream, time, row) in [start, end), by stream then time (InfluxDB's first)."""
        rows: list[tuple[int, int, dict[str, Any]]] = []
        if legacy.measurement is not None and self.source.influx is not None:
            rows = self.source.influx_rows(legacy.measurement, stream_ids, start, end)
        statements = []
        for sid in stream_ids:
            if legacy.measurement is None:
                statements.extend(traceroute_statements(sid, self._tables))
            elif f"{legacy.measurement}_{sid}" in self._tables:
                # Old per-stream tables may differ in columns: one statement each.
                statements.append(
                    f"SELECT * FROM {legacy.measurement}_{int(sid)} "
                    "WHERE timestamp >= :start AND timestamp < :end"
                )
        if legacy.measurement is None:
            # Same columns: a page's traceroute tables in a few round trips.
            statements = [
                " UNION ALL ".join(statements[i : i + UNION_STATEMENTS])
                for i in range(0, len(statements), UNION_STATEMENTS)
            ]
        stored = []
        for statement in statements:
            for row in self.source.sql_rows(statement, start, end):
                sid = int(row.pop("stream_id"))
                stored.append((sid, int(row.pop("timestamp")), row))
        if stored:
            rows.extend(stored)
            # Stable: of two rows of one stream and time, InfluxDB's stays first.
            rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    def _page(
        self,
        ingestor: Ingestor,
        legacy: LegacyCollection,
        ours: Sequence[Collection],
        streams: dict[int, dict[str, Any]],
    ) -> None:
        spans = self._spans(legacy, list(streams))
        done = self.checkpoints.load(legacy.name, list(spans))
        # Per stream: where this run's span starts, where it resumes, where it ends.
        plan: dict[int, tuple[int, int, int]] = {}
        for sid, (first, last) in spans.items():
            begin, finish = max(self.start, first), min(self.end, last + 1)
            if begin >= finish:
                continue
            checkpoint = done.get(sid)
            if checkpoint is not None and checkpoint[0] <= begin <= checkpoint[1]:
                begin, resume = checkpoint[0], checkpoint[1]
            else:
                resume = begin
            if resume < finish:
                plan[sid] = (begin, resume, finish)
        untouched = len(streams) - len(plan)
        if untouched:
            self.progress(untouched)
        if not plan:
            return
        low = min(resume for _, resume, _ in plan.values())
        high = max(finish for _, _, finish in plan.values())
        share = len(plan) / max(1, high - low)
        chunks = []
        step = self.chunk_seconds * legacy.chunk_factor
        for chunk_start in range(low, high, step):
            chunk_end = min(chunk_start + step, high)
            active = [
                sid
                for sid, (_, resume, finish) in plan.items()
                if resume < chunk_end and finish > chunk_start
            ]
            chunks.append((chunk_start, chunk_end, active))

        def read(index: int) -> Future[list[tuple[int, int, dict[str, Any]]]] | None:
            if index >= len(chunks) or not chunks[index][2]:
                return None
            chunk_start, chunk_end, active = chunks[index]
            return reader.submit(self._rows, legacy, active, chunk_start, chunk_end)

        # The next chunk's rows are read (the old deployment's databases
        # working meanwhile) while this chunk's are ingested: two chunks in memory.
        primed: set[int] = set()
        with ThreadPoolExecutor(1, thread_name_prefix="nntsc-import-reader") as reader:
            pending = read(0)
            for index, (chunk_start, chunk_end, active) in enumerate(chunks):
                rows = pending.result() if pending is not None else []
                pending = read(index + 1)
                self.summary.rows_read += len(rows)
                self._prime(legacy, ours, streams, rows, primed)
                for (sid, timestamp), group in groupby(rows, key=_stream_and_time):
                    _, resume, finish = plan[sid]
                    if resume <= timestamp < finish:
                        self._add(ingestor, legacy, ours, streams[sid], timestamp, group)
                if active:
                    ingestor.mark(
                        _ChunkDone(
                            legacy.name,
                            {sid: (plan[sid][0], min(chunk_end, plan[sid][2])) for sid in active},
                        )
                    )
                self.progress((chunk_end - chunk_start) * share)

    def _prime(
        self,
        legacy: LegacyCollection,
        ours: Sequence[Collection],
        streams: dict[int, dict[str, Any]],
        rows: list[tuple[int, int, dict[str, Any]]],
        primed: set[int],
    ) -> None:
        """Find or create our streams for the NNTSC streams of `rows` not seen yet.

        From each one's first report, in a few statements per chunk: else
        the ingest path would check the key of each of their rows until the
        batch holding them is written.
        """
        registry = self.services.streams
        keys: dict[str, set[tuple[str, ...]]] = {}
        for (sid, timestamp), group in groupby(rows, key=_stream_and_time):
            if sid in primed:
                continue
            primed.add(sid)
            stream = streams[sid]
            try:
                report = legacy.to_report(stream, [row for _, _, row in group])
                for collection in ours:
                    for row in collection.parse(report, str(stream["source"]), timestamp):
                        if legacy.keep is not None and not legacy.keep(stream, row):
                            continue
                        if registry.known_id(collection, row.properties) is None:
                            key = registry.key_of(collection, row.properties)
                            keys.setdefault(collection.name, set()).add(key)
            except (LegacyRowError, BadReport):
                # Counted when the row is added.
                continue
        for name, wanted in keys.items():
            registry.stream_ids_for_keys(get_collection(name), wanted)

    def _add(
        self,
        ingestor: Ingestor,
        legacy: LegacyCollection,
        ours: Sequence[Collection],
        stream: dict[str, Any],
        timestamp: int,
        group: Iterable[tuple[int, int, dict[str, Any]]],
    ) -> None:
        try:
            report = legacy.to_report(stream, [row for _, _, row in group])
            source = str(stream["source"])
            if len(ours) == 1 and legacy.keep is None:
                ingestor.add(ours[0], report, source, timestamp)
            elif legacy.keep is None:
                ingestor.add_report(ours, report, source, timestamp)
            else:
                parsed = [
                    (c, [r for r in c.parse(report, source, timestamp) if legacy.keep(stream, r)])
                    for c in ours
                ]
                for collection, rows in parsed:
                    ingestor.add_parsed(collection, rows, timestamp)
        except (LegacyRowError, BadReport) as error:
            self.summary.rejected += 1
            reason = f"{legacy.name}: {error}"
            if len(self.summary.reasons) < MAX_REASONS or reason in self.summary.reasons:
                self.summary.reasons[reason] += 1
            return
        self.summary.reports += 1
