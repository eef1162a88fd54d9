"""Small SQL helpers shared by the stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from nntsc.errors import ConfigurationError, StoreUnavailable


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
