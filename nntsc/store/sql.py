"""The SQL time-series backend (SQLAlchemy Core): SQLite for the embedded default, or PostgreSQL.

Each collection has a data table keyed by (stream_id, timestamp) and one
table per rollup level; see `nntsc.store.models`. Arrays are stored as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, func, select

from nntsc.collections import Collection, Row
from nntsc.store.backend import RawRow, TimeseriesBackend, WriteResult
from nntsc.store.models import data_table, rollup_table
from nntsc.store.sqlutil import ping, upsert

#: Stream ids per IN (...) list: SQLite allows 32,766 bound parameters.
IN_CHUNK = 5000


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
    ) -> Iterator[RawRow]:
        table = data_table(collection)
        names = collection.field_names
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
        self, collection: Collection, level: int, rows: Sequence[Row], connection: Any
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
                for stream_id, *sums in connection.execute(query):
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
                found.update({sid: last for sid, last in connection.execute(query)})  # noqa: C416
        return found
