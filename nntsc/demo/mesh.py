"""`SimulatedMesh`: a deterministic AMP mesh and the reports of every simulated test on it.

Each source reports every `interval` seconds on every destination over
IPv4 and IPv6, as amplet2's ICMP test does, from the model of
`nntsc.demo.model`. `SimulatedMesh.test_reports` adds amplet2's other
tests on the same paths, one `Simulator` each (`nntsc.demo.simulators`),
each drawn from a random stream of its own so that the ICMP reports stay
those of `reports`. The same seed gives the same mesh.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

from nntsc.demo.model import Pair, Site, new_pair, new_site, plant_events
from nntsc.demo.routes import Route, build_routes, site_asns
from nntsc.demo.simulators import ALL_TESTS, SIMULATORS, Simulator
from nntsc.demo.simulators.icmp import icmp_report


class SimulatedMesh:
    """A deterministic AMP mesh of `sites` sites between `start` and `end`.

    The seed fixes the network: its sites, addresses and each path's delay,
    jitter and reachability, and where in [start, end) its level shifts and
    loss bursts happen. With an `epoch`, the network stays the seed's but the
    shifts and bursts are drawn afresh from a stream of their own, so that
    consecutive windows of the same network (`nntsc.demo.feed`) each plant
    changes of their own.
    """

    def __init__(
        self,
        sites: int,
        start: int,
        end: int,
        interval: int = 60,
        seed: int = 1,
        epoch: int | None = None,
    ) -> None:
        self.random = random.Random(seed)
        self.seed = seed
        self.start = start
        self.end = end
        self.interval = interval
        self.sites = [new_site(self.random, index) for index in range(sites)]
        self.pairs: dict[tuple[str, str], Pair] = {
            (src.name, dst.name): new_pair(self.random, src, dst, start, end)
            for src in self.sites
            for dst in self.sites
            if src is not dst
        }
        if epoch is not None:
            events = random.Random(f"{seed}:events:{epoch}")
            for pair in self.pairs.values():
                plant_events(events, pair, start, end)
        self._simulators: dict[str, Simulator] = {}

    def others(self, src: Site) -> list[Site]:
        """Every site but `src`, in site order."""
        return [dst for dst in self.sites if dst is not src]

    # -- ICMP, from the mesh's own random stream --------------------------------------

    def reports(self) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(source, timestamp, ICMP report) in time order, one report per source and interval."""
        first = self.start - self.start % self.interval + self.interval
        for timestamp in range(first, self.end, self.interval):
            for src in self.sites:
                yield src.name, timestamp, self.report(src, timestamp)

    def report(self, src: Site, timestamp: int) -> dict[str, Any]:
        """One amplet2-shaped ICMP report of `src` at `timestamp`."""
        return icmp_report(self, src, timestamp)

    def count(self) -> int:
        """How many reports `reports()` yields."""
        first = self.start - self.start % self.interval + self.interval
        return len(range(first, self.end, self.interval)) * len(self.sites)

    # -- every simulated test ----------------------------------------------------------

    def simulator(self, test: str) -> Simulator:
        """The mesh's simulator of `test` (one per mesh: it keeps what it fixes for the mesh)."""
        try:
            cls = SIMULATORS[test]
        except KeyError:
            raise ValueError(f"unknown test {test!r} (known: {', '.join(ALL_TESTS)})") from None
        if test not in self._simulators:
            self._simulators[test] = cls(self)
        return self._simulators[test]

    def test_period(self, test: str) -> int:
        """Seconds between two runs of `test` at one source."""
        period = self.simulator(test).period
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
        for test in tests:
            self.simulator(test)  # ValueError for an unknown test
        wanted = [test for test in ALL_TESTS if test in set(tests)]
        streams = {test: random.Random(f"{self.seed}:{test}") for test in wanted}
        runs = heapq.merge(*(self._runs(test) for test in wanted))
        for timestamp, _, test in runs:
            simulator, rnd = self.simulator(test), streams[test]
            for src in self.sites:
                for report in simulator.run(src, timestamp, rnd):
                    yield test, src.name, timestamp, report

    def _runs(self, test: str) -> Iterator[tuple[int, int, str]]:
        """(timestamp, rank, test) of each run of `test`; rank orders the tests of an instant."""
        rank = ALL_TESTS.index(test)
        for timestamp in self._run_times(test):
            yield timestamp, rank, test

    def test_count(self, tests: Sequence[str] = ALL_TESTS) -> int:
        """How many reports `test_reports(tests)` yields."""
        return sum(
            self.simulator(test).reports_per_run() * len(self._run_times(test))
            for test in ALL_TESTS
            if test in set(tests)
        )

    # -- traceroute's routes -------------------------------------------------------------

    @cached_property
    def routes(self) -> dict[tuple[str, str, str], Route]:
        """The traceroute paths of each (source, destination, family): fixed for a mesh."""
        return build_routes(self)

    @cached_property
    def site_asns(self) -> dict[str, int]:
        """Each site's own AS number."""
        return site_asns(self)
