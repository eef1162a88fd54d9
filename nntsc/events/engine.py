"""Run the declared detectors over rows and store what they find.

`DetectionEngine` holds one detector per stream and `Detection` a
collection declares, feeds it rows in time order, and turns findings into
event records; `store_events` inserts them idempotently and hands the new
ones to the registered sinks (`nntsc.events.sinks`) in the same transaction.
Live detection (`nntsc.events.live`) and history detection (`detect_history`,
`nntsc events detect`) use the same engine, so the same rows give the same
events.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from nntsc.collections import Collection, Detection, Row, all_collections
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.errors import BadQuery, ConfigurationError
from nntsc.events import sinks
from nntsc.events.detectors import DETECTORS, Detector, Finding
from nntsc.events.models import Event
from nntsc.store.models import CollectionRecord, Stream
from nntsc.store.paths import PathKey, as_path_key, ip_path_key
from nntsc.store.sqlutil import ArrayRows, execute_rows

log = logging.getLogger(__name__)

#: History detection reads this much before its start to warm the detectors up.
WARMUP_SECONDS = 3 * 86400
#: Streams read together, and the time span of one read, in history detection.
STREAMS_PER_READ = 50
READ_SPAN = 86400
#: A stream's rows as columns: their timestamps, and per watched field its values.
Series = tuple[list[int], Mapping[str, list[Any]]]
#: The unique key of an event.
EVENT_KEY = ("detector", "stream_id", "metric", "ts_onset")
#: Parameters a detector takes from the declaration itself.
_DECLARED = {
    "level": ("metric", "unit", "scale"),
    "mode": ("metric", "unit", "scale"),
    "loss": ("metric",),
    "path": ("metric",),
}


def watched_fields(collection: Collection) -> list[str]:
    """The fields `collection`'s detections read: all a detection reads of the store.

    Reading only these matters: an ICMP row's probe array alone costs more to
    read back than detection does.
    """
    return sorted({d.field for d in collection.detections})


def make_detector(detection: Detection) -> Detector:
    """A fresh detector for one stream, as `detection` declares it."""
    try:
        cls = DETECTORS[detection.detector]
    except KeyError:
        raise ConfigurationError(f"no detector called {detection.detector!r}") from None
    declared = {
        "metric": detection.metric_name,
        "unit": detection.unit,
        "scale": detection.scale,
    }
    params = {name: declared[name] for name in _DECLARED[detection.detector]}
    params.update({k: v for k, v in detection.options.items() if k != "paths"})
    return cls(**params)


class PathKeys:
    """Path ids to `PathKey`, looked up in the path registry and remembered."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._keys: dict[tuple[str, int], PathKey] = {}

    def resolve(self, kind: str, path_ids: Iterable[int]) -> None:
        """Look up the keys of the ids not known yet (one query per kind)."""
        missing = {int(p) for p in path_ids if (kind, int(p)) not in self._keys}
        if not missing:
            return
        registry = self.services.paths
        if kind == "as":
            for path_id, record in registry.as_paths(missing).items():
                self._keys[("as", path_id)] = as_path_key(record["path"])
        elif kind == "ip":
            for path_id, record in registry.ip_paths(missing).items():
                self._keys[("ip", path_id)] = ip_path_key(record["hops"])
        else:
            raise ConfigurationError(f"path detections take paths 'as' or 'ip', not {kind!r}")

    def key(self, kind: str, path_id: int) -> PathKey:
        return self._keys[(kind, int(path_id))]


@dataclass
class _Watch:
    """One declared detection of one stream."""

    detection: Detection
    detector: Detector
    paths: str | None


