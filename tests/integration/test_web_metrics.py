"""The web app's /metrics (requests, latency, cache, rollup backlog) and /healthz dependencies.

WebTest on the real app over SQLite and the real Redis; one test runs
gunicorn with 2 workers (deploy/gunicorn.conf.py, multiprocess metrics) and
checks that a scrape counts the requests of both.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import webtest

import ampweb
from nntsc.demo import SimulatedMesh, demo_sites_and_meshes
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services
from tests.integration.test_gunicorn import gunicorn_server  # noqa: F401 (a fixture)

REDIS = "redis://127.0.0.1:6379"
#: Nothing listens on port 9 (discard) on the test machines.
NOWHERE = "redis://127.0.0.1:9/0"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of metric `name` with exactly `labels` in exposition `text` (0 if absent)."""
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SimulatedMesh]:
    return load(tmp_path_factory.mktemp("metrics"))


def load(directory: Path) -> tuple[str, SimulatedMesh]:
    """A SQLite file with 3 hours of ICMP reports of a small mesh, ending now; rollups pending."""
    url = f"sqlite:///{directory}/nntsc.sqlite"
    end = int(time.time()) // 60 * 60
    mesh = SimulatedMesh(3, end - 3 * 3600, end, 300, seed=2)
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in mesh.reports():
                ingestor.add("amp-icmp", report, source, timestamp)
        services.sites.save_all(*demo_sites_and_meshes(mesh))
    finally:
        services.close()
    return url, mesh


def _app(url: str, **settings: str) -> webtest.TestApp:
    base = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    return webtest.TestApp(ampweb.main({}, **{**base, **settings}))


@pytest.fixture
def app(loaded: tuple[str, SimulatedMesh]) -> Iterator[webtest.TestApp]:
    test_app = _app(loaded[0])
    yield test_app
    test_app.app.registry["ampy"].close()


