"""A simulated AMP mesh: realistic ICMP latency between sites, through the real ingest path.

Each source reports every `interval` seconds on every destination over IPv4
and IPv6, as amplet2's ICMP test does. Latency follows the great-circle
distance, a diurnal load at the source, jitter, occasional level shifts;
loss comes in bursts; a few pairs are unreachable and a few destinations
have no IPv6 address at all. The same seed gives the same mesh.

`SimulatedMesh.test_reports` adds amplet2's other tests on the same paths
(TCPping, DNS, HTTP, throughput, UDPstream), each drawn from a random
stream of its own so that the ICMP reports stay those of `reports`: TCPping
answers a little slower than ICMP, a DNS server answers in about one round
trip, a page loads in a few round trips plus its transfer time, TCP
throughput is bounded by a 4 MB window per round trip (and a 1 Gbit/s
link) and collapses in loss bursts, and UDP streams see the path's delay,
jitter and loss.
"""

from __future__ import annotations

import heapq
import math
import random
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
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


#: The amplet2 tests `SimulatedMesh.test_reports` runs, in the order in which
#: the reports of one instant are yielded.
ALL_TESTS: tuple[str, ...] = ("icmp", "tcpping", "dns", "http", "throughput", "udpstream")
#: Seconds between two runs of a test at one source; ``None`` is the mesh's interval.
TEST_PERIODS: dict[str, int | None] = {
    "icmp": None,
    "tcpping": None,
    "dns": 300,
    "http": 600,
    "throughput": 3600,
    "udpstream": 1800,
}
TCPPING_PORT = 443
#: The public resolver every source also asks, recursively, and what it asks.
DNS_RESOLVER = "8.8.8.8"
DNS_RECURSIVE_QUERY = "www.example.com"
DNS_UDP_PAYLOAD_SIZE = 4096
THROUGHPUT_SCHEDULE = "t10000,T10000"
THROUGHPUT_WRITE_SIZE = 131072
#: A TCP transfer moves at most one window per round trip, and no more than the link.
THROUGHPUT_WINDOW_BYTES = 4 * 2**20
LINK_CAPACITY_BPS = 1e9
UDPSTREAM_PACKET_COUNT = 100
UDPSTREAM_PACKET_SIZE = 100
UDPSTREAM_PACKET_SPACING_US = 20_000
UDPSTREAM_RTT_SAMPLES = 10
#: The probe loss rate of a path outside its loss bursts (as `_rtt_us` uses).
BASE_LOSS = 0.002
MSS = 1460
#: (name, extension, smallest, largest size) of the objects a simulated page embeds.
PAGE_OBJECTS = (
    ("style", "css", 2_000, 40_000),
    ("app", "js", 5_000, 250_000),
    ("icon", "png", 1_000, 30_000),
    ("photo", "jpg", 20_000, 400_000),
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


def dns_query_length(query: str) -> int:
    """Bytes of a DNS query for `query` with an EDNS0 OPT record, as amplet2 sends it."""
    name = sum(len(label) + 1 for label in query.split(".") if label) + 1
    return 12 + name + 4 + 11


def nearest_rank_deciles(ordered: Sequence[int]) -> list[int]:
    """The ten deciles of sorted values by nearest rank; the values themselves if fewer."""
    count = len(ordered)
    if count <= 10:
        return list(ordered)
    return [ordered[-(-k * count // 10) - 1] for k in range(1, 11)]


def voip_scores(one_way_ms: float, loss_percent: float) -> dict[str, Any]:
    """ITU-T G.107 E-model rating and MOS of a G.711 call (and Cisco's ICPIF) for a path."""
    delay_impairment = 0.024 * one_way_ms
    if one_way_ms > 177.3:
        delay_impairment += 0.11 * (one_way_ms - 177.3)
    loss_impairment = 95 * loss_percent / (loss_percent + 25.1)
    rating = 93.2 - delay_impairment - loss_impairment

    def mos(r: float) -> float:
        if r <= 0:
            return 1.0
        if r >= 100:
            return 4.5
        return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)

    icpif = round(delay_impairment + loss_impairment)
    return {
        "icpif": icpif,
        "cisco_mos": round(mos(100 - icpif), 3),
        "itu_rating": round(rating, 3),
        "itu_mos": round(mos(rating), 3),
    }


class SimulatedMesh:
    """A deterministic AMP mesh of `sites` sites between `start` and `end`."""

    def __init__(self, sites: int, start: int, end: int, interval: int = 60, seed: int = 1) -> None:
        self.random = random.Random(seed)
        self.seed = seed
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

    # -- the other amplet2 tests ----------------------------------------------------

    def test_period(self, test: str) -> int:
        """Seconds between two runs of `test` at one source."""
        try:
            period = TEST_PERIODS[test]
        except KeyError:
            raise ValueError(f"unknown test {test!r} (known: {', '.join(ALL_TESTS)})") from None
        return self.interval if period is None else period

    def _run_times(self, test: str) -> range:
        """The instants `test` runs at: its period's multiples strictly inside (start, end)."""
        period = self.test_period(test)
        first = self.start - self.start % period + period
        return range(first, self.end, period)

    def test_reports(
        self, tests: Sequence[str] = ALL_TESTS
    ) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
        """(test, source, timestamp, report) of every run of `tests`, in time order.

        At one instant the tests come in `ALL_TESTS` order, then the sources
        in site order (then the destinations, for a test that reports on one
        target per run). Each report has the shape `nntsc.wire.decode`
        returns; ICMP's are those of `report` and, on a fresh mesh, the same
        as `reports` yields (both draw from the mesh's own random stream).
        The other tests draw from streams of their own, seeded from the
        mesh's seed and the test's name, so what one test reports does not
        depend on which other tests run.
        """
        wanted = [test for test in ALL_TESTS if test in set(tests)]
        for test in tests:
            self.test_period(test)  # ValueError for an unknown test
        builders = {
            "icmp": lambda src, timestamp, _rnd: [self.report(src, timestamp)],
            "tcpping": self._tcpping_reports,
            "dns": self._dns_reports,
            "http": self._http_reports,
            "throughput": self._throughput_reports,
            "udpstream": self._udpstream_reports,
        }
        streams = {test: random.Random(f"{self.seed}:{test}") for test in wanted}
        runs = heapq.merge(
            *(
                ((timestamp, ALL_TESTS.index(test), test) for timestamp in self._run_times(test))
                for test in wanted
            )
        )
        for timestamp, _, test in runs:
            build, rnd = builders[test], streams[test]
            for src in self.sites:
                for report in build(src, timestamp, rnd):
                    yield test, src.name, timestamp, report

    def test_count(self, tests: Sequence[str] = ALL_TESTS) -> int:
        """How many reports `test_reports(tests)` yields."""
        per_run = {
            "icmp": len(self.sites),
            "tcpping": sum(1 for src in self.sites if self._others(src)),
            "dns": sum(len(self._others(src)) + 1 for src in self.sites),
            "http": sum(len(targets) for targets in self._plan["http"].values()),
            "throughput": sum(len(targets) for targets in self._plan["throughput"].values()),
            "udpstream": sum(len(targets) for targets in self._plan["udpstream"].values()),
        }
        return sum(
            per_run[test] * len(self._run_times(test)) for test in ALL_TESTS if test in set(tests)
        )

    def _others(self, src: Site) -> list[Site]:
        return [dst for dst in self.sites if dst is not src]

    @cached_property
    def _plan(self) -> dict[str, Any]:
        """Who tests whom, the pages served and each source's resolver: fixed for a mesh."""
        plan: dict[str, Any] = {}
        setup = random.Random(f"{self.seed}:http:setup")
        plan["http"] = {
            src.name: self._pick(setup, self._others(src), setup.choice((2, 3)))
            for src in self.sites
        }
        pages = {}
        for site in self.sites:
            objects = []
            for number in range(setup.randint(4, 14)):
                name, extension, smallest, largest = setup.choice(PAGE_OBJECTS)
                size = int(math.exp(setup.uniform(math.log(smallest), math.log(largest))))
                objects.append((f"/static/{name}{number}.{extension}", size))
            pages[site.name] = (setup.randint(15_000, 90_000), objects)
        plan["pages"] = pages
        setup = random.Random(f"{self.seed}:throughput:setup")
        plan["throughput"] = {
            src.name: self._pick(setup, self._others(src), setup.choice((1, 2)))
            for src in self.sites
        }
        setup = random.Random(f"{self.seed}:udpstream:setup")
        plan["udpstream"] = {
            src.name: self._pick(setup, self._others(src), 1) for src in self.sites
        }
        setup = random.Random(f"{self.seed}:dns:setup")
        # The public resolver is anycast: a nearby instance, a few to 25 ms away.
        plan["resolver_ms"] = {src.name: setup.uniform(1.5, 25) for src in self.sites}
        return plan

    def _pick(self, rnd: random.Random, candidates: list[Site], count: int) -> list[Site]:
        """`count` of `candidates` (all if fewer), in site order."""
        chosen = rnd.sample(candidates, min(count, len(candidates)))
        return [site for site in self.sites if any(site is c for c in chosen)]

    # The pair model, drawn from a given random stream (`_rtt_us` keeps the mesh's own).

    @staticmethod
    def _loss_rate(pair: Pair, timestamp: int) -> float:
        """The path's packet loss rate at `timestamp`: `BASE_LOSS` or its loss burst's."""
        loss = BASE_LOSS
        for begin, finish, rate in pair.loss_bursts:
            if begin <= timestamp < finish:
                loss = rate
        return loss

    @staticmethod
    def _load(src: Site, timestamp: int) -> float:
        """Diurnal load at the source, 0 (night) .. 1 (busiest hour)."""
        local_hour = (timestamp / 3600 + src.longitude / 15) % 24
        return (1 + math.sin(2 * math.pi * (local_hour - 8) / 24)) / 2

    def _delay_ms(
        self, src: Site, pair: Pair, family: str, timestamp: int, rnd: random.Random
    ) -> float:
        """One round trip (ms) on the path, with load, jitter and level shifts, never lost."""
        rtt = pair.base_ms[family] + pair.diurnal_ms * self._load(src, timestamp)
        rtt += rnd.lognormvariate(0, 0.6) * pair.jitter_ms
        for begin, finish, delta in pair.shifts:
            if begin <= timestamp < finish:
                rtt += delta
        return rtt

    @staticmethod
    def _addresses(dst: Site) -> list[tuple[str, bytes, int]]:
        """(family, packed address, AF_*) of every address of `dst`, IPv4 first."""
        return [("ipv4", address, socket.AF_INET) for address in dst.ipv4] + [
            ("ipv6", address, socket.AF_INET6) for address in dst.ipv6
        ]

    # -- tcpping: a SYN to port 443 of every address of every other site -------------

    def _tcpping_reports(
        self, src: Site, timestamp: int, rnd: random.Random
    ) -> list[dict[str, Any]]:
        items = []
        for dst in self._others(src):
            pair = self.pairs[(src.name, dst.name)]
            for family, address, af in self._addresses(dst):
                item: dict[str, Any] = {"address": address, "family": af, "name": dst.name}
                if not pair.unreachable and rnd.random() >= self._loss_rate(pair, timestamp):
                    # The SYN-ACK comes from the kernel: a touch slower than an echo reply.
                    rtt = self._delay_ms(src, pair, family, timestamp, rnd)
                    rtt += rnd.uniform(0.02, 0.25)
                    item["rtt"] = max(1, int(rtt * 1000))
                    item["flags"] = {
                        "fin": False,
                        "syn": True,
                        "rst": False,
                        "psh": False,
                        "ack": True,
                        "urg": False,
                    }
                items.append(item)
        if not items:
            return []  # a mesh of one site: nothing to probe
        header = {"packet_size": 64, "random": False, "port": TCPPING_PORT, "dscp": 0}
        return [{"header": header, "reports": items}]
