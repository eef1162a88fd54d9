"""Alembic environment: runs migrations on the connection `nntsc.store.schema` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from nntsc.plugins import declared_metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
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