class DetectionEngine:
    """Detectors per stream, fed rows in time order; findings become event records."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.paths = PathKeys(services)
        self._watches: dict[int, list[_Watch]] = {}
        self._endpoints: dict[int, tuple[str, str]] = {}
        #: Rows skipped because they were older than the stream's newest row seen.
        self.late_rows = 0

    def forget(self, stream_ids: Iterable[int]) -> None:
        """Drop the detectors of `stream_ids` (their state is rebuilt on next use)."""
        for stream_id in stream_ids:
            self._watches.pop(stream_id, None)

    def streams(self) -> list[int]:
        """The streams with detector state."""
        return list(self._watches)

    def newest(self, stream_id: int) -> int | None:
        """Timestamp of the newest row fed for `stream_id`, if any."""
        watches = self._watches.get(stream_id)
        if not watches:
            return None
        return max(w.detector.last for w in watches) if watches else None

    def _watch(self, collection: Collection, stream_id: int) -> list[_Watch]:
        watches = self._watches.get(stream_id)
        if watches is None:
            watches = [
                _Watch(d, make_detector(d), d.options.get("paths")) for d in collection.detections
            ]
            self._watches[stream_id] = watches
        return watches

    def feed(
        self,
        collection: Collection,
        rows: Sequence[Row],
        detected_from: int | None = None,
    ) -> list[dict[str, Any]]:
        """Feed `rows` (any streams, any order) and return the event records found.

        Rows are taken per stream in time order; a row at or before the newest
        row already fed for its stream is skipped (counted in `late_rows`).
        Findings detected before `detected_from` (warm-up) are dropped.
        """
        if not collection.detections or not rows:
            return []
        by_stream: dict[int, list[Row]] = defaultdict(list)
        for row in rows:
            by_stream[row.stream_id].append(row)
        return self.feed_streams(collection, by_stream, detected_from)

    def feed_streams(
        self,
        collection: Collection,
        by_stream: Mapping[int, list[Row]],
        detected_from: int | None = None,
    ) -> list[dict[str, Any]]:
        """`feed` for rows already split by stream (each stream's list is sorted in place)."""
        if not collection.detections:
            return []
        self._resolve_paths(
            collection,
            lambda field: (row.values.get(field) for rows in by_stream.values() for row in rows),
        )
        found: list[tuple[int, Detection, Finding]] = []
        for stream_id, stream_rows in by_stream.items():
            if not stream_rows:
                continue
            stream_rows.sort(key=_TIMESTAMP)
            for watch in self._watch(collection, stream_id):
                findings, late = watch.detector.feed_rows(
                    stream_rows, watch.detection.field, self._converter(watch)
                )
                self._found(found, stream_id, watch, findings, late, detected_from)
        return self._records(collection, found)

    def feed_columns(
        self,
        collection: Collection,
        streams: Mapping[int, Series],
        detected_from: int | None = None,
    ) -> list[dict[str, Any]]:
        """`feed_streams` for series given as columns: the same findings, the same records.

        `streams` maps a stream to its rows' timestamps, in time order, and
        per watched field (`watched_fields`) the rows' values of it (None
        where a row has none). A timestamp at or before the one before it
        (or the stream's newest fed earlier) is skipped as late, as
        `feed_rows` skips such a row.
        """
        if not collection.detections:
            return []
        self._resolve_paths(
            collection,
            lambda field: (
                value for _, columns in streams.values() for value in columns.get(field, ())
            ),
        )
        found: list[tuple[int, Detection, Finding]] = []
        for stream_id, (stamps, columns) in streams.items():
            if not stamps:
                continue
            for watch in self._watch(collection, stream_id):
                findings, late = watch.detector.feed_values(
                    stamps, columns[watch.detection.field], self._converter(watch)
                )
                self._found(found, stream_id, watch, findings, late, detected_from)
        return self._records(collection, found)

    def _converter(self, watch: _Watch) -> Callable[[Any], Any] | None:
        """What a path detector is fed: (path id, its `PathKey`); None for the others."""
        paths = watch.paths
        if paths is None:
            return None
        key = self.paths.key

        def convert(value: Any) -> tuple[Any, PathKey]:
            return value, key(paths, value)

        return convert

    def _found(
        self,
        found: list[tuple[int, Detection, Finding]],
        stream_id: int,
        watch: _Watch,
        findings: list[Finding],
        late: int,
        detected_from: int | None,
    ) -> None:
        self.late_rows += late
        for finding in findings:
            if detected_from is None or finding.detected >= detected_from:
                found.append((stream_id, watch.detection, finding))

    def _records(
        self, collection: Collection, found: list[tuple[int, Detection, Finding]]
    ) -> list[dict[str, Any]]:
        if not found:
            return []
        self._load_endpoints(collection, {stream_id for stream_id, _, _ in found})
        return [
            self._record(collection, stream_id, detection, finding)
            for stream_id, detection, finding in found
        ]

    def _resolve_paths(
        self, collection: Collection, values_of: Callable[[str], Iterable[Any]]
    ) -> None:
        """Resolve the path ids of each path detection's field (`values_of(field)`: its
        values in the rows about to be fed, None where a row has none)."""
        for detection in collection.detections:
            kind = detection.options.get("paths")
            if kind is not None:
                ids = {value for value in values_of(detection.field) if value is not None}
                self.paths.resolve(kind, ids)

    def _load_endpoints(self, collection: Collection, stream_ids: set[int]) -> None:
        missing = [s for s in stream_ids if s not in self._endpoints]
        if not missing:
            return
        source, target = collection.endpoint_properties
        for stream_id, properties in self.services.streams.properties_of(
            collection, missing
        ).items():
            self._endpoints[stream_id] = (properties.get(source, ""), properties.get(target, ""))

    def _record(
        self, collection: Collection, stream_id: int, detection: Detection, finding: Finding
    ) -> dict[str, Any]:
        source, target = self._endpoints.get(stream_id, ("", ""))
        return {
            "collection": collection.name,
            "stream_id": stream_id,
            "detector": detection.detector,
            "metric": detection.metric_name,
            "kind": finding.kind,
            "direction": finding.direction,
            "ts_onset": finding.onset,
            "ts_detected": finding.detected,
            "ts_ended": finding.ended,
            "severity": finding.severity,
            "old_value": finding.old_value,
            "new_value": finding.new_value,
            "unit": detection.unit,
            "description": finding.description[:500],
            "source": source,
            "target": target,
            "details": finding.details,
        }


#: A row's timestamp (rows are tuples: stream id, timestamp, values).
_TIMESTAMP = itemgetter(1)


_EVENTS = Event.__table__
#: The columns of an ``events`` row a record gives, with their PostgreSQL types
#: (``details`` goes as JSON text).
_EVENT_ROWS = ArrayRows(
    {
        "collection": "text",
        "stream_id": "integer",
        "detector": "text",
        "metric": "text",
        "kind": "text",
        "direction": "text",
        "ts_onset": "bigint",
        "ts_detected": "bigint",
        "ts_ended": "bigint",
        "severity": "integer",
        "old_value": "double precision",
        "new_value": "double precision",
        "unit": "text",
        "description": "text",
        "source": "text",
        "target": "text",
        "details": "text",
    }
)
#: On PostgreSQL a batch of events is one statement, each column an array: an
#: executemany INSERT ... RETURNING (SQLAlchemy renders and binds every row) took
#: 17 ms of this process's CPU for `bench/events.py`'s 444 events, the arrays 6.5 ms.
_PG_INSERT = text(
    f"INSERT INTO events ({', '.join(_EVENT_ROWS.names)}) "
    "SELECT "
    + ", ".join(n if n != "details" else "CAST(details AS json)" for n in _EVENT_ROWS.names)
    + f" FROM {_EVENT_ROWS.source} "
    f"ON CONFLICT ({', '.join(EVENT_KEY)}) DO NOTHING "
    f"RETURNING id, {', '.join(EVENT_KEY)}"
)
#: Elsewhere (SQLite) an executemany of the records.
_SQLITE_INSERT = (
    sqlite.insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=list(EVENT_KEY))
    .returning(_EVENTS.c.id, *(_EVENTS.c[name] for name in EVENT_KEY))
)
#: ``details`` as text, as the JSON column's own serializer writes it: None is JSON null.
_EVENT_TEXT = {"details": json.dumps}
#: The loss events that loss-end events close, and when they ended.
_END_ROWS = ArrayRows(
    {
        "end_detector": "text",
        "end_stream": "integer",
        "end_metric": "text",
        "end_onset": "bigint",
        "end_at": "bigint",
    }
)
_PG_END = text(
    f"UPDATE events SET ts_ended = v.end_at FROM {_END_ROWS.source} "
    "WHERE events.detector = v.end_detector AND events.stream_id = v.end_stream "
    "AND events.metric = v.end_metric AND events.ts_onset = v.end_onset"
)
_UPDATE_END = (
    update(_EVENTS)
    .where(
        and_(
            _EVENTS.c.detector == bindparam("end_detector"),
            _EVENTS.c.stream_id == bindparam("end_stream"),
            _EVENTS.c.metric == bindparam("end_metric"),
            _EVENTS.c.ts_onset == bindparam("end_onset"),
        )
    )
    .values(ts_ended=bindparam("end_at"))
)


