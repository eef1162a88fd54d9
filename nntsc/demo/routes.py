"""The routes of the simulated network: hops, AS numbers and route changes, for traceroute.

A path leaves a site through a private hop or two and the site's own
network (AS ``SITE_ASN_BASE + i``), crosses one to three transit networks
(more the farther the destination; their AS numbers are those reserved for
documentation) and enters the destination's network. Now and then a path
is rerouted through other transit networks for some hours.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from nntsc.demo.model import DAY, distance_km, host_address

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh

#: The transit networks' AS numbers: those reserved for documentation (RFC 5398).
TRANSIT_ASNS: tuple[int, ...] = (*range(64496, 64512), *range(65536, 65552))
#: Site i's own network is AS ``SITE_ASN_BASE + i``, from the private-use range (RFC 6996).
SITE_ASN_BASE = 4_200_000_000
#: amplet2's AS numbers for a hop of no known AS, and for a private address.
AS_UNKNOWN = 0
AS_PRIVATE = -2
#: How often, per path and day, a route moves to its alternative transit networks for a while.
ROUTE_CHANGES_PER_DAY = 0.05


@dataclass(frozen=True)
class TraceHop:
    """One router on a simulated traceroute path."""

    #: Packed address; ``None`` for a router that never answers a traceroute probe.
    address: bytes | None
    asn: int
    #: Where on the path it sits: the share of the path's round trip to reach it (0..1).
    share: float


@dataclass
class Route:
    """The paths of one source -> destination, family: fixed but for route changes."""

    #: The usual path, up to (not including) the destination address itself.
    primary: list[TraceHop]
    #: The path through other transit networks that a route change moves to.
    alternative: list[TraceHop]
    #: [begin, end) windows during which the alternative is taken.
    changes: list[tuple[int, int]] = field(default_factory=list)
    #: Past this share of the path, a loss burst of the pair loses probes.
    loss_share: float = 0.5
    #: For an unreachable pair: the share of the path's hops that still answer.
    reach: float | None = None
    #: For an unreachable pair: the silent hops probed before amplet2 gives up.
    silent_tail: int = 0

    def rerouted(self, timestamp: int) -> bool:
        """Whether the alternative path is taken at `timestamp`."""
        return any(begin <= timestamp < end for begin, end in self.changes)

    def hops_at(self, timestamp: int) -> list[TraceHop]:
        """The routers probed at `timestamp`, before the destination."""
        return self.alternative if self.rerouted(timestamp) else self.primary


def site_asns(mesh: SimulatedMesh) -> dict[str, int]:
    """Each site's own AS number."""
    return {site.name: SITE_ASN_BASE + index for index, site in enumerate(mesh.sites)}


def build_routes(mesh: SimulatedMesh) -> dict[tuple[str, str, str], Route]:
    """The traceroute paths of each (source, destination, family) of `mesh`.

    Drawn from a setup stream of their own, in site order, so that the
    paths do not depend on which tests run or in which order.
    """
    setup = random.Random(f"{mesh.seed}:traceroute:setup")
    ends = {site.name: site_routers(setup, i) for i, site in enumerate(mesh.sites)}
    span = mesh.end - mesh.start
    routes = {}
    for src in mesh.sites:
        for dst in mesh.others(src):
            pair = mesh.pairs[(src.name, dst.name)]
            distance = distance_km(src, dst)
            # Half of a pair's shorter level shifts are its route moving elsewhere.
            shared = [
                (begin, end)
                for begin, end, _ in pair.shifts
                if end - begin <= 12 * 3600 and setup.random() < 0.5
            ]
            loss_share = setup.uniform(0.1, 0.9)
            reach = setup.uniform(0.3, 0.8) if pair.unreachable else None
            silent_tail = setup.randint(3, 5) if pair.unreachable else 0
            transits: tuple[int, ...] = ()
            for family in ("ipv4", "ipv6"):
                if family == "ipv6" and not dst.ipv6:
                    continue
                if not transits or setup.random() >= 0.6:
                    # IPv6 often, not always, crosses the same networks as IPv4.
                    transits = transit_networks(setup, distance)
                other = transits
                while set(other) == set(transits):
                    other = transit_networks(setup, distance)
                near = ends[src.name][family]
                far = ends[dst.name][family][1][::-1]
                base = pair.base_ms[family]
                changes = list(shared)
                for _ in range(max(1, math.ceil(span / DAY))):
                    if setup.random() < ROUTE_CHANGES_PER_DAY * min(1.0, span / DAY):
                        begin = mesh.start + int(setup.uniform(0, span))
                        changes.append((begin, begin + int(setup.uniform(1, 8) * 3600)))
                path = partial(trace_path, setup, family, near, far)
                routes[(src.name, dst.name, family)] = Route(
                    primary=path(transits, distance, base),
                    alternative=path(other, distance, base),
                    changes=sorted(changes),
                    loss_share=loss_share,
                    reach=reach,
                    silent_tail=silent_tail,
                )
    return routes


