"""TCP SYN latency and loss, drawn like ICMP."""

from __future__ import annotations

from ampy.collections import CollectionSpec
from ampy.collections._latency import STYLES, latency_series
from ampy.groups import FAMILY, GroupSpec

NAME = "amp-tcpping"

COLLECTION = CollectionSpec(
    name=NAME,
    styles=STYLES,
    tab_order=30,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "port", "packet_size"),
        (FAMILY,),
        title=lambda v: f"{v['source']} to {v['destination']}:{v['port']} TCP {v['packet_size']} B",
    ),
    series=latency_series(NAME, median="median", spread="rtts"),
)
