"""DNS query latency and loss; the matrix shows the latency of non-recursive A queries."""

from __future__ import annotations

from ampy.collections import CollectionSpec
from ampy.collections._latency import STYLES, latency_series
from ampy.groups import ADDRESS_FAMILY, GroupSpec, flags
from ampy.matrix import Metric

NAME = "amp-dns"

COLLECTION = CollectionSpec(
    name=NAME,
    styles=STYLES,
    tab_order=20,
    groups=GroupSpec(
        NAME,
        (
            "source",
            "destination",
            "query",
            "query_type",
            "query_class",
            "udp_payload_size",
            "recurse",
            "dnssec",
            "nsid",
        ),
        (ADDRESS_FAMILY,),
        keywords={"query_type": "TYPE", "query_class": "CLASS", "udp_payload_size": "SIZE"},
        title=lambda v: (
            f"{v['source']} to {v['destination']} DNS {v['query']} {v['query_class']} "
            f"{v['query_type']} {v['udp_payload_size']} B" + flags(v, ("recurse", "dnssec", "nsid"))
        ),
    ),
    # One row is one query: its rtt is the latency, lossrate 1 when it went unanswered.
    series=latency_series(NAME, median="rtt", spread="rtt", loss="lossrate", results="requests"),
    metrics=(
        Metric(
            name="dns",
            position=40,
            label="DNS",
            collection=NAME,
            style="latency",
            numerator=("rtt", "sum"),
            denominator=("rtt", "count"),
            scale=0.001,
            unit="ms",
            steps=(5, 25, 50, 100, 200, 400),
            stale_after=1800,
            prefer={"recurse": ("false",), "query_type": ("A",), "query_class": ("IN",)},
        ),
    ),
)
