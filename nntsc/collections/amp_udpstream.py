"""AMP UDP stream jitter, loss and voice quality (amplet2 test ``udpstream``).

A report is one exchange of UDP packet streams with one server; each measured
direction (``in`` = server to monitor, ``out`` = monitor to server) reports
one item and becomes one row (`docs/wire.md`). Jitter is
amplet2's inter-packet delay variation, in microseconds and signed; the rtt
and the ITU MOS are normally reported only for the direction the monitor
received.

Where we differ from the predecessor:

* ``loss`` is a **ratio** from 0 to 1: ``(packet_count - packets_received) /
  packet_count``. The predecessor stored amplet2's ``loss_percent`` (0–100)
  under the name ``lossrate``, a name every other collection uses for a
  ratio (and an older version stored the *received* fraction there).
* ``packets_sent`` is the configured ``packet_count`` and is stored only when
  the item reports ``packets_received``, i.e. when the direction was
  measured; the sender does not report what it actually sent. An item
  without a received count has null counts and loss, not "0 received, all
  lost" as the predecessor made it. ``results`` is 1 for a measured direction
  and 0 otherwise, so that every row has a value.
* The jitter percentiles are resampled to the ten deciles
  ``jitter_percentile_10`` … ``_100`` by nearest rank: decile ``k`` of ``n``
  reported values is value number ``ceil(k * n / 10)`` (1-based). amplet2
  reports ``min(percentile_count, samples)`` values: with fewer than 10 delay
  variations they are the sorted samples themselves, whose nearest-rank
  deciles are exact; with more than 10 (a larger ``percentile_count``) they
  are evenly spaced quantiles, of which this picks the deciles. The
  predecessor stepped through fewer than 10 values from the first one in
  steps of ``n / 10``, which biases the middle deciles low, and kept the first
  ten of a longer list, which are not deciles. With no value reported, all
  ten are null.
* ``mean_rtt`` and ``mean_jitter`` keep percentiles, for smoke graphs.
* A report without items (the test could not run) makes no rows; two items
  of the same direction are rejected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nntsc.collections.amp_common import (
    MAX_RTT_US,
    UINT32,
    address_text,
    check_envelope,
    dscp_name,
    items_of,
    setting,
    submessage,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

#: Item.Direction values -> direction property.
DIRECTIONS = {1: "in", 2: "out"}
DEFAULT_PACKET_SIZE = 100
DEFAULT_PACKET_SPACING = 20_000
DEFAULT_PACKET_COUNT = 21
DECILES = tuple(range(10, 101, 10))
PERCENTILE_FIELDS = tuple(f"jitter_percentile_{point}" for point in DECILES)
#: The largest plausible (absolute) delay or delay variation, in microseconds.
MAX_DELAY_US = MAX_RTT_US
MAX_MOS = 5.0


def deciles(values: Sequence[int]) -> list[int | None]:
    """The ten nearest-rank deciles of sorted `values` (all ``None`` when empty)."""
    count = len(values)
    if count == 0:
        return [None] * 10
    # ceil(k * count / 10) - 1, in integers.
    return [values[-(-k * count // 10) - 1] for k in range(1, 11)]


def _signed(message: Mapping[str, Any], name: str, what: str) -> int | None:
    """A delay variation: an integer that may be negative."""
    return uint(message, name, what, maximum=MAX_DELAY_US, minimum=-MAX_DELAY_US)


class AmpUdpstream(Collection):
    name = "amp-udpstream"
    view_style = "jitter"
    description = "AMP UDP stream jitter, loss and voice quality"
    title = "UDP stream"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("address", "Address", 45),
        Property("direction", "Direction", 8),
        Property("packet_size", "Packet size", 10, unit="bytes"),
        Property("packet_spacing", "Packet spacing (us)", 10),
        Property("packet_count", "Packet count", 10),
        Property("dscp", "DSCP", 16),
    )
    fields = (
        Field("mean_rtt", "int", "us", quantiles=True, description="mean round-trip time"),
        Field("mean_jitter", "int", "us", quantiles=True, description="mean delay variation"),
        Field("min_jitter", "int", "us", description="smallest delay variation"),
        Field("max_jitter", "int", "us", description="largest delay variation"),
        *(
            Field(name, "int", "us", description=f"{point}th percentile of delay variation")
            for name, point in zip(PERCENTILE_FIELDS, DECILES, strict=True)
        ),
        Field("packets_sent", "int", description="packets in the stream (configured count)"),
        Field("packets_recvd", "int", description="packets received"),
        Field("loss", "float", description="fraction of the stream lost, 0..1"),
        Field("itu_mos", "float", description="ITU-T G.107 mean opinion score"),
        Field("results", "int", description="1 if the direction was measured, else 0"),
    )
    presence_field = "results"
    #: Jitter level shifts in ms, and runs of lost packets.
    detections = (
        Detection("level", "mean_jitter", "ms", 0.001, metric="jitter"),
        Detection("loss", "loss", "%"),
    )
    amp_test = "udpstream"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "UDPstream")
        items = items_of(report, "reports", "UDPstream report")
        if not items:
            return []
        what = "UDPstream header"
        packet_count = setting(header, "packet_count", what, DEFAULT_PACKET_COUNT, UINT32, 1)
        common = {
            "source": source,
            "destination": text(header, "name", what),
            "address": address_text(header.get("address"), header.get("family"), what),
            "packet_size": str(setting(header, "packet_size", what, DEFAULT_PACKET_SIZE, 65535, 1)),
            "packet_spacing": str(
                setting(header, "packet_spacing", what, DEFAULT_PACKET_SPACING, UINT32)
            ),
            "packet_count": str(packet_count),
            "dscp": dscp_name(setting(header, "dscp", what, 0, 63)),
        }

        rows = []
        directions = set()
        for index, item in enumerate(items):
            what = f"UDPstream item {index}"
            code = uint(item, "direction", what)
            direction = DIRECTIONS.get(code) if code is not None else None
            if direction is None:
                raise BadReport(f"{what} direction {code!r} is neither in (1) nor out (2)")
            if direction in directions:
                raise BadReport(f"UDPstream report has two '{direction}' items")
            directions.add(direction)
            properties = {
                name: direction if name == "direction" else common[name]
                for name in self.property_names
            }
            rows.append(ParsedRow(properties, self._values(item, what, packet_count)))
        return rows

    @staticmethod
    def _values(item: Mapping[str, Any], what: str, packet_count: int) -> dict[str, Any]:
        rtt = submessage(item, "rtt", what)
        jitter = submessage(item, "jitter", what)
        values: dict[str, Any] = {
            "mean_rtt": uint(rtt, "mean", f"{what} rtt", maximum=MAX_DELAY_US),
            "mean_jitter": _signed(jitter, "mean", f"{what} jitter"),
            "min_jitter": _signed(jitter, "minimum", f"{what} jitter"),
            "max_jitter": _signed(jitter, "maximum", f"{what} jitter"),
        }

        percentiles = item.get("percentiles")
        if percentiles is None:
            percentiles = []
        elif not isinstance(percentiles, list):
            raise BadReport(f"{what} percentiles is not a list")
        previous = -MAX_DELAY_US
        for value in percentiles:
            if type(value) is not int or not previous <= value <= MAX_DELAY_US:
                raise BadReport(f"{what} percentiles are not ascending delays: {percentiles!r}")
            previous = value
        values.update(zip(PERCENTILE_FIELDS, deciles(percentiles), strict=True))

        received = uint(item, "packets_received", what, maximum=packet_count)
        loss_percent = item.get("loss_percent")
        if loss_percent is not None and (
            type(loss_percent) not in (int, float) or not 0 <= loss_percent <= 100
        ):
            raise BadReport(f"{what} loss_percent {loss_percent!r} is not a percentage")
        if received is None:
            values.update(packets_sent=None, packets_recvd=None, loss=None, results=0)
        else:
            values.update(
                packets_sent=packet_count,
                packets_recvd=received,
                loss=(packet_count - received) / packet_count,
                results=1,
            )

        mos = submessage(item, "voip", what).get("itu_mos")
        if mos is not None and (
            type(mos) not in (int, float) or not math.isfinite(mos) or not 0 <= mos <= MAX_MOS
        ):
            raise BadReport(f"{what} ITU MOS {mos!r} is out of range")
        values["itu_mos"] = None if mos is None else float(mos)
        return values
