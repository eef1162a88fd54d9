"""A real Celery worker and beat run the scheduled tasks: rows beyond the retention expire.

Beat queues ``nntsc.process_rollups`` and ``nntsc.expire_rows`` on the broker,
the worker (a separate process, as in production) runs them against
PostgreSQL: the old hour is rolled up, then its raw rows are deleted, and the
web app's ``/metrics`` counts them.
"""

from __future__ import annotations

import time

import webtest

import ampweb
from nntsc.collections import get as get_collection
from nntsc.store import Aggregation
from tests.celery_processes import celery_processes
from tests.conftest import make_services
from tests.rows import icmp_row

ICMP = get_collection("amp-icmp")
HOUR = 3600
PROPS = {"source": "amp-a", "destination": "amp-b", "family": "ipv4", "packet_size": "84"}


def test_beat_scheduled_expiry_runs_through_the_worker(postgres_url: str, tmp_path) -> None:
    settings = {
        "nntsc.sql_url": postgres_url,
        "nntsc.timeseries_url": "sql",
        "nntsc.raw_retention": "2h",
        "nntsc.rollup_period": "2",
        "nntsc.retention_period": "2",
        # As in production: the worker expires rows, not a thread of the web app.
        "nntsc.expiry": "celery",
    }
    services = make_services(postgres_url, **{"nntsc.raw_retention": "2h"})
    try:
        store = services.timeseries
        stream_id = services.streams.stream_id(ICMP, PROPS)
        now = int(time.time())
        old = now - 5 * HOUR - now % HOUR
        rows = [icmp_row(stream_id, old + offset, 10_000 + offset) for offset in range(0, 3600, 60)]
        store.write(ICMP, [*rows, icmp_row(stream_id, now - 30, 1)], {stream_id: PROPS})
        assert store.pending_count() > 0

        with celery_processes(tmp_path, settings) as celery:
            deadline = time.monotonic() + 90
            while store.raw(ICMP, [stream_id], old, old + HOUR):
                assert time.monotonic() < deadline, celery.log("worker")
                time.sleep(0.5)
            worker, beat = celery.log("worker"), celery.log("beat")
        # Queued by beat, run by the worker process.
        assert "Sending due task expire-rows (nntsc.expire_rows)" in beat
        assert "Task nntsc.expire_rows" in worker
        assert "amp-icmp: 60 raw and 0 rollup rows expired" in worker
        assert "Task nntsc.process_rollups" in worker
        assert store.pending_count() == 0
        # The recent row stays; the old hour lives on in its rollups.
        assert [r.timestamp for r in store.raw(ICMP, [stream_id], now - HOUR, now)] == [now - 30]
        hourly = store.aggregate(
            ICMP, [stream_id], old, old + HOUR, HOUR, [Aggregation("n", "median", "count")]
        )
        assert hourly.rows == [[old, 60]]
        # Counted where the web app, another process, reports it.
        app = webtest.TestApp(ampweb.main({}, **settings))
        try:
            metrics = app.get("/metrics").text
        finally:
            app.app.registry["ampy"].close()
        assert 'nntsc_rows_expired_total{collection="amp-icmp",kind="raw"} 60.0' in metrics
    finally:
        services.close()
