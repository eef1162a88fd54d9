"""Expiring rows beyond the retention settings, and counting what was expired.

InfluxDB expires rows itself (its retention policies); the SQL backend
deletes them when `TimeseriesStore.expire` runs: from the Celery beat task
``nntsc.expire_rows`` in production (`nntsc.tasks`), or from a
`RetentionThread` inside the web app's process in the embedded default
(``nntsc.expiry = in_process``, the default).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from prometheus_client import Counter

from nntsc.errors import NntscError

if TYPE_CHECKING:
    from nntsc.store.timeseries import TimeseriesStore

log = logging.getLogger(__name__)

#: Seconds between two expiry passes unless ``nntsc.retention_period`` says otherwise.
RETENTION_PERIOD = 3600.0

#: On the process's default registry, which `/metrics` of the web app serves.
ROWS_EXPIRED = Counter(
    "nntsc_rows_expired",
    "Rows deleted because they were older than the raw or rollup retention",
    ["collection", "kind"],
)


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
