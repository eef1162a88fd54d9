"""Pooled PostgreSQL connections: the read engine checks one only after it was idle.

`nntsc.config.make_engine` gives the autocommit read engine a ping before
handing a pooled connection out only when it has been idle for
`PING_AFTER_IDLE` seconds: a dead idle connection is replaced without the
caller seeing an error, and a connection used a moment ago costs no extra
round trip (its callers retry). The transactional engine pings at every
checkout (``pool_pre_ping``): the first transaction after a restart succeeds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from nntsc import config
from nntsc.config import make_engine

pytestmark = pytest.mark.postgres


def _terminate(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("autocommit", [False, True])
def test_idle_dead_connection_is_replaced(postgres_url, monkeypatch, autocommit):
    # Every connection counts as idle: each checkout pings.
    monkeypatch.setattr(config, "PING_AFTER_IDLE", 0.0)
    engine = make_engine(postgres_url, autocommit=autocommit)
    try:
        old = _backend_pid(engine)
        _terminate(postgres_url, old)
        # The ping finds the connection dead, the pool connects anew: no error.
        assert _backend_pid(engine) != old
    finally:
        engine.dispose()


def test_recently_used_connection_is_not_pinged(postgres_url, monkeypatch):
    # No connection counts as idle: no checkout pings.
    monkeypatch.setattr(config, "PING_AFTER_IDLE", 3600.0)
    engine = make_engine(postgres_url, autocommit=True)
    try:
        old = _backend_pid(engine)
        _terminate(postgres_url, old)
        # Not pinged, so the statement meets the dead connection (what a server
        # restarted within the idle time costs one statement; ampy retries it)...
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        # ...and the pool then connects anew.
        assert _backend_pid(engine) != old
    finally:
        engine.dispose()


def _terminate_all(services) -> int:
    """Terminate every backend of the services' database (as a PostgreSQL restart would)."""
    url = services.settings["nntsc.sql_url"]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize("path", ["web app (accounts)", "collector (ingest)", "events run"])
def test_transactions_after_a_restart_run_on_new_connections(postgres_url, monkeypatch, path):
    """Review: only ampy's calls retried a statement that met a dropped connection, and the
    pool pinged only a connection idle for a second. The collector's writes, event
    detection and the web app's own SQL (accounts) go through `Services.engine`,
    which now pings at every checkout: the call right after every backend of the
    database was terminated succeeds (it raised OperationalError, "server closed
    the connection unexpectedly", before)."""
    from ampweb.accounts.registry import UserRegistry
    from nntsc.demo import SimulatedMesh
    from nntsc.events.live import LiveDetection
    from nntsc.ingest.pipeline import Ingestor
    from tests.conftest import make_services

    # No connection counts as idle: the read engine never pings (what is tested
    # here must not depend on it).
    monkeypatch.setattr(config, "PING_AFTER_IDLE", 3600.0)
    services = make_services(postgres_url)
    try:
        end = 1_790_000_000
        reports = list(SimulatedMesh(3, end - 1200, end, 300, seed=1).reports())
        batches = iter((reports[: len(reports) // 2], reports[len(reports) // 2 :]))
        users = UserRegistry(services.sessionmaker)
        detection = LiveDetection(services)

        def call() -> int:
            if path.startswith("web app"):
                users.create_user(f"u{users.count_users()}", None, ["viewdata"])
                return users.count_users()
            if path.startswith("collector"):
                with Ingestor(services) as ingestor:
                    for source, timestamp, report in next(batches):
                        ingestor.add("amp-icmp", report, source, timestamp)
                return ingestor.totals.written
            return detection.cycle() + 1

        assert call() > 0
        assert _terminate_all(services) >= 1
        assert call() > 0
    finally:
        services.close()
