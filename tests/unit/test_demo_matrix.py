"""Every matrix tab of the demo has values, HTTP included (a URL's column is its host's site)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ampy import Ampy
from ampy.matrix import metrics
from nntsc.collections import for_amp_test, get
from nntsc.demo import DEMO_MONITOR_MESH, DEMO_TARGET_MESH, SimulatedMesh, demo_sites_and_meshes
from nntsc.ingest.pipeline import Ingestor
from nntsc.store.rollups import HOUR
from tests.conftest import make_services

SITES = 4


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ampy, SimulatedMesh]]:
    """Three hours of every simulated test up to now, loaded as `nntsc demo-data` does."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-matrix')}/nntsc.sqlite"
    now = int(time.time())
    mesh = SimulatedMesh(SITES, now - 3 * HOUR, now, interval=60, seed=1)
    services = make_services(url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        with Ingestor(services) as ingestor:
            for test, source, timestamp, report in mesh.test_reports():
                ingestor.add_report(for_amp_test(test), report, source, timestamp)
        services.timeseries.process_rollups()
    finally:
        services.close()
    ampy = Ampy(make_services(url, **{"ampy.cache_url": "memory://"}))
    yield ampy, mesh
    ampy.close()


@pytest.mark.parametrize("metric", list(metrics()))
@pytest.mark.parametrize("dst_mesh", [DEMO_MONITOR_MESH, DEMO_TARGET_MESH])
def test_every_matrix_tab_of_the_demo_has_values(demo, metric: str, dst_mesh: str) -> None:
    ampy, _ = demo
    matrix = ampy.matrix(metric, DEMO_MONITOR_MESH, dst_mesh)
    valued = [cell for cell in matrix.cells if cell.value is not None]
    assert valued, f"the {metric} tab from {DEMO_MONITOR_MESH} to {dst_mesh} is empty"
    assert all(not cell.stale for cell in valued)


def test_http_cells_sit_in_the_column_of_the_site_serving_the_page(demo) -> None:
    ampy, mesh = demo
    matrix = ampy.matrix("http", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    fetches = {
        (source, report["header"]["url"])
        for test, source, _, report in mesh.test_reports(["http"])
        if test == "http"
    }
    expected = {(source, url.removeprefix("https://").rstrip("/")) for source, url in fetches}
    assert {(cell.source, cell.destination) for cell in matrix.cells} == expected
    # A cell's graph is that of the URL fetched.
    cell = matrix.cells[0]
    assert cell.view_id
    tooltip = ampy.tooltip("http", cell.source, cell.destination)
    assert tooltip["destination"] == cell.destination


def test_a_url_column_needs_its_host_in_the_destination_mesh(demo) -> None:
    """A site's column is the URLs whose host is its name, not those that merely mention it."""
    ampy, mesh = demo
    services = ampy.services
    http = get("amp-http")
    source, target = mesh.sites[0].name, mesh.sites[1].name
    for url in (f"https://www.{target}.example/", f"https://other/{target}/", "not a url"):
        services.streams.stream_id(
            http,
            {
                "source": source,
                "destination": url,
                "max_connections": "24",
                "max_connections_per_server": "8",
                "persist": "true",
                "max_persistent_connections_per_server": "2",
                "pipelining": "false",
                "pipelining_max_requests": "4",
                "caching": "false",
            },
        )
    matrix = ampy.matrix("http", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    assert {cell.destination for cell in matrix.cells} <= {site.name for site in mesh.sites}
