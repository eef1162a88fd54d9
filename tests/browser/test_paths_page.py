"""The traceroute path map and AS path pages in a real browser (Debian's Chromium).

`js/paths.js` marks ``<body data-paths-ready="true">`` once the period's paths
are drawn; the hop graph's ``<svg>`` carries ``data-nodes`` and
``data-edges``, the AS rainbow's ``data-segments``. Screenshots go to
`tests/artifacts/`.
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

READY = 'body[data-paths-ready="true"]'
TIMEOUT_MS = 30_000


def options(server: Any, selected: list[str]) -> dict[str, Any]:
    return requests.get(
        f"{server.url}/api/v1/collections/amp-traceroute/options",
        params={"selected": selected, "pagesize": 100},
        timeout=10,
    ).json()


def values(server: Any, selected: list[str]) -> list[str]:
    return [item["value"] for item in options(server, selected)["items"]]


@pytest.fixture(scope="module")
def group(live_server: Any) -> str:
    """A traceroute group of a pair the mesh reaches, found through the options API."""
    sources = values(live_server, [])
    source, destination = next(
        (s, d) for s, d in live_server.reachable if s in sources and d in values(live_server, [s])
    )
    # A level with one value is chosen for the user: it comes back in "selected".
    answer = options(live_server, [source, destination])
    size = answer["items"][0]["value"] if answer["items"] else answer["selected"][2]
    return f"FROM {source} TO {destination} SIZE {size} FAMILY ipv4"


def create_view(server: Any, style: str, group: str) -> str:
    collection = "amp-traceroute" if style == "traceroute" else "amp-astraceroute"
    answer = requests.post(
        f"{server.url}/api/v1/views",
        json={"style": style, "groups": [f"{collection} {group}"]},
        headers=server.api_headers,
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["view_id"]


def test_path_map(live_server: Any, watched: Any, group: str, artifacts: Path) -> None:
    view_id = create_view(live_server, "traceroute", group)
    page = watched.page
    page.goto(f"{live_server.url}/view/traceroute/{view_id}")
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    svg = page.locator("#hop-graph svg")
    assert int(svg.get_attribute("data-nodes")) > 3
    assert int(svg.get_attribute("data-edges")) > 2
    assert page.locator("#hop-graph .node").count() == int(svg.get_attribute("data-nodes"))
    assert page.locator("#hop-graph .edge").count() == int(svg.get_attribute("data-edges"))
    assert page.locator("#paths-table tbody tr").count() >= 1
    assert page.locator("#summary-graph canvas").count() >= 1

    # Hovering a hop shows its address and counts.
    page.locator("#hop-graph .node.is-hop").first.hover()
    tooltip = page.locator("#hop-tooltip")
    assert tooltip.is_visible()
    assert "traceroutes" in tooltip.inner_text()
    page.screenshot(path=str(artifacts / "paths-traceroute.png"), full_page=True)

    # Choosing a period on the summary graph moves the URL and redraws the map.
    overlay = page.locator("#summary-graph .u-over")
    box = overlay.bounding_box()
    y = box["y"] + box["height"] / 2
    page.evaluate("document.body.dataset.pathsReady = 'waiting'")
    page.mouse.move(box["x"] + box["width"] * 0.80, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.90, y, steps=8)
    page.mouse.up()
    page.wait_for_url(re.compile(rf"/view/traceroute/{view_id}/\d+/\d+$"), timeout=TIMEOUT_MS)
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    start, end = (int(part) for part in page.url.rsplit("/", 2)[-2:])
    assert end > start
    csv_link = page.locator("#csv-link").get_attribute("href")
    assert f"start={start}" in csv_link
    assert "format=csv" in csv_link
    assert requests.get(live_server.url + csv_link, timeout=10).status_code == 200
    assert watched.problems == []


def test_as_path_page(live_server: Any, watched: Any, group: str, artifacts: Path) -> None:
    view_id = create_view(live_server, "as-path", group)
    page = watched.page
    end = live_server.end
    start = end - 2 * 86400
    page.goto(f"{live_server.url}/view/as-path/{view_id}/{start}/{end}")
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    assert int(page.locator("#rainbow svg").get_attribute("data-segments")) >= 1
    assert page.locator("#rainbow rect.band").count() >= 3
    assert page.locator("#changes-table tbody tr").count() >= 1
    page.locator("#rainbow rect.band").first.hover()
    assert "hop" in page.locator("#hop-tooltip").inner_text()
    page.screenshot(path=str(artifacts / "paths-as-path.png"), full_page=True)

    page.locator("[data-span='21600']").click()
    page.wait_for_url(re.compile(rf"/view/as-path/{view_id}/\d+/{end}$"), timeout=TIMEOUT_MS)
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    assert watched.problems == []


def test_path_map_fits_and_rows_open_their_path(
    live_server: Any, watched: Any, group: str, artifacts: Path
) -> None:
    view_id = create_view(live_server, "traceroute", group)
    page = watched.page
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(f"{live_server.url}/view/traceroute/{view_id}/{live_server.start}/{live_server.end}")
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    box = page.locator("#hop-graph")
    # The box is as tall as the map: nothing is hidden below its edge.
    assert box.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
    svg_height = float(page.locator("#hop-graph svg").get_attribute("height"))
    assert box.evaluate("el => el.clientHeight") >= svg_height
    rows = page.locator("#paths-table tbody tr")
    index = min(1, rows.count() - 1)
    row = rows.nth(index)
    row.click()
    assert row.get_attribute("aria-selected") == "true"
    assert box.get_attribute("data-focused") == str(index)
    assert "is-focused" in box.get_attribute("class")
    assert page.locator("#hop-graph .is-on").count() >= 2
    # It stays open when the pointer leaves the table, and shows in the screenshot.
    page.mouse.move(5, 5)
    assert box.get_attribute("data-focused") == str(index)
    page.screenshot(path=str(artifacts / "paths-opened.png"), full_page=True)
    # Enter on the row closes it again.
    row.focus()
    page.keyboard.press("Enter")
    assert row.get_attribute("aria-selected") == "false"
    assert box.get_attribute("data-focused") == ""
    assert watched.problems == []


def test_the_summary_marks_the_views_events_and_a_marker_opens_the_group(
    live_server: Any, watched: Any, group: str, artifacts: Path
) -> None:
    """As on the other graph pages: events of the view's streams on the summary's time axis."""
    from tests.conftest import make_services
    from tests.events_factory import event_row, store_events

    view_id = create_view(live_server, "traceroute", group)
    page = watched.page
    page.goto(f"{live_server.url}/view/traceroute/{view_id}")
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    assert page.locator("#summary-graph .event-marker").count() == 0
    (line,) = page.evaluate("JSON.parse(document.getElementById('page-data').textContent).lines")
    stream_id = line["stream_ids"][0]
    source, destination = group.split()[1], group.split()[3]
    # Three days apart, so that the 30-day summary shows them as two markers.
    onsets = [live_server.end - 4 * 86400, live_server.end - 86400]
    rows = [
        event_row(
            stream_id,
            onset,
            collection="amp-traceroute",
            metric="hop_count",
            source=source,
            target=destination,
            severity=severity,
            old_value=8.0,
            new_value=11.0,
            unit="hops",
            description=f"path length 8 -> 11 hops ({severity})",
        )
        for onset, severity in zip(onsets, (70, 20), strict=True)
    ]
    services = make_services(live_server.sql_url)
    try:
        event_ids = [store_events(services, [row])[0].id for row in rows]
    finally:
        services.close()

    page.reload()
    page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_selector('#summary-graph[data-events-ready="true"]', state="attached")
    markers = page.locator("#summary-graph .event-marker")
    assert markers.count() == 2
    severe = page.locator(f'#summary-graph .event-marker[data-event-id="{event_ids[0]}"]')
    mild = page.locator(f'#summary-graph .event-marker[data-event-id="{event_ids[1]}"]')
    assert "severity-high" in (severe.get_attribute("class") or "")
    assert "severity-low" in (mild.get_attribute("class") or "")
    plot = page.locator("#summary-graph .u-over").bounding_box()
    severe_box, mild_box = severe.bounding_box(), mild.bounding_box()
    assert plot["x"] < severe_box["x"] < mild_box["x"] < plot["x"] + plot["width"]
    severe.hover()
    note = page.locator("#summary-graph .event-note")
    note.wait_for(state="visible")
    assert "path length 8 -> 11 hops (70)" in note.inner_text()
    assert f"{source} → {destination}" in note.inner_text()
    page.screenshot(path=str(artifacts / "paths-summary-event-markers.png"), full_page=False)

    severe.click()
    page.wait_for_url(re.compile(rf"/events\?event={event_ids[0]}$"), timeout=TIMEOUT_MS)
    assert watched.problems == []
