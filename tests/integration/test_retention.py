"""Rows beyond the retentions expire from the SQL store too (SQLite and PostgreSQL).

InfluxDB expires rows by its retention policies; the SQL store deletes them in
`TimeseriesStore.expire`, run by the Celery beat task in production
(tests/integration/test_celery_worker.py) and by a thread of the web app in
the embedded default (below).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import webtest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine

import ampweb
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store import Aggregation
from nntsc.store.backend import Expired
from nntsc.store.retention import ExpiredRowsCollector
from tests.conftest import make_services
from tests.rows import icmp_row

ICMP = get_collection("amp-icmp")
HOUR = 3600
DAY = 86400
MEAN_COUNT = [Aggregation("mean", "median", "mean"), Aggregation("count", "median", "count")]
PROPS = {"source": "amp-a", "destination": "amp-b", "family": "ipv4", "packet_size": "84"}


def expired_count(services: Services, kind: str) -> float | None:
    """The ``nntsc_rows_expired_total`` counter of amp-icmp rows of `kind`, as scraped."""
    registry = CollectorRegistry()
    registry.register(ExpiredRowsCollector(services.engine))
    return registry.get_sample_value(
        "nntsc_rows_expired_total", {"collection": "amp-icmp", "kind": kind}
    )


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nntsc.sqlite"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def retained(sql_url: str) -> Iterator[Services]:
    services = make_services(
        sql_url, **{"nntsc.raw_retention": "1d", "nntsc.rollup_retention": "3d"}
    )
    yield services
    services.close()


def test_raw_rows_expire_once_their_hour_is_rolled_up(retained: Services) -> None:
    store = retained.timeseries
    stream_id = retained.streams.stream_id(ICMP, PROPS)
    now = int(time.time())
    old = now - 30 * HOUR - now % HOUR
    rows = [icmp_row(stream_id, old + 10, 10_000), icmp_row(stream_id, old + 70, 30_000)]
    # Older than the raw retention and still written raw: the SQL store has no late rows.
    result = store.write(ICMP, [*rows, icmp_row(stream_id, now - 30, 50_000)], {stream_id: PROPS})
    assert (result.written, result.routed_to_rollups) == (3, 0)

    # Their hour is marked and not yet rolled up: its rows stay.
    assert store.expire(now=now) == {}
    assert len(store.raw(ICMP, [stream_id], old, old + HOUR)) == 2

    assert expired_count(retained, "raw") is None
    store.process_rollups(now=now)
    assert store.expire(now=now) == {"amp-icmp": Expired(raw=2, rollups=0)}
    assert expired_count(retained, "raw") == 2
    assert store.raw(ICMP, [stream_id], old, old + HOUR) == []
    assert [r.timestamp for r in store.raw(ICMP, [stream_id], now - HOUR, now)] == [now - 30]
    # The graph of the expired hour is answered from its rollups.
    hourly = store.aggregate(ICMP, [stream_id], old, old + HOUR, HOUR, MEAN_COUNT, now=now)
    assert hourly.rows == [[old, 20_000.0, 2]]
    assert hourly.levels_read == ("rollup-3600",)
    # Nothing more to do.
    assert store.expire(now=now) == {}
    assert expired_count(retained, "raw") == 2


def test_rollups_expire_beyond_the_rollup_retention(retained: Services) -> None:
    store = retained.timeseries
    stream_id = retained.streams.stream_id(ICMP, PROPS)
    now = int(time.time())
    ancient = now - 5 * DAY - now % HOUR
    recent = now - 30 * HOUR - now % HOUR
    store.write(
        ICMP,
        [icmp_row(stream_id, ancient + 10, 10_000), icmp_row(stream_id, recent + 10, 20_000)],
        {stream_id: PROPS},
    )
    store.process_rollups(now=now)
    # Both raw rows; the ancient hour's 5-minute, hourly and daily bins.
    assert store.expire(now=now) == {"amp-icmp": Expired(raw=2, rollups=3)}
    assert expired_count(retained, "rollup") == 3
    assert expired_count(retained, "raw") == 2
    gone = store.aggregate(ICMP, [stream_id], ancient, ancient + HOUR, HOUR, MEAN_COUNT, now=now)
    assert gone.rows == [[ancient, None, None]]
    kept = store.aggregate(ICMP, [stream_id], recent, recent + HOUR, 300, MEAN_COUNT, now=now)
    assert kept.rows[0] == [recent, 20_000.0, 1]


def test_without_retention_nothing_expires(sql_url: str) -> None:
    services = make_services(sql_url)
    try:
        stream_id = services.streams.stream_id(ICMP, PROPS)
        now = int(time.time())
        services.timeseries.write(
            ICMP, [icmp_row(stream_id, now - 400 * DAY, 1)], {stream_id: PROPS}
        )
        services.timeseries.process_rollups(now=now)
        assert services.timeseries.expire(now=now) == {}
        assert len(services.timeseries.raw(ICMP, [stream_id], now - 401 * DAY, now)) == 1
    finally:
        services.close()


def test_the_embedded_web_app_expires_rows_in_process_and_counts_them(sql_url: str) -> None:
    settings = {
        "nntsc.sql_url": sql_url,
        "nntsc.timeseries_url": "sql",
        "nntsc.raw_retention": "2h",
        "nntsc.expiry": "in_process",
        "nntsc.retention_period": "0.2",
    }
    services = make_services(sql_url, **{"nntsc.raw_retention": "2h"})
    app = None
    try:
        stream_id = services.streams.stream_id(ICMP, PROPS)
        now = int(time.time())
        old = now - 5 * HOUR
        rows = [icmp_row(stream_id, old + offset, 10_000) for offset in range(0, 600, 60)]
        services.timeseries.write(ICMP, rows, {stream_id: PROPS})
        services.timeseries.process_rollups()

        app = webtest.TestApp(ampweb.main({}, **settings))
        wait_for(lambda: not services.timeseries.raw(ICMP, [stream_id], old, old + 600))
        assert expired_count(services, "raw") == 10
        metrics = app.get("/metrics").text
        assert 'nntsc_rows_expired_total{collection="amp-icmp",kind="raw"} 10.0' in metrics
    finally:
        if app is not None:
            app.app.registry["ampy"].close()
        services.close()
    threads = [t for t in threading.enumerate() if t.name == "nntsc-retention"]
    assert threads == [], "the retention thread stops with the app's services"


def test_metrics_answer_when_the_counts_cannot_be_read(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/missing/nntsc.sqlite")
    assert list(ExpiredRowsCollector(engine).collect()) == []
