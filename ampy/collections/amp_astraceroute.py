"""AS paths of traceroutes: AS path length graphs and the AS path page; one group per graph."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import FAMILY, GroupSpec
from ampy.series import Column, SeriesSpec, same_columns

NAME = "amp-astraceroute"

_LENGTH = Column("as_path_length", "as_path_length", "mean", unit="AS hops")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("as-path", "AS path length"),),
    tab_order=80,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "packet_size"),
        (FAMILY,),
        title=lambda v: f"{v['source']} to {v['destination']} AS path",
        max_groups=1,
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _LENGTH,
                Column("min", "as_path_length", "min", unit="AS hops"),
                Column("max", "as_path_length", "max", unit="AS hops"),
                Column("responded", "responded", "mean"),
            ),
            (_LENGTH,),
        ),
    ),
)
