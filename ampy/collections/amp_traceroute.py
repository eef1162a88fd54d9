"""Traceroute: path length graphs (hops) and the path map; one group per graph."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import FAMILY, GroupSpec
from ampy.matrix import Metric
from ampy.series import Column, SeriesSpec, same_columns

NAME = "amp-traceroute"

_LENGTH = Column("path_length", "path_length", "mean", unit="hops")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("traceroute", "Traceroute path length"),),
    tab_order=70,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "packet_size"),
        (FAMILY,),
        title=lambda v: f"{v['source']} to {v['destination']} path, {v['packet_size']} B",
        # The path map draws the paths of one group.
        max_groups=1,
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _LENGTH,
                Column("min", "path_length", "min", unit="hops"),
                Column("max", "path_length", "max", unit="hops"),
                Column("responded", "responded", "mean"),
            ),
            (_LENGTH,),
        ),
    ),
    metrics=(
        Metric(
            name="hops",
            position=30,
            label="Path length",
            collection=NAME,
            style="traceroute",
            numerator=("path_length", "sum"),
            denominator=("path_length", "count"),
            scale=1.0,
            unit="hops",
            steps=(4, 8, 12, 16, 20, 26),
            stale_after=1800,
            prefer={"packet_size": ("60",)},
        ),
    ),
)
