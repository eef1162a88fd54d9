"""ICMP: an echo to every address of every other site, every interval of the mesh."""

from __future__ import annotations

import random
import socket
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import delay_ms, loss_rate
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh
    from nntsc.demo.model import Pair, Site

HEADER: dict[str, Any] = {"packet_size": 84, "random": False, "dscp": 0}


class Icmp(Simulator):
    """ICMP reports draw from the mesh's own random stream (see `SimulatedMesh.report`)."""

    test = "icmp"
    period = None
    summary = "ICMP echo round trips to every address of every other site"

    def reports_per_run(self) -> int:
        return len(self.mesh.sites)

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        return [icmp_report(self.mesh, src, timestamp)]


def rtt_us(mesh: SimulatedMesh, src: Site, pair: Pair, family: str, timestamp: int) -> int | None:
    """One echo's round trip (us), or None when lost; from the mesh's own stream."""
    rnd = mesh.random
    if pair.unreachable:
        return None
    if rnd.random() < loss_rate(pair, timestamp):
        return None
    return max(1, int(delay_ms(src, pair, family, timestamp, rnd) * 1000))


def icmp_report(mesh: SimulatedMesh, src: Site, timestamp: int) -> dict[str, Any]:
    """One amplet2-shaped ICMP report of `src` at `timestamp`."""
    items = []
    for dst in mesh.sites:
        if dst is src:
            continue
        pair = mesh.pairs[(src.name, dst.name)]
        for family, addresses, af in (
            ("ipv4", dst.ipv4, socket.AF_INET),
            ("ipv6", dst.ipv6, socket.AF_INET6),
        ):
            for address in addresses:
                items.append(
                    {
                        "name": dst.name,
                        "address": address,
                        "family": af,
                        "rtt": rtt_us(mesh, src, pair, family, timestamp),
                        "err_type": None,
                        "err_code": None,
                        "ttl": None,
                    }
                )
    return {"header": dict(HEADER), "reports": items}
