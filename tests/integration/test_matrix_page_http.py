"""The matrix page over HTTP (WebTest on the real WSGI app).

The page is a shell that the browser fills from the matrix API, so these
tests need the demo sites and meshes but no measurements: they check the
redirect from /matrix, the tabs, mesh choosers and legends the server
renders, the data handed to the page's script, and the 404 page for unknown
metrics and meshes. `tests/browser/test_matrix_page.py` drives the page in
Chromium over real data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
import webtest

import ampweb
from ampweb.views.matrix_page import legend
from ampy.matrix import metrics
from nntsc.demo import DEMO_MONITOR_MESH, DEMO_TARGET_MESH, SimulatedMesh, demo_sites_and_meshes
from tests.conftest import make_services

PAGE = f"/matrix/latency/{DEMO_MONITOR_MESH}/{DEMO_TARGET_MESH}"


def make_app(sql_url: str, public_data: bool = True) -> webtest.TestApp:
    # Anonymous visitors, as on a site whose data is public (the default is private).
    settings = {
        "nntsc.sql_url": sql_url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true" if public_data else "false",
    }
    return webtest.TestApp(ampweb.main({}, **settings))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    """The app over a database holding the demo sites and meshes (and no measurements)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix')}/nntsc.sqlite"
    end = int(time.time()) // 3600 * 3600
    services = make_services(url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(SimulatedMesh(3, end - 3600, end, 300)))
    finally:
        services.close()
    test_app = make_app(url)
    yield test_app
    test_app.app.registry["ampy"].close()


