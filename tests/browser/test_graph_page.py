"""The latency graph page and the stream list in a real browser (Debian's Chromium).

The front end marks `<body data-graph-ready="true">` once the detail graph has
drawn, with `data-points`, `data-start` and `data-end` on `#detail-graph`, and
`data-graph-error="true"` on the body when a fetch failed. Screenshots go to
`tests/artifacts/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
#: The colour the latency line is drawn in (graph.js LATENCY_COLOUR, #1d4ed8).
LATENCY_RGB = (29, 78, 216)


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


def latency_pixels(page: Any, selector: str) -> int:
    """How many pixels of the graph's canvas are (close to) the latency line's colour."""
    return page.evaluate(
        """([selector, rgb]) => {
            const canvas = document.querySelector(selector + " canvas");
            if (!canvas || !canvas.width || !canvas.height) return -1;
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i + 3] > 200 && Math.abs(pixels[i] - rgb[0]) < 40
                    && Math.abs(pixels[i + 1] - rgb[1]) < 40
                    && Math.abs(pixels[i + 2] - rgb[2]) < 40) count++;
            }
            return count;
        }""",
        [selector, list(LATENCY_RGB)],
    )


def assert_no_problems(watched: Any) -> None:
    page = watched.page
    assert page.locator("body").get_attribute("data-graph-error") is None
    assert page.locator("#graph-alert").is_hidden()
    assert watched.problems == []


def test_graph_page_draws_the_last_day(
    live_server: Any, stream_id: int, watched: Any, artifacts: Any
) -> None:
    page = open_graph(watched, f"{live_server.url}/graph/{stream_id}")
    attributes = detail_attributes(page)
    # The last 24 hours in 5-minute bins: about 288 points, all with data.
    assert attributes["points"] > 100
    assert attributes["end"] - attributes["start"] == 86400
    assert abs(attributes["end"] - page.evaluate("window.nntscGraph.pageData.now")) < 120
    assert page.locator("#detail-graph canvas").count() >= 1
    assert latency_pixels(page, "#detail-graph") > 200, "no latency line on the detail graph"
    assert page.locator("#detail-empty").is_hidden()
    assert "5 minutes" in page.locator("#detail-label").inner_text()
    # Let the summary finish too so that the screenshot shows both graphs.
    page.wait_for_function("window.nntscGraph.state.summary !== null", timeout=READY_TIMEOUT_MS)
    page.screenshot(path=str(artifacts / "graph-page.png"), full_page=True)
    assert_no_problems(watched)


def test_summary_graph_draws(live_server: Any, stream_id: int, watched: Any) -> None:
    page = open_graph(watched, f"{live_server.url}/graph/{stream_id}")
    page.wait_for_function(
        "window.nntscGraph.state.summary !== null"
        " && document.getElementById('summary-graph').dataset.loading === 'false'",
        timeout=READY_TIMEOUT_MS,
    )
    assert page.locator("#summary-graph canvas").count() >= 1
    assert page.evaluate("window.nntscGraph.state.summary.points") > 10
    assert latency_pixels(page, "#summary-graph") > 50, "no latency line on the summary graph"
    assert_no_problems(watched)


def test_csv_link_points_at_the_shown_range(live_server: Any, stream_id: int, watched: Any) -> None:
    page = open_graph(watched, f"{live_server.url}/graph/{stream_id}")
    attributes = detail_attributes(page)
    href = page.locator("#csv-link").get_attribute("href")
    assert href
    parts = urlsplit(href)
    assert parts.path == f"/api/v1/streams/{stream_id}/data"
    query = parse_qs(parts.query)
    assert query["format"] == ["csv"]
    assert query["start"] == [str(attributes["start"])]
    assert query["end"] == [str(attributes["end"])]
    response = page.request.get(f"{live_server.url}{href}")
    assert response.ok
    assert response.headers["content-type"].startswith("text/csv")
    header = response.text().splitlines()[0].split(",")
    assert header[:2] == ["timestamp", "latency"]
    assert "smoke_20" in header
    assert_no_problems(watched)


def test_bookmarked_range_draws_that_range(live_server: Any, stream_id: int, watched: Any) -> None:
    start = live_server.start + 6 * 3600 - live_server.start % 300
    end = start + 12 * 3600
    page = open_graph(watched, f"{live_server.url}/graph/{stream_id}/{start}/{end}")
    attributes = detail_attributes(page)
    assert (attributes["start"], attributes["end"]) == (start, end)
    # Exactly the non-null latency points the API gives for that range.
    answer = requests.get(
        f"{live_server.url}/api/v1/streams/{stream_id}/data",
        params={"start": start, "end": end},
        timeout=10,
    ).json()
    assert answer["binsize"] == 300
    expected = sum(1 for row in answer["rows"] if row[1] is not None)
    assert expected > 100
    assert attributes["points"] == expected
    assert page.url.endswith(f"/graph/{stream_id}/{start}/{end}")
    assert page.locator("#range-span").inner_text().strip() != ""
    datetime = page.locator("#range-text").get_attribute("datetime") or ""
    assert datetime.startswith(page.evaluate(f"new Date({start} * 1000).toISOString()"))
    assert_no_problems(watched)


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
    page.wait_for_url(f"**{href}")
    page.wait_for_selector(READY, state="attached", timeout=READY_TIMEOUT_MS)
    assert int(page.locator("#detail-graph").get_attribute("data-points") or "-1") >= 0
    assert_no_problems(watched)
