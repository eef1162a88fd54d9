"""AMP SIP calls: setup times, round trips, RTP loss and voice quality (amplet2 test ``sip``).

A report is one SIP call to a URI, carrying an RTP audio stream each way
(`docs/wire.md`). As the predecessor did, each call becomes **two rows, one
per direction**: ``rx`` (the stream the monitor received) and ``tx`` (the
stream it sent), each in a stream of its own. The call's setup times and
round trips are the same in both rows; the packet counts, jitter and MOS are
the direction's own. Times are microseconds.

* ``response_time``: start of the test to the first SIP response;
  ``connect_time``: to the call being connected; ``duration``: to its end.
* ``rtt_mean``, ``rtt_min``, ``rtt_max``, ``rtt_sd``: round trips during the
  call.
* ``packets``, ``bytes``, ``lost``, ``discarded``, ``reordered``,
  ``duplicated``: the direction's RTP counts; ``jitter_mean`` and
  ``jitter_max`` its delay variation; ``mos`` its ITU-T G.107 mean opinion
  score (1 to 4.5).

Where we differ from the predecessor:

* ``results`` is the RTP packets expected in the direction (received plus
  lost) and ``lossrate = lost / results``, so that loss over many calls is a
  ratio of sums. A direction the report has no statistics for has
  ``results`` 0 and null counts, jitter and MOS ("not measured", not "all
  lost").
* The proxy list is joined with ``,`` as before, and is ``none`` when the
  call used no proxy (an empty value cannot be selected).
* The RTP peer's address is ``unknown`` when the report has neither an
  address nor a family (the call never got as far as RTP).
* ``rtt_mean`` keeps percentiles, for smoke graphs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_common import (
    MAX_RTT_US,
    address_text,
    bool_text,
    check_envelope,
    dscp_name,
    flag,
    items_of,
    setting,
    submessage,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

DIRECTIONS = ("rx", "tx")
#: A URI or proxy list longer than this is rejected, not truncated.
MAX_URI_LENGTH = 255
#: A call lasting longer than a day (in us) is not a measurement.
MAX_TIME_US = 86_400_000_000
MAX_MOS = 5.0
NO_PROXY = "none"
COUNTS = ("packets", "bytes", "lost", "discarded", "reordered", "duplicated")


class AmpSip(Collection):
    name = "amp-sip"
    view_style = "sip"
    description = "AMP SIP calls: setup times, round trips, RTP loss and voice quality"
    title = "SIP"
    properties = (
        Property("source", "Source"),
        Property("destination", "URI", MAX_URI_LENGTH),
        Property("proxy", "Proxy", MAX_URI_LENGTH),
        Property("address", "Address", 45),
        Property("direction", "Direction", 8),
        Property("filename", "Audio file"),
        Property("repeat", "Repeat audio", 8),
        Property("max_duration", "Max duration (s)", 10),
        Property("dscp", "DSCP", 16),
    )
    fields = (
        Field("response_time", "int", "us", description="start to the first SIP response"),
        Field("connect_time", "int", "us", description="start to the call being connected"),
        Field("duration", "int", "us", description="start to the end of the call"),
        Field("rtt_mean", "int", "us", quantiles=True, description="mean round trip"),
        Field("rtt_min", "int", "us", description="fastest round trip"),
        Field("rtt_max", "int", "us", description="slowest round trip"),
        Field("rtt_sd", "int", "us", description="standard deviation of the round trips"),
        Field("packets", "int", description="RTP packets received (rx) or sent (tx)"),
        Field("bytes", "int", "bytes", description="RTP bytes"),
        Field("lost", "int", description="RTP packets lost"),
        Field("discarded", "int", description="RTP packets discarded"),
        Field("reordered", "int", description="RTP packets reordered"),
        Field("duplicated", "int", description="RTP packets duplicated"),
        Field("jitter_mean", "int", "us", description="mean delay variation"),
        Field("jitter_max", "int", "us", description="largest delay variation"),
        Field("mos", "float", description="ITU-T G.107 mean opinion score, 1..4.5"),
        Field("results", "int", description="RTP packets expected (packets + lost); 0 if none"),
        Field("lossrate", "float", description="lost / results"),
    )
    presence_field = "results"
    #: Level shifts of the round trip (ms) and of the voice quality, and loss runs. The
    #: severity curve is latency's (`nntsc.events.severity`), on which a MOS change is
    #: small: the MOS detection reports from severity 3, so that a fall of about 0.6
    #: (4.4 to 3.8) is found, while the spread of a steady call's scores is not.
    detections = (
        Detection("level", "rtt_mean", "ms", 0.001, metric="rtt"),
        Detection("level", "mos", "MOS", options={"min_severity": 3.0}),
        Detection("loss", "lossrate", "%"),
    )
    amp_test = "sip"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "SIP")
        items = items_of(report, "reports", "SIP report")
        if not items:
            return []
        if len(items) > 1:
            raise BadReport(f"SIP report has {len(items)} items, not one call")
        what = "SIP header"
        proxies = header.get("proxy") or []
        if not isinstance(proxies, list) or not all(isinstance(p, str) and p for p in proxies):
            raise BadReport(f"{what} proxy is not a list of names: {proxies!r}")
        proxy = ",".join(proxies) or NO_PROXY
        if len(proxy) > MAX_URI_LENGTH:
            raise BadReport(f"{what} proxy list is longer than {MAX_URI_LENGTH} characters")
        address = header.get("address")
        family = header.get("family")
        common = {
            "source": source,
            "destination": text(header, "uri", what, MAX_URI_LENGTH),
            "proxy": proxy,
            "address": "unknown"
            if address in (None, b"") and family is None
            else address_text(address, family, what),
            "filename": text(header, "filename", what),
            "repeat": bool_text(flag(header, "repeat", what)),
            "max_duration": str(setting(header, "max_duration", what, 0)),
            "dscp": dscp_name(setting(header, "dscp", what, 0, 63)),
        }
        item = items[0]
        what = "SIP item"
        shared: dict[str, Any] = {
            "response_time": uint(item, "time_till_first_response", what, maximum=MAX_TIME_US),
            "connect_time": uint(item, "time_till_connected", what, maximum=MAX_TIME_US),
            "duration": uint(item, "duration", what, maximum=MAX_TIME_US),
        }
        rtt = submessage(item, "rtt", what)
        for name, key in (
            ("rtt_mean", "mean"),
            ("rtt_min", "minimum"),
            ("rtt_max", "maximum"),
            ("rtt_sd", "sd"),
        ):
            shared[name] = uint(rtt, key, f"{what} rtt", maximum=MAX_RTT_US)
        rows = []
        for direction in DIRECTIONS:
            properties = {
                name: direction if name == "direction" else common[name]
                for name in self.property_names
            }
            values = dict(shared)
            values.update(_direction(item.get(direction), f"{what} {direction}"))
            rows.append(ParsedRow(properties, values))
        return rows


def _direction(stats: Any, what: str) -> dict[str, Any]:
    """The values of one direction's RTP statistics (nulls and ``results`` 0 without them)."""
    if stats is None:
        values: dict[str, Any] = dict.fromkeys((*COUNTS, "jitter_mean", "jitter_max", "mos"))
        values.update(results=0, lossrate=None)
        return values
    if not isinstance(stats, Mapping):
        raise BadReport(f"{what} is not a mapping")
    values = {name: uint(stats, name, what) for name in COUNTS}
    jitter = submessage(stats, "jitter", what)
    values["jitter_mean"] = uint(jitter, "mean", f"{what} jitter", maximum=MAX_RTT_US)
    values["jitter_max"] = uint(jitter, "maximum", f"{what} jitter", maximum=MAX_RTT_US)
    mos = submessage(stats, "mos", what).get("itu_mos")
    if mos is not None and (
        type(mos) not in (int, float) or not math.isfinite(mos) or not 0 <= mos <= MAX_MOS
    ):
        raise BadReport(f"{what} ITU MOS {mos!r} is out of range")
    values["mos"] = None if mos is None else float(mos)
    expected = (values["packets"] or 0) + (values["lost"] or 0)
    values["results"] = expected
    values["lossrate"] = (values["lost"] or 0) / expected if expected else None
    return values
