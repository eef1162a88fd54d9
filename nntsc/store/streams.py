"""Stream metadata: find or create streams by their properties, look them up, page them."""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cachetools
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    String,
    TextClause,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter

from nntsc.collections import Collection
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery, BadReport, ConfigurationError, StoreUnavailable, UnknownStream
from nntsc.store.models import CollectionRecord, Stream, property_table
from nntsc.store.sqlutil import ArrayRows, execute_rows

# The tables themselves: the registry runs Core statements on its engine's
# connections, not ORM sessions (see `StreamRegistry`).
_collections = CollectionRecord.__table__
_streams = Stream.__table__

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
#: Stream keys looked up or created by one statement (and one transaction).
KEYS_PER_STATEMENT = 1000
#: Streams whose properties a registry remembers (`StreamRegistry.properties_of`), at most.
PROPERTIES_CACHE = 100_000
#: Endpoints (source, destination, family; family "" for any): `StreamRegistry.pair_streams`.
Pair = tuple[str, str, str]


@dataclass(frozen=True)
class StreamInfo:
    """A stream with its collection, key properties and first/last timestamps."""

    stream_id: int
    collection: str
    properties: dict[str, str]
    first: int | None
    last: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "collection": self.collection,
            "properties": self.properties,
            "first": self.first,
            "last": self.last,
        }


@dataclass(frozen=True)
class Page:
    """One page of a list, and whether more follow."""

    items: list[Any]
    total: int
    page: int
    pagesize: int

    @property
    def has_more(self) -> bool:
        return self.page * self.pagesize < self.total


def _key_columns(names: Sequence[str], keys: Sequence[tuple[str, ...]]) -> dict[str, list[str]]:
    """The keys as one list per property."""
    return {name: [key[index] for key in keys] for index, name in enumerate(names)}


def _from_arrays(row: Any) -> dict[tuple[str, ...], int]:
    """Key -> stream id from a row of arrays (ids, then each property's values); an
    aggregate over no rows gives nulls."""
    if row[0] is None:
        return {}
    return dict(zip(zip(*row[1:], strict=True), row[0], strict=True))


@functools.cache
def _pg_statements(collection: Collection) -> dict[str, tuple[TextClause, ArrayRows]]:
    """PostgreSQL statements finding and creating a collection's streams, keys as arrays.

    Their answers are arrays too, one row each (`_from_arrays`): a row per
    stream cost SQLAlchemy about 5 us to fetch and make, as much as the rest of
    creating it (a cold collector creates 20,000 in its first seconds).
    """
    table = property_table(collection)
    quote = postgresql.dialect().identifier_preparer.quote
    names = [quote(name) for name in collection.property_names]
    properties = dict.fromkeys(collection.property_names, "text")
    keys = ArrayRows(properties, alias="k")
    created = ArrayRows({"stream_id": "integer", **properties})
    same = " AND ".join(f"p.{name} = k.{name}" for name in names)
    aggregated = ", ".join(f"array_agg({name})" for name in names)
    return {
        "find": (
            text(
                "SELECT array_agg(p.stream_id), "
                + ", ".join(f"array_agg(p.{name})" for name in names)
                + f" FROM {quote(table.name)} AS p JOIN {keys.source} ON {same}"
            ),
            keys,
        ),
        "create": (
            text(
                f"WITH c AS (INSERT INTO {quote(table.name)} (stream_id, {', '.join(names)}) "
                f"SELECT * FROM {created.source} "
                f"ON CONFLICT ({', '.join(names)}) DO NOTHING "
                f"RETURNING stream_id, {', '.join(names)}) "
                f"SELECT array_agg(stream_id), {aggregated} FROM c"
            ),
            created,
        ),
    }


