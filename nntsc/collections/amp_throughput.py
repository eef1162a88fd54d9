"""AMP TCP throughput (amplet2 test ``throughput``).

A report is one run of a schedule such as ``t10000,T10000`` against one
server; each data transfer of the schedule reports one item and becomes one
row (`docs/wire.md`). The stream is the server, the
direction (``in`` = server to monitor, ``out`` = monitor to server), the
transfer's bound, the write size, whether the TCP connection was reused and
the protocol.

Schedule tokens: ``t<ms>``/``T<ms>`` transfer for a time, ``s<bytes>``/
``S<bytes>`` transfer a byte count (lower case server to client), ``n``
opens a new connection, ``p<ms>`` pauses; a ``:<size>`` suffix is ignored, as
amplet2 ignores it. A transfer with bound 0 is dropped by amplet2 and so
here. Items are matched to the transfers in order by their direction, so a
transfer that reported nothing is skipped over.

Where we differ from the predecessor:

* ``rate`` is in **bits per second**, computed from the item's nanosecond
  duration: ``bytes * 8 / seconds``. The predecessor stored bytes per
  millisecond from the millisecond runtime, and ``0.0`` when the runtime was
  0; a zero duration measures nothing, so its rate is null.
* ``runtime`` is the item's duration rounded to whole milliseconds.
* ``duration`` (a property) is the transfer's bound from the schedule: the
  milliseconds of a timed transfer, ``"<n> bytes"`` for a byte-count one (the
  predecessor wrote the bare number for both, so they could not be told
  apart).
* ``tcpreused`` is derived from the schedule: ``true`` when an earlier
  transfer ran on the same connection (no ``n`` in between). amplet2 does
  reuse the connection then; current ampsave hard-wired ``false``.
* ``packets`` stays declared for continuity, but the protobuf report carries
  no packet count, so it is null. There is no ``unused`` filler field: our
  stores take rows whatever values they lack. TCP-info fields are not stored.
* If one report yields two rows of the same stream (``t1000,n,t1000``), only
  the first is kept: the stores key rows by (stream, timestamp).
* A report without items (the test could not connect) makes no rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from nntsc.collections.amp_common import (
    UINT32,
    address_text,
    bool_text,
    check_envelope,
    items_of,
    setting,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

#: Item.Direction values -> direction property.
DIRECTIONS = {1: "in", 2: "out"}
PROTOCOLS = {0: "default", 1: "http"}
#: A transfer longer than a day (in ns) is not a measurement.
MAX_DURATION_NS = 86_400 * 10**9
NS_PER_MS = 1_000_000
#: The stores keep integers as signed 64 bits.
MAX_BYTES = 2**63 - 1

_TRANSFER = re.compile(r"([tTsS])(\d+)(?::\d*)?")
_NEW_CONNECTION = re.compile(r"[nN]")
_PAUSE = re.compile(r"[pP]\d*")


class Transfer(NamedTuple):
    """One data transfer of a schedule."""

    direction: str
    bound: str
    reused: bool


def parse_schedule(schedule: str) -> list[Transfer]:
    """The data transfers of a schedule string, in order."""
    transfers = []
    connection_used = False
    for raw in schedule.split(","):
        token = raw.strip()
        if not token or _PAUSE.fullmatch(token):
            continue
        if _NEW_CONNECTION.fullmatch(token):
            connection_used = False
            continue
        match = _TRANSFER.fullmatch(token)
        if match is None:
            raise BadReport(f"throughput schedule token {token!r} is not understood")
        letter, amount = match.group(1), int(match.group(2))
        if amount == 0:
            continue
        transfers.append(
            Transfer(
                "in" if letter.islower() else "out",
                str(amount) if letter in "tT" else f"{amount} bytes",
                connection_used,
            )
        )
        connection_used = True
    return transfers


class AmpThroughput(Collection):
    name = "amp-throughput"
    view_style = "throughput"
    description = "AMP TCP throughput"
    title = "Throughput"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("direction", "Direction", 8),
        Property("address", "Address", 45),
        Property("duration", "Transfer length (ms, or bytes)", 32),
        Property("writesize", "Write size", 10, unit="bytes"),
        Property("tcpreused", "Connection reused", 8),
        Property("protocol", "Protocol", 16),
    )
    fields = (
        Field("bytes", "int", "bytes", description="bytes transferred"),
        Field("runtime", "int", "ms", description="transfer time"),
        Field("rate", "float", "bit/s", description="bytes * 8 / transfer time"),
        Field("packets", "int", description="not reported by amplet2's protobuf reports"),
    )
    presence_field = "bytes"
    #: Throughput level shifts, in Mbit/s.
    detections = (Detection("level", "rate", "Mbit/s", 1e-6),)
    amp_test = "throughput"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "throughput")
        items = items_of(report, "reports", "throughput report")
        if not items:
            return []
        what = "throughput header"
        schedule = text(header, "schedule", what, 4096)
        write_size = uint(header, "write_size", what, maximum=UINT32)
        if write_size is None:
            raise BadReport("throughput header has no write_size")
        protocol = setting(header, "protocol", what, 0)
        if protocol not in PROTOCOLS:
            raise BadReport(f"throughput header protocol {protocol} is unknown")
        common = {
            "source": source,
            "destination": text(header, "name", what),
            "address": address_text(header.get("address"), header.get("family"), what),
            "writesize": str(write_size),
            "protocol": PROTOCOLS[protocol],
        }

        transfers = iter(parse_schedule(schedule))
        rows = []
        seen = set()
        for index, item in enumerate(items):
            direction, values = self._item(item, f"throughput item {index}")
            transfer = next((t for t in transfers if t.direction == direction), None)
            if transfer is None:
                raise BadReport(
                    f"throughput item {index} ({direction}) matches no transfer "
                    f"left in schedule {schedule!r}"
                )
            properties = {
                "source": common["source"],
                "destination": common["destination"],
                "direction": direction,
                "address": common["address"],
                "duration": transfer.bound,
                "writesize": common["writesize"],
                "tcpreused": bool_text(transfer.reused),
                "protocol": common["protocol"],
            }
            key = tuple(properties.values())
            if key not in seen:
                seen.add(key)
                rows.append(ParsedRow(properties, values))
        return rows

    @staticmethod
    def _item(item: Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
        code = uint(item, "direction", what)
        if code not in DIRECTIONS:
            raise BadReport(f"{what} direction {code!r} is neither in (1) nor out (2)")
        duration = uint(item, "duration", what, maximum=MAX_DURATION_NS)
        size = uint(item, "bytes", what, maximum=MAX_BYTES)
        if duration is None or size is None:
            raise BadReport(f"{what} lacks its duration or byte count")
        return DIRECTIONS[code], {
            "bytes": size,
            "runtime": (duration + NS_PER_MS // 2) // NS_PER_MS,
            "rate": size * 8e9 / duration if duration else None,
            "packets": None,
        }
