"""The graph pages of views over HTTP (WebTest on the real WSGI app): every view style
renders for a real view, and bad styles, unknown views and backwards ranges are refused.

One SQLite file per module holds a small simulated mesh running every AMP
test for a day, plus an hour of file-operation counts of one host.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

import ampweb
from nntsc.collections import for_amp_test
from nntsc.demo import ALL_TESTS, SimulatedMesh
from nntsc.ingest.pipeline import Ingestor
from nntsc.sysdig.metrics import N_SLOTS, MinuteReport
from tests.conftest import make_services

DAY = 86400
END = int(time.time()) // 3600 * 3600
START = END - DAY
SITES = 3
HOST = "web-1"

#: The collection of each style's test view (traceroute and AS-path views have a page of
#: their own, `ampweb.views.paths_page`).
STYLE_GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "latency": ("amp-icmp", {}),
    "loss": ("amp-icmp", {}),
    "throughput": ("amp-throughput", {}),
    "jitter": ("amp-udpstream", {}),
    "http": ("amp-http", {}),
    "fileops": ("fileops", {}),
}


def load(url: str) -> None:
    mesh = SimulatedMesh(SITES, START, END, 300, seed=3)
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for test, source, timestamp, report in mesh.test_reports(ALL_TESTS):
                for collection in for_amp_test(test):
                    ingestor.add(collection.name, report, source, timestamp)
            for minute in range(END - 3600, END, 60):
                counts = [minute % 7 + 1] * N_SLOTS
                report = MinuteReport(minute, processes={"nginx": counts})
                ingestor.add("fileops", report, HOST, minute)
    finally:
        services.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    url = f"sqlite:///{tmp_path_factory.mktemp('views')}/nntsc.sqlite"
    load(url)
    # Anonymous readers, as a site with public data has (tests/integration/test_auth.py
    # covers the private default).
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    yield test_app
    test_app.app.registry["ampy"].close()


def first_group(app: webtest.TestApp, collection: str) -> dict[str, Any]:
    """A group of `collection` made by walking its options, first value at every level."""
    selected: list[str] = []
    while True:
        answer = app.get(
            f"/api/v1/collections/{collection}/options",
            [("selected", value) for value in selected],
        ).json
        if answer["property"] is None:
            selected = answer["selected"]
            break
        selected = [*answer["selected"], answer["items"][0]["value"]]
    from ampy.groups import spec_for

    values = dict(zip(spec_for(collection).hierarchy, selected, strict=True))
    return {"collection": collection, "values": values, "splits": {}}


def csrf_token(app: webtest.TestApp) -> str:
    """The session's CSRF token, as a page passes it to its scripts."""
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', app.get("/").text)
    assert match, "pages carry the CSRF token"
    return match.group(1)


def make_view(app: webtest.TestApp, style: str, groups: list[Any]) -> str:
    return app.post_json(
        "/api/v1/views",
        {"style": style, "groups": groups},
        headers={"X-CSRF-Token": csrf_token(app)},
    ).json["view_id"]


def page_data(response: webtest.TestResponse) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="page-data">(.*?)</script>', response.text, re.S
    )
    assert match, "the page passes its data in #page-data"
    return json.loads(match.group(1))


@pytest.mark.parametrize("style", sorted(STYLE_GROUPS))
def test_every_style_renders_a_real_view(app: webtest.TestApp, style: str) -> None:
    collection, _ = STYLE_GROUPS[style]
    group = first_group(app, collection)
    view_id = make_view(app, style, [group])
    response = app.get(f"/view/{style}/{view_id}")
    assert response.status_int == 200
    assert response.content_type == "text/html"
    data = page_data(response)
    assert data["style"] == style
    assert data["view"]["view_id"] == view_id
    assert data["view"]["lines"], "the view's group matches streams"
    assert data["history_url"] == f"/api/v1/views/{view_id}/history"
    # The page loads its style's script when there is one (fileops draws generically).
    # (versioned, as every static URL: ampweb/assets.py).
    version = app.app.registry["ampweb.static_version"]
    own = None if style == "fileops" else f"/static/js/styles/{style}.js?v={version}"
    assert data["style_module"] == own
    assert 'id="detail-graph"' in response.text
    assert 'id="summary-graph"' in response.text
    assert "js/view.js" in response.text
    assert 'id="add-series"' in response.text
    # The legend names the group and offers to remove it.
    assert f'data-remove="{data["view"]["groups"][0]}"' in response.text.replace("&#39;", "'")
    # The page's history URL answers for the lines it draws.
    history = app.get(data["history_url"], {"start": START, "end": END}).json
    assert {line["line_id"] for line in history["lines"]} == {
        line["line_id"] for line in data["view"]["lines"]
    }


