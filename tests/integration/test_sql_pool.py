"""Pooled PostgreSQL connections: checked with a round trip only after being idle.

`nntsc.config.make_engine` pings a pooled connection before handing it out
only when it has been idle for `PING_AFTER_IDLE` seconds: a dead idle
connection is replaced without the caller seeing an error, and a connection
used a moment ago costs no extra round trip.
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
