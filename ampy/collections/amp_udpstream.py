"""UDP streams: jitter (the spread of the delay variation) and MOS, graphs and matrix tabs.

amplet2 reports each stream's inter-packet delay variation (IPDV), signed:
its mean is near zero and often negative, so it says nothing about how
jittery a path is. The graphs and the matrix show jitter as the spread of
the delay variation instead, the 90th minus the 10th percentile of each
test's IPDV (in ms, never negative), with the full range (largest minus
smallest) as a light band. MOS (ITU-T G.107, 1 to 4.5) is measured on the
direction the monitor receives; it has a view style of its own.
"""

from __future__ import annotations

from typing import Any

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import ADDRESS_FAMILY, GroupSpec, Split
from ampy.matrix import Metric
from ampy.series import MICROSECONDS_TO_MS, Column, Derived, SeriesSpec, same_columns

NAME = "amp-udpstream"

DIRECTION_LABELS = {"in": "inward", "out": "outward"}

JITTER = ViewStyle("jitter", "UDP jitter")
MOS = ViewStyle("mos", "UDP voice quality (MOS)")


def _ms(name: str, field: str, function: str = "mean") -> Column:
    return Column(name, field, function, MICROSECONDS_TO_MS, "ms")


def spread(high: Any, low: Any) -> float | None:
    """`high` - `low` (means of per-test quantiles whose difference is never negative)."""
    if high is None or low is None:
        return None
    # The means differ by rounding only where every test's spread was 0.
    return max(0.0, high - low)


_P10 = _ms("ipdv_p10", "jitter_percentile_10")
_P90 = _ms("ipdv_p90", "jitter_percentile_90")
_LOSS = Column("loss", "loss", "mean")
_MOS = Column("mos", "itu_mos", "mean")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(JITTER, MOS),
    tab_order=50,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "dscp", "packet_size", "packet_spacing", "packet_count"),
        (Split("DIRECTION", "direction", labels=DIRECTION_LABELS), ADDRESS_FAMILY),
        keywords={"packet_spacing": "SPACING", "packet_count": "COUNT"},
        title=lambda v: (
            f"{v['source']} : {v['destination']}, {v['packet_count']} {v['packet_size']} B "
            f"packets {v['packet_spacing']} us apart (DSCP {v['dscp']})"
        ),
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _P10,
                _P90,
                _ms("ipdv_min", "min_jitter"),
                _ms("ipdv_max", "max_jitter"),
                _ms("rtt", "mean_rtt"),
                _LOSS,
                _MOS,
                Column("mos_min", "itu_mos", "min"),
                Column("mos_max", "itu_mos", "max"),
            ),
            (_P10, _P90, _LOSS, _MOS),
        ),
        (
            Derived("jitter", ("ipdv_p90", "ipdv_p10"), spread, "ms"),
            Derived("jitter_range", ("ipdv_max", "ipdv_min"), spread, "ms"),
        ),
    ),
    metrics=(
        Metric(
            name="jitter",
            position=70,
            label="Jitter",
            collection=NAME,
            style="jitter",
            numerator=("jitter_percentile_90", "sum"),
            minus=("jitter_percentile_10", "sum"),
            denominator=("jitter_percentile_90", "count"),
            scale=MICROSECONDS_TO_MS,
            unit="ms",
            # Voice needs under 30 ms of jitter; a quiet path has well under 1 ms.
            steps=(0.5, 1, 2, 5, 10, 30),
            stale_after=2 * 3600,
            prefer={"dscp": ("Default",)},
        ),
        Metric(
            name="mos",
            position=80,
            label="MOS",
            collection=NAME,
            style="mos",
            numerator=("itu_mos", "sum"),
            denominator=("itu_mos", "count"),
            scale=1.0,
            unit="MOS",
            # The ITU-T G.107 user satisfaction bands, from "very satisfied" down.
            steps=(4.34, 4.03, 3.6, 3.1, 2.58, 1.5),
            stale_after=2 * 3600,
            prefer={"dscp": ("Default",)},
            higher_is_better=True,
            split_values=("in",),
        ),
    ),
)
