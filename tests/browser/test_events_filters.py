"""The events dashboard's filter panel, saved filters, frequency graph and common events.

In a real browser (Debian's Chromium) over the browser tests' live app,
with events stored through the grouping sink (`tests.events_factory`):
rises from amp-a to three targets, a loss from amp-b, a fall from amp-c,
and five rises of one stream (amp-d) over the day, the most common
stream. Screenshots go to `tests/artifacts/`.
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

PASSWORD = "a long enough password"
READY = (
    'body[data-events-ready="true"] #events-saved[data-ready="true"]',
    '#events-frequency[data-ready="true"]',
    '#events-common[data-ready="true"]',
)
HOUR = 3600


@pytest.fixture(scope="module")
def stored(live_server: Any) -> dict[str, int]:
    """The incidents, and a user who may log in; how many events each source has."""
    from ampweb.accounts import UserRegistry
    from tests.conftest import make_services
    from tests.events_factory import event_row, icmp_stream, store_events

    services = make_services(live_server.sql_url)
    end = live_server.end
    try:
        UserRegistry(services.sessionmaker).create_user("eve", PASSWORD, ["viewdata"])
        rows = []
        for offset, target in enumerate(("t-1", "t-2", "t-3")):
            stream = icmp_stream(services, "amp-a", target)
            rows.append(
                event_row(
                    stream, end - 2 * HOUR + 60 * offset, source="amp-a", target=target, severity=60
                )
            )
        loss = icmp_stream(services, "amp-b", "t-9")
        rows.append(
            event_row(
                loss,
                end - 5 * HOUR,
                source="amp-b",
                target="t-9",
                kind="loss",
                metric="loss",
                detector="loss",
                severity=40,
            )
        )
        fall = icmp_stream(services, "amp-c", "t-8")
        rows.append(
            event_row(
                fall,
                end - 8 * HOUR,
                source="amp-c",
                target="t-8",
                kind="decr",
                direction="down",
                severity=20,
            )
        )
        busy = icmp_stream(services, "amp-d", "t-7")
        for hours in (20, 18, 16, 14, 12):
            rows.append(
                event_row(busy, end - hours * HOUR, source="amp-d", target="t-7", severity=30)
            )
        store_events(services, rows)
    finally:
        services.close()
    return {"amp-a": 3, "amp-b": 1, "amp-c": 1, "amp-d": 5}


def ready(page: Any) -> None:
    for selector in READY:
        page.wait_for_selector(selector, state="attached")


def shown(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "li.event-group .event-group-key", "keys => keys.map(k => k.textContent)"
    )


def frequency_total(page: Any) -> int:
    return int(page.get_attribute("#events-frequency", "data-total"))


def common(page: Any) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "#events-common li.events-common-item",
        """items => items.map(li => [
            li.querySelector('a').textContent,
            li.querySelector('.events-common-count').textContent,
        ])""",
    )


def test_filter_save_load_delete_with_graph_and_common_events(
    live_server: Any, stored: dict[str, int], watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/events")
    ready(page)
    # amp-d's rises are hours apart: a group each.
    assert sorted(shown(page)) == [
        "source amp-a",
        "source amp-b",
        "source amp-c",
        *["source amp-d"] * 5,
    ]
    # Every event of the groups, per 30 minutes, drawn by uPlot.
    assert frequency_total(page) == sum(stored.values())
    assert page.locator("#events-frequency canvas").count() == 1
    # The busiest stream of the day first, linked to its graph.
    ranked = common(page)
    assert ranked[0][0].startswith("amp-d to t-7")
    assert ranked[0][1] == "5 events"
    assert len(ranked) == 6
    link = page.locator("#events-common a").first.get_attribute("href")
    assert link.startswith("/graph/")
    # Visitors filter by URL; saving filters needs a user.
    assert "Log in" in page.locator("#events-saved").inner_text()
    page.screenshot(path=str(artifacts / "events-filters-dashboard.png"), full_page=True)

    # Rises from amp-a or amp-b: only amp-a's group (amp-b's event is a loss).
    page.fill("input[name=source]", "amp-a, amp-b")
    page.check("input[name=kind][value=incr]")
    page.fill("input[name=min_endpoints]", "2")
    page.click("#events-filters button[type=submit]")
    ready(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["kind"] == ["incr"]
    assert query["source"] == ["amp-a, amp-b"]
    assert shown(page) == ["source amp-a"]
    assert frequency_total(page) == 3
    assert [count for _, count in common(page)] == ["1 event"] * 3
    filtered_url = page.url

    # Log in, come back to the filtered view, and save it.
    page.click("#events-saved a")
    page.get_by_label("User name").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(filtered_url)
    ready(page)
    page.fill("#saved-filter-name", "Rises from a")
    page.click("#saved-filter-save")
    page.wait_for_selector("#saved-filter-status:has-text('Saved \"Rises from a\"')")
    assert page.locator("#saved-filter-list option:checked").inner_text() == "Rises from a"
    page.screenshot(path=str(artifacts / "events-filters-saved.png"), full_page=True)

    # A fresh, unfiltered dashboard; the saved filter loads the same view.
    page.click("#events-clear")
    ready(page)
    assert len(shown(page)) == 8
    page.select_option("#saved-filter-list", label="Rises from a")
    page.click("#saved-filter-load")
    page.wait_for_url("**/events?*")
    ready(page)
    loaded = parse_qs(urlsplit(page.url).query)
    assert loaded == {"min_endpoints": ["2"], "source": ["amp-a", "amp-b"], "kind": ["incr"]}
    assert shown(page) == ["source amp-a"]
    assert page.locator("input[name=source]").input_value() == "amp-a, amp-b"
    assert page.locator("input[name=kind][value=incr]").is_checked()
    assert frequency_total(page) == 3
    page.screenshot(path=str(artifacts / "events-filters-loaded.png"), full_page=True)

    page.select_option("#saved-filter-list", label="Rises from a")
    page.click("#saved-filter-delete")
    page.wait_for_selector("#saved-filter-status:has-text('Deleted')")
    assert page.locator("#saved-filter-list option").all_inner_texts() == ["No saved filters yet"]
    assert watched.problems == []


def test_a_bad_list_filter_is_a_clear_400(live_server: Any, watched: Any) -> None:
    response = watched.page.goto(f"{live_server.url}/events?kind=explosion")
    assert response.status == 400
    assert "kind: must be one of" in watched.page.content()