#: The statement making ``count`` rows of ``streams``: their ids, ascending, as one array.
_PG_NEW_STREAMS = text(
    "WITH s AS (INSERT INTO streams (collection_id) "
    "SELECT :collection_id FROM generate_series(1, :count) RETURNING stream_id) "
    "SELECT array_agg(stream_id ORDER BY stream_id) FROM s"
)
#: Each stream's (earliest, latest) as arrays, for `StreamRegistry.touch`.
_SPANS = ArrayRows({"sid": "integer", "lo": "bigint", "hi": "bigint"}, alias="t")
_PG_TOUCH = text(
    "UPDATE streams SET "
    "first_timestamp = LEAST(COALESCE(first_timestamp, t.lo), t.lo), "
    "last_timestamp = GREATEST(COALESCE(last_timestamp, t.hi), t.hi) "
    f"FROM {_SPANS.source} "
    "WHERE streams.stream_id = t.sid AND (first_timestamp IS NULL "
    "OR last_timestamp IS NULL OR first_timestamp > t.lo "
    "OR last_timestamp < t.hi)"
)


def _sqlite_touch() -> Any:
    """Elsewhere (SQLite) an executemany of each stream's span."""
    table = Stream.__table__
    first: BindParameter[int] = bindparam("lo")
    last: BindParameter[int] = bindparam("hi")
    return (
        update(table)
        .where(table.c.stream_id == bindparam("sid"))
        .values(
            first_timestamp=case(
                (table.c.first_timestamp.is_(None), first),
                (table.c.first_timestamp > first, first),
                else_=table.c.first_timestamp,
            ),
            last_timestamp=case(
                (table.c.last_timestamp.is_(None), last),
                (table.c.last_timestamp < last, last),
                else_=table.c.last_timestamp,
            ),
        )
    )


_SQLITE_TOUCH = _sqlite_touch()


