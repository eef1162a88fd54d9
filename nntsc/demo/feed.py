"""Keeps a served demo alive: simulated reports of every demo stream, as they fall due.

`DemoFeeder` continues the simulated network that `nntsc demo-data` loaded
(the same sites, seed and interval): it starts after the newest row stored,
catches up to now (a demo served again after a pause gets the reports it
missed, up to `max_catch_up`), and then hands each run of every simulated
test to the same ingest pipeline and collection parsers as the collector
(`nntsc.ingest.pipeline.Ingestor`) once its time has come, and processes the
rollup marks it made, so the matrix, graphs and the live feed see data arrive
as from real amplets. The network runs in windows of a day, each planting
level shifts, loss bursts and route changes of its own (`SimulatedMesh`'s
`epoch`), so changes keep coming.

``nntsc demo-feed -c INI`` runs it; ``make demo`` starts it beside the web app.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from nntsc.collections import for_amp_test
from nntsc.demo.mesh import SimulatedMesh
from nntsc.demo.model import DAY
from nntsc.demo.schedules import save_demo_schedules
from nntsc.demo.simulators import ALL_TESTS
from nntsc.demo.sites import demo_sites_and_meshes
from nntsc.ingest.pipeline import Ingestor
from nntsc.store.models import CollectionRecord, Stream

if TYPE_CHECKING:
    from nntsc.config import Services

log = logging.getLogger(__name__)

#: A simulated test's report: (test, source, timestamp, report).
Report = tuple[str, str, int, dict[str, Any]]


class DemoFeeder:
    """Feeds the simulated mesh of `sites` sites into `services`' stores, one due run at a time."""

    def __init__(
        self,
        services: Services,
        sites: int = 10,
        interval: int = 60,
        seed: int = 1,
        max_catch_up: int = DAY,
        window: int = DAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.sites = sites
        self.interval = interval
        self.seed = seed
        self.max_catch_up = max_catch_up
        self.window = window
        self.clock = clock
        self._reports: Iterator[Report] | None = None
        self._next: Report | None = None
        #: Where the feed began: the newest row stored when it started (or the catch-up limit).
        self.began: int | None = None

    def collections(self) -> list[str]:
        """The collections the simulated tests feed."""
        return sorted({c.name for test in ALL_TESTS for c in for_amp_test(test)})

    def last_stored(self) -> int | None:
        """The time of the newest row of any simulated test's collection, as ingest recorded it."""
        query = (
            select(func.max(Stream.last_timestamp))
            .join(CollectionRecord, CollectionRecord.id == Stream.collection_id)
            .where(CollectionRecord.name.in_(self.collections()))
        )
        with self.services.sessionmaker() as session:
            return session.execute(query).scalar()

    def _windows(self, begin: int) -> Iterator[Report]:
        """Every report after `begin`, in time order, through consecutive windows of the network.

        A window yields the runs strictly inside (start, end); the next one
        starts a second before the last one ended, so no run time is lost.
        """
        start = begin
        while True:
            end = start + self.window
            mesh = SimulatedMesh(self.sites, start, end, self.interval, self.seed, epoch=start)
            yield from mesh.test_reports()
            start = end - 1

    def start(self, now: int) -> int:
        """Begin after the newest stored row (no further back than `max_catch_up`); returns it.

        Also saves the demo's sites and meshes (unchanged when they are there),
        so the feed of an empty store shows in the matrix too.
        """
        last = self.last_stored()
        begin = now - self.max_catch_up if last is None else max(last, now - self.max_catch_up)
        mesh = SimulatedMesh(self.sites, begin, begin + self.window, self.interval, self.seed)
        self.services.sites.save_all(*demo_sites_and_meshes(mesh))
        save_demo_schedules(self.services.schedules, mesh, ALL_TESTS)
        self.began = begin
        self._reports = self._windows(begin)
        self._next = next(self._reports)
        return begin

    def _pending(self) -> tuple[Report, Iterator[Report]]:
        if self._next is None or self._reports is None:
            raise RuntimeError("DemoFeeder.start has not been called")
        return self._next, self._reports

    def next_due(self) -> int:
        """When the next report falls due."""
        return self._pending()[0][2]

    def due(self, now: int) -> Iterator[Report]:
        """The reports whose time has come by `now`, in time order."""
        upcoming, reports = self._pending()
        while upcoming[2] <= now:
            yield upcoming
            upcoming = self._next = next(reports)

    def feed(self, now: int, stop: threading.Event | None = None) -> tuple[int, int]:
        """Ingest every report due by `now` and process the rollups; (reports, rows) written.

        Once `stop` is set it stops between two reports (those ingested are
        written) and between two batches of the rollup pass (the marks left
        stay pending for the next pass), so a feed catching up on a long
        history or rolling up a loaded one stops at once when asked.
        """
        count = 0
        with Ingestor(self.services) as ingestor:
            for test, source, timestamp, report in self.due(now):
                if stop is not None and stop.is_set():
                    break  # this report stays the next one due
                ingestor.add_report(for_amp_test(test), report, source, timestamp)
                count += 1
        rows = ingestor.totals.written
        # Also whatever a load left pending (`make demo` leaves its rollups to the first feed).
        self.services.timeseries.process_rollups(stop=None if stop is None else stop.is_set)
        return count, rows

    def run(
        self, stop: threading.Event, on_fed: Callable[[int, int, int], None] | None = None
    ) -> None:
        """Feed as reports fall due until `stop` is set; `on_fed(now, reports, rows)` after each."""
        if self._reports is None:
            self.start(int(self.clock()))
        while not stop.is_set():
            now = int(self.clock())
            if self.next_due() <= now:
                reports, rows = self.feed(now, stop)
                if on_fed is not None:
                    on_fed(now, reports, rows)
                continue
            # Sleep until the next run is due, waking at once when asked to stop.
            stop.wait(max(0.0, min(self.next_due() - self.clock(), 60.0)))
