"""Alembic environment: runs migrations on the connection `nntsc.store.schema` hands over.

On PostgreSQL a migration first takes an advisory lock, so that two
`nntsc db upgrade` (two containers starting at once) run one after the
other: the second finds the schema at head and does nothing. Then each wait
for a table lock is bounded (``lock_timeout``): an ALTER queued behind a
long query would otherwise hold up every query queued behind it, so it fails
and rolls back instead (DDL is transactional there); and each statement is
bounded too (``statement_timeout``). See `nntsc.store.schema.migration_timeouts`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from nntsc.plugins import declared_metadata
from nntsc.store.schema import MIGRATION_LOCK_KEY, MIGRATION_WAIT, migration_timeouts

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic.ini or the caller must set sqlalchemy.url")
        engine = create_engine(url)
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _serialise(connection) -> None:
    """Wait for any other migration, then bound lock waits and statements (this transaction)."""
    timeouts = migration_timeouts()
    set_local = text("SELECT set_config(:name, :value, true)")
    connection.execute(set_local, {"name": "lock_timeout", "value": MIGRATION_WAIT})
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    for name, value in timeouts.items():
        connection.execute(set_local, {"name": name, "value": value})


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        _serialise(connection)
    context.configure(
        connection=connection,
        target_metadata=declared_metadata(),
        # SQLite cannot ALTER most things; batch mode copies tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `nntsc db upgrade`")
run_migrations_online()
