"""The simulated network: sites, what makes each path behave as it does, and its delay model.

A site sits at a place; the round trip between two sites follows their
great-circle distance, plus a diurnal load at the source, jitter and the
occasional level shift; loss comes in bursts; a few pairs are unreachable
and a few sites have no IPv6 address. The simulators (`simulators/`) draw
every test's measurements from this one model.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Well-known places to name the first sites after: (name, latitude, longitude).
PLACES = (
    ("amp-akl", -36.85, 174.76),
    ("amp-wlg", -41.29, 174.78),
    ("amp-chc", -43.53, 172.64),
    ("amp-syd", -33.87, 151.21),
    ("amp-sin", 1.35, 103.82),
    ("amp-tyo", 35.68, 139.69),
    ("amp-lax", 34.05, -118.24),
    ("amp-sjc", 37.34, -121.89),
    ("amp-nyc", 40.71, -74.01),
    ("amp-lon", 51.51, -0.13),
    ("amp-fra", 50.11, 8.68),
    ("amp-ams", 52.37, 4.90),
    ("amp-hkg", 22.32, 114.17),
    ("amp-sao", -23.55, -46.63),
    ("amp-jnb", -26.20, 28.05),
    ("amp-per", -31.95, 115.86),
    ("amp-ord", 41.88, -87.63),
    ("amp-sea", 47.61, -122.33),
)
DAY = 86400
#: The probe loss rate of a path outside its loss bursts.
BASE_LOSS = 0.002
MSS = 1460
#: A TCP transfer moves at most one window per round trip, and no more than the link.
THROUGHPUT_WINDOW_BYTES = 4 * 2**20
LINK_CAPACITY_BPS = 1e9
#: Address family numbers as the reports carry them: plain ints, as `nntsc.wire.decode` gives.
AF_INET = int(socket.AF_INET)
AF_INET6 = int(socket.AF_INET6)


@dataclass
class Site:
    name: str
    latitude: float
    longitude: float
    ipv4: list[bytes]
    ipv6: list[bytes]


@dataclass
class Pair:
    """What makes one source -> destination path behave as it does."""

    base_ms: dict[str, float]
    diurnal_ms: float
    jitter_ms: float
    unreachable: bool
    shifts: list[tuple[int, int, float]] = field(default_factory=list)
    loss_bursts: list[tuple[int, int, float]] = field(default_factory=list)


def host_address(
    family: str, v4_prefix: Sequence[int], v6_prefix: Sequence[int], host: int
) -> bytes:
    """Packed address of `host` (1..255) in a /24 (3 bytes) or a /64 (8 bytes) of `family`."""
    if family == "ipv4":
        return bytes([*v4_prefix, host])
    return bytes([*v6_prefix, 0, 0, 0, 0, 0, 0, 0, host])


def distance_km(a: Site, b: Site) -> float:
    """Great-circle distance between two sites."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def new_site(rnd: random.Random, index: int) -> Site:
    """Site `index`: named after a place while there are places, with its addresses."""
    if index < len(PLACES):
        name, latitude, longitude = PLACES[index]
    else:
        name = f"amp-site{index:03d}"
        latitude, longitude = rnd.uniform(-50, 60), rnd.uniform(-180, 180)
    ipv4 = [bytes([198, 51, index % 256, host]) for host in range(1, rnd.choice((2, 2, 3)))]
    # Roughly one site in five has no IPv6 address, as in real meshes.
    ipv6 = []
    if rnd.random() > 0.2:
        ipv6 = [bytes([0x20, 0x01, 0x0D, 0xB8, 0, index % 256] + [0] * 9 + [1])]
    return Site(name, latitude, longitude, ipv4, ipv6)


def new_pair(rnd: random.Random, src: Site, dst: Site, start: int, end: int) -> Pair:
    """A path's base delay, load, jitter and reachability, and its events in [start, end)."""
    base = 1.5 + distance_km(src, dst) / 75 * rnd.uniform(1.0, 1.4)
    pair = Pair(
        base_ms={"ipv4": base, "ipv6": base * rnd.uniform(0.95, 1.25)},
        diurnal_ms=rnd.uniform(0.2, 0.08 * base + 1),
        jitter_ms=rnd.uniform(0.05, 0.02 * base + 0.3),
        unreachable=rnd.random() < 0.03,
    )
    plant_events(rnd, pair, start, end)
    return pair


def plant_events(rnd: random.Random, pair: Pair, start: int, end: int) -> None:
    """Draw the pair's level shifts and loss bursts in [start, end), replacing any it had."""
    base = pair.base_ms["ipv4"]
    span = end - start
    pair.shifts, pair.loss_bursts = [], []
    for _ in range(rnd.choice((0, 0, 1, 1, 2))):
        begin = start + int(rnd.uniform(0, span))
        pair.shifts.append(
            (begin, begin + int(rnd.uniform(1, 30) * 3600), rnd.uniform(0.1, 0.6) * base + 3)
        )
    for _ in range(rnd.choice((0, 1, 2, 3))):
        begin = start + int(rnd.uniform(0, span))
        pair.loss_bursts.append(
            (begin, begin + int(rnd.uniform(5, 90) * 60), rnd.uniform(0.2, 1.0))
        )


def loss_rate(pair: Pair, timestamp: int) -> float:
    """The path's packet loss rate at `timestamp`: `BASE_LOSS` or its loss burst's."""
    loss = BASE_LOSS
    for begin, finish, rate in pair.loss_bursts:
        if begin <= timestamp < finish:
            loss = rate
    return loss


def load(src: Site, timestamp: int) -> float:
    """Diurnal load at the source, 0 (night) .. 1 (busiest hour)."""
    local_hour = (timestamp / 3600 + src.longitude / 15) % 24
    return (1 + math.sin(2 * math.pi * (local_hour - 8) / 24)) / 2


def delay_ms(
    src: Site,
    pair: Pair,
    family: str,
    timestamp: int,
    rnd: random.Random,
    jitter: bool = True,
) -> float:
    """One round trip (ms) on the path, with load, jitter and level shifts, never lost."""
    rtt = pair.base_ms[family] + pair.diurnal_ms * load(src, timestamp)
    if jitter:
        rtt += rnd.lognormvariate(0, 0.6) * pair.jitter_ms
    for begin, finish, delta in pair.shifts:
        if begin <= timestamp < finish:
            rtt += delta
    return rtt


def addresses(dst: Site) -> list[tuple[str, bytes, int]]:
    """(family, packed address, family number) of every address of `dst`, IPv4 first."""
    return [("ipv4", address, AF_INET) for address in dst.ipv4] + [
        ("ipv6", address, AF_INET6) for address in dst.ipv6
    ]
