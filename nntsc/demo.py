"""A simulated AMP mesh: realistic ICMP latency between sites, through the real ingest path.

Each source reports every `interval` seconds on every destination over IPv4
and IPv6, as amplet2's ICMP test does. Latency follows the great-circle
distance, a diurnal load at the source, jitter, occasional level shifts;
loss comes in bursts; a few pairs are unreachable and a few destinations
have no IPv6 address at all. The same seed gives the same mesh.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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


def distance_km(a: Site, b: Site) -> float:
    """Great-circle distance between two sites."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


class SimulatedMesh:
    """A deterministic AMP mesh of `sites` sites between `start` and `end`."""

    def __init__(self, sites: int, start: int, end: int, interval: int = 60, seed: int = 1) -> None:
        self.random = random.Random(seed)
        self.start = start
        self.end = end
        self.interval = interval
        self.sites = [self._site(index) for index in range(sites)]
        self.pairs = {
            (src.name, dst.name): self._pair(src, dst)
            for src in self.sites
            for dst in self.sites
            if src is not dst
        }

    def _site(self, index: int) -> Site:
        rnd = self.random
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

    def _pair(self, src: Site, dst: Site) -> Pair:
        rnd = self.random
        base = 1.5 + distance_km(src, dst) / 75 * rnd.uniform(1.0, 1.4)
        pair = Pair(
            base_ms={"ipv4": base, "ipv6": base * rnd.uniform(0.95, 1.25)},
            diurnal_ms=rnd.uniform(0.2, 0.08 * base + 1),
            jitter_ms=rnd.uniform(0.05, 0.02 * base + 0.3),
            unreachable=rnd.random() < 0.03,
        )
        span = self.end - self.start
        for _ in range(rnd.choice((0, 0, 1, 1, 2))):
            begin = self.start + int(rnd.uniform(0, span))
            pair.shifts.append(
                (begin, begin + int(rnd.uniform(1, 30) * 3600), rnd.uniform(0.1, 0.6) * base + 3)
            )
        for _ in range(rnd.choice((0, 1, 2, 3))):
            begin = self.start + int(rnd.uniform(0, span))
            pair.loss_bursts.append(
                (begin, begin + int(rnd.uniform(5, 90) * 60), rnd.uniform(0.2, 1.0))
            )
        return pair

    def _rtt_us(self, src: Site, pair: Pair, family: str, timestamp: int) -> int | None:
        rnd = self.random
        if pair.unreachable:
            return None
        loss = 0.002
        for begin, finish, rate in pair.loss_bursts:
            if begin <= timestamp < finish:
                loss = rate
        if rnd.random() < loss:
            return None
        local_hour = (timestamp / 3600 + src.longitude / 15) % 24
        load = (1 + math.sin(2 * math.pi * (local_hour - 8) / 24)) / 2
        rtt = pair.base_ms[family] + pair.diurnal_ms * load
        rtt += rnd.lognormvariate(0, 0.6) * pair.jitter_ms
        for begin, finish, delta in pair.shifts:
            if begin <= timestamp < finish:
                rtt += delta
        return max(1, int(rtt * 1000))

    def reports(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(source, timestamp, ICMP report) in time order, one report per source and interval."""
        first = self.start - self.start % self.interval + self.interval
        for timestamp in range(first, self.end, self.interval):
            for src in self.sites:
                yield src.name, timestamp, self.report(src, timestamp)

    def report(self, src: Site, timestamp: int) -> dict[str, Any]:
        """One amplet2-shaped ICMP report of `src` at `timestamp`."""
        items = []
        for dst in self.sites:
            if dst is src:
                continue
            pair = self.pairs[(src.name, dst.name)]
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
                            "rtt": self._rtt_us(src, pair, family, timestamp),
                            "err_type": None,
                            "err_code": None,
                            "ttl": None,
                        }
                    )
        return {"header": {"packet_size": 84, "random": False, "dscp": 0}, "reports": items}

    def count(self) -> int:
        """How many reports `reports()` yields."""
        first = self.start - self.start % self.interval + self.interval
        return len(range(first, self.end, self.interval)) * len(self.sites)