@pytest.fixture
def private_app(tmp_path: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    """The app over a fresh database, its data private (the default)."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    make_services(url).close()
    test_app = make_app(url, public_data=False)
    yield test_app
    test_app.app.registry["ampy"].close()


@pytest.fixture
def empty_app(tmp_path: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    """The app over a fresh database: no sites, no meshes."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    make_services(url).close()
    test_app = make_app(url)
    yield test_app
    test_app.app.registry["ampy"].close()


def page_data(response: webtest.TestResponse) -> dict:
    script = response.html.find("script", id="page-data")
    assert script is not None
    return json.loads(script.string)


# ---------------------------------------------------------------- /matrix


def test_index_redirects_to_the_first_metric_and_meshes(app: webtest.TestApp) -> None:
    response = app.get("/matrix", status=302)
    # demo-monitors is the only source mesh and the first destination mesh by name.
    assert response.location.endswith(f"/matrix/latency/{DEMO_MONITOR_MESH}/{DEMO_MONITOR_MESH}")
    response.follow(status=200)


def test_index_keeps_the_relative_mode(app: webtest.TestApp) -> None:
    response = app.get("/matrix", {"mode": "relative"}, status=302)
    assert response.location.endswith("?mode=relative")
    assert page_data(response.follow(status=200))["mode"] == "relative"


def test_index_without_meshes_says_how_to_make_them(empty_app: webtest.TestApp) -> None:
    response = empty_app.get("/matrix", status=200)
    assert "No meshes to show yet" in response.text
    assert response.html.find("a", href="/admin/meshes") is not None
    # No cells to fetch: the page's script is not loaded.
    assert response.html.find("script", id="page-data") is None


def test_private_data_sends_anonymous_visitors_to_log_in(private_app: webtest.TestApp) -> None:
    for path in ("/matrix", PAGE):
        response = private_app.get(path, status=303)
        assert "/login" in response.location


# ---------------------------------------------------------------- the page


def test_page_renders_for_the_demo_meshes(app: webtest.TestApp) -> None:
    response = app.get(PAGE, status=200)
    html = response.html
    assert html.find("h1").get_text(strip=True) == "Latency matrix"
    # Static URLs carry the version of the static files (ampweb/assets.py).
    script = html.find("script", src=re.compile(r"/static/js/matrix\.js\?v=[0-9a-f]{12}$"))
    assert script["type"] == "module"
    assert html.find("link", href=re.compile(r"/static/css/matrix\.css\?v=[0-9a-f]{12}$"))

    # One tab per metric, keeping the meshes; the current one is marked.
    tabs = html.select(".matrix-tabs a[data-metric]")
    assert [tab["data-metric"] for tab in tabs] == list(metrics())
    assert [tab["href"] for tab in tabs] == [
        f"/matrix/{name}/{DEMO_MONITOR_MESH}/{DEMO_TARGET_MESH}" for name in metrics()
    ]
    assert [tab["data-metric"] for tab in html.select('.matrix-tabs a[aria-current="page"]')] == [
        "latency"
    ]

    # The choosers list the meshes flagged for each role, the shown ones selected.
    sources = html.select("#src-mesh option")
    destinations = html.select("#dst-mesh option")
    assert [o["value"] for o in sources] == [DEMO_MONITOR_MESH]
    assert [o["value"] for o in destinations] == [DEMO_MONITOR_MESH, DEMO_TARGET_MESH]
    assert html.select_one("#dst-mesh option[selected]")["value"] == DEMO_TARGET_MESH
    assert html.select_one("#src-mesh")["aria-label"]

    # Both legends are there, the absolute one shown; each has c0..c6, no data and stale.
    for mode, hidden in (("absolute", False), ("relative", True)):
        legend_list = html.select_one(f'.legend-list[data-mode="{mode}"]')
        assert legend_list.has_attr("hidden") is hidden
        swatches = [" ".join(s["class"][1:]) for s in legend_list.select(".matrix-swatch")]
        assert swatches == [*(f"c{i}" for i in range(7)), "none", "none stale", "untested"]
    assert html.select_one("#mode-absolute")["aria-pressed"] == "true"
    assert html.select_one("#mode-relative")["aria-pressed"] == "false"

    data = page_data(response)
    assert data["metric"] == "latency"
    assert data["src_mesh"] == DEMO_MONITOR_MESH
    assert data["dst_mesh"] == DEMO_TARGET_MESH
    assert data["mode"] == "absolute"
    assert data["matrix_url"] == "/api/v1/matrix/latency"
    assert data["tooltip_url"] == "/api/v1/matrix/latency/tooltip"
    assert data["view_url"] == "/view/latency/"
    assert data["page_url"] == "/matrix/{metric}/{src}/{dst}"
    assert data["refresh_ms"] == 60_000


@pytest.mark.parametrize("metric", list(metrics()))
def test_every_metric_has_a_page(app: webtest.TestApp, metric: str) -> None:
    response = app.get(f"/matrix/{metric}/{DEMO_MONITOR_MESH}/{DEMO_MONITOR_MESH}", status=200)
    data = page_data(response)
    assert data["metric"] == metric
    assert data["view_url"] == f"/view/{metrics()[metric].style}/"
    assert response.html.select_one('.matrix-tabs a[aria-current="page"]')["data-metric"] == metric


def test_relative_mode_from_the_query(app: webtest.TestApp) -> None:
    response = app.get(PAGE, {"mode": "relative"}, status=200)
    assert page_data(response)["mode"] == "relative"
    html = response.html
    assert not html.select_one('.legend-list[data-mode="relative"]').has_attr("hidden")
    assert html.select_one('.legend-list[data-mode="absolute"]').has_attr("hidden")
    assert html.select_one("#mode-relative")["aria-pressed"] == "true"
    # Switching tabs keeps the mode.
    assert all(tab["href"].endswith("?mode=relative") for tab in html.select(".matrix-tabs a"))


def test_a_bad_mode_is_refused(app: webtest.TestApp) -> None:
    response = app.get(PAGE, {"mode": "sideways"}, status=400)
    assert "mode" in response.text


def test_a_mesh_shown_outside_its_role_is_still_offered(app: webtest.TestApp) -> None:
    # demo-targets is no source mesh, but a typed URL may still draw from it.
    response = app.get(f"/matrix/loss/{DEMO_TARGET_MESH}/{DEMO_MONITOR_MESH}", status=200)
    assert response.html.select_one("#src-mesh option[selected]")["value"] == DEMO_TARGET_MESH


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (f"/matrix/nonsense/{DEMO_MONITOR_MESH}/{DEMO_TARGET_MESH}", "no matrix metric is called"),
        (f"/matrix/latency/nowhere/{DEMO_TARGET_MESH}", "no source mesh is called “nowhere”"),
        (f"/matrix/latency/{DEMO_MONITOR_MESH}/nowhere", "no destination mesh is called “nowhere”"),
        # Not even a valid mesh name: still "not found", not a 400.
        (f"/matrix/latency/{DEMO_MONITOR_MESH}/bad%20name!", "no destination mesh is called"),
    ],
)  # fmt: skip
def test_unknown_metric_or_mesh_is_a_404_page(app: webtest.TestApp, path: str, says: str) -> None:
    response = app.get(path, status=404)
    assert response.content_type == "text/html"
    assert "Matrix not found" in response.text
    assert says.lower() in response.html.find("h1").find_next("p").get_text().lower()
    # The page lists what there is and links to real matrices.
    links = [a["href"] for a in response.html.select(".matrix-choices a")]
    assert f"/matrix/latency/{DEMO_MONITOR_MESH}/{DEMO_MONITOR_MESH}" in links


