"""The events' Prometheus metrics, read from SQL at each scrape (one statement).

Events are stored and grouped by the detecting processes (`nntsc events run`,
`nntsc collect` in the embedded default); the web app's ``/metrics`` reads
what they stored, so every web worker answers the same:

- ``nntsc_events_total{kind, detector}``: events stored, by kind (``incr``,
  ``decr``, ``loss``, ...) and detector. A counter: it only grows, except
  when a stream is deleted with its events (Prometheus then sees a reset);
- ``nntsc_event_groups{status}``: event groups ``open`` (events may still
  join them), ``closed`` and ``merged`` (pruned as redundant).

Both are read by one statement that sums the rows of ``event_counts``,
which triggers on ``events`` and ``event_groups`` keep in the transactions
that change them (migration ``0021``, `nntsc.events.models.EventCount`):
exact whichever process wrote, across restarts, and a few rows to read
however many events there are (counting the two tables at each scrape took
39 ms at 100,000 events). `compact_counts`, run by the pruning pass, folds
the rows PostgreSQL's triggers append into one a key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from nntsc.events.models import GROUP_STATUSES, EventCount

log = logging.getLogger(__name__)


def counts_query() -> Select:
    """("events", kind, detector, n) and ("groups", status, "", n) rows, in one statement."""
    counts = EventCount.__table__
    total = func.sum(counts.c.n)
    return (
        select(counts.c.what, counts.c.name, counts.c.detector, total.label("total"))
        .group_by(counts.c.what, counts.c.name, counts.c.detector)
        .having(total != 0)
    )


def compact_counts(connection: Connection) -> None:
    """Fold the rows of ``event_counts`` into one a key (PostgreSQL; SQLite keeps one).

    One statement: the rows it sees are deleted and their sums inserted, so a
    reader sees either all the old rows or the sums. Rows that concurrent
    transactions add meanwhile are left for the next time; two compactions
    at once each fold rows the other did not see, so the sums stay exact.
    """
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(
        "WITH folded AS (DELETE FROM event_counts RETURNING what, name, detector, n) "
        "INSERT INTO event_counts (what, name, detector, n) "
        "SELECT what, name, detector, sum(n) FROM folded "
        "GROUP BY what, name, detector HAVING sum(n) <> 0"
    )


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
                events.add_metric([name, detector], int(total))
            else:
                statuses[name] = int(total)
        for status, total in statuses.items():
            groups.add_metric([status], total)
        yield events
        yield groups
