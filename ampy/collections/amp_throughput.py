"""TCP throughput tests: rate per direction, a week to a page."""

from __future__ import annotations

from ampy.collections import DAY, CollectionSpec, ViewStyle
from ampy.groups import ADDRESS_FAMILY, GroupSpec, Split
from ampy.matrix import Metric
from ampy.series import BITS_TO_MBITS, Column, SeriesSpec, same_columns

NAME = "amp-throughput"

DIRECTION_LABELS = {"in": "download", "out": "upload"}

_RATE = Column("rate", "rate", "mean", BITS_TO_MBITS, "Mbit/s")
_TESTS = Column("tests", "bytes", "count")

COLLECTION = CollectionSpec(
    name=NAME,
    # Tests run hours apart: a day would show a handful of points.
    styles=(ViewStyle("throughput", "Throughput", default_span=7 * DAY),),
    tab_order=40,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "protocol", "duration", "writesize", "tcpreused"),
        (Split("DIRECTION", "direction", labels=DIRECTION_LABELS), ADDRESS_FAMILY),
        title=lambda v: (
            f"{v['source']} : {v['destination']} for {v['duration']} ms, "
            f"{v['writesize']} B writes{' as HTTP' if v['protocol'] == 'http' else ''}"
        ),
    ),
    series=SeriesSpec(
        NAME,
        3600,
        "mean",
        same_columns(
            (
                _RATE,
                Column("min", "rate", "min", BITS_TO_MBITS, "Mbit/s"),
                Column("max", "rate", "max", BITS_TO_MBITS, "Mbit/s"),
                Column("bytes", "bytes", "sum", unit="bytes"),
                Column("runtime", "runtime", "sum", unit="ms"),
                _TESTS,
            ),
            (_RATE, _TESTS),
        ),
    ),
    metrics=(
        Metric(
            name="throughput",
            position=60,
            label="Throughput",
            collection=NAME,
            style="throughput",
            numerator=("rate", "sum"),
            denominator=("rate", "count"),
            scale=1e-6,
            unit="Mbit/s",
            steps=(1000, 500, 100, 50, 10, 1),
            stale_after=2 * 86400,
            prefer={
                "protocol": ("default",),
                "duration": ("10000",),
                "writesize": ("131072",),
                "tcpreused": ("false",),
            },
            higher_is_better=True,
        ),
    ),
)
