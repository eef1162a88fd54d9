"""Storage: SQL models, the time-series store interface and its implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.errors import ConfigurationError
from nntsc.store.interfaces import AggregateResult, TimeseriesStore, WriteResult
from nntsc.store.partials import Aggregation

if TYPE_CHECKING:
    from nntsc.config import Services

__all__ = [
    "AggregateResult",
    "Aggregation",
    "TimeseriesStore",
    "WriteResult",
    "open_timeseries_store",
]


def open_timeseries_store(services: Services) -> TimeseriesStore:
    """The store named by ``nntsc.timeseries_url``: ``sql`` or ``influxdb://host:port/db``."""
    url = services.settings["nntsc.timeseries_url"].strip()
    if url == "sql":
        from nntsc.store.sql import SqlTimeseriesStore

        # The SQL store deletes nothing, so no row is ever beyond its retention.
        return SqlTimeseriesStore(services.engine, reader=services.read_engine)
    if url.startswith(("influxdb://", "influxdbs://")):
        from nntsc.store.influx import InfluxTimeseriesStore

        return InfluxTimeseriesStore.from_url(
            url,
            services.engine,
            services.raw_retention,
            services.rollup_retention,
            reader=services.read_engine,
        )
    raise ConfigurationError(
        f"nntsc.timeseries_url {url!r}: expected 'sql' or 'influxdb://host:port/database'"
    )
