"""The Celery app: the periodic rollup task, run eagerly against SQLite."""

from __future__ import annotations

import time

from nntsc.demo import SimulatedMesh
from nntsc.ingest.pipeline import Ingestor
from nntsc.store.retention import RETENTION_PERIOD
from nntsc.tasks import ROLLUP_PERIOD, make_celery
from tests.conftest import make_services

HOUR = 3600


def test_rollup_task_processes_pending_marks(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    end = int(time.time()) // HOUR * HOUR - HOUR
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in SimulatedMesh(2, end - 3 * HOUR, end, 300).reports():
                ingestor.add("amp-icmp", report, source, timestamp)
        pending = services.timeseries.pending_count()
        assert pending > 0

        app = make_celery(
            {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "celery.always_eager": "true"},
            environ={},
        )
        task = app.tasks["nntsc.process_rollups"]
        try:
            assert task.delay().get() >= pending
            assert services.timeseries.pending_count() == 0
            # Nothing left: the next minute's pass has nothing to do.
            assert task.delay().get() == 0
        finally:
            app.nntsc_services.close()
    finally:
        services.close()


def test_rollups_are_scheduled_every_minute() -> None:
    app = make_celery({"celery.broker_url": "redis://127.0.0.1:6379/3"}, environ={})
    entry = app.conf.beat_schedule["process-rollups"]
    assert entry["task"] == "nntsc.process_rollups"
    assert entry["schedule"] == ROLLUP_PERIOD == 60
    assert entry["options"]["expires"] < ROLLUP_PERIOD
    assert app.conf.broker_url == "redis://127.0.0.1:6379/3"


def test_expiry_is_scheduled_hourly_on_the_configured_queue() -> None:
    app = make_celery({"celery.queue": "nntsc-a"}, environ={})
    entry = app.conf.beat_schedule["expire-rows"]
    assert entry["task"] == "nntsc.expire_rows"
    assert entry["schedule"] == RETENTION_PERIOD == 3600
    assert entry["options"]["expires"] < RETENTION_PERIOD
    assert app.conf.task_default_queue == "nntsc-a"
    quick = make_celery({"nntsc.retention_period": "2", "nntsc.rollup_period": "3"}, environ={})
    assert quick.conf.beat_schedule["expire-rows"]["schedule"] == 2
    assert quick.conf.beat_schedule["process-rollups"]["schedule"] == 3
    assert quick.conf.task_default_queue == "celery"


def test_broker_url_from_the_environment_wins() -> None:
    app = make_celery(
        {"celery.broker_url": "redis://127.0.0.1:6379/3"},
        environ={"CELERY_BROKER_URL": "redis://broker.example:6379/5"},
    )
    assert app.conf.broker_url == "redis://broker.example:6379/5"
