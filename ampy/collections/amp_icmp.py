"""ICMP echo latency and loss: graphs in the latency and loss styles, two matrix metrics."""

from __future__ import annotations

from ampy.collections import CollectionSpec
from ampy.collections._latency import STYLES, latency_series
from ampy.groups import FAMILY, GroupSpec
from ampy.matrix import Metric

NAME = "amp-icmp"

COLLECTION = CollectionSpec(
    name=NAME,
    styles=STYLES,
    tab_order=10,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "packet_size"),
        (FAMILY,),
        title=lambda v: f"{v['source']} to {v['destination']} ICMP {v['packet_size']} B",
    ),
    series=latency_series(NAME, median="median", spread="rtts"),
    metrics=(
        Metric(
            name="latency",
            position=10,
            label="Latency",
            collection=NAME,
            style="latency",
            numerator=("median", "sum"),
            denominator=("median", "count"),
            scale=0.001,
            unit="ms",
            steps=(5, 25, 50, 100, 200, 400),
            stale_after=600,
            prefer={"packet_size": ("84",)},
        ),
        Metric(
            name="loss",
            position=20,
            label="Loss",
            collection=NAME,
            style="loss",
            numerator=("loss", "sum"),
            denominator=("results", "sum"),
            scale=100.0,
            unit="%",
            steps=(0.001, 1, 5, 10, 25, 50),
            stale_after=600,
            prefer={"packet_size": ("84",)},
        ),
    ),
)