def site_routers(
    rnd: random.Random, index: int
) -> dict[str, tuple[list[TraceHop], list[TraceHop]]]:
    """Per family, a site's private hops (its LAN, AS -2) and its border routers, outward.

    A path leaves a site through both, in order, and enters the destination's
    site through its border routers in the reverse order. Shares are set per path.
    """
    octet = index % 256
    asn = SITE_ASN_BASE + index
    private, border = rnd.choice((1, 1, 2)), rnd.randint(1, 3)
    # A home or campus gateway, then a carrier-grade NAT or campus core.
    lan_v4 = ((192, 168, octet), (10, octet, 0))
    lan_v6 = (0xFD, 0, 0, 0, 0, 0, 0, octet)  # a unique local /64
    border_v4 = (198, 51, octet)  # the site's own /24, as its monitor's address
    border_v6 = (0x20, 0x01, 0x0D, 0xB8, 0, octet, 0xFF, 0xFF)
    return {
        family: (
            [
                TraceHop(host_address(family, lan_v4[k], lan_v6, k + 1), AS_PRIVATE, 0.0)
                for k in range(private)
            ],
            [
                TraceHop(host_address(family, border_v4, border_v6, 254 - k), asn, 0.0)
                for k in range(border)
            ],
        )
        for family in ("ipv4", "ipv6")
    }


def transit_networks(rnd: random.Random, distance: float) -> tuple[int, ...]:
    """The transit networks of a path: one to three, more for a farther destination."""
    count = min(3, max(1, round(1 + distance / 6000 + rnd.uniform(-0.6, 0.6))))
    return tuple(rnd.sample(TRANSIT_ASNS, count))


def trace_path(
    rnd: random.Random,
    family: str,
    near: tuple[list[TraceHop], list[TraceHop]],
    far: list[TraceHop],
    transits: tuple[int, ...],
    distance: float,
    base_ms: float,
) -> list[TraceHop]:
    """The routers from a source to a destination through `transits`, with their shares.

    The sites' own networks take a millisecond or so at each end; the
    transit networks' routers, more of them the longer the path, sit at
    random points in between (an ocean crossing is one long hop). Now and
    then an exchange point (AS unknown) joins two transit networks, and one
    or two routers never answer.
    """
    per_network = [1] * len(transits)
    routers = round((2 + distance / 1500) * rnd.uniform(0.8, 1.25))
    for _ in range(routers - len(transits)):
        per_network[rnd.randrange(len(transits))] += 1
    middle: list[tuple[bytes | None, int]] = []
    for number, (asn, count) in enumerate(zip(transits, per_network, strict=True)):
        if number and rnd.random() < 0.2:
            # An exchange point's LAN: announced by no one.
            ixp_v4, ixp_v6 = (192, 0, 2), (0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0, 0)
            address = host_address(family, ixp_v4, ixp_v6, rnd.randint(1, 254))
            middle.append((address, AS_UNKNOWN))
        network = TRANSIT_ASNS.index(asn)
        # Transit networks number their routers from the benchmarking range (RFC 2544).
        net_v4, net_v6 = (198, 18, network), (0x20, 0x01, 0x0D, 0xB8, 0xFF, network, 0, 0)
        for host in rnd.sample(range(1, 255), count):
            middle.append((host_address(family, net_v4, net_v6, host), asn))
    for _ in range(rnd.choice((0, 0, 0, 1, 1, 2))):
        # A router that never answers, of a network another of whose routers does.
        answering = Counter(asn for address, asn in middle if address is not None)
        candidates = [
            number
            for number, (address, asn) in enumerate(middle)
            if address is not None and asn != AS_UNKNOWN and answering[asn] > 1
        ]
        if candidates:
            silent = rnd.choice(candidates)
            middle[silent] = (None, middle[silent][1])

    local = min(0.08, 1.5 / base_ms)  # the share of the round trip spent in each site's network
    lan, border = near
    outward = lan + border
    hops = [
        TraceHop(hop.address, hop.asn, local * (number + 1) / len(outward))
        for number, hop in enumerate(outward)
    ]
    shares = sorted(rnd.uniform(local, 1 - local) for _ in middle)
    hops += [
        TraceHop(address, asn, share) for (address, asn), share in zip(middle, shares, strict=True)
    ]
    hops += [
        TraceHop(hop.address, hop.asn, 1 - local + local * (number + 1) / (len(far) + 1))
        for number, hop in enumerate(far)
    ]
    return hops
