"""Events where the data is: markers on graphs, badges on the matrix, ratings on the dashboard.

Over the browser tests' live app (a simulated mesh up to about now), with
events stored on one reachable pair's IPv4 ICMP stream as the detection
engine stores them (grouped by the real grouping sink). Screenshots go to
`tests/artifacts/`.
"""

from __future__ import annotations

import csv
import io
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
RATINGS_READY = 'body[data-ratings-ready="true"]'
RATER_PASSWORD = "a rater's long password"
EVENTS_READY = '#detail-graph[data-events-ready="true"]'
SUMMARY_EVENTS_READY = '#summary-graph[data-events-ready="true"]'


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
    severe = page.locator(f'#detail-graph .event-marker[data-event-id="{marked.event_ids[0]}"]')
    mild = page.locator(f'#detail-graph .event-marker[data-event-id="{marked.event_ids[1]}"]')
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
    page.locator(f'#detail-graph .event-marker[data-event-id="{marked.event_ids[0]}"]').click()
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


def test_the_summary_graph_marks_the_events_too_asking_once_per_summary_range(
    live_server: Any, marked: Marked, watched: Any, artifacts: Path
) -> None:
    """The 30-day summary under the detail graph marks the same events, as the paths pages do.

    Its events are asked for with its own range, once: moving the detail range
    inside the summary asks again for the detail graph only.
    """
    page = watched.page
    asked: list[dict[str, list[str]]] = []
    page.on(
        "request",
        lambda request: (
            urlsplit(request.url).path == "/api/v1/events"
            and asked.append(parse_qs(urlsplit(request.url).query))
        ),
    )
    page.goto(f"{live_server.url}/graph/{marked.stream_id}")
    page.wait_for_selector(GRAPH_READY, state="attached")
    page.wait_for_selector(EVENTS_READY, state="attached")
    page.wait_for_selector(SUMMARY_EVENTS_READY, state="attached")
    detail_range = [
        int(page.locator("#detail-graph").get_attribute(n) or 0) for n in ("data-start", "data-end")
    ]
    # Two requests: the detail graph's range and the summary's 30 days to its end.
    assert len(asked) == 2
    ranges = sorted((int(q["start"][0]), int(q["end"][0])) for q in asked)
    summary_range = (detail_range[1] - 30 * 86400, detail_range[1] + 1)
    assert ranges == sorted([(detail_range[0], detail_range[1] + 1), summary_range])
    assert all(q["pagesize"] == ["500"] for q in asked)

    # Three hours apart on a 30-day axis: one marker for both, coloured by the severer.
    markers = page.locator("#summary-graph .event-marker")
    assert markers.count() == 1
    assert page.locator("#summary-graph .event-markers").get_attribute("data-events") == "2"
    marker = page.locator(f'#summary-graph .event-marker[data-event-id="{marked.event_ids[0]}"]')
    assert "severity-high" in (marker.get_attribute("class") or "")
    assert marker.get_attribute("data-count") == "2"
    plot = page.locator("#summary-graph .u-over").bounding_box()
    box = marker.bounding_box()
    # On the summary's time axis, near its right end (the events are hours old).
    assert plot["x"] + plot["width"] * 0.9 < box["x"] < plot["x"] + plot["width"]
    assert abs(box["y"] + box["height"] / 2 - (plot["y"] + plot["height"])) < 10
    marker.hover()
    note = page.locator("#summary-graph .event-note")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert text.startswith("2 events around ")
    assert "median 21.0 ms -> 64.0 ms · severity 75" in text
    assert "median 64.0 ms -> 22.0 ms · severity 25" in text
    page.screenshot(path=str(artifacts / "graph-summary-event-markers.png"), full_page=False)

    # Panning inside the summary: the detail graph asks again, the summary does not.
    page.mouse.move(5, 5)
    page.locator('[data-action="pan-left"]').click()
    page.wait_for_selector(GRAPH_READY, state="attached")
    page.wait_for_selector(EVENTS_READY, state="attached")
    assert len(asked) == 3
    assert (int(asked[2]["start"][0]), int(asked[2]["end"][0])) != summary_range
    assert markers.count() == 1

    # A line switched off in the legend loses its markers on both graphs, and gets them back.
    toggle = page.locator(".legend-toggle").first
    toggle.click()
    page.wait_for_function(
        "() => document.querySelector('#summary-graph .event-markers').dataset.count === '0'"
    )
    toggle.click()
    page.wait_for_function(
        "() => document.querySelector('#summary-graph .event-markers').dataset.count === '1'"
    )
    assert len(asked) == 3

    # A click opens the dashboard on the groups of the marker's severest event.
    marker.click()
    page.wait_for_url("**/events?event=*")
    assert parse_qs(urlsplit(page.url).query) == {"event": [str(marked.event_ids[0])]}
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