def store_events(session: Session, records: Sequence[dict[str, Any]]) -> list[sinks.NewEvent]:
    """Insert `records` (skipping keys already stored), then hand the new events to the sinks.

    Runs in the caller's transaction: the caller commits (or rolls back,
    which also undoes whatever the sinks did). A loss-end event also sets
    the end of the loss event it closes. Returns the new events (their
    columns and ids, oldest id first).
    """
    if not records:
        return []
    # The ids of the rows inserted, by key (a key already stored returns nothing).
    inserted: dict[tuple[Any, ...], int] = {
        tuple(row[1:]): row[0]
        for row in execute_rows(
            session,
            records,
            (_PG_INSERT, _EVENT_ROWS),
            _SQLITE_INSERT,
            convert=_EVENT_TEXT,
        )
    }
    # The loss events these loss-end events close: one statement for all of them.
    ends = [
        {
            "end_detector": record["detector"],
            "end_stream": record["stream_id"],
            "end_metric": record["metric"],
            "end_onset": record["details"]["loss_onset"],
            "end_at": record["ts_ended"],
        }
        for record in records
        if record["kind"] == "loss_end" and record["details"]
    ]
    if ends:
        # The last end of a key wins, as in an executemany (one statement on
        # PostgreSQL, where an UPDATE ... FROM would take any of them).
        last = {
            (e["end_detector"], e["end_stream"], e["end_metric"], e["end_onset"]): e for e in ends
        }
        execute_rows(session, list(last.values()), (_PG_END, _END_ROWS), _UPDATE_END)
    if not inserted:
        return []
    new: dict[tuple[Any, ...], sinks.NewEvent] = {}
    for record in records:
        key = _key(record)
        event_id = inserted.get(key)
        if event_id is not None and key not in new:
            new[key] = sinks.NewEvent(event_id, **record)
    # A loss event closed in this very batch ends as its row does.
    for end in ends:
        closed = new.get(
            (end["end_detector"], end["end_stream"], end["end_metric"], end["end_onset"])
        )
        if closed is not None:
            closed.ts_ended = end["end_at"]
    events = sorted(new.values(), key=_id)
    sinks.deliver(session, events)
    return events