@pytest.fixture
def slashed_app(tmp_path: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    """The demo sites and meshes, and meshes whose names hold "/": nz/north, nz/south;
    a, b/c, a/b and c (so that a/b/c reads as two pairs)."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    end = int(time.time()) // 3600 * 3600
    services = make_services(url)
    try:
        sites, meshes = demo_sites_and_meshes(SimulatedMesh(3, end - 3600, end, 300))
        services.sites.save_all(sites, meshes)
        member = [sites[0].name]
        for name in ("nz/north", "nz/south", "a", "b/c", "a/b", "c"):
            services.sites.create_mesh(name, members=member, is_source=True, is_destination=True)
    finally:
        services.close()
    test_app = make_app(url)
    yield test_app
    test_app.app.registry["ampy"].close()


def test_meshes_whose_names_hold_a_slash_have_their_matrix(slashed_app: webtest.TestApp) -> None:
    """As they are or with %2F (alike to the router): split where both halves are meshes."""
    for path in ("/matrix/latency/nz/north/nz/south", "/matrix/latency/nz%2Fnorth/nz%2Fsouth"):
        response = slashed_app.get(path, status=200)
        data = page_data(response)
        assert (data["src_mesh"], data["dst_mesh"]) == ("nz/north", "nz/south")
        tabs = [a["href"] for a in response.html.select(".matrix-tabs a[data-metric]")]
        assert "/matrix/loss/nz/north/nz/south" in tabs
    # A name with "/" beside one without, either way round.
    for path, pair in (
        (f"/matrix/latency/nz/north/{DEMO_TARGET_MESH}", ("nz/north", DEMO_TARGET_MESH)),
        (f"/matrix/latency/{DEMO_MONITOR_MESH}/nz/south", (DEMO_MONITOR_MESH, "nz/south")),
    ):
        data = page_data(slashed_app.get(path, status=200))
        assert (data["src_mesh"], data["dst_mesh"]) == pair
    # Two readings: not found, saying which.
    response = slashed_app.get("/matrix/latency/a/b/c", status=404)
    said = response.html.find("h1").find_next("p").get_text()
    assert "could be read as the meshes “a” to “b/c” or “a/b” to “c”" in said.lower()
    # None: the first split's unknown names are named, as before.
    response = slashed_app.get("/matrix/latency/nz/nowhere/nz/south", status=404)
    said = response.html.find("h1").find_next("p").get_text()
    assert "no source mesh is called “nz”; no destination mesh" in said.lower()


def test_a_path_of_many_segments_is_split_with_one_lookup(slashed_app: webtest.TestApp) -> None:
    """Review: every split of the path was a lookup of its own (two when the first half
    was a mesh), so a path of n segments cost up to 2n statements; now the halves
    of every split are looked up together, and the two meshes shown once each."""
    from sqlalchemy import event

    services = slashed_app.app.registry["ampy"].services
    deep = "/".join(["r"] + [str(i) for i in range(12)])
    services.sites.create_mesh(deep, members=[], is_source=True)
    services.sites.create_mesh("s/" + deep, members=[], is_destination=True)
    services.sites.create_mesh(deep + "/x", members=[], is_destination=True)
    lookups: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args: object) -> None:
        if "meshes.name =" in statement or "meshes.name IN" in statement:
            lookups.append(statement)

    event.listen(services.engine, "before_cursor_execute", seen)
    try:
        for path, pair in (
            (f"/matrix/latency/{deep}/s/{deep}", (deep, "s/" + deep)),
            (f"/matrix/latency/{deep}/{deep}/x", (deep, deep + "/x")),
            (f"/matrix/latency/nz/north/{deep}/x", ("nz/north", deep + "/x")),
        ):
            lookups.clear()
            data = page_data(slashed_app.get(path, status=200))
            assert (data["src_mesh"], data["dst_mesh"]) == pair
            # One for the splits, one for each mesh shown.
            assert len(lookups) == 3, lookups
        lookups.clear()
        slashed_app.get(f"/matrix/latency/{deep}/nowhere/x", status=404)
        assert len(lookups) == 3, lookups  # the splits, then the router's two halves
        # Longer than two names can be: no lookup of the splits at all.
        lookups.clear()
        slashed_app.get("/matrix/latency/" + "/".join(["n"] * 300), status=404)
        # Only the router's first half, "n": the rest is too long to be a name.
        assert len(lookups) == 1, lookups
    finally:
        event.remove(services.engine, "before_cursor_execute", seen)


# ---------------------------------------------------------------- legend


@pytest.mark.parametrize("metric", list(metrics().values()), ids=list(metrics()))
def test_absolute_legend_matches_the_colour_classes(metric: object) -> None:
    """A value exactly at a threshold falls in the class whose label starts at it."""
    labels = {entry["colour_class"]: entry["label"] for entry in legend(metric, "absolute")}
    assert list(labels) == [f"c{i}" for i in range(7)]
    for step in metric.steps:
        label = labels[metric.colour_class(step, None, "absolute")]
        assert re.search(r"[\d.]+", label).group() == f"{step:g}", (step, label)
        assert metric.unit in label


def test_relative_legend_matches_the_colour_classes() -> None:
    metric = metrics()["latency"]
    labels = {entry["colour_class"]: entry["label"] for entry in legend(metric, "relative")}
    assert labels["c0"] == "more than 10 % better"
    assert labels["c1"] == "−10 % to +5 %"
    assert labels["c6"] == "100 % worse or more"
    # 30 % slower than the baseline is in the 25–50 % class.
    assert labels[metric.colour_class(130, 100, "relative")] == "25–50 % worse"
