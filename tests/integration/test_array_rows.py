"""`nntsc.store.sqlutil.ArrayRows` and `execute_rows`: rows as one array per column on
PostgreSQL, the executemany fallback on SQLite, the same rows either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)

from nntsc.errors import ConfigurationError
from nntsc.store.sqlutil import ArrayRows, execute_rows

METADATA = MetaData()
#: A column named by a reserved word, one by a word that is not, every type the writers use.
ITEMS = Table(
    "array_items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("order", Text),
    Column("key", Text),
    Column("big", BigInteger),
    Column("ratio", Float),
    Column("details", JSON),
)
ROWS = ArrayRows(
    {
        "id": "integer",
        "order": "text",
        "key": "text",
        "big": "bigint",
        "ratio": "double precision",
        "details": "text",
    }
)
PG_INSERT = text(
    'INSERT INTO array_items (id, "order", key, big, ratio, details) '
    f'SELECT id, "order", key, big, ratio, CAST(details AS json) FROM {ROWS.source}'
)
CHANGES = ArrayRows({"item": "integer", "ratio": "double precision"}, alias="c")
PG_UPDATE = text(f"UPDATE array_items SET ratio = c.ratio FROM {CHANGES.source} WHERE id = c.item")
UPDATE = update(ITEMS).where(ITEMS.c.id == bindparam("item")).values(ratio=bindparam("ratio"))


def items(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "order": None if n % 3 == 0 else f"ordre-{n} é '\"",
            "key": f"k{n}",
            "big": 2**40 + n,
            "ratio": None if n % 4 == 0 else n / 7,
            "details": None if n % 5 == 0 else {"n": n, "nested": [n, None]},
        }
        for n in range(1, count + 1)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/arrays.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def counted(engine: Engine) -> list[int]:
    """The parameter sets of each statement `engine` sends from now on."""
    sent: list[int] = []

    def count(_conn, _cursor, _statement, parameters, _context, executemany) -> None:
        sent.append(len(parameters) if executemany else 1)

    event.listen(engine, "before_cursor_execute", count)
    return sent


def test_the_source_names_its_columns_and_binds_them_by_position() -> None:
    assert ROWS.names == ("id", "order", "key", "big", "ratio", "details")
    assert ROWS.source == (
        "unnest(CAST(:v0 AS integer[]), CAST(:v1 AS text[]), CAST(:v2 AS text[]), "
        "CAST(:v3 AS bigint[]), CAST(:v4 AS double precision[]), CAST(:v5 AS text[])) "
        'AS v(id, "order", key, big, ratio, details)'
    )
    rows = items(2)
    bound = ROWS.bind(rows, {"details": json.dumps})
    assert bound["v0"] == [1, 2]
    assert bound["v5"] == [json.dumps(rows[0]["details"]), json.dumps(rows[1]["details"])]
    # Rows given as columns bind the same; columns of different lengths are refused.
    columns = {name: [row[name] for row in rows] for name in ROWS.names}
    assert ROWS.bind_columns(columns) == ROWS.bind(rows)
    with pytest.raises(ValueError, match="lengths"):
        ROWS.bind_columns({**columns, "big": [1]})
    with pytest.raises(ValueError, match="plain SQL name"):
        ArrayRows({"id": "integer"}, alias="v; DROP TABLE x")


def test_rows_written_as_arrays_are_those_written_row_by_row(engine: Engine) -> None:
    rows = items(250)
    sent = counted(engine)
    with engine.begin() as connection:
        execute_rows(
            connection, rows, (PG_INSERT, ROWS), insert(ITEMS), convert={"details": json.dumps}
        )
        changes = [{"item": n, "ratio": -n * 1.5} for n in range(1, 251, 2)]
        execute_rows(connection, changes, (PG_UPDATE, CHANGES), UPDATE)
    # One statement each on PostgreSQL whatever the rows; a row each elsewhere.
    assert sent == ([1, 1] if engine.dialect.name == "postgresql" else [250, 125])
    with engine.connect() as connection:
        found = [dict(row._mapping) for row in connection.execute(select(ITEMS).order_by("id"))]
    for row in rows:
        if row["id"] % 2:
            row["ratio"] = -row["id"] * 1.5
    # Nulls, big integers, quotes and JSON (null as JSON null) alike.
    assert found == rows


def test_a_statement_over_arrays_alone_needs_postgresql(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/arrays.sqlite")
    with engine.begin() as connection, pytest.raises(ConfigurationError, match="PostgreSQL"):
        execute_rows(connection, items(1), (PG_INSERT, ROWS))
    engine.dispose()
