"""Fixtures for the browser tests: the real app served by waitress, and Debian's Chromium.

The app serves a SQLite file loaded with a simulated mesh that ends at about
now, so that the graph page's default range (the last 24 hours) has data.
The mesh is loaded once per session (`LoadedMesh`); each module serves a
copy of its own, brought up to its now.
Chromium is the distribution's (`/usr/bin/chromium`), driven by Playwright;
Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

DAY = 86400
#: The mesh the app serves: a few sites, two days of 2-minute reports up to about now.
SITES = 4
DAYS = 2
INTERVAL = 120
SEED = 11


@dataclass(frozen=True)
class LiveServer:
    url: str
    start: int
    end: int
    #: (source, destination) pairs the mesh can reach (they have data).
    reachable: tuple[tuple[str, str], ...]
    #: For a test's own API writes (creating views): an admin's Bearer token,
    #: which needs no CSRF token (pages send theirs, from the meta tag).
    api_headers: dict[str, str] = field(default_factory=dict)
    #: The database the app serves, for tests that add to it.
    sql_url: str = ""


#: How far past the session's start the mesh runs: its reports after the loaded part
#: are what each module adds, up to its own now; longer than any browser run takes.
MESH_MARGIN = 12 * 3600


class LoadedMesh:
    """The mesh loaded once per session into a SQLite file, and the reports after it.

    Loading two days of every test takes the better part of a minute, which
    each module that serves the app paid again. The file holds the reports
    up to the session's start (with the sites, meshes, an admin and its
    token, and the closed hours rolled up); `reports_until` gives the later
    ones, generated once and kept, so every module's copy is the same data
    up to its own now, as if loaded whole then.
    """

    def __init__(self, directory: Path) -> None:
        from ampweb.accounts import UserRegistry
        from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes
        from nntsc.ingest.pipeline import Ingestor
        from tests.conftest import make_services

        self.loaded_until = int(time.time()) // 60 * 60
        self.start = self.loaded_until - DAYS * DAY
        self.mesh = SimulatedMesh(
            SITES, self.start, self.loaded_until + MESH_MARGIN, INTERVAL, seed=SEED
        )
        self.reachable = tuple(
            pair for pair, behaviour in self.mesh.pairs.items() if not behaviour.unreachable
        )
        # The other tests run on their own (longer) schedules.
        others = [test for test in ALL_TESTS if test != "icmp"]
        self._feeds = [
            (("amp-icmp", *report) for report in self.mesh.reports()),
            self._other_reports(self.mesh.test_reports(others)),
        ]
        self._next: list[tuple[str, str, int, Any] | None] = [None] * len(self._feeds)
        self._tail: list[tuple[str, str, int, Any]] = []
        self._generated_until = self.start
        self.path = directory / "nntsc.sqlite"
        services = make_services(f"sqlite:///{self.path}")
        try:
            with Ingestor(services) as ingestor:
                for name, source, timestamp, report in self._generate(self.loaded_until):
                    ingestor.add(name, report, source, timestamp)
            services.sites.save_all(*demo_sites_and_meshes(self.mesh))
            UserRegistry(services.sessionmaker).create_user("browser-tests", None, ["admin"])
            _, self.token = UserRegistry(services.sessionmaker).create_token(
                "browser-tests", "test setup"
            )
            # Closed hours are rolled up now rather than by the first page that asks.
            services.timeseries.process_rollups()
        finally:
            services.close()

    @staticmethod
    def _other_reports(reports: Iterator[tuple[str, str, int, Any]]) -> Iterator[Any]:
        from nntsc.collections import for_amp_test

        for test, source, timestamp, report in reports:
            for collection in for_amp_test(test):
                yield collection.name, source, timestamp, report

    def _generate(self, until: int) -> Iterator[tuple[str, str, int, Any]]:
        """The (collection, source, timestamp, report) not generated yet, before `until`."""
        assert until <= self.mesh.end, "the browser tests ran past the mesh's end"
        for index, feed in enumerate(self._feeds):
            while True:
                item = self._next[index] or next(feed, None)
                self._next[index] = None
                if item is None:
                    break
                if item[2] >= until:
                    self._next[index] = item
                    break
                yield item
        self._generated_until = max(self._generated_until, until)

    def reports_until(self, until: int) -> list[tuple[str, str, int, Any]]:
        """The reports after the loaded file's, before `until` (the same ones every time)."""
        if until > self._generated_until:
            self._tail.extend(self._generate(until))
        return [item for item in self._tail if item[2] < until]


@pytest.fixture(scope="session")
def loaded_mesh(tmp_path_factory: pytest.TempPathFactory) -> LoadedMesh:
    return LoadedMesh(tmp_path_factory.mktemp("browser-mesh"))


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, loaded_mesh: LoadedMesh
) -> Iterator[LiveServer]:
    """The app on a free 127.0.0.1 port, in a daemon thread, over a SQLite file of its own.

    The file is a copy of the session's loaded mesh with the reports since
    added, so that its data runs up to about now; what a module adds to it
    is its own.
    """
    from nntsc.ingest.pipeline import Ingestor
    from tests.conftest import make_services, serve_app

    end = int(time.time()) // 60 * 60
    path = tmp_path_factory.mktemp("browser") / "nntsc.sqlite"
    shutil.copyfile(loaded_mesh.path, path)
    url = f"sqlite:///{path}"
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for name, source, timestamp, report in loaded_mesh.reports_until(end):
                ingestor.add(name, report, source, timestamp)
        services.timeseries.process_rollups()
    finally:
        services.close()

    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    with serve_app(**settings) as server_url:
        yield LiveServer(
            server_url,
            loaded_mesh.start,
            end,
            loaded_mesh.reachable,
            {"Authorization": f"Bearer {loaded_mesh.token}"},
            url,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class WatchedPage:
    """A page and every problem it reported: console errors, uncaught exceptions, failed loads."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [
            *(f"console: {m}" for m in self.console_errors),
            *(f"page error: {m}" for m in self.page_errors),
            *(f"request: {m}" for m in self.failed_requests),
        ]


@pytest.fixture
def watched(browser: Any) -> Iterator[WatchedPage]:
    """A fresh browser context and page (1280×900, UTC) that records what goes wrong."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    context.set_default_timeout(30_000)
    page = context.new_page()
    watch = WatchedPage(page)
    page.on(
        "console",
        lambda message: message.type == "error" and watch.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: watch.failed_requests.append(f"{request.url}: {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and watch.failed_requests.append(f"{response.url}: HTTP {response.status}")
        ),
    )
    try:
        yield watch
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