def test_range_in_the_url_is_passed_to_the_page(app: webtest.TestApp) -> None:
    view_id = make_view(app, "latency", [first_group(app, "amp-icmp")])
    data = page_data(app.get(f"/view/latency/{view_id}/{START}/{END}"))
    assert (data["start"], data["end"]) == (START, END)
    assert data["view_url"] == f"/view/latency/{view_id}"


def test_latency_dialog_offers_the_latency_collections_with_their_levels(
    app: webtest.TestApp,
) -> None:
    view_id = make_view(app, "latency", [])
    data = page_data(app.get(f"/view/latency/{view_id}"))
    collections = data["styles"]["latency"]["collections"]
    titles = [c["title"] for c in collections]
    assert titles == ["ICMP", "DNS", "TCP ping", "Fastping", "SIP"]
    icmp = collections[0]
    assert [level["property"] for level in icmp["levels"]] == [
        "source",
        "destination",
        "packet_size",
    ]


def test_empty_view_renders(app: webtest.TestApp) -> None:
    view_id = make_view(app, "throughput", [])
    response = app.get(f"/view/throughput/{view_id}")
    assert response.status_int == 200
    assert page_data(response)["view"]["lines"] == []
    assert "no series yet" in response.text


def test_view_under_another_style_redirects_to_its_own(app: webtest.TestApp) -> None:
    view_id = make_view(app, "loss", [first_group(app, "amp-icmp")])
    response = app.get(f"/view/latency/{view_id}/{START}/{END}", status=302)
    assert response.location.endswith(f"/view/loss/{view_id}/{START}/{END}")


@pytest.mark.parametrize("style", ["nonsense", "amp-icmp", "LATENCY"])
def test_bad_style_is_404(app: webtest.TestApp, style: str) -> None:
    view_id = make_view(app, "latency", [])
    app.get(f"/view/{style}/{view_id}", status=404)


@pytest.mark.parametrize("view_id", ["aaaaaaaaaaaa", "not-a-view", "x" * 100, "12"])
def test_unknown_view_is_404(app: webtest.TestApp, view_id: str) -> None:
    app.get(f"/view/latency/{view_id}", status=404)
    app.get(f"/view/latency/{view_id}/{START}/{END}", status=404)


@pytest.mark.parametrize(("start", "end"), [(END, START), (START, START)])
def test_range_ending_before_it_starts_is_400(app: webtest.TestApp, start: int, end: int) -> None:
    view_id = make_view(app, "latency", [first_group(app, "amp-icmp")])
    response = app.get(f"/view/latency/{view_id}/{start}/{end}", status=400)
    assert "end" in response.text


def test_index_offers_a_graph_of_each_style(app: webtest.TestApp) -> None:
    response = app.get("/")
    for style in STYLE_GROUPS:
        assert f'data-add-series="{style}"' in response.text
    assert set(page_data(response)["styles"]) >= set(STYLE_GROUPS)
    # The stream list is still there.
    assert "/graph/" in response.text


def test_base_layout_links_graphs_and_matrix_and_switches_time_zone(app: webtest.TestApp) -> None:
    response = app.get("/")
    assert 'href="/matrix"' in response.text
    assert 'data-tz="utc"' in response.text
    assert 'data-tz="local"' in response.text
    assert "js/site.js" in response.text


def test_csv_names_each_series_by_what_it_is(app: webtest.TestApp) -> None:
    """Not g0-ipv4: the source, destination, family and aggregation of each row's series."""
    group = first_group(app, "amp-icmp")
    view_id = make_view(app, "latency", [group])
    answer = app.get(
        f"/api/v1/views/{view_id}/history", {"start": START, "end": END, "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows
    assert "line_id" not in rows[0]
    values = group["values"]
    assert {(r["source"], r["destination"], r["packet_size"]) for r in rows} == {
        (values["source"], values["destination"], values["packet_size"])
    }
    assert {r["family"] for r in rows} <= {"IPv4", "IPv6"}
    assert {r["aggregation"] for r in rows} == {"mean over 5 minutes"}
    assert rows[0]["series"].startswith(f"{values['source']} to {values['destination']} ICMP")


@pytest.mark.parametrize(
    ("style", "collections", "tabs"),
    [
        ("sip", ["amp-sip"], ["sip", "latency", "loss"]),
        ("latency", ["amp-sip"], ["sip", "latency", "loss"]),
        ("latency", ["amp-icmp"], ["latency", "loss"]),
        ("loss", ["amp-icmp", "amp-sip"], ["latency", "loss"]),
        ("youtube", ["amp-youtube"], []),
    ],
)
def test_style_tabs_are_the_styles_that_draw_every_group(
    app: webtest.TestApp, style: str, collections: list[str], tabs: list[str]
) -> None:
    """A SIP view's page offers its MOS, round trip and loss; a mixed view what all draw."""
    view_id = make_view(app, style, [first_group(app, c) for c in collections])
    page = app.get(f"/view/{style}/{view_id}")
    assert re.findall(r'data-style="([a-z-]+)"', page.text) == tabs
