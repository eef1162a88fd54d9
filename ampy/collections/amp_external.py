"""External programs: the integer each run reported, drawn as a plain value per line.

What the value means is the program's own, so the graph (style
``external``) is the default drawing of the mean value, with the bin's
smallest and largest as columns to choose; there is no matrix tab.
"""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import GroupSpec
from ampy.series import Column, SeriesSpec, same_columns

NAME = "amp-external"

_VALUE = Column("value", "value", "mean")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("external", "External program"),),
    tab_order=95,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "command"),
        title=lambda v: f"{v['source']} to {v['destination']}: {v['command']}",
    ),
    series=SeriesSpec(
        NAME,
        60,
        "mean",
        same_columns(
            (_VALUE, Column("value_min", "value", "min"), Column("value_max", "value", "max")),
            (_VALUE,),
        ),
    ),
)