def _key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return (record["detector"], record["stream_id"], record["metric"], record["ts_onset"])


def _id(event: sinks.NewEvent) -> int:
    return event.id


@dataclass
class HistorySummary:
    """What a history detection did."""

    streams: int = 0
    rows: int = 0
    found: int = 0
    stored: int = 0
    seconds: float = 0.0


def streams_with_detections(
    services: Services,
    collections: Sequence[str] | None = None,
    stream_ids: Sequence[int] | None = None,
) -> dict[str, list[tuple[int, int | None, int | None]]]:
    """Per collection with detections: its streams' (id, first, last timestamp), by id."""
    chosen = [get_collection(name) for name in collections] if collections else all_collections()
    wanted = {c.name for c in chosen if c.detections}
    query = (
        select(
            CollectionRecord.name,
            Stream.stream_id,
            Stream.first_timestamp,
            Stream.last_timestamp,
        )
        .join(CollectionRecord, CollectionRecord.id == Stream.collection_id)
        .where(CollectionRecord.name.in_(sorted(wanted)))
        .order_by(Stream.stream_id)
    )
    if stream_ids:
        query = query.where(Stream.stream_id.in_(list(stream_ids)))
    found: dict[str, list[tuple[int, int | None, int | None]]] = defaultdict(list)
    with services.sessionmaker() as session:
        for name, stream_id, first, last in session.execute(query):
            found[name].append((stream_id, first, last))
    if stream_ids:
        unknown = set(stream_ids) - {s for streams in found.values() for s, _, _ in streams}
        if unknown:
            raise BadQuery(
                f"no stream {', '.join(map(str, sorted(unknown)))} with detections"
                + (f" in {', '.join(collections)}" if collections else "")
            )
    return dict(found)


