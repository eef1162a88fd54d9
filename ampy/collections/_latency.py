"""What the latency collections (ICMP, TCP ping, DNS) share: their two view styles and columns."""

from __future__ import annotations

from ampy.collections import ViewStyle
from ampy.series import LOSSRATE, MICROSECONDS_TO_MS, Column, SeriesSpec, same_columns

LATENCY = ViewStyle("latency", "Latency")
#: The share of probes lost, drawn from the same streams as their latency.
LOSS = ViewStyle("loss", "Loss")
STYLES = (LATENCY, LOSS)


def latency_series(
    collection: str,
    median: str,
    spread: str,
    loss: str = "loss",
    results: str = "results",
) -> SeriesSpec:
    """Mean of `median`, min, max and smoke of `spread` (microseconds, drawn in ms) and loss.

    `loss` and `results` name the fields summed into the loss rate.
    """
    latency = Column("latency", median, "mean", MICROSECONDS_TO_MS, "ms")
    lost = Column("loss", loss, "sum")
    sent = Column("results", results, "sum")
    full = (
        latency,
        Column("min", spread, "min", MICROSECONDS_TO_MS, "ms"),
        Column("max", spread, "max", MICROSECONDS_TO_MS, "ms"),
        lost,
        sent,
        Column("smoke", spread, "smoke", MICROSECONDS_TO_MS, "ms"),
    )
    return SeriesSpec(
        collection, 60, "mean", same_columns(full, (latency, lost, sent)), (LOSSRATE,)
    )
