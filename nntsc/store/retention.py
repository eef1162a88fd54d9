"""Expiring rows beyond the retention settings, and counting what was expired.

InfluxDB expires rows itself (its retention policies); the SQL backend
deletes them when `TimeseriesStore.expire` runs: from the Celery beat task
``nntsc.expire_rows`` in production (`nntsc.tasks`), or from a
`RetentionThread` inside the web app's process in the embedded default
(``nntsc.expiry = in_process``, the default).

What was expired is counted in SQL (`nntsc.store.models.ExpiredRows`,
`record_expired`), whichever process expired it, and reported by
`ExpiredRowsCollector` as the counter ``nntsc_rows_expired_total`` on the
web app's ``/metrics`` (`ampweb.metrics`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, Metric
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from nntsc.errors import NntscError
from nntsc.store.models import ExpiredRows

if TYPE_CHECKING:
    from nntsc.store.timeseries import TimeseriesStore

log = logging.getLogger(__name__)

#: Seconds between two expiry passes unless ``nntsc.retention_period`` says otherwise.
RETENTION_PERIOD = 3600.0

_RECORD = text(
    "INSERT INTO expired_rows (collection, kind, total) VALUES (:collection, :kind, :total) "
    "ON CONFLICT (collection, kind) DO UPDATE SET total = expired_rows.total + excluded.total"
)


def record_expired(engine: Engine, collection: str, counts: Mapping[str, int]) -> None:
    """Add `counts` (rows by kind: ``raw``, ``rollup``) to the collection's expired totals."""
    with engine.begin() as connection:
        connection.execute(
            _RECORD,
            [
                {"collection": collection, "kind": kind, "total": total}
                for kind, total in counts.items()
            ],
        )


class ExpiredRowsCollector:
    """``nntsc_rows_expired_total{collection, kind}``, read from SQL at each scrape.

    One small query (a row per collection and kind). When SQL cannot be
    read the metric is left out of the scrape, and the scrape still answers.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        table = ExpiredRows.__table__
        try:
            with self.engine.connect() as connection:
                rows: Sequence[tuple[str, str, int]] = connection.execute(
                    select(table.c.collection, table.c.kind, table.c.total).order_by(
                        table.c.collection, table.c.kind
                    )
                ).all()
        except SQLAlchemyError as error:
            log.warning("expired row counts unreadable: %s", error)
            return
        family = CounterMetricFamily(
            "nntsc_rows_expired",
            "Rows deleted because they were older than the raw or rollup retention",
            labels=["collection", "kind"],
        )
        for collection, kind, total in rows:
            family.add_metric([collection, kind], total)
        yield family


class RetentionThread(threading.Thread):
    """Runs `TimeseriesStore.expire` every `period` seconds until `stop`.

    The in-process scheduler of the embedded default, where no Celery
    worker runs. A failed pass (a store down) is logged and retried at the
    next period; the thread never dies of it.
    """

    def __init__(self, store: TimeseriesStore, period: float = RETENTION_PERIOD) -> None:
        super().__init__(name="nntsc-retention", daemon=True)
        self.store = store
        self.period = period
        self._stopped = threading.Event()

    def run(self) -> None:
        # The first pass at once: a restarted app catches up straight away.
        while not self._stopped.is_set():
            try:
                self.store.expire()
            except (NntscError, OSError) as error:
                log.warning("expiring rows failed, retried in %.0f s: %s", self.period, error)
            except Exception:  # a bug must not stop expiry for the life of the process
                log.exception("expiring rows failed, retried in %.0f s", self.period)
            self._stopped.wait(self.period)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the pass under way, if any."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout)
