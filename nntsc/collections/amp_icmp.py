"""AMP ICMP latency and loss (amplet2 test ``icmp``).

A report holds one item per probed address; all addresses of one target name
and address family form one row, as the predecessor did (`docs/wire.md`), so
a name that resolves to several addresses is one stream per family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_common import MAX_RTT_US, family_of, median
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport
from nntsc.wire import icmp_pb2

DEFAULT_PACKET_SIZE = 84

#: Per (target name, family): the rtts answered and the probes lost.
_Groups = dict[tuple[str, str], list[Any]]


class AmpIcmp(Collection):
    name = "amp-icmp"
    view_style = "latency"
    description = "AMP ICMP echo latency and loss"
    title = "ICMP"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("family", "Address family", 8),
        Property("packet_size", "Packet size", 16, unit="bytes"),
    )
    fields = (
        Field("median", "float", "us", description="median round-trip time of the report"),
        Field("min", "int", "us", description="fastest round trip"),
        Field("max", "int", "us", description="slowest round trip"),
        Field("loss", "int", description="probes without a reply"),
        Field("results", "int", description="probes sent to a resolved address"),
        Field("lossrate", "float", description="loss / results"),
        Field("rtts", "array", "us", quantiles=True, description="round trips, sorted"),
    )
    presence_field = "results"
    #: Latency level shifts in ms, and loss runs.
    detections = (
        Detection("level", "median", "ms", 0.001),
        Detection("loss", "lossrate", "%"),
    )
    amp_test = "icmp"
    parses_messages = True

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        if not isinstance(source, str) or not source:
            raise BadReport("report has no source monitor name")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
            raise BadReport(f"report timestamp {timestamp!r} is not a positive integer")
        if isinstance(report, icmp_pb2.Report):
            header = report.header
            packet_size = self._packet_size(header.random, header.packet_size)
            groups = _group_message_items(report.reports)
        else:
            if not isinstance(report, Mapping):
                raise BadReport("ICMP report is not a mapping")
            fields = report.get("header") or {}
            if not isinstance(fields, Mapping):
                raise BadReport("ICMP report header is not a mapping")
            items = report.get("reports")
            if not isinstance(items, list):
                raise BadReport("ICMP report has no items")
            packet_size = self._packet_size(
                fields.get("random"), fields.get("packet_size", DEFAULT_PACKET_SIZE)
            )
            groups = _group_mapping_items(items)
        if not groups:
            raise BadReport("ICMP report has no items")
        return [
            ParsedRow(
                {
                    "source": source,
                    "destination": name,
                    "family": family,
                    "packet_size": packet_size,
                },
                self._derive(rtts, lost),
            )
            for (name, family), (rtts, lost) in groups.items()
        ]

    @staticmethod
    def _packet_size(random: Any, size: Any) -> str:
        if random:
            return "random"
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= 65535:
            raise BadReport(f"ICMP packet size {size!r} is out of range")
        return str(size)

    @staticmethod
    def _derive(rtts: list[int], lost: int) -> dict[str, Any]:
        """Median, min, max, loss, results, lossrate and sorted rtts of one target's probes.

        An item without an address was never probed (the name did not
        resolve): it counts neither as a result nor as a loss. When no item was
        probed the row is all nulls with ``results = 0``, meaning "could not
        test", which differs from 100 % loss.
        """
        results = len(rtts) + lost
        if results == 0:
            return {
                "median": None,
                "min": None,
                "max": None,
                "loss": None,
                "results": 0,
                "lossrate": None,
                "rtts": None,
            }
        rtts.sort()
        return {
            "median": median(rtts),
            "min": rtts[0] if rtts else None,
            "max": rtts[-1] if rtts else None,
            "loss": lost,
            "results": results,
            "lossrate": lost / results,
            "rtts": rtts + [None] * lost if lost else rtts,
        }


# The two forms of a report get a loop each: this runs for every probe of
# every report, and reading the message directly saves building its dicts.


def _group_message_items(items: Any) -> _Groups:
    """The probes of an ``icmp_pb2.Report``'s items, grouped by target name and family.

    An unset field reads as its default in protobuf; "absent" matters for the
    rtt (a lost probe) and for the family, so those ask `HasField`.
    """
    groups: _Groups = {}
    for index, item in enumerate(items):
        name = item.name
        if type(name) is not str or not name:
            raise _bad_name(index, name)
        address = item.address
        family = family_of(address, item.family if item.HasField("family") else None)
        entry = groups.get((name, family))
        if entry is None:
            entry = groups[(name, family)] = [[], 0]
        if item.HasField("rtt"):
            rtt = item.rtt
            if rtt > MAX_RTT_US:
                raise _bad_rtt(index, rtt)
            entry[0].append(rtt)
        elif address:
            entry[1] += 1
    return groups


def _group_mapping_items(items: list[Any]) -> _Groups:
    """`_group_message_items` for items given as dicts (`nntsc.wire.decode`), checking types."""
    groups: _Groups = {}
    for index, item in enumerate(items):
        # Exact type checks first, the general ones only when those fail.
        if type(item) is not dict and not isinstance(item, Mapping):
            raise BadReport(f"ICMP item {index} is not a mapping")
        name = item.get("name")
        if type(name) is not str or not name:
            raise _bad_name(index, name)
        rtt = item.get("rtt")
        if rtt is not None and (type(rtt) is not int or not 0 <= rtt <= MAX_RTT_US):
            raise _bad_rtt(index, rtt)
        address = item.get("address")
        family = family_of(address, item.get("family"))
        entry = groups.get((name, family))
        if entry is None:
            entry = groups[(name, family)] = [[], 0]
        if rtt is not None:
            entry[0].append(rtt)
        elif address:
            entry[1] += 1
    return groups


def _bad_name(index: int, name: Any) -> BadReport:
    if type(name) is bytes:
        # proto2 does not check UTF-8 on the wire: upb hands such text back as bytes.
        return BadReport(f"ICMP item {index} target name {name!r} is not UTF-8")
    return BadReport(f"ICMP item {index} has no target name")


def _bad_rtt(index: int, rtt: Any) -> BadReport:
    return BadReport(f"ICMP item {index} rtt {rtt!r} is out of range")
