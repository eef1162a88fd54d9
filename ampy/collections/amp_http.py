"""HTTP page fetches: fetch time and page size."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import GroupSpec, flags
from ampy.matrix import Metric, url_site
from ampy.series import Column, SeriesSpec, same_columns

NAME = "amp-http"

_DURATION = Column("duration", "duration", "mean", unit="ms")
_BYTES = Column("bytes", "bytes", "mean", unit="bytes")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("http", "HTTP"),),
    tab_order=60,
    groups=GroupSpec(
        NAME,
        (
            "source",
            "destination",
            "max_connections",
            "max_connections_per_server",
            "pipelining_max_requests",
            "persist",
            "pipelining",
            "caching",
        ),
        keywords={"destination": "FETCH"},
        title=lambda v: (
            f"{v['destination']} from {v['source']}"
            + flags(v, ("persist", "pipelining", "caching"))
        ),
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _DURATION,
                Column("duration_smoke", "duration", "smoke", unit="ms"),
                _BYTES,
                Column("objects", "object_count", "mean"),
                Column("servers", "server_count", "mean"),
                Column("failed_objects", "failed_object_count", "sum"),
            ),
            (_DURATION, _BYTES),
        ),
    ),
    metrics=(
        Metric(
            name="http",
            position=50,
            label="HTTP",
            collection=NAME,
            style="http",
            numerator=("duration", "sum"),
            denominator=("duration", "count"),
            scale=1.0,
            unit="ms",
            steps=(250, 500, 1000, 2000, 4000, 8000),
            stale_after=3 * 3600,
            destination=url_site,
        ),
    ),
)
