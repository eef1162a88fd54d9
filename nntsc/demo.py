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
jitter and loss. Every 15 minutes each source traceroutes every other site
(traceroute, with hop addresses and AS numbers): a path leaves through a
private hop or two and the source's own network, crosses one to three
transit networks (more the farther the destination) and enters the
destination's network; its hops answer at growing round trips up to the
path's, some routers never answer, a path is now and then rerouted through
other transit networks for some hours, and an unreachable destination's
path ends in silence.
"""

from __future__ import annotations

import heapq
import ipaddress
import math
import random
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import pairwise
from typing import Any

from nntsc.store.sites import MeshInfo, SiteInfo

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
ALL_TESTS: tuple[str, ...] = (
    "icmp",
    "tcpping",
    "dns",
    "http",
    "throughput",
    "udpstream",
    "traceroute",
)
#: Seconds between two runs of a test at one source; ``None`` is the mesh's interval.
TEST_PERIODS: dict[str, int | None] = {
    "icmp": None,
    "tcpping": None,
    "dns": 300,
    "http": 600,
    "throughput": 3600,
    "udpstream": 1800,
    "traceroute": 900,
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
#: amplet2's traceroute settings: 60-byte probes, recording hop addresses and AS numbers.
TRACEROUTE_HEADER: dict[str, Any] = {
    "packet_size": 60,
    "random": False,
    "ip": True,
    "asn": True,
    "dscp": 0,
}
#: The transit networks' AS numbers: those reserved for documentation (RFC 5398).
TRANSIT_ASNS: tuple[int, ...] = (*range(64496, 64512), *range(65536, 65552))
#: Site i's own network is AS ``SITE_ASN_BASE + i``, from the private-use range (RFC 6996).
SITE_ASN_BASE = 4_200_000_000
#: amplet2's AS numbers for a hop of no known AS, and for a private address.
AS_UNKNOWN = 0
AS_PRIVATE = -2
#: How often, per path and day, a route moves to its alternative transit networks for a while.
ROUTE_CHANGES_PER_DAY = 0.05
DAY = 86400
#: The probe loss rate of a path outside its loss bursts (as `_rtt_us` uses).
BASE_LOSS = 0.002
MSS = 1460
#: Address family numbers as the reports carry them: plain ints, as `nntsc.wire.decode` gives.
AF_INET = int(socket.AF_INET)
AF_INET6 = int(socket.AF_INET6)
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
            "traceroute": self._traceroute_reports,
        }
        streams = {test: random.Random(f"{self.seed}:{test}") for test in wanted}
        runs = heapq.merge(*(self._runs(test) for test in wanted))
        for timestamp, _, test in runs:
            build, rnd = builders[test], streams[test]
            for src in self.sites:
                for report in build(src, timestamp, rnd):
                    yield test, src.name, timestamp, report

    def _runs(self, test: str) -> Iterator[tuple[int, int, str]]:
        """(timestamp, rank, test) of each run of `test`; rank orders the tests of an instant."""
        rank = ALL_TESTS.index(test)
        for timestamp in self._run_times(test):
            yield timestamp, rank, test

    def test_count(self, tests: Sequence[str] = ALL_TESTS) -> int:
        """How many reports `test_reports(tests)` yields."""
        per_run = {
            "icmp": len(self.sites),
            "tcpping": sum(1 for src in self.sites if self._others(src)),
            "dns": sum(len(self._others(src)) + 1 for src in self.sites),
            "http": sum(len(targets) for targets in self._plan["http"].values()),
            "throughput": sum(len(targets) for targets in self._plan["throughput"].values()),
            "udpstream": sum(len(targets) for targets in self._plan["udpstream"].values()),
            "traceroute": sum(1 for src in self.sites if self._others(src)),
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
        self,
        src: Site,
        pair: Pair,
        family: str,
        timestamp: int,
        rnd: random.Random,
        jitter: bool = True,
    ) -> float:
        """One round trip (ms) on the path, with load, jitter and level shifts, never lost."""
        rtt = pair.base_ms[family] + pair.diurnal_ms * self._load(src, timestamp)
        if jitter:
            rtt += rnd.lognormvariate(0, 0.6) * pair.jitter_ms
        for begin, finish, delta in pair.shifts:
            if begin <= timestamp < finish:
                rtt += delta
        return rtt

    @staticmethod
    def _addresses(dst: Site) -> list[tuple[str, bytes, int]]:
        """(family, packed address, family number) of every address of `dst`, IPv4 first."""
        return [("ipv4", address, AF_INET) for address in dst.ipv4] + [
            ("ipv6", address, AF_INET6) for address in dst.ipv6
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

    # -- dns: each other site's name server, and a public resolver --------------------

    @staticmethod
    def _dns_header(query: str, recurse: bool) -> dict[str, Any]:
        return {
            "query_type": 1,
            "query_class": 1,
            "udp_payload_size": DNS_UDP_PAYLOAD_SIZE,
            "recurse": recurse,
            "dnssec": False,
            "nsid": False,
            "query": query,
            "dscp": 0,
        }

    @staticmethod
    def _dns_flags(authoritative: bool) -> dict[str, Any]:
        return {
            "qr": True,
            "opcode": 0,
            "aa": authoritative,
            "tc": False,
            "rd": not authoritative,
            "ra": not authoritative,
            "z": False,
            "ad": False,
            "cd": False,
            "rcode": 0,
        }

    def _dns_reports(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        """One report per query: each other site's name server, then the public resolver."""
        reports = []
        for dst in self._others(src):
            query = f"www.{dst.name}.example"
            length = dns_query_length(query)
            pair = self.pairs[(src.name, dst.name)]
            items = []
            for family, address, af in self._addresses(dst):
                item: dict[str, Any] = {
                    "address": address,
                    "family": af,
                    "query_length": length,
                    "name": dst.name,
                }
                if not pair.unreachable and rnd.random() >= self._loss_rate(pair, timestamp):
                    # One round trip plus a moment for the server to look the name up.
                    rtt = self._delay_ms(src, pair, family, timestamp, rnd)
                    rtt += rnd.uniform(0.03, 0.4)
                    item.update(
                        rtt=max(1, int(rtt * 1000)),
                        # The A record, an NS record for the zone and its glue (and OPT).
                        response_size=length + 16 + 17 + 16,
                        total_answer=1,
                        total_authority=1,
                        total_additional=2,
                        flags=self._dns_flags(authoritative=True),
                    )
                items.append(item)
            reports.append({"header": self._dns_header(query, recurse=False), "reports": items})

        length = dns_query_length(DNS_RECURSIVE_QUERY)
        item = {
            "address": socket.inet_pton(socket.AF_INET, DNS_RESOLVER),
            "family": AF_INET,
            "query_length": length,
            "name": DNS_RESOLVER,
        }
        if rnd.random() >= BASE_LOSS:
            rtt = self._plan["resolver_ms"][src.name] * rnd.uniform(0.95, 1.1)
            rtt += rnd.lognormvariate(0, 0.6) * 0.3
            if rnd.random() < 0.1:
                rtt += rnd.uniform(10, 150)  # not cached: the resolver asks upstream first
            item.update(
                rtt=max(1, int(rtt * 1000)),
                response_size=length + 16,
                total_answer=1,
                total_authority=0,
                total_additional=1,
                flags=self._dns_flags(authoritative=False),
            )
        header = self._dns_header(DNS_RECURSIVE_QUERY, recurse=True)
        reports.append({"header": header, "reports": [item]})
        return reports

    # -- http: a page with its objects from 2 or 3 other sites' web servers -----------

    def _http_reports(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        return [self._http_fetch(src, dst, timestamp, rnd) for dst in self._plan["http"][src.name]]

    def _http_fetch(
        self, src: Site, dst: Site, timestamp: int, rnd: random.Random
    ) -> dict[str, Any]:
        """One page fetch over HTTPS (IPv6 where the server has it), timed as curl does."""
        host = f"www.{dst.name}.example"
        if dst.ipv6:
            family, address = "ipv6", socket.inet_ntop(socket.AF_INET6, dst.ipv6[0])
        else:
            family, address = "ipv4", socket.inet_ntop(socket.AF_INET, dst.ipv4[0])
        pair = self.pairs[(src.name, dst.name)]
        loss = self._loss_rate(pair, timestamp)
        rtt = self._delay_ms(src, pair, family, timestamp, rnd) / 1000
        timeout = max(0.2, 2 * rtt)  # a retransmission timeout
        window_rate = THROUGHPUT_WINDOW_BYTES * 8 / rtt
        bandwidth = min(LINK_CAPACITY_BPS, window_rate) * rnd.uniform(0.2, 0.8)

        def handshake() -> float | None:
            """Seconds until the TCP connection is up; None when every SYN is lost."""
            waited = 0.0
            for backoff in (1.0, 2.0, 4.0):
                if not pair.unreachable and rnd.random() >= loss:
                    return waited + rtt
                waited += backoff
            return None

        def exchange() -> float:
            """One request and its answer, with a timeout when either is lost."""
            return rtt + (timeout if rnd.random() < loss else 0.0)

        def transfer(size: int, cwnd: int) -> tuple[float, int]:
            """Seconds to receive `size` bytes in slow start from `cwnd`; the new cwnd."""
            seconds = size * 8 / bandwidth
            sent = cwnd
            while sent < size:
                seconds += rtt
                if rnd.random() < 1 - (1 - loss) ** (cwnd / MSS):
                    seconds += timeout
                    cwnd = max(2 * MSS, cwnd // 2)
                else:
                    cwnd = min(THROUGHPUT_WINDOW_BYTES, cwnd * 2)
                sent += cwnd
            return seconds, cwnd

        main_size, embedded = self._plan["pages"][dst.name]
        lookup = rnd.uniform(0.0005, 0.02)
        objects: list[dict[str, Any]] = []

        def record(
            path: str,
            begin: float,
            timings: tuple[float, float, float, float],
            code: int,
            size: int,
            connects: int,
        ) -> float:
            """Add one object; return when it finished (seconds from the test's start)."""
            looked, connected, first_byte, total = timings
            # The page itself is made afresh; what it embeds is kept for a year.
            cache = {"max_age": 0, "no_cache": True}
            if path != "/":
                cache = {"max_age": 31_536_000, "pub": True}
            objects.append(
                {
                    "path": path,
                    "start": round(timestamp + begin, 6),
                    "end": round(timestamp + begin + total, 6),
                    "lookup": round(looked, 6),
                    "connect": round(connected, 6),
                    "start_transfer": round(first_byte, 6),
                    "total_time": round(total, 6),
                    "code": code,
                    "size": size,
                    "connect_count": connects,
                    "cache_headers": cache,
                }
            )
            return begin + total

        connected = handshake()
        if connected is None:
            # Nothing answered: curl gives up on the page after the SYN retries.
            finished = record("/", 0.0, (lookup, 0.0, 0.0, lookup + 7.0), 0, 0, 1)
        else:
            connect = lookup + connected
            # The TLS handshake, then the request; the page is made as it is asked for.
            first_byte = connect + exchange() + exchange() + rnd.uniform(0.005, 0.08)
            size = max(1000, main_size + rnd.randint(-300, 300))
            seconds, cwnd = transfer(size, 10 * MSS)
            finished = record(
                "/", 0.0, (lookup, connect, first_byte, first_byte + seconds), 200, size, 1
            )
            # The embedded objects, over the page's connection and a second one.
            connections: list[list[Any]] = [[finished, cwnd, True], [finished, 10 * MSS, False]]
            for path, size in embedded:
                slot = min(connections, key=lambda c: c[0])
                begin, cwnd, up = slot
                connect, connects, first_byte = 0.0, 0, 0.0
                if not up:
                    new = handshake()
                    if new is None:
                        finished = max(finished, record(path, begin, (0.0, 0.0, 0.0, 7.0), 0, 0, 1))
                        connections.remove(slot)
                        continue
                    # A new connection: TCP, then the TLS handshake.
                    connect, connects = new, 1
                    first_byte = connect + exchange()
                first_byte += exchange() + rnd.uniform(0.0005, 0.005)
                seconds, cwnd = transfer(size, cwnd)
                total = first_byte + seconds
                end = record(path, begin, (0.0, connect, first_byte, total), 200, size, connects)
                slot[:] = [end, cwnd, True]
                finished = max(finished, end)

        fetched = sum(obj["size"] for obj in objects)
        server = {
            "hostname": host,
            "start": round(float(timestamp), 6),
            "end": round(timestamp + finished, 6),
            "address": address,
            "total_bytes": fetched,
            "objects": objects,
        }
        header = {
            "url": f"https://{host}/",
            "duration": round(finished * 1000),
            "total_bytes": fetched,
            "total_objects": len(objects),
            "max_connections": 24,
            "max_connections_per_server": 8,
            "pipelining_maxrequests": 4,
            "max_persistent_connections_per_server": 2,
            "persist": True,
            "pipelining": False,
            "caching": False,
            "dscp": 0,
            "useragent": "AMP HTTP test agent",
        }
        return {"header": header, "servers": [server]}

    # -- throughput: "t10000,T10000" to one or two other sites ------------------------

    def _throughput_reports(
        self, src: Site, timestamp: int, rnd: random.Random
    ) -> list[dict[str, Any]]:
        return [
            self._throughput_run(src, dst, timestamp, rnd)
            for dst in self._plan["throughput"][src.name]
        ]

    def _throughput_run(
        self, src: Site, dst: Site, timestamp: int, rnd: random.Random
    ) -> dict[str, Any]:
        """Ten seconds in (server to monitor), then ten out, over IPv4.

        A transfer moves one 4 MB window per round trip, at most the 1 Gbit/s
        link less a little for the busy hours; in a loss burst TCP's rate
        falls to about MSS / rtt * 1.22 / sqrt(loss) (Mathis et al.). A
        report without items is a run that could not connect.
        """
        pair = self.pairs[(src.name, dst.name)]
        loss = self._loss_rate(pair, timestamp)
        header = {
            "address": dst.ipv4[0],
            "family": AF_INET,
            "schedule": THROUGHPUT_SCHEDULE,
            "write_size": THROUGHPUT_WRITE_SIZE,
            "name": dst.name,
            "dscp": 0,
            "protocol": 0,
        }
        items = []
        if not pair.unreachable and rnd.random() >= loss**3:
            for direction in (1, 2):  # t10000 is server to client, T10000 client to server
                rtt_ms = self._delay_ms(src, pair, "ipv4", timestamp, rnd)
                rtt = rtt_ms / 1000
                rate = min(LINK_CAPACITY_BPS, THROUGHPUT_WINDOW_BYTES * 8 / rtt)
                rate *= rnd.uniform(0.85, 0.97) * (1 - 0.25 * self._load(src, timestamp))
                if loss > BASE_LOSS:
                    mathis = MSS * 8 / rtt * 1.22 / math.sqrt(loss)
                    rate = min(rate, mathis * rnd.uniform(0.7, 1.1))
                duration = 10 * 10**9 + int(rnd.uniform(0.5, 2.0) * rtt * 1e9)
                size = max(MSS, int(rate * duration / 8e9))
                if loss > BASE_LOSS:
                    retransmits = int(size / MSS * loss * rnd.uniform(0.5, 1.5))
                else:
                    retransmits = rnd.randint(0, 40)
                floor_us = int(pair.base_ms["ipv4"] * 1000)
                items.append(
                    {
                        "duration": duration,
                        "bytes": size,
                        "direction": direction,
                        "tcpinfo": {
                            "delivery_rate": int(rate / 8 * rnd.uniform(0.95, 1.08)),
                            "total_retrans": retransmits,
                            # Under load the queue at the bottleneck adds to the round trip.
                            "rtt": int(rtt_ms * 1000 * rnd.uniform(1.05, 1.5)),
                            "rttvar": int(pair.jitter_ms * 1000 * rnd.uniform(0.5, 2.0)) + 50,
                            "busy_time": duration // 1000,
                            "min_rtt": min(floor_us, int(rtt_ms * 1000)),
                        },
                    }
                )
        return {"header": header, "reports": items}

    # -- udpstream: 100 packets of 100 bytes every 20 ms, both ways, to one other site -

    def _udpstream_reports(
        self, src: Site, timestamp: int, rnd: random.Random
    ) -> list[dict[str, Any]]:
        return [
            self._udpstream_run(src, dst, timestamp, rnd)
            for dst in self._plan["udpstream"][src.name]
        ]

    def _udpstream_run(
        self, src: Site, dst: Site, timestamp: int, rnd: random.Random
    ) -> dict[str, Any]:
        """A stream out (monitor to server), then one in; a report without items could not run."""
        pair = self.pairs[(src.name, dst.name)]
        loss = self._loss_rate(pair, timestamp)
        header = {
            "address": dst.ipv4[0],
            "family": AF_INET,
            "packet_size": UDPSTREAM_PACKET_SIZE,
            "packet_spacing": UDPSTREAM_PACKET_SPACING_US,
            "packet_count": UDPSTREAM_PACKET_COUNT,
            "name": dst.name,
            "dscp": 0,
            "rtt_samples": UDPSTREAM_RTT_SAMPLES,
        }
        items = []
        if not pair.unreachable and rnd.random() >= loss**3:
            for direction in (2, 1):
                items.append(self._udpstream_item(src, pair, timestamp, rnd, direction, loss))
        return {"header": header, "reports": items}

    def _udpstream_item(
        self,
        src: Site,
        pair: Pair,
        timestamp: int,
        rnd: random.Random,
        direction: int,
        loss: float,
    ) -> dict[str, Any]:
        """What the receiver of one direction saw; rtt and MOS for the stream in (1) only."""
        base_ms = self._delay_ms(src, pair, "ipv4", timestamp, rnd, jitter=False) / 2
        delays = []  # one-way delays (us) of the packets that arrived, in sending order
        periods: list[dict[str, Any]] = []
        lost = False
        for _ in range(UDPSTREAM_PACKET_COUNT):
            # Losses come in runs: a lost packet makes the next one likelier to go too.
            lost = rnd.random() < (max(loss, 0.3) if lost else loss)
            if not lost:
                delay = base_ms + rnd.lognormvariate(0, 0.6) * pair.jitter_ms / 2
                delays.append(int(delay * 1000))
            status = 0 if lost else 1
            if periods and periods[-1]["status"] == status:
                periods[-1]["length"] += 1
            else:
                periods.append({"status": status, "length": 1})
        received = len(delays)
        item: dict[str, Any] = {
            "direction": direction,
            "percentiles": [],
            "packets_received": received,
            "loss_periods": periods,
            "loss_percent": 100 * (UDPSTREAM_PACKET_COUNT - received) / UDPSTREAM_PACKET_COUNT,
        }
        if direction == 1:
            rtts = [
                int(self._delay_ms(src, pair, "ipv4", timestamp, rnd) * 1000)
                for _ in range(UDPSTREAM_RTT_SAMPLES)
                if rnd.random() >= loss
            ]
            if rtts:
                item["rtt"] = {
                    "maximum": max(rtts),
                    "minimum": min(rtts),
                    "mean": round(sum(rtts) / len(rtts)),
                    "samples": len(rtts),
                }
        variations = [later - earlier for earlier, later in pairwise(delays)]
        if variations:
            item["jitter"] = {
                "maximum": max(variations),
                "minimum": min(variations),
                "mean": round(sum(variations) / len(variations)),
                "samples": len(variations),
            }
            item["percentiles"] = nearest_rank_deciles(sorted(variations))
        if direction == 1 and received:
            one_way_ms = sum(delays) / received / 1000
            item["voip"] = voip_scores(one_way_ms, item["loss_percent"])
        return item

    # -- traceroute: every address of every other site, hop addresses and AS numbers --

    @cached_property
    def routes(self) -> dict[tuple[str, str, str], Route]:
        """The traceroute paths of each (source, destination, family): fixed for a mesh.

        Drawn from a setup stream of their own, in site order, so that the
        paths do not depend on which tests run or in which order.
        """
        setup = random.Random(f"{self.seed}:traceroute:setup")
        ends = {site.name: self._site_routers(setup, i) for i, site in enumerate(self.sites)}
        span = self.end - self.start
        routes = {}
        for src in self.sites:
            for dst in self._others(src):
                pair = self.pairs[(src.name, dst.name)]
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
                        transits = self._transits(setup, distance)
                    other = transits
                    while set(other) == set(transits):
                        other = self._transits(setup, distance)
                    near = ends[src.name][family]
                    far = ends[dst.name][family][1][::-1]
                    base = pair.base_ms[family]
                    changes = list(shared)
                    for _ in range(max(1, math.ceil(span / DAY))):
                        if setup.random() < ROUTE_CHANGES_PER_DAY * min(1.0, span / DAY):
                            begin = self.start + int(setup.uniform(0, span))
                            changes.append((begin, begin + int(setup.uniform(1, 8) * 3600)))
                    path = partial(self._trace_path, setup, family, near, far)
                    routes[(src.name, dst.name, family)] = Route(
                        primary=path(transits, distance, base),
                        alternative=path(other, distance, base),
                        changes=sorted(changes),
                        loss_share=loss_share,
                        reach=reach,
                        silent_tail=silent_tail,
                    )
        return routes

    @cached_property
    def _site_asns(self) -> dict[str, int]:
        """Each site's own AS number."""
        return {site.name: SITE_ASN_BASE + index for index, site in enumerate(self.sites)}

    @staticmethod
    def _site_routers(
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

    @staticmethod
    def _transits(rnd: random.Random, distance: float) -> tuple[int, ...]:
        """The transit networks of a path: one to three, more for a farther destination."""
        count = min(3, max(1, round(1 + distance / 6000 + rnd.uniform(-0.6, 0.6))))
        return tuple(rnd.sample(TRANSIT_ASNS, count))

    @staticmethod
    def _trace_path(
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
            TraceHop(address, asn, share)
            for (address, asn), share in zip(middle, shares, strict=True)
        ]
        hops += [
            TraceHop(hop.address, hop.asn, 1 - local + local * (number + 1) / (len(far) + 1))
            for number, hop in enumerate(far)
        ]
        return hops

    def _traceroute_reports(
        self, src: Site, timestamp: int, rnd: random.Random
    ) -> list[dict[str, Any]]:
        """One report on every address of every other site, as amplet2 sends it."""
        items = []
        for dst in self._others(src):
            pair = self.pairs[(src.name, dst.name)]
            for family, address, af in self._addresses(dst):
                route = self.routes[(src.name, dst.name, family)]
                destination = TraceHop(address, self._site_asns[dst.name], 1.0)
                items.append(
                    {
                        "address": address,
                        "family": af,
                        "name": dst.name,
                        "path": self._trace(src, pair, family, route, destination, timestamp, rnd),
                    }
                )
        if not items:
            return []  # a mesh of one site: nothing to probe
        return [{"header": dict(TRACEROUTE_HEADER), "reports": items}]

    def _trace(
        self,
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
        delay = self._delay_ms(src, pair, family, timestamp, rnd, jitter=False)
        loss = self._loss_rate(pair, timestamp)
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


# -- the demo's sites and meshes ---------------------------------------------------

#: The city and country of each of `PLACES`, to describe the demo's sites to people.
PLACE_NAMES: dict[str, tuple[str, str]] = {
    "amp-akl": ("Auckland", "New Zealand"),
    "amp-wlg": ("Wellington", "New Zealand"),
    "amp-chc": ("Christchurch", "New Zealand"),
    "amp-syd": ("Sydney", "Australia"),
    "amp-sin": ("Singapore", "Singapore"),
    "amp-tyo": ("Tokyo", "Japan"),
    "amp-lax": ("Los Angeles", "United States"),
    "amp-sjc": ("San Jose", "United States"),
    "amp-nyc": ("New York", "United States"),
    "amp-lon": ("London", "United Kingdom"),
    "amp-fra": ("Frankfurt", "Germany"),
    "amp-ams": ("Amsterdam", "Netherlands"),
    "amp-hkg": ("Hong Kong", "China"),
    "amp-sao": ("São Paulo", "Brazil"),
    "amp-jnb": ("Johannesburg", "South Africa"),
    "amp-per": ("Perth", "Australia"),
    "amp-ord": ("Chicago", "United States"),
    "amp-sea": ("Seattle", "United States"),
}
#: The demo's meshes: the simulated amplets, and everything they test.
DEMO_MONITOR_MESH = "demo-monitors"
DEMO_TARGET_MESH = "demo-targets"


def demo_site(site: Site) -> SiteInfo:
    """How the site registry describes one simulated amplet: names, place and addresses."""
    if site.name in PLACE_NAMES:
        city, country = PLACE_NAMES[site.name]
        long_name, location = f"{city} amplet", f"{city}, {country}"
    else:
        number = site.name.removeprefix("amp-site")
        long_name = f"Simulated amplet {number}"
        north = f"{abs(site.latitude):.2f}°{'N' if site.latitude >= 0 else 'S'}"
        east = f"{abs(site.longitude):.2f}°{'E' if site.longitude >= 0 else 'W'}"
        location = f"{north}, {east}"
    return SiteInfo(
        name=site.name,
        long_name=long_name,
        location=location,
        description="A simulated AMP monitor of the demo mesh; it tests every other site.",
        addresses=tuple(str(ipaddress.ip_address(packed)) for packed in site.ipv4 + site.ipv6),
    )


def demo_sites_and_meshes(mesh: SimulatedMesh) -> tuple[list[SiteInfo], list[MeshInfo]]:
    """The sites and meshes of the simulated mesh, for `SiteRegistry.save_all`.

    Every amplet is a site, and so is the public DNS resolver they all query
    (named by its address, as the DNS reports name it). The monitor mesh holds
    the amplets, as both matrix sources and destinations; the target mesh holds
    everything they test, the amplets and the resolver, as destinations. The
    same mesh gives the same definitions, so loading them twice changes nothing.
    """
    monitors = [demo_site(site) for site in mesh.sites]
    resolver = SiteInfo(
        name=DNS_RESOLVER,
        long_name="Public DNS resolver",
        location="Anycast",
        description=f"The public resolver the amplets ask for {DNS_RECURSIVE_QUERY}.",
        addresses=(DNS_RESOLVER,),
    )
    monitor_names = tuple(sorted(site.name for site in monitors))
    meshes = [
        MeshInfo(
            name=DEMO_MONITOR_MESH,
            long_name="Demo monitors",
            description="The simulated amplets, which test one another.",
            is_source=True,
            is_destination=True,
            members=monitor_names,
        ),
        MeshInfo(
            name=DEMO_TARGET_MESH,
            long_name="Demo targets",
            description="Everything the simulated amplets test: one another and a DNS resolver.",
            is_destination=True,
            members=tuple(sorted((*monitor_names, resolver.name))),
        ),
    ]
    return [*monitors, resolver], meshes
