"""Events where the data is: markers on graphs, badges on the matrix, ratings on the dashboard.

Over the browser tests' live app (a simulated mesh up to about now), with
events stored on one reachable pair's IPv4 ICMP stream as the detection
engine stores them (grouped by the real grouping sink). Screenshots go to
`tests/artifacts/`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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

GRAPH_READY = 'body[data-graph-ready="true"]'
MATRIX = "/matrix/latency/demo-monitors/demo-targets"
EVENTS_READY = '#detail-graph[data-events-ready="true"]'


@dataclass(frozen=True)
class Marked:
    """The stream with events, its pair, and the events stored (oldest first)."""

    stream_id: int
    source: str
    destination: str
    event_ids: list[int]
    onsets: list[int]


@pytest.fixture(scope="module")
def marked(live_server: Any) -> Marked:
    """A severe rise 5 hours before the mesh's end and a mild fall 2 hours before it."""
    from tests.conftest import make_services
    from tests.events_factory import event_row, store_events

    source, destination = live_server.reachable[0]
    answer = requests.get(
        f"{live_server.url}/api/v1/collections/amp-icmp/streams",
        params={"source": source, "destination": destination, "family": "ipv4"},
        timeout=10,
    ).json()
    stream_id = answer["items"][0]["stream_id"]
    ipv6 = requests.get(
        f"{live_server.url}/api/v1/collections/amp-icmp/streams",
        params={"source": source, "destination": destination, "family": "ipv6"},
        timeout=10,
    ).json()["items"][0]["stream_id"]
    onsets = [live_server.end - 5 * 3600, live_server.end - 2 * 3600]
    rows = [
        event_row(
            stream_id,
            onsets[0],
            source=source,
            target=destination,
            severity=75,
            description="median 21.0 ms -> 64.0 ms",
        ),
        event_row(
            stream_id,
            onsets[1],
            source=source,
            target=destination,
            kind="decr",
            direction="down",
            severity=25,
            old_value=64.0,
            new_value=22.0,
            description="median 64.0 ms -> 22.0 ms",
        ),
        # Over IPv6, a minute ago: its group is still open (the graph of IPv4 leaves it out).
        event_row(
            ipv6,
            int(time.time()) - 60,
            source=source,
            target=destination,
            severity=40,
            description="median 30.0 ms -> 45.0 ms",
        ),
    ]
    services = make_services(live_server.sql_url)
    try:
        # One at a time, as live detection stores them.
        ids = [store_events(services, [row])[0].id for row in rows]
    finally:
        services.close()
    return Marked(stream_id, source, destination, ids, onsets)


def test_a_graph_marks_its_events_and_a_marker_opens_the_group(
    live_server: Any, marked: Marked, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/graph/{marked.stream_id}")
    page.wait_for_selector(GRAPH_READY, state="attached")
    page.wait_for_selector(EVENTS_READY, state="attached")
    markers = page.locator("#detail-graph .event-marker")
    assert markers.count() == 2
    severe = page.locator(f'.event-marker[data-event-id="{marked.event_ids[0]}"]')
    mild = page.locator(f'.event-marker[data-event-id="{marked.event_ids[1]}"]')
    assert "severity-high" in (severe.get_attribute("class") or "")
    assert "severity-low" in (mild.get_attribute("class") or "")
    # Left to right in time, on the time axis under the plot.
    severe_box, mild_box = severe.bounding_box(), mild.bounding_box()
    plot = page.locator("#detail-graph .u-over").bounding_box()
    assert plot["x"] < severe_box["x"] < mild_box["x"] < plot["x"] + plot["width"]
    assert abs(severe_box["y"] + severe_box["height"] / 2 - (plot["y"] + plot["height"])) < 10

    severe.hover()
    note = page.locator("#detail-graph .event-note")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert "median 21.0 ms -> 64.0 ms" in text
    assert "severity 75" in text
    assert f"{marked.source} → {marked.destination}" in text
    page.screenshot(path=str(artifacts / "graph-event-markers.png"), full_page=False)

    # A range without the events has no markers; coming back brings them again.
    page.locator('[data-action="pan-left"]').click()
    page.wait_for_function(
        "() => document.querySelector('#detail-graph .event-markers').dataset.count === '0'"
    )
    page.wait_for_selector(GRAPH_READY, state="attached")
    page.go_back()
    page.wait_for_function(
        "() => document.querySelector('#detail-graph .event-markers').dataset.count === '2'"
    )
    page.wait_for_selector(GRAPH_READY, state="attached")

    # A click opens the dashboard on the groups of the event.
    page.locator(f'.event-marker[data-event-id="{marked.event_ids[0]}"]').click()
    page.wait_for_url("**/events?event=*")
    assert parse_qs(urlsplit(page.url).query) == {"event": [str(marked.event_ids[0])]}
    page.wait_for_selector('body[data-events-ready="true"]', state="attached")
    chosen = page.locator("tr.event.is-chosen")
    assert chosen.count() >= 1
    assert {chosen.nth(i).get_attribute("data-event-id") for i in range(chosen.count())} == {
        str(marked.event_ids[0])
    }
    assert "The groups of event" in page.locator("#events-of-event").inner_text()
    assert watched.problems == []


def test_the_matrix_badges_a_pair_with_events_and_its_tooltip_lists_them(
    live_server: Any, marked: Marked, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(live_server.url + MATRIX)
    page.wait_for_selector('body[data-matrix-ready="true"]', state="attached")
    link = page.locator(
        f'a.cell[data-source="{marked.source}"][data-destination="{marked.destination}"]'
    )
    classes = (link.get_attribute("class") or "").split()
    assert {"has-events", "event-open"} <= set(classes)
    badge = link.locator(".event-badge")
    assert badge.inner_text() == "3"
    assert "severity-high" in (badge.get_attribute("class") or "")
    assert "3 events in the last 6 hours, in an open group" in (
        link.get_attribute("aria-label") or ""
    )
    # No other pair had events.
    assert page.locator(".event-badge").count() == 1
    assert page.locator("a.cell.event-open").count() == 1

    link.hover()
    tooltip = page.locator("#matrix-tooltip")
    tooltip.locator(".tip-events li").first.wait_for(state="visible")
    items = tooltip.locator(".tip-events li").all_inner_texts()
    assert len(items) == 3
    assert "IPv6: median 30.0 ms -> 45.0 ms" in items[0]
    assert "open" in items[0]
    assert "severity 25" in items[1]
    assert "IPv4: median 64.0 ms -> 22.0 ms" in items[1]
    assert "severity 75" in items[2]
    assert "IPv4: median 21.0 ms -> 64.0 ms" in items[2]
    page.wait_for_selector('#matrix-tooltip[data-ready="true"]', state="attached")
    page.screenshot(path=str(artifacts / "matrix-events.png"), full_page=False)
    assert watched.problems == []
