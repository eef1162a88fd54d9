"""AMP TCPping latency, loss and ICMP errors (amplet2 test ``tcpping``).

Rows are made as for ICMP (`amp_icmp`): all probed addresses of one target
name and address family form one row per report, and the probed port is part
of the stream key (`docs/wire.md`).

Each item is one SYN; amplet2 reports exactly one of: an ``rtt`` (a TCP
answer, SYN-ACK or RST), an ``icmptype``/``icmpcode`` pair (an ICMP error
answered the SYN) or neither (nothing came back). Where we differ from the
predecessor:

* An item without an address (the name did not resolve, nothing was sent)
  is neither a result nor a loss, as for ICMP. The predecessor took ampsave's
  ``loss`` (1 whenever no answer arrived) and so counted unresolved names as
  lost probes.
* When nothing could be probed the row says so: ``results = 0`` and every
  other value null. The predecessor stored ``lossrate = 0.0``, i.e. "perfect".
* The family comes from the item's family and packed address, not from
  whether the printed address contains a dot (ampsave prints ``0.0.0.0`` for
  a missing address, which made unresolved IPv6 names count as IPv4).
* An ICMP error is an item carrying an ICMP type or code. The reference words
  it "non-zero ICMP type"; amplet2 sets the type only when an ICMP message
  answered the SYN, and type 0 (echo reply) cannot be such an answer, so the
  presence of the field is what counts. ICMP errors are neither rtts nor
  losses: ``lossrate = loss / results`` counts only probes that got no answer
  at all, and ``rtts`` carries one null per loss and per ICMP error so that
  its length is ``results``.
* An item with both an rtt and an ICMP error is contradictory and rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nntsc.collections.amp_common import (
    MAX_RTT_US,
    check_envelope,
    checked_family,
    flag,
    median,
    setting,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport

DEFAULT_PACKET_SIZE = 64
DEFAULT_PORT = 80
MAX_ICMP_TYPE = 255


class AmpTcpping(Collection):
    name = "amp-tcpping"
    view_style = "latency"
    description = "AMP TCP SYN latency, loss and ICMP errors"
    title = "TCP ping"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("port", "Port", 8),
        Property("family", "Address family", 8),
        Property("packet_size", "Packet size", 16, unit="bytes"),
    )
    fields = (
        Field("median", "float", "us", description="median round-trip time of the report"),
        Field("min", "int", "us", description="fastest round trip"),
        Field("max", "int", "us", description="slowest round trip"),
        Field("loss", "int", description="SYNs without any answer"),
        Field("icmperrors", "int", description="SYNs answered by an ICMP error"),
        Field("results", "int", description="SYNs sent to a resolved address"),
        Field("lossrate", "float", description="loss / results"),
        Field(
            "rtts",
            "array",
            "us",
            quantiles=True,
            description="round trips, sorted, then one null per loss and per ICMP error",
        ),
    )
    presence_field = "results"
    #: Latency level shifts in ms, and loss runs.
    detections = (
        Detection("level", "median", "ms", 0.001),
        Detection("loss", "lossrate", "%"),
    )
    amp_test = "tcpping"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "TCPping")
        items = report.get("reports")
        if not isinstance(items, list) or not items:
            raise BadReport("TCPping report has no items")
        port = str(setting(header, "port", "TCPping header", DEFAULT_PORT, 65535, 1))
        packet_size = self._packet_size(header)

        # Per (target name, family): [rtts, lost, icmp errors, results].
        groups: dict[tuple[str, str], list[Any]] = {}
        for index, item in enumerate(items):
            if type(item) is not dict and not isinstance(item, Mapping):
                raise BadReport(f"TCPping item {index} is not a mapping")
            name = item.get("name")
            if type(name) is not str or not name:
                raise BadReport(f"TCPping item {index} has no target name")
            rtt = item.get("rtt")
            if rtt is not None and (type(rtt) is not int or not 0 <= rtt <= MAX_RTT_US):
                raise BadReport(f"TCPping item {index} rtt {rtt!r} is out of range")
            icmp = False
            icmptype = item.get("icmptype")
            icmpcode = item.get("icmpcode")
            if icmptype is not None or icmpcode is not None:
                for value in (icmptype, icmpcode):
                    if value is not None and (
                        type(value) is not int or not 0 <= value <= MAX_ICMP_TYPE
                    ):
                        raise BadReport(f"TCPping item {index} ICMP type/code {value!r} is invalid")
                if rtt is not None:
                    raise BadReport(f"TCPping item {index} has both an rtt and an ICMP error")
                icmp = True
            address = item.get("address")
            family = checked_family(address, item.get("family"), f"TCPping item {index}")
            entry = groups.get((name, family))
            if entry is None:
                entry = groups[(name, family)] = [[], 0, 0, 0]
            if rtt is not None:
                entry[0].append(rtt)
                entry[3] += 1
            elif icmp:
                entry[2] += 1
                entry[3] += 1
            elif address:
                entry[1] += 1
                entry[3] += 1

        return [
            ParsedRow(
                {
                    "source": source,
                    "destination": name,
                    "port": port,
                    "family": family,
                    "packet_size": packet_size,
                },
                self._derive(*entry),
            )
            for (name, family), entry in groups.items()
        ]

    @staticmethod
    def _packet_size(header: Mapping[str, Any]) -> str:
        if flag(header, "random", "TCPping header"):
            return "random"
        return str(setting(header, "packet_size", "TCPping header", DEFAULT_PACKET_SIZE, 65535, 1))

    @staticmethod
    def _derive(rtts: list[int], lost: int, icmp_errors: int, results: int) -> dict[str, Any]:
        """The row of one target's SYNs; all nulls but ``results = 0`` when none was sent."""
        if results == 0:
            return {
                "median": None,
                "min": None,
                "max": None,
                "loss": None,
                "icmperrors": None,
                "results": 0,
                "lossrate": None,
                "rtts": None,
            }
        rtts.sort()
        unanswered = lost + icmp_errors
        return {
            "median": median(rtts),
            "min": rtts[0] if rtts else None,
            "max": rtts[-1] if rtts else None,
            "loss": lost,
            "icmperrors": icmp_errors,
            "results": results,
            "lossrate": lost / results,
            "rtts": rtts + [None] * unanswered if unanswered else rtts,
        }
