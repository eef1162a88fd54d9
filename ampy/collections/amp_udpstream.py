"""UDP streams: jitter, with RTT, loss and MOS in the readout."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import ADDRESS_FAMILY, GroupSpec, Split
from ampy.series import MICROSECONDS_TO_MS, Column, SeriesSpec, same_columns

NAME = "amp-udpstream"

DIRECTION_LABELS = {"in": "inward", "out": "outward"}

_JITTER = Column("jitter", "mean_jitter", "mean", MICROSECONDS_TO_MS, "ms")
_LOSS = Column("loss", "loss", "mean")
_MOS = Column("mos", "itu_mos", "mean")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("jitter", "UDP jitter"),),
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
                _JITTER,
                Column("jitter_smoke", "mean_jitter", "smoke", MICROSECONDS_TO_MS, "ms"),
                Column("min_jitter", "min_jitter", "min", MICROSECONDS_TO_MS, "ms"),
                Column("max_jitter", "max_jitter", "max", MICROSECONDS_TO_MS, "ms"),
                Column("rtt", "mean_rtt", "mean", MICROSECONDS_TO_MS, "ms"),
                _LOSS,
                _MOS,
            ),
            (_JITTER, _LOSS, _MOS),
        ),
    ),
)
