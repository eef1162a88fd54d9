"""UDP stream graphs and matrix tabs over a day of simulated tests (SQLite, real ingest).

Jitter is drawn as the spread of the delay variation, so no graph or cell
of it is negative even though amplet2's delay variations (and their mean)
are; MOS has a view style and a matrix tab of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import webtest

import ampweb
from ampy.api import Ampy
from nntsc.demo import DEMO_MONITOR_MESH, SimulatedMesh, demo_sites_and_meshes
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services

END = int(time.time()) // 300 * 300
START = END - 86400
NAME = "amp-udpstream"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('udp')}/nntsc.sqlite"
    mesh = SimulatedMesh(4, START, END, 300, seed=11)
    services = make_services(url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        with Ingestor(services) as ingestor:
            for _test, source, timestamp, report in mesh.test_reports(("udpstream",)):
                ingestor.add(NAME, report, source, timestamp)
        services.timeseries.process_rollups()
    finally:
        services.close()
    return url


@pytest.fixture(scope="module")
def ampy(url: str) -> Iterator[Ampy]:
    api = Ampy(make_services(url), "memory://")
    yield api
    api.close()


@pytest.fixture(scope="module")
def app(url: str) -> Iterator[webtest.TestApp]:
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    yield test_app
    test_app.app.registry["ampy"].close()


def every_stream_view(ampy: Ampy, style: str) -> str:
    """A view of `style` with one group per UDP stream variant, directions and families split."""
    streams = ampy.find_streams(NAME, {}, page=1, pagesize=100).items
    assert streams, "the simulation made UDP streams"
    hierarchy = ("source", "destination", "dscp", "packet_size", "packet_spacing", "packet_count")
    groups = {ampy.group(NAME, {p: s.properties[p] for p in hierarchy}) for s in streams}
    return ampy.create_view(style, sorted(groups))


def column(line: object, name: str) -> list[float]:
    index = line.columns.index(name)  # type: ignore[attr-defined]
    return [row[index] for row in line.rows if row[index] is not None]  # type: ignore[attr-defined]


def test_jitter_is_never_negative_though_the_delay_variation_is(ampy: Ampy) -> None:
    view = every_stream_view(ampy, "jitter")
    lines = ampy.view_history(view, START, END, "full")
    jitter = [v for line in lines for v in column(line, "jitter")]
    low = [v for line in lines for v in column(line, "ipdv_min")]
    assert len(jitter) > 100
    assert min(jitter) >= 0
    assert max(jitter) > 0
    # What the graph drew before: amplet2's signed variation goes below zero.
    assert min(low) < 0
    for line in lines:
        for p90, jitter_range in zip(
            column(line, "jitter"), column(line, "jitter_range"), strict=True
        ):
            assert jitter_range >= p90


def test_mos_has_its_own_view_within_its_scale(ampy: Ampy) -> None:
    view = every_stream_view(ampy, "mos")
    lines = ampy.view_history(view, START, END, "full")
    scores = [v for line in lines for v in column(line, "mos")]
    assert scores, "the inward streams have MOS"
    assert all(1 <= v <= 4.5 for v in scores)


@pytest.mark.parametrize(("metric", "low", "high"), [("jitter", 0.0, 1000.0), ("mos", 1.0, 4.5)])
def test_matrix_has_jitter_and_mos_tabs_with_values(
    ampy: Ampy, metric: str, low: float, high: float
) -> None:
    assert metric in [m["name"] for m in ampy.matrix_metrics()]
    matrix = ampy.matrix(metric, DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    values = [c.value for c in matrix.cells if c.value is not None]
    assert values, f"the {metric} matrix has values"
    assert all(low <= v <= high for v in values)
    if metric == "mos":
        # MOS is measured on the direction received: its cells show that one alone.
        assert {c.split for c in matrix.cells} == {"in"}
    cell = next(c for c in matrix.cells if c.value is not None)
    tip = ampy.tooltip(metric, cell.source, cell.destination)
    stats = tip["splits"][cell.split]["stats"]
    assert stats["1h"] is not None
    assert low <= stats["24h"] <= high


def test_jitter_and_mos_pages_are_tabs_of_each_other(app: webtest.TestApp, ampy: Ampy) -> None:
    view = every_stream_view(ampy, "mos")
    page = app.get(f"/view/mos/{view}")
    assert "<h1>UDP voice quality (MOS)" in page.text
    tabs = re.findall(r'data-style="([a-z-]+)"[^>]*>([^<]+)</button>', page.text)
    assert tabs == [("jitter", "UDP jitter"), ("mos", "UDP voice quality (MOS)")]
