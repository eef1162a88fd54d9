"""The events' Prometheus metrics, read from SQL at each scrape (one statement).

Events are stored and grouped by the detecting processes (`nntsc events run`,
`nntsc collect` in the embedded default); the web app's ``/metrics`` reads
what they stored, so every web worker answers the same:

- ``nntsc_events_total{kind, detector}``: events stored, by kind (``incr``,
  ``decr``, ``loss``, ...) and detector. A counter: it only grows, except
  when a stream is deleted with its events (Prometheus then sees a reset);
- ``nntsc_event_groups{status}``: event groups ``open`` (events may still
  join them), ``closed`` and ``merged`` (pruned as redundant).

Both are counted by one ``UNION ALL`` statement, a scan of the two tables:
`bench/dashboard.py` times it (docs/events.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, Select, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from nntsc.events.models import GROUP_STATUSES, Event, EventGroup

log = logging.getLogger(__name__)


def counts_query() -> Select:
    """("events", kind, detector, n) and ("groups", status, "", n) rows, in one statement."""
    events = Event.__table__
    groups = EventGroup.__table__
    per_kind = select(
        literal("events").label("what"),
        events.c.kind.label("name"),
        events.c.detector.label("detector"),
        func.count().label("total"),
    ).group_by(events.c.kind, events.c.detector)
    per_status = select(
        literal("groups").label("what"),
        groups.c.status.label("name"),
        literal("").label("detector"),
        func.count().label("total"),
    ).group_by(groups.c.status)
    return per_kind.union_all(per_status)  # type: ignore[return-value]


class EventCollector:
    """Events per kind and detector, groups per status: one query per scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            with self.engine.connect() as connection:
                rows: Sequence[tuple[str, str, str, int]] = connection.execute(counts_query()).all()
        except SQLAlchemyError as error:
            # A scrape during a database outage still answers the other metrics.
            log.warning("event metrics unreadable: %s", error)
            return
        events = CounterMetricFamily(
            "nntsc_events",
            "Events the detectors found and stored, by kind and detector",
            labels=["kind", "detector"],
        )
        groups = GaugeMetricFamily(
            "nntsc_event_groups",
            "Event groups by status: open (events may join), closed, merged (pruned)",
            labels=["status"],
        )
        statuses = dict.fromkeys(GROUP_STATUSES, 0)
        for what, name, detector, total in sorted(rows):
            if what == "events":
                events.add_metric([name, detector], total)
            else:
                statuses[name] = total
        for status, total in statuses.items():
            groups.add_metric([status], total)
        yield events
        yield groups
