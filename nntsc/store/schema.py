"""Create and migrate the schema of every store: `nntsc db upgrade`, `revision`, `check`.

The SQL schema is declared by the models (`nntsc.plugins.declared_metadata`:
nntsc's tables, the collections' and those of the packages above) and built
by the Alembic migrations in `migrations/versions/`. `new_revision` writes
the next migration from the difference between the two (autogenerate, against
a scratch SQLite database at head), `schema_differences` says where they
disagree, which `nntsc db check` and `make test` refuse.

On PostgreSQL a migration holds an advisory lock (two upgrades run one after
the other, never interleaved) and runs under a lock timeout, so that an
ALTER waiting behind a long query fails instead of stalling every query
queued behind it, and a statement timeout (`migration_timeouts`).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.exc import OperationalError

import migrations
from nntsc.collections import all_collections
from nntsc.config import Services
from nntsc.errors import ConfigurationError, StoreUnavailable
from nntsc.store.models import CollectionRecord

log = logging.getLogger(__name__)

#: The Alembic scripts directory (env.py and versions/).
MIGRATIONS = os.path.dirname(migrations.__file__)
#: The PostgreSQL advisory lock a migration holds (``nntsc`` in ASCII).
MIGRATION_LOCK_KEY = 0x6E6E747363
#: How long a migration waits for another one to finish (the advisory lock).
MIGRATION_WAIT = "10min"
#: Defaults of ``NNTSC_MIGRATION_LOCK_TIMEOUT`` and ``NNTSC_MIGRATION_STATEMENT_TIMEOUT``.
LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "30min"
_DURATION = re.compile(r"^\d+\s*(ms|s|min|h|d)?$")
#: PostgreSQL's codes for a lock or statement timeout.
_TIMEOUT_CODES = {"55P03": "lock_timeout", "57014": "statement_timeout"}


def migration_timeouts() -> dict[str, str]:
    """PostgreSQL's ``lock_timeout`` and ``statement_timeout`` while migrating.

    ``NNTSC_MIGRATION_LOCK_TIMEOUT`` (default 10s) bounds each wait for a
    table lock; ``NNTSC_MIGRATION_STATEMENT_TIMEOUT`` (default 30min) each
    statement. Values are PostgreSQL durations: ``500ms``, ``10s``, ``5min``.
    """
    timeouts = {
        "lock_timeout": os.environ.get("NNTSC_MIGRATION_LOCK_TIMEOUT", LOCK_TIMEOUT).strip(),
        "statement_timeout": os.environ.get(
            "NNTSC_MIGRATION_STATEMENT_TIMEOUT", STATEMENT_TIMEOUT
        ).strip(),
    }
    for name, value in timeouts.items():
        if not _DURATION.match(value):
            raise ConfigurationError(
                f"NNTSC_MIGRATION_{name.upper()} {value!r}: expected a duration like 10s or 5min"
            )
    return timeouts


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for our migrations directory and `engine`."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_sql(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (in one transaction on PostgreSQL)."""
    config = alembic_config(engine)
    with _timeouts_explained(), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade_sql(engine: Engine, revision: str) -> None:
    """Revert the migrations after `revision`."""
    config = alembic_config(engine)
    with _timeouts_explained(), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _timeouts_explained() -> Iterator[None]:
    """A migration stopped by a lock or statement timeout is a `StoreUnavailable` saying so."""
    try:
        yield
    except OperationalError as error:
        setting = _TIMEOUT_CODES.get(getattr(error.orig, "pgcode", None) or "")
        if setting is None:
            raise
        raise StoreUnavailable(
            f"migration stopped by PostgreSQL's {setting} ({migration_timeouts()[setting]}) and "
            f"rolled back, the schema unchanged: another session held a lock it needed, or a "
            f"statement ran too long. Retry when the database is quieter, or raise "
            f"NNTSC_MIGRATION_{setting.upper()}. ({error.orig})"
        ) from error


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def register_collections(engine: Engine) -> None:
    """Insert a `collections` row for each declared collection that lacks one."""
    with engine.begin() as connection:
        known = set(connection.scalars(select(CollectionRecord.name)))
        table = CollectionRecord.__table__
        for collection in all_collections():
            if collection.name not in known:
                connection.execute(
                    table.insert().values(
                        name=collection.name,
                        view_style=collection.view_style,
                        description=collection.description,
                    )
                )


def upgrade_all(services: Services) -> None:
    """Migrate SQL, register collections, create the time-series schema; idempotent."""
    upgrade_sql(services.engine)
    register_collections(services.engine)
    services.timeseries.ensure_schema()
    log.info("schema at revision %s", current_revision(services.engine))


