"""Where notifications are found and sent: Celery tasks in production, a thread in process.

With ``nntsc.notification_delivery = celery`` (deploy/production.ini) the
beat of `nntsc.tasks` queues ``nntsc.notifications.scan`` every
``nntsc.notification_period`` seconds; the scan writes the messages due
(`nntsc.notifications.delivery.scan`) and, after its commit, queues one
``nntsc.notifications.send`` task per message. A send task that fails
retries itself with exponential backoff (``nntsc.notification_retry``
seconds, doubled each time, at most ``nntsc.notification_retry_max``) up to
``nntsc.notification_attempts`` attempts. The scan also queues every
pending message whose attempt is overdue (a task lost with a broker
restart, an attempt interrupted), so nothing written is ever forgotten;
a message queued twice is sent once (the attempt claims it first).

With ``in_process`` (the default, for the embedded default, which runs no
Celery worker) a `NotificationThread` of the web app does the same every
period: scan, then try every due message, retrying at later passes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

from nntsc.errors import ConfigurationError
from nntsc.notifications.delivery import (
    DeliverySettings,
    FilterTest,
    deliver,
    due_deliveries,
    saved_filter_matches,
    scan,
)

log = logging.getLogger(__name__)

#: Values of ``nntsc.notification_delivery``.
DELIVERY_MODES = ("in_process", "celery")
#: A pending message this many seconds past its attempt time is queued again by the scan.
OVERDUE = 60


def delivery_mode(settings: Any) -> str:
    """The ``nntsc.notification_delivery`` setting, checked: ``in_process`` or ``celery``."""
    mode = str(settings.get("nntsc.notification_delivery") or "in_process").strip()
    if mode not in DELIVERY_MODES:
        raise ConfigurationError(
            f"nntsc.notification_delivery {mode!r}: expected one of {', '.join(DELIVERY_MODES)}"
        )
    return mode


def register_notification_tasks(app: Celery, settings: DeliverySettings) -> None:
    """The scan and send tasks, and the scan's schedule: every ``settings.period`` seconds."""

    @app.task(name="nntsc.notifications.send", bind=True, shared=False, max_retries=None)
    def send_notification(self: Any, delivery_id: int) -> str:
        """One attempt at a message; on failure the task retries itself after the backoff."""
        outcome = deliver(self.services.sessionmaker, delivery_id, settings)
        if outcome.status == "retry":
            assert outcome.retry_in is not None
            raise self.retry(countdown=outcome.retry_in)
        return outcome.status

    @app.task(name="nntsc.notifications.scan", bind=True, shared=False)
    def scan_notifications(self: Any) -> int:
        """Write the messages due, then queue them and the overdue ones; how many were queued."""
        sessions = self.services.sessionmaker
        now = int(time.time())
        report = scan(sessions, settings, now=now)
        overdue = due_deliveries(sessions, now - OVERDUE)
        queued = sorted({*report.queued, *report.summaries, *overdue})
        for delivery_id in queued:
            send_notification.delay(delivery_id)
        if queued:
            log.info("%d notifications queued", len(queued))
        return len(queued)

    # A scan still queued when the next is due is dropped: the next one covers it.
    expires = settings.period - 5 if settings.period > 10 else settings.period
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "scan-notifications": {
            "task": "nntsc.notifications.scan",
            "schedule": settings.period,
            "options": {"expires": expires},
        },
    }


class NotificationThread:
    """Scans and sends every `period` seconds on a daemon thread of this process."""

    def __init__(
        self, services: Any, settings: DeliverySettings, matches: FilterTest | None = None
    ) -> None:
        self.services = services
        self.settings = settings
        self.matches = matches or saved_filter_matches
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One pass: scan, then try every due message; an error is logged, never raised."""
        sessions = self.services.sessionmaker
        try:
            scan(sessions, self.settings, self.matches)
            for delivery_id in due_deliveries(sessions):
                deliver(sessions, delivery_id, self.settings)
        except Exception:
            log.exception("notifications pass failed; trying again in %.0f s", self.settings.period)
        finally:
            self.passes += 1

    def _loop(self) -> None:
        # The first pass a period after start, as the other periodic jobs: a
        # process that starts and stops at once (a command, a test) stays out.
        while not self._stop.wait(self.settings.period):
            self.run_once()

    def start(self) -> NotificationThread:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="notifications", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None


def start_in_process_delivery(services: Any) -> NotificationThread | None:
    """A started `NotificationThread` unless ``nntsc.notification_delivery`` leaves it to Celery."""
    if delivery_mode(services.settings) == "celery":
        return None
    return NotificationThread(services, DeliverySettings.from_settings(services.settings)).start()
