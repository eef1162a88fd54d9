"""The notifications' Prometheus metrics, read from SQL at each scrape.

Messages are sent by Celery workers (or a thread of the web app), so what
they did is counted in SQL (``notification_counts``) and the web app's
``/metrics`` reads it:

- ``nntsc_notification_deliveries_total{channel_kind, outcome}``: messages
  ``sent``, attempts ``failed``, messages ``given_up`` after the last
  attempt, messages ``deferred`` by a channel's rate limit;
- ``nntsc_notification_queue_messages``: messages pending, being sent or
  deferred;
- ``nntsc_notification_queue_age_seconds``: how long the oldest of them has
  waited since it was written (0 when none waits).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nntsc.notifications.delivery import queue_age
from nntsc.notifications.models import NotificationCount

log = logging.getLogger(__name__)


class NotificationCollector:
    """Counts and the queue of notifications, two small queries per scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        table = NotificationCount.__table__
        try:
            with Session(self.engine) as session:
                rows: Sequence[tuple[str, str, int]] = session.execute(
                    select(table.c.channel_kind, table.c.outcome, table.c.total).order_by(
                        table.c.channel_kind, table.c.outcome
                    )
                ).all()
                waiting, age = queue_age(session)
        except SQLAlchemyError as error:
            # A scrape during a database outage still answers the other metrics.
            log.warning("notification metrics unreadable: %s", error)
            return
        counts = CounterMetricFamily(
            "nntsc_notification_deliveries",
            "Notification messages sent, attempts failed, messages given up or deferred",
            labels=["channel_kind", "outcome"],
        )
        for kind, outcome, total in rows:
            counts.add_metric([kind, outcome], total)
        yield counts
        yield GaugeMetricFamily(
            "nntsc_notification_queue_messages",
            "Notification messages pending, being sent or deferred by a rate limit",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "nntsc_notification_queue_age_seconds",
            "Seconds the oldest waiting notification message has waited (0 when none waits)",
            value=age,
        )