@contextmanager
def _scratch_database() -> Iterator[Engine]:
    """A new SQLite database migrated to head, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="nntsc-schema-") as directory:
        engine = create_engine(f"sqlite:///{directory}/scratch.sqlite")
        try:
            upgrade_sql(engine)
            yield engine
        finally:
            engine.dispose()


def schema_differences(url: str | None = None) -> list[str]:
    """Where the models and the migrations disagree; empty when they agree.

    The migrations are applied to the database at `url` (by default a
    scratch SQLite database) and its schema compared with the declarations.
    More than one head (two migrations with the same parent) is a
    difference too.
    """
    from nntsc.plugins import declared_metadata

    heads = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_heads()
    if len(heads) > 1:
        # No single head to migrate to: nothing more can be compared.
        return [
            f"several heads {', '.join(sorted(heads))}: renumber the newer migration to follow "
            f"the other (its revision and down_revision)"
        ]
    with _database(url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [str(diff) for diff in compare_metadata(context, declared_metadata())]
        return differences + missing_triggers(connection)


#: The triggers the migrations create, by table: the counts of ``event_counts``
#: (migration 0021, on SQLite and PostgreSQL alike). Alembic's comparison of
#: the models does not see triggers, and a later migration that rebuilds one
#: of these tables on SQLite (``batch_alter_table`` copies it) drops them with
#: the old table unless it creates them again (0021's
#: ``create_sqlite_triggers``): `missing_triggers` checks that they are there.
#: A migration that adds a trigger adds it here.
TRIGGERS: dict[str, tuple[str, ...]] = {
    table: tuple(f"{table}_count_{change}" for change in ("insert", "update", "delete"))
    for table in ("events", "event_groups")
}


def missing_triggers(connection: Connection) -> list[str]:
    """One line for each trigger of `TRIGGERS` missing from the database of `connection`."""
    if connection.dialect.name == "postgresql":
        query = (
            "SELECT c.relname, t.tgname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
    else:
        query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
    present = {(table, name) for table, name in connection.execute(text(query))}
    return [
        f"missing trigger {name} on {table}: a migration that rebuilds {table} "
        "(batch_alter_table on SQLite) must create its triggers again (see TRIGGERS in "
        "nntsc/store/schema.py)"
        for table, names in TRIGGERS.items()
        for name in names
        if (table, name) not in present
    ]


def stored_name_problems(url: str) -> list[str]:
    """Stored sites and meshes the API cannot reach, one line each, with what to do.

    Names holding ``/schedule`` after their first segment were refused only by
    the API before the store refused them too (`nntsc.store.sites.check_new_name`):
    ``/api/v1/sites/NAME`` reads as a schedule's path for one. The database
    at `url` is migrated to head first.
    """
    from sqlalchemy.orm import sessionmaker

    from nntsc.store.sites import SiteRegistry

    with _database(url) as engine:
        found = SiteRegistry(sessionmaker(engine)).unreachable_names()
    return [
        f'{kind} {name!r}: its name holds "/schedule", so the API cannot reach it '
        f"(/admin/{kind}s?edit=<name> can, to delete it and make it again under another "
        "name: docs/api.md)"
        for kind, name in found
    ]


@contextmanager
def _database(url: str | None) -> Iterator[Engine]:
    if url is None:
        with _scratch_database() as engine:
            yield engine
        return
    engine = create_engine(url)
    try:
        upgrade_sql(engine)
        yield engine
    finally:
        engine.dispose()


def new_revision(message: str, empty: bool = False) -> str:
    """Write the next migration, autogenerated from the declarations; its path.

    Its revision is the next number after head (``0011`` after ``0010``),
    its file ``migrations/versions/<number>_<message as slug>.py``. With
    nothing to migrate it refuses (`ConfigurationError`) unless `empty`,
    which writes a migration with empty ``upgrade`` and ``downgrade`` for
    data changes written by hand.
    """
    from nntsc.plugins import declared_metadata

    if not message.strip():
        raise ConfigurationError("a migration needs a message (-m): what it changes")
    with _scratch_database() as engine:
        config = alembic_config(engine)
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            number = f"{int(head or 0) + 1:04d}"
        except ValueError:
            raise ConfigurationError(f"head revision {head!r} is not a number") from None
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            changed = compare_metadata(context, declared_metadata())
        if not changed and not empty:
            raise ConfigurationError(
                "the models and the migrations agree: nothing to migrate "
                "(--empty writes a migration to fill in by hand)"
            )
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            script = command.revision(
                config, message=message.strip(), autogenerate=not empty, rev_id=number
            )
    path = script.path if script is not None and not isinstance(script, list) else None
    if path is None:
        raise ConfigurationError("alembic wrote no revision")
    _format(path)
    return path


def _format(path: str) -> None:
    """Apply ruff's formatting to a generated migration, when ruff is installed beside us."""
    ruff = os.path.join(os.path.dirname(sys.executable), "ruff")
    if os.path.exists(ruff):
        subprocess.run([ruff, "format", "--quiet", path], check=False)
        subprocess.run([ruff, "check", "--fix", "--quiet", path], check=False)