def test_requests_are_counted_by_route_and_status(app: webtest.TestApp) -> None:
    before = app.get("/metrics").text
    for _ in range(3):
        app.get("/api/v1/collections")
    app.get("/api/v1/streams/999999", status=404)
    app.get("/no/such/page", status=404)
    app.get("/api/v1/sites?term=%ff", status=400)
    after = app.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    ok = {"route": "api.v1.collections", "method": "GET", "status": "200"}
    assert grew("nntsc_web_requests_total", **ok) == 3
    assert grew("nntsc_web_requests_total", route="api.v1.stream", method="GET", status="404") == 1
    # Made-up URLs share one label value.
    assert grew("nntsc_web_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("nntsc_web_requests_total", route="unmatched", method="GET", status="400") == 1
    assert grew("nntsc_web_request_seconds_count", route="api.v1.collections") == 3
    assert grew("nntsc_web_request_seconds_bucket", route="api.v1.collections", le="+Inf") == 3


def test_cache_hits_and_misses_are_counted(loaded: tuple[str, SimulatedMesh]) -> None:
    url, mesh = loaded
    # A cache of its own in Redis, so that this test's first request is a miss.
    cache = f"{REDIS}/{int(time.time() * 1000) % 13 + 2}"
    app = _app(url, **{"ampy.cache_url": cache})
    try:
        meshes = app.get("/api/v1/meshes").json["items"]
        mesh_name = meshes[0]["name"]
        matrix = f"/api/v1/matrix/latency?src_mesh={mesh_name}&dst_mesh={mesh_name}&x={time.time()}"
        before = app.get("/metrics").text
        view_id = app.get(matrix).json["cells"][0]["view_id"]
        history = f"/api/v1/views/{view_id}/history?start={mesh.start}&end={mesh.end}"
        app.get(history)
        middle = app.get("/metrics").text
        app.get(history)
        after = app.get("/metrics").text
    finally:
        app.app.registry["ampy"].close()
    hits = ("ampy_cache_hits_total", {"kind": "answer"})
    misses = ("ampy_cache_misses_total", {"kind": "answer"})
    assert sample(middle, misses[0], **misses[1]) > sample(before, misses[0], **misses[1])
    assert sample(after, hits[0], **hits[1]) > sample(middle, hits[0], **hits[1])
    assert sample(after, misses[0], **misses[1]) == sample(middle, misses[0], **misses[1])
    block_misses = sample(middle, "ampy_cache_misses_total", kind="block") - sample(
        before, "ampy_cache_misses_total", kind="block"
    )
    assert block_misses > 0


def test_rollup_backlog_gauges(tmp_path: Path) -> None:
    # Data of its own: reading history brings its rollups up to date.
    url, mesh = load(tmp_path)
    app = _app(url)
    try:
        text = app.get("/metrics").text
        marks = sample(text, "nntsc_rollup_backlog_marks")
        age = sample(text, "nntsc_rollup_backlog_age_seconds")
        # Three hours of writes: at least the closed, settled hours wait.
        assert marks > 0
        assert 0 < age <= time.time() - mesh.start
        services = make_services(url)
        try:
            services.timeseries.process_rollups()
        finally:
            services.close()
        text = app.get("/metrics").text
        assert sample(text, "nntsc_rollup_backlog_marks") == 0
        assert sample(text, "nntsc_rollup_backlog_age_seconds") == 0
    finally:
        app.app.registry["ampy"].close()


# ---------------------------------------------------------------- /healthz


def test_healthz_reports_each_configured_dependency_with_its_latency(
    loaded: tuple[str, SimulatedMesh],
) -> None:
    app = _app(
        loaded[0],
        **{
            "ampy.cache_url": f"{REDIS}/2",
            "nntsc.live_url": f"{REDIS}/1",
            "celery.broker_url": f"{REDIS}/3",
        },
    )
    try:
        body = app.get("/healthz").json
    finally:
        app.app.registry["ampy"].close()
    assert body["status"] == "ok"
    assert set(body["dependencies"]) == {"sql", "timeseries", "cache", "live", "broker"}
    for name, dependency in body["dependencies"].items():
        assert dependency["status"] == "ok", name
        assert 0 <= dependency["seconds"] < 5
        assert dependency["required"] == (name in ("sql", "timeseries"))


def test_healthz_is_degraded_when_an_optional_dependency_is_down(
    loaded: tuple[str, SimulatedMesh],
) -> None:
    app = _app(loaded[0], **{"celery.broker_url": NOWHERE, "nntsc.live_url": f"{REDIS}/1"})
    try:
        body = app.get("/healthz", status=200).json
    finally:
        app.app.registry["ampy"].close()
    assert body["status"] == "degraded"
    assert body["dependencies"]["live"]["status"] == "ok"
    assert "Connection" in body["dependencies"]["broker"]["status"]


def test_healthz_is_503_when_a_required_dependency_is_down(
    loaded: tuple[str, SimulatedMesh],
) -> None:
    app = _app(
        loaded[0],
        **{"ampy.cache_url": NOWHERE, "ampweb.health_required": "sql timeseries cache"},
    )
    try:
        body = app.get("/healthz", status=503).json
    finally:
        app.app.registry["ampy"].close()
    assert body["status"] == "unavailable"
    assert body["dependencies"]["cache"]["required"] is True
    assert body["dependencies"]["cache"]["status"] != "ok"
    assert body["dependencies"]["sql"]["status"] == "ok"


# ---------------------------------------------------------------- gunicorn, 2 workers


def test_a_scrape_counts_the_requests_of_every_gunicorn_worker(
    gunicorn_server: tuple[str, Path],  # noqa: F811 (the imported fixture)
) -> None:
    url, access_log = gunicorn_server
    made = 60
    for _ in range(made):
        # A new connection each time, so that either worker may take it.
        answer = requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=30)
        assert answer.status_code == 200
    served = Counter(
        line.split()[0] for line in access_log.read_text().splitlines() if line.endswith("/healthz")
    )
    assert len(served) == 2, f"one worker answered everything: {served}"
    # Whichever worker answers the scrape, it counts both workers' requests.
    for _ in range(4):
        text = requests.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=30).text
        counted = sample(
            text, "nntsc_web_requests_total", route="health", method="GET", status="200"
        )
        assert counted == made
