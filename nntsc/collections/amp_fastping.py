"""AMP fast ICMP echo streams: latency percentiles and loss (amplet2 test ``fastping``).

A report is one stream of ``packet_count`` ICMP echoes sent at
``packet_rate`` per second to one address of one target, and becomes one
row (`docs/wire.md`). amplet2 summarises the round trips
(microseconds) of the echoes answered as their minimum, mean, maximum,
standard deviation, count and 17 percentiles (the 0, 0.1, 1, 5, 10, 20, ...,
90, 95, 99, 99.9 and 100th, `PERCENTILE_POINTS`).

As the predecessor did, ``median`` is the 50th percentile (the ninth of the
17) and the percentiles are kept as an array for smoke graphs. Where we
differ from it:

* ``loss`` (echoes unanswered) and ``results`` (echoes sent) are stored
  with ``lossrate = loss / results``, as for ICMP, so that loss over many
  streams and long ranges is a ratio of sums.
* A stream that could not run (no runtime: the target did not resolve or
  the socket could not be opened) is "not tested": ``results`` 0 and every
  value null, not 100 % loss. One that ran with no echo answered has
  ``lossrate`` 1 and a null median.
* A percentile list of another length than 17 (another amplet2 version)
  gives the middle of its values as the median.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_common import (
    MAX_RTT_US,
    UINT32,
    bool_text,
    check_envelope,
    checked_family,
    flag,
    items_of,
    median,
    setting,
    submessage,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

PERCENTILE_POINTS = (0, 0.1, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9, 100)
MEDIAN_INDEX = PERCENTILE_POINTS.index(50)
DEFAULT_COUNT = 60
DEFAULT_RATE = 1
DEFAULT_SIZE = 64


class AmpFastping(Collection):
    name = "amp-fastping"
    view_style = "latency"
    description = "AMP fast ICMP echo streams: latency percentiles and loss"
    title = "Fastping"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("family", "Address family", 8),
        Property("packet_size", "Packet size", 10, unit="bytes"),
        Property("packet_rate", "Packets per second", 10),
        Property("packet_count", "Packet count", 10),
        Property("preprobe", "Pre-probe", 8),
    )
    fields = (
        Field("median", "float", "us", description="median round trip of the stream"),
        Field("min", "int", "us", description="fastest round trip"),
        Field("max", "int", "us", description="slowest round trip"),
        Field("mean", "int", "us", description="mean round trip"),
        Field("loss", "int", description="echoes not answered"),
        Field("results", "int", description="echoes sent; 0 if the stream could not run"),
        Field("lossrate", "float", description="loss / results"),
        Field(
            "percentiles",
            "array",
            "us",
            quantiles=True,
            description="the 17 round-trip percentiles amplet2 reports",
        ),
    )
    presence_field = "results"
    #: Latency level shifts in ms, and loss runs.
    detections = (
        Detection("level", "median", "ms", 0.001),
        Detection("loss", "lossrate", "%"),
    )
    amp_test = "fastping"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "Fastping")
        items = items_of(report, "reports", "Fastping report")
        if not items:
            return []
        if len(items) > 1:
            raise BadReport(f"Fastping report has {len(items)} items, not one")
        what = "Fastping header"
        count = setting(header, "count", what, DEFAULT_COUNT, UINT32, 1)
        properties = {
            "source": source,
            "destination": text(header, "name", what),
            "family": checked_family(header.get("address"), header.get("family"), what),
            "packet_size": str(setting(header, "size", what, DEFAULT_SIZE, 65535, 1)),
            "packet_rate": str(setting(header, "rate", what, DEFAULT_RATE, UINT32)),
            "packet_count": str(count),
            "preprobe": bool_text(flag(header, "preprobe", what)),
        }
        return [ParsedRow(properties, self._values(items[0], count))]

    @staticmethod
    def _values(item: Mapping[str, Any], count: int) -> dict[str, Any]:
        what = "Fastping item"
        values: dict[str, Any] = {
            "median": None,
            "min": None,
            "max": None,
            "mean": None,
            "loss": None,
            "results": 0,
            "lossrate": None,
            "percentiles": None,
        }
        if not uint(item, "runtime", what, maximum=2**63 - 1):
            return values
        rtt = submessage(item, "rtt", what)
        what = "Fastping item rtt"
        answered = uint(rtt, "samples", what, 0, count) if rtt else 0
        values.update(loss=count - (answered or 0), results=count)
        values["lossrate"] = values["loss"] / count
        if not answered:
            return values
        percentiles = rtt.get("percentiles") or []
        if not isinstance(percentiles, list):
            raise BadReport(f"{what} percentiles is not a list")
        previous = 0
        for value in percentiles:
            if type(value) is not int or not previous <= value <= MAX_RTT_US:
                raise BadReport(
                    f"{what} percentiles are not ascending round trips: {percentiles!r}"
                )
            previous = value
        for name, key in (("min", "minimum"), ("max", "maximum"), ("mean", "mean")):
            values[name] = uint(rtt, key, what, maximum=MAX_RTT_US)
        if len(percentiles) == len(PERCENTILE_POINTS):
            values["median"] = float(percentiles[MEDIAN_INDEX])
        else:
            values["median"] = median(percentiles)
        values["percentiles"] = percentiles or None
        return values
