"""Fast ICMP echo streams: drawn as latency (median over a smoke of percentiles) and loss.

A fastping stream is many echoes in a short burst; its graphs are those of
ICMP, the smoke made of the percentiles amplet2 reports for each stream. Its
matrix tab shows the median round trip.
"""

from __future__ import annotations

from ampy.collections import CollectionSpec
from ampy.collections._latency import STYLES, latency_series
from ampy.groups import FAMILY, GroupSpec
from ampy.matrix import Metric

NAME = "amp-fastping"

COLLECTION = CollectionSpec(
    name=NAME,
    styles=STYLES,
    tab_order=35,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "packet_size", "packet_rate", "packet_count", "preprobe"),
        (FAMILY,),
        keywords={"packet_rate": "RATE", "packet_count": "COUNT", "preprobe": "PREPROBE"},
        title=lambda v: (
            f"{v['source']} to {v['destination']} fastping {v['packet_count']} x "
            f"{v['packet_size']} B at {v['packet_rate']}/s"
            + (" +preprobe" if v["preprobe"] == "true" else "")
        ),
    ),
    series=latency_series(NAME, median="median", spread="percentiles"),
    metrics=(
        Metric(
            name="fastping",
            position=45,
            label="Fastping",
            collection=NAME,
            style="latency",
            numerator=("median", "sum"),
            denominator=("median", "count"),
            scale=0.001,
            unit="ms",
            steps=(5, 25, 50, 100, 200, 400),
            stale_after=2 * 3600,
        ),
    ),
)
