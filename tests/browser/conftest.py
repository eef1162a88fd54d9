"""Fixtures for the browser tests: the real app served by waitress, and Debian's Chromium.

The app serves a SQLite file loaded with a simulated mesh that ends at about
now, so that the graph page's default range (the last 24 hours) has data.
Chromium is the distribution's (`/usr/bin/chromium`), driven by Playwright;
Playwright's own browser downloads are never used.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free 127.0.0.1 port, in a daemon thread, over a freshly loaded SQLite file."""

    from ampweb.accounts import UserRegistry
    from nntsc.collections import for_amp_test
    from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes
    from nntsc.ingest.pipeline import Ingestor
    from tests.conftest import make_services, serve_app

    end = int(time.time()) // 60 * 60
    start = end - DAYS * DAY
    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/nntsc.sqlite"
    mesh = SimulatedMesh(SITES, start, end, INTERVAL, seed=SEED)
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in mesh.reports():
                ingestor.add("amp-icmp", report, source, timestamp)
            # The other tests run on their own (longer) schedules.
            others = [test for test in ALL_TESTS if test != "icmp"]
            for test, source, timestamp, report in mesh.test_reports(others):
                for collection in for_amp_test(test):
                    ingestor.add(collection.name, report, source, timestamp)
        sites, meshes = demo_sites_and_meshes(mesh)
        services.sites.save_all(sites, meshes)
        UserRegistry(services.sessionmaker).create_user("browser-tests", None, ["admin"])
        _, token = UserRegistry(services.sessionmaker).create_token("browser-tests", "test setup")
        # Closed hours are rolled up now rather than by the first page that asks.
        services.timeseries.process_rollups()
    finally:
        services.close()

    reachable = tuple(pair for pair, behaviour in mesh.pairs.items() if not behaviour.unreachable)
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    with serve_app(**settings) as server_url:
        yield LiveServer(
            server_url, start, end, reachable, {"Authorization": f"Bearer {token}"}, url
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
