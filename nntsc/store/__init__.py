"""Storage: SQL models, the time-series store and its backends.

`TimeseriesStore` (`nntsc.store.timeseries`) composes a backend
(`nntsc.store.sql` or `nntsc.store.influx`, on the primitives of
`nntsc.store.backend`) with its rollup marks and pass (`nntsc.store.rollups`)
and plans reads with `nntsc.store.planner`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.errors import ConfigurationError
from nntsc.store.backend import TimeseriesBackend, WriteResult
from nntsc.store.partials import Aggregation
from nntsc.store.timeseries import AggregateResult, TimeseriesStore

if TYPE_CHECKING:
    from nntsc.config import Services

__all__ = [
    "AggregateResult",
    "Aggregation",
    "TimeseriesBackend",
    "TimeseriesStore",
    "WriteResult",
    "open_backend",
    "open_timeseries_store",
]


def open_backend(services: Services) -> TimeseriesBackend:
    """The backend named by ``nntsc.timeseries_url``: ``sql`` or ``influxdb://host:port/db``."""
    url = services.settings["nntsc.timeseries_url"].strip()
    if url == "sql":
        from nntsc.store.sql import SqlBackend

        # Rows beyond the retentions are deleted by `TimeseriesStore.expire`.
        return SqlBackend(services.engine, services.raw_retention, services.rollup_retention)
    if url.startswith(("influxdb://", "influxdbs://")):
        from nntsc.store.influx import InfluxBackend

        return InfluxBackend.from_url(url, services.raw_retention, services.rollup_retention)
    raise ConfigurationError(
        f"nntsc.timeseries_url {url!r}: expected 'sql' or 'influxdb://host:port/database'"
    )


def open_timeseries_store(services: Services) -> TimeseriesStore:
    """The store of the configured backend, its rollup marks in the SQL database."""
    return TimeseriesStore(
        open_backend(services),
        services.engine,
        reader=services.read_engine,
        held_rows=services.rollup_memory_rows,
    )
