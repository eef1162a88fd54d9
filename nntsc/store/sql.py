"""The SQL time-series backend (SQLAlchemy Core): SQLite for the embedded default, or PostgreSQL.

Each collection has a data table keyed by (stream_id, timestamp) and one
table per rollup level; see `nntsc.store.models`. Arrays are stored as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, delete, exists, func, select

from nntsc.collections import Collection, Row
from nntsc.store.backend import Expired, RawRow, TimeseriesBackend, WriteResult
from nntsc.store.models import (
    ROLLUP_LEVELS,
    CollectionRecord,
    RollupPending,
    Stream,
    data_table,
    rollup_table,
)
from nntsc.store.rollups import HOUR
from nntsc.store.sqlutil import ping, upsert

#: Stream ids per IN (...) list: SQLite allows 32,766 bound parameters.
IN_CHUNK = 5000
#: Streams whose old rows one expiry transaction deletes: short transactions
#: that the ingest path's writes are not kept waiting behind.
EXPIRE_CHUNK = 200


def _chunks(values: Sequence[int]) -> Iterator[list[int]]:
    for index in range(0, len(values), IN_CHUNK):
        yield list(values[index : index + IN_CHUNK])


class SqlBackend(TimeseriesBackend):
    """Raw and rollup rows in the SQL database's tables."""

    kind = "sql"
    raw_in_sql = True

    def __init__(
        self,
        engine: Engine,
        raw_retention: int | None = None,
        rollup_retention: int | None = None,
    ) -> None:
        """Rows in `engine`'s database; `expire` deletes those beyond the retentions.

        Rows older than the raw retention are written raw all the same (the
        rollup pass computes their hours) and deleted by the next `expire`
        after that, so the SQL backend needs no late rows.
        """
        super().__init__(raw_retention, rollup_retention)
        self.engine = engine

    def ensure_schema(self) -> None:
        # The data and rollup tables are created by the Alembic migrations.
        return None

    def ping(self) -> None:
        ping(self.engine)

    def encode_raw(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> list[dict[str, Any]]:
        # One row per (stream, timestamp): a later copy of a row replaces the
        # earlier one, within the batch as in the table.
        unique = {(row.stream_id, row.timestamp): row for row in rows}
        return [
            {"stream_id": row.stream_id, "timestamp": row.timestamp, **row.values}
            for row in unique.values()
        ]

    def write_raw(
        self, collection: Collection, rows: Sequence[Row], payload: Any, connection: Any
    ) -> WriteResult:
        upsert(connection, data_table(collection), payload, ("stream_id", "timestamp"))
        return WriteResult(written=len(rows))

    def read_raw(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None,
        fields: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        table = data_table(collection)
        names = collection.field_names if fields is None else tuple(fields)
        remaining = limit
        with self.engine.connect() as connection:
            for chunk in _chunks(stream_ids):
                query = (
                    select(table.c.stream_id, table.c.timestamp, *(table.c[n] for n in names))
                    .where(table.c.stream_id.in_(chunk))
                    .where(table.c.timestamp >= start, table.c.timestamp < end)
                    .order_by(table.c.stream_id, table.c.timestamp)
                )
                if remaining is not None:
                    query = query.limit(remaining)
                for row in connection.execute(query):
                    yield row[0], row[1], dict(zip(names, row[2:], strict=True))
                    if remaining is not None:
                        remaining -= 1
                if remaining == 0:
                    return

    def write_rollup(
        self,
        collection: Collection,
        level: int,
        rows: Sequence[Row],
        connection: Any,
        kept: Sequence[Any] | None = None,
    ) -> None:
        records = [
            {"stream_id": row.stream_id, "timestamp": row.timestamp, **row.values} for row in rows
        ]
        upsert(connection, rollup_table(collection, level), records, ("stream_id", "timestamp"))

    def read_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        table = rollup_table(collection, level)
        selected = (
            [table]
            if columns is None
            else [table.c.stream_id, table.c.timestamp, *(table.c[name] for name in columns)]
        )
        with self.engine.connect() as connection:
            for chunk in _chunks(stream_ids):
                query = (
                    select(*selected)
                    .where(table.c.stream_id.in_(chunk))
                    .where(table.c.timestamp >= start, table.c.timestamp < end)
                )
                for row in connection.execute(query):
                    mapping = dict(row._mapping)
                    yield mapping.pop("stream_id"), mapping.pop("timestamp"), mapping

    def sum_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str],
    ) -> dict[int, dict[str, float | None]]:
        table = rollup_table(collection, level)
        found: dict[int, dict[str, float | None]] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(stream_ids):
                query = (
                    select(table.c.stream_id, *(func.sum(table.c[name]) for name in columns))
                    .where(table.c.stream_id.in_(chunk))
                    .where(table.c.timestamp >= start, table.c.timestamp < end)
                    .group_by(table.c.stream_id)
                )
                rows: Iterable[tuple[Any, ...]] = connection.execute(query)
                for stream_id, *sums in rows:
                    found[stream_id] = dict(zip(columns, sums, strict=True))
        return found

    def latest_since(
        self, collection: Collection, stream_ids: Sequence[int], since: int
    ) -> dict[int, int]:
        table = data_table(collection)
        found: dict[int, int] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(stream_ids):
                query = (
                    select(table.c.stream_id, func.max(table.c.timestamp))
                    .where(table.c.stream_id.in_(chunk), table.c.timestamp >= since)
                    .group_by(table.c.stream_id)
                )
                # Rows are not pairs to dict(): a Result looks like a mapping to it.
                latest: Iterable[tuple[int, int]] = connection.execute(query)
                found.update({sid: last for sid, last in latest})  # noqa: C416
        return found

    def expire(
        self, collection: Collection, raw_before: int | None, rollups_before: int | None
    ) -> Expired:
        expired = Expired()
        if raw_before is None and rollups_before is None:
            return expired
        streams = Stream.__table__
        records = CollectionRecord.__table__
        with self.engine.connect() as connection:
            stream_ids: list[int] = list(
                connection.scalars(
                    select(streams.c.stream_id)
                    .join(records, records.c.id == streams.c.collection_id)
                    .where(records.c.name == collection.name)
                    .order_by(streams.c.stream_id)
                )
            )
        # Stream by stream, so that each DELETE reads the (stream, timestamp)
        # key instead of scanning the table for old timestamps.
        for index in range(0, len(stream_ids), EXPIRE_CHUNK):
            chunk = stream_ids[index : index + EXPIRE_CHUNK]
            with self.engine.begin() as connection:
                if raw_before is not None:
                    expired.raw += connection.execute(
                        _expire_raw(collection, chunk, raw_before)
                    ).rowcount
                if rollups_before is not None:
                    for level in ROLLUP_LEVELS:
                        table = rollup_table(collection, level)
                        expired.rollups += connection.execute(
                            delete(table).where(
                                table.c.stream_id.in_(chunk), table.c.timestamp < rollups_before
                            )
                        ).rowcount
        return expired


def _expire_raw(collection: Collection, stream_ids: Sequence[int], before: int) -> Any:
    """Delete the raw rows of `stream_ids` older than `before`, but none of a marked hour.

    A marked hour's rollups are still to be computed from its raw rows (a
    row written late, or beyond the retention, is marked in the transaction
    that writes it), so its rows wait for the rollup pass.
    """
    table = data_table(collection)
    pending = RollupPending.__table__
    marked = exists().where(
        pending.c.collection == collection.name,
        pending.c.stream_id == table.c.stream_id,
        pending.c.bin_start == table.c.timestamp - table.c.timestamp % HOUR,
        pending.c.level == HOUR,
    )
    return delete(table).where(
        table.c.stream_id.in_(stream_ids), table.c.timestamp < before, ~marked
    )
