"""Background tasks (Celery): the app built from the same settings, rollups, expiry, events.

The worker and beat find their ini file in ``NNTSC_CONFIG`` (the same file as
the web app and the collector; its ``celery.broker_url``, or the
``CELERY_BROKER_URL`` environment variable, names the broker):

    NNTSC_CONFIG=/etc/nntsc/production.ini celery -A nntsc.tasks worker --loglevel=INFO
    NNTSC_CONFIG=/etc/nntsc/production.ini celery -A nntsc.tasks beat --loglevel=INFO

Run one beat per deployment (it is the clock); workers can be many. Beat
queues the rollup pass every ``nntsc.rollup_period`` seconds (60) and the
expiry of rows beyond the retentions every ``nntsc.retention_period`` (3600);
the features add theirs (event pruning, the notification scan and sends).
``celery.queue`` names the queue (default ``celery``): deployments, or test
runs, sharing one broker each use their own. Unit tests build their own app
with `make_celery(settings)`, eager and without a broker; integration tests
run a real worker and beat (`tests/celery_processes.py`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown

from nntsc.config import Services, positive_seconds, resolve_settings
from nntsc.store.retention import RETENTION_PERIOD

log = logging.getLogger(__name__)

#: Seconds between two rollup passes.
ROLLUP_PERIOD = 60.0


class ServicesTask(Task):
    """A task that uses the configured services, built once per worker process."""

    @property
    def services(self) -> Services:
        app = self.app
        services = getattr(app, "nntsc_services", None)
        if services is None:
            # Already resolved (environment overrides applied) by `make_celery`.
            services = Services(dict(app.conf["nntsc_settings"]))
            app.nntsc_services = services
        return services


def make_celery(settings: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Celery:
    """The Celery app of these settings (with environment overrides), its tasks and schedule."""
    resolved = resolve_settings(settings, environ)
    app = Celery("nntsc", broker=resolved["celery.broker_url"], task_cls=ServicesTask)
    app.conf.update(
        nntsc_settings=resolved,
        # Results are never read: the tasks log what they did.
        task_ignore_result=True,
        task_always_eager=resolved.get("celery.always_eager", "false").lower() == "true",
        task_eager_propagates=True,
        worker_hijack_root_logger=False,
        task_default_queue=resolved.get("celery.queue", "").strip() or "celery",
        broker_connection_retry_on_startup=True,
        timezone="UTC",
    )
    register_rollup_tasks(app, positive_seconds(resolved, "nntsc.rollup_period", ROLLUP_PERIOD))
    register_retention_tasks(
        app, positive_seconds(resolved, "nntsc.retention_period", RETENTION_PERIOD)
    )
    # Periodic tasks are declared by the feature that owns them.
    from nntsc.events.tasks import PRUNE_PERIOD, register_event_tasks

    register_event_tasks(
        app, positive_seconds(resolved, "nntsc.event_pruning_period", PRUNE_PERIOD)
    )
    from nntsc.notifications.delivery import DeliverySettings
    from nntsc.notifications.tasks import register_notification_tasks

    register_notification_tasks(app, DeliverySettings.from_settings(resolved))
    return app


def register_rollup_tasks(app: Celery, period: float = ROLLUP_PERIOD) -> None:
    """The rollup task, and its schedule: every minute, replacing the rollup timer and loop."""

    @app.task(name="nntsc.process_rollups", bind=True, shared=False)
    def process_rollups(self: ServicesTask) -> int:
        """Compute the rollup bins that new, late or backfilled rows touched; how many marks."""
        count = self.services.timeseries.process_rollups()
        log.info("%d rollup marks processed", count)
        return count

    # A pass still queued when the next is due is dropped (expires), so a slow
    # store never builds a backlog of passes; concurrent passes are safe, as
    # web queries also process the marks of what they read.
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "process-rollups": {
            "task": "nntsc.process_rollups",
            "schedule": period,
            "options": {"expires": _expiry(period)},
        },
    }


def register_retention_tasks(app: Celery, period: float = RETENTION_PERIOD) -> None:
    """The expiry task, and its schedule: rows beyond the retentions go every `period` s."""

    @app.task(name="nntsc.expire_rows", bind=True, shared=False)
    def expire_rows(self: ServicesTask) -> int:
        """Delete rows beyond ``nntsc.raw_retention`` and ``nntsc.rollup_retention``; how many.

        InfluxDB expires rows itself, so there this finds nothing to do.
        """
        expired = self.services.timeseries.expire()
        total = sum(e.raw + e.rollups for e in expired.values())
        log.info("%d rows expired", total)
        return total

    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "expire-rows": {
            "task": "nntsc.expire_rows",
            "schedule": period,
            "options": {"expires": _expiry(period)},
        },
    }


def _expiry(period: float) -> float:
    """Seconds a queued periodic task stays valid: dropped once the next one is due."""
    return period - 5 if period > 10 else period


def _settings_from_environment() -> dict[str, Any]:
    """The ``[app:main]`` settings of the ini file named by ``NNTSC_CONFIG``, if any."""
    path = os.environ.get("NNTSC_CONFIG")
    if not path:
        return {}
    from nntsc.cli import load_settings

    return load_settings(path)


@worker_process_shutdown.connect
def _close_services(**_: Any) -> None:
    services = getattr(app, "nntsc_services", None)
    if services is not None:
        services.close()


#: The app `celery -A nntsc.tasks` runs.
app = make_celery(_settings_from_environment())