class StreamRegistry:
    """Maps property tuples to stream ids, creating streams on first sight.

    The mapping of known streams is cached in memory; the cache only ever
    grows with ids the database confirmed, so it cannot go stale.

    Its statements are SQLAlchemy Core on `engine`'s connections, not ORM
    sessions: a session's mappers need every module declaring tables loaded
    (`Services.sessionmaker`, the plug-in packages' too, found through their
    entry points), which cost `nntsc collect`'s start-up 0.05-0.1 CPU-s for
    tables it never reads (docs/performance.md, session 12).
    """

    #: Pairs whose streams `pair_streams` remembers at most (all are forgotten beyond).
    MAX_PAIRS = 100_000

    def __init__(self, engine: Engine, properties_cache: int = PROPERTIES_CACHE) -> None:
        self.engine = engine
        self._ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self._collection_ids: dict[str, int] = {}
        #: The properties of the streams `properties_of` found, with their collection: the
        #: `properties_cache` used most recently.
        self._properties: cachetools.LRUCache[int, tuple[str, dict[str, str]]] = (
            cachetools.LRUCache(properties_cache)
        )
        self._properties_lock = threading.Lock()
        self._lock = threading.Lock()
        #: The streams of the pairs `pair_streams` found, and the stream counts they hold for.
        self._pairs: dict[Pair, list[tuple[Collection, list[int]]]] = {}
        self._pair_counts: dict[str, int] | None = None
        self._pairs_lock = threading.Lock()

    def collection_id(self, collection: Collection) -> int:
        cached = self._collection_ids.get(collection.name)
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(_collections.c.id).where(_collections.c.name == collection.name)
            )
        if found is None:
            raise ConfigurationError(
                f"collection {collection.name} is not in the database: run `nntsc db upgrade`"
            )
        self._collection_ids[collection.name] = found
        return found

    def key_of(self, collection: Collection, properties: Mapping[str, str]) -> tuple[str, ...]:
        """The stream key of `properties`, validated against the collection's declaration."""
        names = collection.property_names
        if set(properties) != set(names):
            raise BadReport(
                f"{collection.name} stream needs properties {', '.join(names)}; "
                f"got {', '.join(sorted(properties))}"
            )
        key = []
        for prop in collection.properties:
            value = properties[prop.name]
            if not isinstance(value, str) or not value or len(value) > prop.max_length:
                raise BadReport(f"{collection.name} property {prop.name}={value!r} is not valid")
            if _FORBIDDEN.search(value):
                # Control characters and backslashes have no place in a name,
                # and would break InfluxDB's line protocol or CSV exports.
                raise BadReport(
                    f"{collection.name} property {prop.name}={value!r} contains a control "
                    "character or a backslash"
                )
            key.append(value)
        return tuple(key)

    def stream_id(self, collection: Collection, properties: Mapping[str, str]) -> int:
        """The id of the stream with these properties, created if new."""
        return self.stream_id_for_key(collection, self.key_of(collection, properties))

    def known_id(self, collection: Collection, properties: Mapping[str, str]) -> int | None:
        """The id of an already-seen stream with exactly these properties, else ``None``.

        The fast path of ingest: no validation is needed for a key that was
        validated when it was first seen.
        """
        if len(properties) != len(collection.property_names):
            return None
        try:
            key = collection.key_getter(properties)
        except KeyError:
            return None
        return self._ids.get((collection.name, key))

    def stream_id_for_key(self, collection: Collection, key: tuple[str, ...]) -> int:
        """The id of the stream with this (validated) key, created if new."""
        cached = self._ids.get((collection.name, key))
        if cached is not None:
            return cached
        with self._lock:
            stream_id = self._find(collection, key)
            if stream_id is None:
                stream_id = self._create(collection, key)
            self._ids[(collection.name, key)] = stream_id
            return stream_id

    def stream_ids_for_keys(
        self, collection: Collection, keys: Iterable[tuple[str, ...]]
    ) -> dict[tuple[str, ...], int]:
        """The ids of the streams with these (validated) keys, those not found created.

        A constant number of statements per `KEYS_PER_STATEMENT` keys, never
        one per stream: the known ones are found with one SELECT, the others
        created with one INSERT into ``streams`` and one into the property
        table that skips keys another process created meanwhile (whose ids
        are then looked up, and the ``streams`` rows made for them dropped),
        all in one transaction. Two collectors creating the same stream at
        once thus end with one stream, and both use its id.
        """
        name = collection.name
        found: dict[tuple[str, ...], int] = {}
        missing = []
        # In key order, so that two processes inserting overlapping sets take
        # the unique index's locks in the same order and cannot deadlock.
        for key in sorted(set(keys)):
            cached = self._ids.get((name, key))
            if cached is None:
                missing.append(key)
            else:
                found[key] = cached
        if not missing:
            return found
        with self._lock:
            for index in range(0, len(missing), KEYS_PER_STATEMENT):
                chunk = missing[index : index + KEYS_PER_STATEMENT]
                with self.engine.begin() as connection:
                    known = self._find_many(connection, collection, chunk)
                    new = [key for key in chunk if key not in known]
                    if new:
                        known.update(self._create_many(connection, collection, new))
                for key, stream_id in known.items():
                    self._ids[(name, key)] = stream_id
                found.update(known)
        return found

    def _find_many(
        self, connection: Connection, collection: Collection, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], int]:
        if connection.dialect.name == "postgresql":
            # Arrays as parameters: one statement text per collection, which
            # PostgreSQL plans and SQLAlchemy compiles once, whatever the keys.
            statement, rows = _pg_statements(collection)["find"]
            arrays = rows.bind_columns(_key_columns(collection.property_names, keys))
            return _from_arrays(connection.execute(statement, arrays).one())
        table = property_table(collection)
        columns = [table.c[name] for name in collection.property_names]
        found = connection.execute(
            select(table.c.stream_id, *columns).where(tuple_(*columns).in_(keys))
        )
        return {tuple(row[1:]): row[0] for row in found}

    def _create_many(
        self, connection: Connection, collection: Collection, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], int]:
        collection_id = self.collection_id(collection)
        streams = _streams
        names = collection.property_names
        if connection.dialect.name == "postgresql":
            ids = connection.scalar(
                _PG_NEW_STREAMS, {"collection_id": collection_id, "count": len(keys)}
            )
            statement, rows = _pg_statements(collection)["create"]
            # In the keys' order (sorted): see `stream_ids_for_keys`.
            columns = {"stream_id": ids, **_key_columns(names, keys)}
            created = _from_arrays(connection.execute(statement, rows.bind_columns(columns)).one())
        else:
            # Imported here: a PostgreSQL process (`nntsc collect`) need not load SQLite's dialect.
            from sqlalchemy.dialects import sqlite

            ids = list(
                connection.scalars(
                    streams.insert()
                    .values([{"collection_id": collection_id}] * len(keys))
                    .returning(streams.c.stream_id)
                )
            )
            table = property_table(collection)
            found = connection.execute(
                sqlite.insert(table)
                .values(
                    [
                        {"stream_id": stream_id, **dict(zip(names, key, strict=True))}
                        for stream_id, key in zip(ids, keys, strict=True)
                    ]
                )
                .on_conflict_do_nothing(index_elements=list(names))
                .returning(table.c.stream_id, *(table.c[name] for name in names))
            )
            created = {tuple(row[1:]): row[0] for row in found}
        if len(created) < len(keys):
            # Another process created some of these streams first (the insert
            # waited for its commit): drop our rows for them and take its ids.
            unused = set(ids) - set(created.values())
            connection.execute(streams.delete().where(streams.c.stream_id.in_(sorted(unused))))
            taken = [key for key in keys if key not in created]
            winners = self._find_many(connection, collection, taken)
            if len(winners) < len(taken):
                raise StoreUnavailable(
                    f"{collection.name}: {len(taken) - len(winners)} streams neither created "
                    "nor found"
                )
            created.update(winners)
        return created

    def _find(self, collection: Collection, key: tuple[str, ...]) -> int | None:
        table = property_table(collection)
        query = select(table.c.stream_id).where(
            *(
                table.c[name] == value
                for name, value in zip(collection.property_names, key, strict=True)
            )
        )
        with self.engine.connect() as connection:
            return connection.scalar(query)

    def _create(self, collection: Collection, key: tuple[str, ...]) -> int:
        collection_id = self.collection_id(collection)
        table = property_table(collection)
        try:
            with self.engine.begin() as connection:
                stream_id: int = connection.execute(
                    _streams.insert()
                    .values(collection_id=collection_id)
                    .returning(_streams.c.stream_id)
                ).scalar_one()
                connection.execute(
                    table.insert().values(
                        stream_id=stream_id,
                        **dict(zip(collection.property_names, key, strict=True)),
                    )
                )
                return stream_id
        except IntegrityError:
            # Another process created the same stream first; use its id.
            found = self._find(collection, key)
            if found is None:
                raise
            return found

    def touch(self, spans: Mapping[int, tuple[int, int]]) -> None:
        """Widen each stream's first/last timestamps to include (earliest, latest)."""
        if not spans:
            return
        # One statement for every stream on PostgreSQL: an executemany would be a
        # round trip, and a statement for PostgreSQL to plan, per stream.
        rows = [{"sid": sid, "lo": lo, "hi": hi} for sid, (lo, hi) in sorted(spans.items())]
        with self.engine.begin() as connection:
            execute_rows(connection, rows, (_PG_TOUCH, _SPANS), _SQLITE_TOUCH)

    def counts(
        self, collections: Sequence[Collection], connection: Connection | None = None
    ) -> dict[str, int]:
        """How many streams each of `collections` has (committed ones), by collection name.

        Streams are never deleted (a stream row dropped after losing a race
        to create it was never committed), so while a collection's count is
        the same, none of its streams was created since: what was derived
        from its streams (e.g. the streams of many source and destination
        pairs) still holds. One statement, on `connection` if given (e.g.
        the caller's transaction: under read committed it still sees every
        stream committed before it), else on a connection of its own.
        """
        if not collections:
            return {}
        names = {self.collection_id(c): c.name for c in collections}
        statement: Select[int, int] = (
            select(_streams.c.collection_id, func.count())
            .where(_streams.c.collection_id.in_(sorted(names)))
            .group_by(_streams.c.collection_id)
        )
        if connection is None:
            with self.engine.connect() as own:
                rows = own.execute(statement).all()
        else:
            rows = connection.execute(statement).all()
        found = dict.fromkeys(names.values(), 0)
        for collection_id, count in rows:
            found[names[collection_id]] = int(count)
        return found

    def pair_streams(
        self,
        collections: Sequence[Collection],
        pairs: Iterable[Pair],
        connection: Connection | None = None,
    ) -> dict[Pair, list[tuple[Collection, list[int]]]]:
        """The streams of `collections` of each (source, destination, family) pair, as SQL has
        them now: per collection that has any, their ids in order.

        A pair's family matches the ``family`` property of a collection that
        has one; an empty family, or a collection without the property,
        matches any. The answers are remembered across calls (event grouping
        asks for the traceroute streams of every batch's pairs: two
        statements per collection each time cost about 2 ms of CPU a call,
        even for pairs that have none) while the `counts` of `collections`
        (one statement a call, on `connection` if given) stay the same: they
        change only when a stream is created (streams are never deleted), by
        this process or another (the collector, for ``nntsc events run``),
        and then every remembered pair is asked again. So an answer never
        misses a stream committed before the call. The counts are taken
        before the streams: a stream committed between the two changes the
        count the next call sees.
        """
        pairs = list(pairs)
        counts = self.counts(collections, connection)
        with self._pairs_lock:
            if counts != self._pair_counts or len(self._pairs) > self.MAX_PAIRS:
                self._pairs = {}
                self._pair_counts = counts
            known = {pair: self._pairs[pair] for pair in pairs if pair in self._pairs}
        wanted = sorted(set(pairs) - set(known))
        if not wanted:
            return known
        found = self._find_pair_streams(collections, wanted)
        with self._pairs_lock:
            if self._pair_counts == counts:
                self._pairs.update(found)
        return {**known, **found}

    def _find_pair_streams(
        self, collections: Sequence[Collection], pairs: Sequence[Pair]
    ) -> dict[Pair, list[tuple[Collection, list[int]]]]:
        """The streams of many pairs (`pair_streams`), asked of SQL: two queries a collection."""
        result: dict[Pair, list[tuple[Collection, list[int]]]] = {pair: [] for pair in pairs}
        for collection in collections:
            by_family = "family" in collection.property_names
            streams: dict[tuple[str, ...], list[int]] = defaultdict(list)
            exact = [p for p in pairs if p[2] and by_family]
            loose = {p[:2] for p in pairs if not (p[2] and by_family)}
            for names, values in (
                (("source", "destination", "family"), exact),
                (("source", "destination"), loose),
            ):
                if not values:
                    continue
                for info in self.matching(collection, names, values):
                    streams[tuple(info.properties[name] for name in names)].append(info.stream_id)
            for pair in pairs:
                ids = streams.get(pair if pair[2] and by_family else pair[:2])
                if ids:
                    result[pair].append((collection, sorted(ids)))
        return result

    def get(self, stream_id: int) -> StreamInfo:
        """The stream `stream_id`; raises `UnknownStream`."""
        with self.engine.connect() as connection:
            stream = connection.execute(
                select(_streams.c.first_timestamp, _streams.c.last_timestamp, _collections.c.name)
                .join(_collections, _collections.c.id == _streams.c.collection_id)
                .where(_streams.c.stream_id == stream_id)
            ).first()
            if stream is None:
                raise UnknownStream(stream_id)
            collection = get_collection(stream.name)
            table = property_table(collection)
            props = connection.execute(select(table).where(table.c.stream_id == stream_id)).one()
        properties = {name: props._mapping[name] for name in collection.property_names}
        return StreamInfo(
            stream_id, collection.name, properties, stream.first_timestamp, stream.last_timestamp
        )

    def find(
        self,
        collection: Collection,
        filters: Mapping[str, str] | None = None,
        page: int = 1,
        pagesize: int = 100,
        term: str = "",
    ) -> Page:
        """Streams of `collection` whose properties equal `filters`, one page, in key order.

        With a `term`, only streams with a property that contains it (any case).
        """
        filters = dict(filters or {})
        unknown = set(filters) - set(collection.property_names)
        if unknown:
            raise BadQuery(f"{collection.name} has no property {', '.join(sorted(unknown))}")
        if page < 1 or not 1 <= pagesize <= 1000:
            raise BadQuery("page must be >= 1 and pagesize between 1 and 1000")
        table = property_table(collection)
        conditions = [table.c[name] == value for name, value in filters.items()]
        if term:
            # autoescape: % and _ in the term match themselves, not as wildcards.
            conditions.append(
                or_(
                    *(
                        cast(table.c[name], String).icontains(term, autoescape=True)
                        for name in collection.property_names
                    )
                )
            )
        order = [table.c[name] for name in collection.property_names]
        with self.engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(table).where(*conditions))
            rows = connection.execute(
                select(table, _streams.c.first_timestamp, _streams.c.last_timestamp)
                .join(_streams, _streams.c.stream_id == table.c.stream_id)
                .where(*conditions)
                .order_by(*order)
                .limit(pagesize)
                .offset((page - 1) * pagesize)
            ).all()
        items = [
            StreamInfo(
                row.stream_id,
                collection.name,
                {name: row._mapping[name] for name in collection.property_names},
                row.first_timestamp,
                row.last_timestamp,
            )
            for row in rows
        ]
        return Page(items, total or 0, page, pagesize)

    def matching(
        self, collection: Collection, names: Sequence[str], values: Iterable[Sequence[str]]
    ) -> list[StreamInfo]:
        """Streams of `collection` whose properties `names` equal one of the `values` tuples.

        Many lookups in a few queries (e.g. the streams of many source and
        destination pairs); in no particular order.
        """
        unknown = set(names) - set(collection.property_names)
        if unknown:
            raise BadQuery(f"{collection.name} has no property {', '.join(sorted(unknown))}")
        wanted = sorted({tuple(v) for v in values})
        table = property_table(collection)
        columns = tuple_(*(table.c[name] for name in names))
        found: list[StreamInfo] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                rows = connection.execute(
                    select(table, _streams.c.first_timestamp, _streams.c.last_timestamp)
                    .join(_streams, _streams.c.stream_id == table.c.stream_id)
                    .where(columns.in_(wanted[start : start + 500]))
                )
                found.extend(
                    StreamInfo(
                        row.stream_id,
                        collection.name,
                        {name: row._mapping[name] for name in collection.property_names},
                        row.first_timestamp,
                        row.last_timestamp,
                    )
                    for row in rows
                )
        return found

    def properties_of(
        self, collection: Collection, stream_ids: Sequence[int]
    ) -> dict[int, dict[str, str]]:
        """Properties of each stream id that belongs to `collection`.

        A stream's properties are what makes it that stream: they never
        change once its row is committed. So they are remembered, and only
        the ids not seen before are read (event grouping asks for the
        streams of every batch of new events), up to the registry's
        `properties_cache` streams: those asked for least recently are
        forgotten first (read again when asked for).
        """
        known = self._properties
        found: dict[int, dict[str, str]] = {}
        missing: list[int] = []
        with self._properties_lock:
            for stream_id in stream_ids:
                cached = known.get(stream_id)
                if cached is None:
                    missing.append(stream_id)
                elif cached[0] == collection.name:
                    found[stream_id] = dict(cached[1])
        if not missing:
            return found
        table = property_table(collection)
        with self.engine.connect() as connection:
            rows = connection.execute(select(table).where(table.c.stream_id.in_(missing))).all()
        with self._properties_lock:
            for row in rows:
                properties = {name: row._mapping[name] for name in collection.property_names}
                known[row.stream_id] = (collection.name, properties)
                found[row.stream_id] = dict(properties)
        return found
