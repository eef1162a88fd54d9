"""Traceroute: every address of every other site, with hop addresses and AS numbers."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import BASE_LOSS, addresses, delay_ms, loss_rate
from nntsc.demo.routes import TraceHop
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.model import Pair, Site
    from nntsc.demo.routes import Route

#: amplet2's traceroute settings: 60-byte probes, recording hop addresses and AS numbers.
TRACEROUTE_HEADER: dict[str, Any] = {
    "packet_size": 60,
    "random": False,
    "ip": True,
    "asn": True,
    "dscp": 0,
}


class Traceroute(Simulator):
    """The paths come from `SimulatedMesh.routes` (`nntsc.demo.routes`)."""

    test = "traceroute"
    period = 900
    summary = "traceroutes (hop addresses and AS numbers) to every other site"

    def reports_per_run(self) -> int:
        return sum(1 for src in self.mesh.sites if self.mesh.others(src))

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        """One report on every address of every other site, as amplet2 sends it."""
        items = []
        asns = self.mesh.site_asns
        for dst in self.mesh.others(src):
            pair = self.mesh.pairs[(src.name, dst.name)]
            for family, address, af in addresses(dst):
                route = self.mesh.routes[(src.name, dst.name, family)]
                destination = TraceHop(address, asns[dst.name], 1.0)
                items.append(
                    {
                        "address": address,
                        "family": af,
                        "name": dst.name,
                        "path": trace(src, pair, family, route, destination, timestamp, rnd),
                    }
                )
        if not items:
            return []  # a mesh of one site: nothing to probe
        return [{"header": dict(TRACEROUTE_HEADER), "reports": items}]


def trace(
    src: Site,
    pair: Pair,
    family: str,
    route: Route,
    destination: TraceHop,
    timestamp: int,
    rnd: random.Random,
) -> list[dict[str, Any]]:
    """The hops of one traceroute: what answered, from which AS, after how long.

    A hop answers at its share of the path's round trip (load and level
    shifts included), plus the queueing jitter up to it, plus for a router
    the moment it takes to make the ICMP error (now and then much longer,
    on its slow path). Its probe is lost at the path's base loss rate, or
    in a loss burst at the burst's rate once past where the burst happens.
    A hop that does not answer has neither address, AS number nor rtt.
    """
    hops = route.hops_at(timestamp)
    if route.reach is not None:
        hops = hops[: max(1, round(len(hops) * route.reach))]
    else:
        hops = [*hops, destination]
    delay = delay_ms(src, pair, family, timestamp, rnd, jitter=False)
    loss = loss_rate(pair, timestamp)
    path: list[dict[str, Any]] = []
    for hop in hops:
        lost = rnd.random() < (loss if hop.share >= route.loss_share else BASE_LOSS)
        if hop.address is None or lost:
            path.append({})
            continue
        rtt = hop.share * (delay + rnd.lognormvariate(0, 0.6) * pair.jitter_ms)
        if hop is not destination:
            rtt += rnd.expovariate(1 / 0.15)
            if rnd.random() < 0.02:
                rtt += rnd.uniform(2, 12)
        path.append({"address": hop.address, "asn": hop.asn, "rtt": max(1, int(rtt * 1000))})
    path.extend({} for _ in range(route.silent_tail))
    return path