def detect_history(
    services: Services,
    start: int,
    end: int,
    collections: Sequence[str] | None = None,
    stream_ids: Sequence[int] | None = None,
    progress: Callable[[int], object] | None = None,
    warmup: int = WARMUP_SECONDS,
) -> HistorySummary:
    """Run the detectors over the stored rows of [start, end) and store the events found.

    Each stream's detectors warm up on the `warmup` seconds before `start`;
    what they find there is not stored. Events already stored are kept as
    they are (same key). `progress` is called with the number of streams
    finished. Safe to run again, and while live detection runs.
    """
    if end <= start:
        raise BadQuery("end must be after start")
    sinks.load_sinks()
    summary = HistorySummary()
    started = time.monotonic()
    for name, streams in streams_with_detections(services, collections, stream_ids).items():
        collection = get_collection(name)
        for index in range(0, len(streams), STREAMS_PER_READ):
            group = streams[index : index + STREAMS_PER_READ]
            engine = DetectionEngine(services)
            first = min((f for _, f, _ in group if f is not None), default=None)
            last = max((t for _, _, t in group if t is not None), default=None)
            if first is not None and last is not None:
                read_from = max(start - warmup, first)
                read_end = min(end, last + 1)
                _detect_span(
                    services,
                    engine,
                    collection,
                    [s for s, _, _ in group],
                    read_from,
                    read_end,
                    start,
                    summary,
                )
            summary.streams += len(group)
            if progress is not None:
                progress(len(group))
    summary.seconds = time.monotonic() - started
    return summary


def _detect_span(
    services: Services,
    engine: DetectionEngine,
    collection: Collection,
    stream_ids: list[int],
    read_from: int,
    read_end: int,
    detected_from: int,
    summary: HistorySummary,
) -> None:
    store = services.timeseries
    cursor = read_from
    while cursor < read_end:
        upto = min(read_end, cursor + READ_SPAN)
        rows = store.raw(collection, stream_ids, cursor, upto, fields=watched_fields(collection))
        summary.rows += len(rows)
        records = engine.feed(collection, rows, detected_from)
        summary.found += len(records)
        if records:
            with services.sessionmaker.begin() as session:
                summary.stored += len(store_events(session, records))
        cursor = upto


def events_in(services: Services, stream_ids: Sequence[int], start: int, end: int) -> list[Event]:
    """The stored events of `stream_ids` with onset in [start, end), oldest first."""
    with services.sessionmaker() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.stream_id.in_(list(stream_ids)))
                .where(Event.ts_onset >= start, Event.ts_onset < end)
                .order_by(Event.ts_onset, Event.id)
            )
        )


def declared_detections() -> Mapping[str, tuple[Detection, ...]]:
    """Every collection's detections, by collection name."""
    return {c.name: c.detections for c in all_collections() if c.detections}
