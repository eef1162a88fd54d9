"""Small SQL helpers shared by the stores."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Executable, Result, Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nntsc.errors import ConfigurationError, StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.dialects import sqlite


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert `rows`, replacing the `update` columns of rows whose `key` exists.

    With ``update=()`` an existing row is left as it is. Works on PostgreSQL
    and SQLite, the two databases we support.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    statement: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        # Imported here: a PostgreSQL process (`nntsc collect`) need not load SQLite's dialect.
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
    else:
        raise ConfigurationError(f"unsupported SQL database {dialect!r}: use PostgreSQL or SQLite")
    if update is None:
        update = [column.name for column in table.columns if column.name not in key]
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={name: statement.excluded[name] for name in update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    connection.execute(statement, list(rows))


def ping(engine: Engine) -> None:
    """Raise `StoreUnavailable` unless the SQL database behind `engine` answers."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise StoreUnavailable(f"SQL database unreachable: {error.__class__.__name__}") from error


_QUOTE = postgresql.dialect().identifier_preparer.quote
_ALIAS = re.compile(r"^[a-z_][a-z0-9_]*$")


class ArrayRows:
    """Rows given to PostgreSQL as one array parameter per column, read with ``unnest``.

    A statement over many rows is then one statement with one parameter a
    column, whatever the number of rows: an executemany makes SQLAlchemy
    render and bind every row (and psycopg2 send a statement a row), which
    cost the event and group writes two to three times the CPU (docs/events.md).

    `columns` names each column with its PostgreSQL type, in order. `source`
    is the FROM item for a statement's text; `bind` and `bind_columns` its
    parameters. The parameters are named by position (``:v0``, ``:v1``...
    for the alias ``v``), so a column may have any name::

        rows = ArrayRows({"sid": "integer", "lo": "bigint"})
        rows.source  # unnest(CAST(:v0 AS integer[]), CAST(:v1 AS bigint[])) AS v(sid, lo)
        rows.bind([{"sid": 1, "lo": 10}, {"sid": 2, "lo": 20}])  # {"v0": [1, 2], "v1": [10, 20]}
    """

    def __init__(self, columns: Mapping[str, str], alias: str = "v") -> None:
        if not columns:
            raise ValueError("ArrayRows needs at least one column")
        if not _ALIAS.match(alias):
            raise ValueError(f"ArrayRows alias {alias!r} is not a plain SQL name")
        self.names: tuple[str, ...] = tuple(columns)
        self.types: tuple[str, ...] = tuple(columns.values())
        self.alias = alias
        self._parameters = tuple(f"{alias}{index}" for index in range(len(self.names)))
        arrays = ", ".join(
            f"CAST(:{parameter} AS {kind}[])"
            for parameter, kind in zip(self._parameters, self.types, strict=True)
        )
        names = ", ".join(_QUOTE(name) for name in self.names)
        #: ``unnest(CAST(:v0 AS t0[]), ...) AS v(name0, ...)``: the rows as a FROM item.
        self.source = f"unnest({arrays}) AS {alias}({names})"

    def bind(
        self,
        rows: Iterable[Mapping[str, Any]],
        convert: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> dict[str, list[Any]]:
        """The parameters of `rows` (each a mapping with every column), one list a column,
        `convert` applied to the values of the columns it names (e.g. JSON as text)."""
        rows = rows if isinstance(rows, Sequence) else list(rows)
        found: dict[str, list[Any]] = {}
        for name, parameter in zip(self.names, self._parameters, strict=True):
            values = [row[name] for row in rows]
            change = convert.get(name) if convert else None
            found[parameter] = values if change is None else [change(v) for v in values]
        return found

    def bind_columns(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """The parameters of rows already given as one sequence a column (each of equal length)."""
        lengths = {len(columns[name]) for name in self.names}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths {sorted(lengths)}")
        return {
            parameter: list(columns[name])
            for name, parameter in zip(self.names, self._parameters, strict=True)
        }


def is_postgresql(executor: Connection | Session) -> bool:
    """Whether `executor` (a connection or a session) talks to PostgreSQL."""
    bind = executor if isinstance(executor, Connection) else executor.get_bind()
    return bool(bind.dialect.name == "postgresql")


def execute_rows(
    executor: Connection | Session,
    rows: Sequence[Mapping[str, Any]],
    arrays: tuple[Executable, ArrayRows],
    fallback: Executable | None = None,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Result[Any]:
    """Run a statement over `rows`: on PostgreSQL once, the rows as arrays, else an executemany.

    `arrays` is the PostgreSQL statement, whose text reads the rows from its
    `ArrayRows`' `source`, and that `ArrayRows` (`convert` as in
    `ArrayRows.bind`). On any other database (SQLite) `fallback` is executed
    with `rows` as an executemany; without one, only PostgreSQL is served.
    Returns the statement's result (e.g. of ``RETURNING``).
    """
    statement, source = arrays
    if is_postgresql(executor):
        return executor.execute(statement, source.bind(rows, convert))
    if fallback is None:
        raise ConfigurationError("this statement over arrays of rows needs PostgreSQL")
    return executor.execute(fallback, list(rows))
