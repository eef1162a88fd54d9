"""Fixtures shared by every test: configured services on each kind of store.

Each test that needs a server gets its own PostgreSQL database or InfluxDB
database, created for it and dropped after it, so no test depends on what an
earlier run left behind.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import create_engine, text

from nntsc.config import Services
from nntsc.store.schema import upgrade_all

POSTGRES_ADMIN_URL = os.environ.get(
    "NNTSC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
INFLUX_HOST = os.environ.get("NNTSC_TEST_INFLUX", "127.0.0.1:8086")


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    name = _unique("nntsc_test")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def influx_url() -> Iterator[str]:
    """The URL of a new InfluxDB database name for one test; dropped afterwards."""
    name = _unique("nntsc_test")
    yield f"influxdb://{INFLUX_HOST}/{name}"
    requests.post(f"http://{INFLUX_HOST}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=30)


def make_services(sql_url: str, timeseries_url: str = "sql", **settings: str) -> Services:
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
