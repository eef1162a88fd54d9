"""The stream list and its graph links in a real browser (Debian's Chromium).

A stream's graph is the view of its own line: /graph/<id> opens it. The view
page marks `<body data-graph-ready="true">` once its detail graph has drawn,
with `data-points`, `data-start` and `data-end` on `#detail-graph`.
Screenshots go to `tests/artifacts/`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium package",
        allow_module_level=True,
    )

READY = 'body[data-graph-ready="true"]'
READY_TIMEOUT_MS = 30_000


def stream_id_of(server: Any, source: str, destination: str, family: str = "ipv4") -> int:
    answer = requests.get(
        f"{server.url}/api/v1/collections/amp-icmp/streams",
        params={"source": source, "destination": destination, "family": family},
        timeout=10,
    ).json()
    assert answer["total"] == 1, answer
    return answer["items"][0]["stream_id"]


@pytest.fixture(scope="module")
def stream_id(live_server: Any) -> int:
    """An IPv4 stream of a pair the mesh reaches, so its graph has data."""
    source, destination = live_server.reachable[0]
    return stream_id_of(live_server, source, destination)


def open_graph(watched: Any, url: str) -> Any:
    page = watched.page
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=READY_TIMEOUT_MS)
    return page


def detail_attributes(page: Any) -> dict[str, int]:
    graph = page.locator("#detail-graph")
    return {
        name: int(graph.get_attribute(f"data-{name}") or "-1")
        for name in ("points", "start", "end")
    }


def test_bookmarked_stream_range_opens_its_view_on_that_range(
    live_server: Any, stream_id: int, watched: Any, artifacts: Path
) -> None:
    start = live_server.start + 6 * 3600 - live_server.start % 300
    end = start + 12 * 3600
    page = open_graph(watched, f"{live_server.url}/graph/{stream_id}/{start}/{end}")
    assert re.search(rf"/view/latency/[a-z2-7]{{12}}/{start}/{end}$", page.url), page.url
    attributes = detail_attributes(page)
    assert (attributes["start"], attributes["end"]) == (start, end)
    assert attributes["points"] > 100
    page.screenshot(path=str(artifacts / "graph-page.png"), full_page=True)
    assert not watched.problems, watched.problems


def test_index_lists_streams_and_links_to_graphs(
    live_server: Any, watched: Any, artifacts: Any
) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/")
    links = page.locator("a.row-link")
    total = requests.get(
        f"{live_server.url}/api/v1/collections/amp-icmp/streams", timeout=10
    ).json()["total"]
    assert links.count() == total > 0
    # index.js turns the last result into a relative time.
    assert "ago" in page.locator("time.last-result").first.inner_text()
    page.screenshot(path=str(artifacts / "index.png"), full_page=True)
    href = links.first.get_attribute("href")
    assert href
    assert href.startswith("/graph/")
    links.first.click()
    page.wait_for_url(re.compile(r"/view/latency/[a-z2-7]{12}$"))
    page.wait_for_selector(READY, state="attached", timeout=READY_TIMEOUT_MS)
    assert int(page.locator("#detail-graph").get_attribute("data-points") or "-1") >= 0
    assert not watched.problems, watched.problems


def test_every_module_the_graph_page_loads_carries_the_static_version(
    live_server: Any, stream_id: int, watched: Any
) -> None:
    """The entry module, the modules it imports, and its style loaded by import() are
    all fetched with ?v=<version> (the import map of ampweb/assets.py), so a deploy
    reaches browsers that cached the previous files."""
    page = watched.page
    scripts: list[str] = []
    page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
    open_graph(watched, f"{live_server.url}/graph/{stream_id}")
    version = page.locator("#detail-graph").evaluate(
        "() => new URL(document.querySelector('script[src*=\"/js/view.js\"]').src)"
        ".searchParams.get('v')"
    )
    assert re.fullmatch(r"[0-9a-f]{12}", version or ""), version
    paths = {re.sub(r"^https?://[^/]+", "", url) for url in scripts}
    for module in ("js/view.js", "js/lib/graph.js", "js/lib/api.js", "js/styles/latency.js"):
        assert f"/static/{module}?v={version}" in paths, sorted(paths)
    assert "/static/vendor/uplot/uPlot.esm.js?v=" + version in paths
    assert all(p.endswith(f"?v={version}") for p in paths if p.startswith("/static/")), paths
    assert page.locator("#detail-graph").get_attribute("data-points") not in (None, "0")
    assert not watched.problems, watched.problems
