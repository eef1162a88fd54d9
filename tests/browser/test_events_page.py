"""The events dashboard in a real browser (Debian's Chromium) over the browser tests' live app.

The events are stored as the detection engine stores them and grouped by
the real grouping sink (`tests.events_factory.store_events`): one level
shift an hour on pairs of their own (no traceroutes, so each event makes a
source and a target group, and pruning keeps one). Screenshots go to
`tests/artifacts/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium package",
        allow_module_level=True,
    )

#: Events stored (one group each), and which of them are severe.
EVENTS = 25
SEVERE = 80
MILD = 30
READY = 'body[data-events-ready="true"]'


def is_severe(index: int) -> bool:
    return index % 5 == 0


@pytest.fixture(scope="module")
def stored(live_server: Any) -> list[int]:
    """The onsets of the stored events, newest first (event i is i hours before the mesh's end)."""
    from tests.conftest import make_services
    from tests.events_factory import event_row, icmp_stream, store_events

    services = make_services(live_server.sql_url)
    onsets = []
    try:
        rows = []
        for index in range(EVENTS):
            source, target = f"ev-src-{index}", f"ev-dst-{index}"
            stream_id = icmp_stream(services, source, target)
            onset = live_server.end - 3600 * (index + 1)
            onsets.append(onset)
            rows.append(
                event_row(
                    stream_id,
                    onset,
                    source=source,
                    target=target,
                    severity=SEVERE if is_severe(index) else MILD,
                )
            )
        store_events(services, rows)
    finally:
        services.close()
    return onsets


def groups_shown(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "li.event-group",
        """items => items.map(li => ({
            started: Number(li.dataset.tsStarted),
            severity: Number(li.dataset.severity),
            key: li.querySelector('.event-group-key').textContent,
            events: li.querySelectorAll('tr.event').length,
            graph: li.querySelector('a.event-graph').getAttribute('href'),
        }))""",
    )


def test_groups_newest_first_filtered_by_severity_and_paged(
    live_server: Any, stored: list[int], watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/events")
    page.wait_for_selector(READY, state="attached")
    assert page.locator("a.site-link.is-current").inner_text() == "Events"

    first = groups_shown(page)
    assert len(first) == 20
    assert [g["started"] for g in first] == stored[:20]
    assert first[0]["key"] == "source ev-src-0"
    assert all(g["events"] == 1 for g in first)
    # Each event links to its stream's graph around its onset.
    graph = urlsplit(first[0]["graph"]).path.split("/")
    assert graph[1] == "graph"
    assert int(graph[3]) < stored[0] < int(graph[4])
    assert "UTC" in page.locator("li.event-group time.ts").first.inner_text()
    page.screenshot(path=str(artifacts / "events-dashboard.png"), full_page=True)

    # The next page carries on where the first stopped.
    page.click("#events-next")
    page.wait_for_selector(READY, state="attached")
    second = groups_shown(page)
    assert [g["started"] for g in second] == stored[20:]
    assert page.locator("#events-next").count() == 0
    page.click("#events-newest")
    page.wait_for_selector(READY, state="attached")
    assert [g["started"] for g in groups_shown(page)] == stored[:20]

    # The severity filter keeps itself in the URL, which shows the same view when shared.
    page.fill("input[name=min_severity]", "60")
    page.click("#events-filters button[type=submit]")
    page.wait_for_selector(READY, state="attached")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"range": ["all"], "min_severity": ["60"]}
    severe = [onset for index, onset in enumerate(stored) if is_severe(index)]
    filtered = groups_shown(page)
    assert [g["started"] for g in filtered] == severe
    assert all(g["severity"] == SEVERE for g in filtered)
    page.screenshot(path=str(artifacts / "events-dashboard-severe.png"), full_page=True)

    shared = watched.page.context.new_page()
    shared.goto(page.url)
    shared.wait_for_selector(READY, state="attached")
    assert [g["started"] for g in groups_shown(shared)] == severe
    assert shared.locator("input[name=min_severity]").input_value() == "60"
    assert watched.problems == []


def test_a_bad_filter_is_a_clear_400(live_server: Any, watched: Any) -> None:
    response = watched.page.goto(f"{live_server.url}/events?min_severity=abc")
    assert response.status == 400
    assert "min_severity" in watched.page.content()