def test_a_user_rates_an_event_and_a_group_and_downloads_the_ratings(
    live_server: Any, marked: Marked, watched: Any, artifacts: Path
) -> None:
    from ampweb.accounts import UserRegistry
    from tests.conftest import make_services

    services = make_services(live_server.sql_url)
    try:
        UserRegistry(services.sessionmaker).create_user("rater", RATER_PASSWORD, ["viewdata"])
    finally:
        services.close()
    page = watched.page
    # Anonymous visitors see the counts, but cannot rate.
    page.goto(f"{live_server.url}/events")
    page.wait_for_selector(RATINGS_READY, state="attached")
    assert page.locator(".rating button.rate").first.is_disabled()
    assert page.locator("#ratings-csv").count() == 0

    page.goto(f"{live_server.url}/login")
    page.get_by_label("User name").fill("rater")
    page.get_by_label("Password").fill(RATER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/events")
    page.wait_for_selector(RATINGS_READY, state="attached")

    event = page.locator(f'tr.event[data-event-id="{marked.event_ids[0]}"]').first
    event.locator("button.rate-useful").click()
    form = event.locator("form.rating-form")
    form.locator("select[name=reason]").select_option("real-change")
    form.locator("input[name=comment]").fill("the provider confirmed it")
    form.locator("button.rating-save").click()
    useful = event.locator("button.rate-useful")
    page.wait_for_function(
        "id => document.querySelector(`tr.event[data-event-id='${id}'] button.rate-useful`)"
        ".getAttribute('aria-pressed') === 'true'",
        arg=str(marked.event_ids[0]),
    )
    assert useful.locator(".rate-count").inner_text() == "1"
    assert form.count() == 0

    group = page.locator("li.event-group").first
    group_id = group.get_attribute("data-group-id")
    group.locator(":scope > header button.rate-not-useful").click()
    group_form = group.locator(":scope > header form.rating-form")
    # The reasons offered are those of the verdict chosen.
    offered = group_form.locator("select[name=reason] option").all_inner_texts()
    assert "A real change in the network" not in offered
    group_form.locator("select[name=reason]").select_option("duplicate")
    group_form.locator("button.rating-save").click()
    group_form.wait_for(state="detached")
    assert (
        group.locator(":scope > header button.rate-not-useful").get_attribute("aria-pressed")
        == "true"
    )
    page.screenshot(path=str(artifacts / "events-ratings.png"), full_page=True)

    # Stored: the page shows them again after a reload, as the user's own.
    page.reload()
    page.wait_for_selector(RATINGS_READY, state="attached")
    again = page.locator(
        f'tr.event[data-event-id="{marked.event_ids[0]}"] button.rate-useful'
    ).first
    assert again.get_attribute("aria-pressed") == "true"
    assert "the provider confirmed it" in (again.get_attribute("title") or "")

    with page.expect_download() as download:
        page.locator("#ratings-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {(r["rated"], r["useful"], r["reason"], r["username"]) for r in rows} == {
        ("event", "yes", "real-change", "rater"),
        ("group", "no", "duplicate", "rater"),
    }
    by_kind = {r["rated"]: r for r in rows}
    assert by_kind["event"]["event_id"] == str(marked.event_ids[0])
    assert by_kind["event"]["stream_id"] == str(marked.stream_id)
    assert (by_kind["event"]["detector"], by_kind["event"]["severity"]) == ("level", "75")
    assert by_kind["event"]["comment"] == "the provider confirmed it"
    assert by_kind["group"]["group_id"] == group_id
    assert watched.problems == []
