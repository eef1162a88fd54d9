"""Fixtures shared by every test: configured services on each kind of store.

Each test that needs a server gets its own PostgreSQL database or InfluxDB
database, created for it and dropped after it, so no test depends on what an
earlier run left behind.

Migrating a new database costs about a second on PostgreSQL and a third of
one on SQLite, and most tests start with one. So `make_services` runs the
migrations once per session and kind of database (into a template made
for this session, nothing kept from an earlier run) and gives each new
database a copy of the result: a file copy on SQLite, ``CREATE DATABASE
... TEMPLATE`` on PostgreSQL. The full `upgrade_all` still runs on the copy
(then a no-op check at head, plus anything registered since), so a test's
database is exactly what migrating it would have made. Only a database that
is still new gets a copy: a SQLite file that does not exist yet, or one of
`postgres_url`'s databases with no table and nobody connected; anything
else (the migration tests' own databases among them) is migrated as before.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nntsc.config import Services
from nntsc.store.schema import register_collections, upgrade_all, upgrade_sql

POSTGRES_ADMIN_URL = os.environ.get(
    "NNTSC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
INFLUX_HOST = os.environ.get("NNTSC_TEST_INFLUX", "127.0.0.1:8086")


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


#: This test run's live feed channel prefix (``nntsc.live_channel_prefix``): test runs
#: sharing the Redis server (other checkouts, suites run at once) publish on channels of
#: their own, so none hears another's batches of the same streams.
LIVE_PREFIX = _unique("nntsc.test")


#: The databases `postgres_url` made, which `make_services` may replace by a migrated copy.
_NEW_POSTGRES: set[str] = set()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    name = _unique("nntsc_test")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _NEW_POSTGRES.add(name)
    try:
        yield url
    finally:
        _NEW_POSTGRES.discard(name)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def influx_url() -> Iterator[str]:
    """The URL of a new InfluxDB database name for one test; dropped afterwards."""
    name = _unique("nntsc_test")
    yield f"influxdb://{INFLUX_HOST}/{name}"
    requests.post(f"http://{INFLUX_HOST}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=30)


class _MigratedTemplates:
    """This session's migrated template databases, made when first wanted, removed at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sqlite: dict[bool, Path] = {}
        self._postgres: str | None = None

    def sqlite(self, registered: bool = True) -> Path:
        with self._lock:
            if registered not in self._sqlite:
                directory = Path(tempfile.mkdtemp(prefix="nntsc-test-template-"))
                atexit.register(shutil.rmtree, directory, ignore_errors=True)
                path = directory / "template.sqlite"
                _migrate_sql(f"sqlite:///{path}", registered)
                self._sqlite[registered] = path
            return self._sqlite[registered]

    def postgres(self) -> str:
        with self._lock:
            if self._postgres is None:
                name = _unique("nntsc_test_template")
                admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
                atexit.register(_drop_postgres, name)
                _migrate_sql(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
                self._postgres = name
            return self._postgres


def _migrate_sql(url: str, registered: bool = True) -> None:
    """What `upgrade_all` does to the SQL database (or only `upgrade_sql`, unless `registered`)."""
    services = Services.from_settings(
        {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql"}, environ={}
    )
    try:
        upgrade_sql(services.engine)
        if registered:
            register_collections(services.engine)
    finally:
        services.close()


def _drop_postgres(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


_TEMPLATES = _MigratedTemplates()


def copy_migrated_sqlite(sql_url: str, registered: bool = True) -> None:
    """Make the SQLite file of `sql_url`, if it does not exist yet, a copy of the migrated template.

    Unless `registered`, the template is migrated only (`upgrade_sql`, as on
    an engine of one's own), without the collections `upgrade_all` registers.
    """
    url = make_url(sql_url)
    path = Path(url.database or ":memory:")
    if url.database != ":memory:" and path.parent.is_dir() and not path.exists():
        shutil.copyfile(_TEMPLATES.sqlite(registered), path)


def _copy_migrated(sql_url: str) -> None:
    """Make `sql_url`'s database a copy of the migrated template if it is still new."""
    url = make_url(sql_url)
    if url.get_backend_name() == "sqlite":
        copy_migrated_sqlite(sql_url)
        return
    name = url.database
    if url.get_backend_name() != "postgresql" or name not in _NEW_POSTGRES:
        return
    _NEW_POSTGRES.discard(name)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connected = connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
            if connected:
                return
        database = create_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        try:
            with database.connect() as connection:
                tables = connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
                        "('pg_catalog', 'information_schema', 'pg_toast')"
                    )
                )
        finally:
            database.dispose()
        if tables:
            return
        template = _TEMPLATES.postgres()
        with admin.connect() as connection:
            # No FORCE: should anyone have connected meanwhile, this fails and says so.
            connection.execute(text(f'DROP DATABASE "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()


def make_services(sql_url: str, timeseries_url: str = "sql", **settings: str) -> Services:
    """Services over `sql_url` and `timeseries_url`, their schemas upgraded to head.

    A database that is still new starts as a copy of this session's migrated
    template (see the module's docstring); `upgrade_all` runs either way.
    """
    _copy_migrated(sql_url)
    services = Services.from_settings(
        {"nntsc.sql_url": sql_url, "nntsc.timeseries_url": timeseries_url, **settings}, environ={}
    )
    upgrade_all(services)
    return services


@contextmanager
def serve_app(**settings: str) -> Iterator[str]:
    """The web app over `settings`, served by waitress on a free loopback port; its URL."""
    from waitress import create_server

    import ampweb

    app = ampweb.main({}, **settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)
        app.registry["ampy"].close()


@pytest.fixture(params=["sqlite", "postgres", "influx"])
def store_services(request: pytest.FixtureRequest, tmp_path) -> Iterator[Services]:
    """Services on each time-series store in turn: SQLite, PostgreSQL, InfluxDB."""
    if request.param == "sqlite":
        services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    elif request.param == "postgres":
        services = make_services(request.getfixturevalue("postgres_url"))
    else:
        services = make_services(
            f"sqlite:///{tmp_path}/nntsc.sqlite", request.getfixturevalue("influx_url")
        )
    try:
        yield services
    finally:
        services.close()
