"""The events dashboard updates itself while it stays open (Debian's Chromium, real app).

The app serves a SQLite file of its own (no measurements: the page needs only
events) and polls every second (``ampweb.events_refresh = 1``). Events are
stored as the detection engine stores them, through the real grouping sink
(`tests.events_factory.store_events`), while the page is open; the test
checks that new groups take their place in order, that a group that grows
is redrawn where it was, that a group pruning merges disappears, that a
reader scrolled down keeps their place (with an "N new groups" button), and
that the URL's filters apply to the updates. Screenshots go to
`tests/artifacts/`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium package",
        allow_module_level=True,
    )

READY = 'body[data-events-ready="true"]'
HOUR = 3600
#: Groups on the page when it opens: enough to scroll.
FIRST = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The app over an empty SQLite file (polling every second) and services on the same file."""
    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('events-live')}/nntsc.sqlite"
    services = make_services(url)
    settings = {
        "nntsc.sql_url": url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
        "ampweb.events_refresh": "1",
    }
    try:
        with serve_app(**settings) as base:
            yield base, services
    finally:
        services.close()


def store(services: Any, pair: str, onset: int, **values: Any) -> None:
    """One event on the ICMP stream of (src-`pair`, dst-`pair`), grouped by the real sink."""
    from tests.events_factory import event_row, icmp_stream, store_events

    source, target = f"src-{pair}", f"dst-{pair}"
    stream = icmp_stream(services, source, target)
    store_events(services, [event_row(stream, onset, source=source, target=target, **values)])


def shown(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#event-groups > li.event-group",
        """items => items.map(li => ({
            id: Number(li.dataset.groupId),
            started: Number(li.dataset.tsStarted),
            key: li.querySelector('.event-group-key').textContent,
            direction: li.querySelector('.event-direction').textContent,
            events: li.querySelectorAll('tr.event').length,
            fresh: li.classList.contains('event-group-fresh'),
        }))""",
    )


def serial(page: Any) -> int:
    return int(page.get_attribute("#event-groups", "data-serial"))


def wait_for_serial(page: Any, services: Any) -> None:
    """Until the page has polled up to the newest change in the database."""
    from ampy.events import EventReader

    newest = EventReader(services.read_engine, services.sessionmaker).change_serial()
    page.wait_for_function(
        f"Number(document.getElementById('event-groups').dataset.serial) >= {newest}"
    )


def in_order(groups: list[dict[str, Any]]) -> bool:
    keys = [(g["started"], g["id"]) for g in groups]
    return keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)


def test_the_open_dashboard_follows_new_grown_and_merged_groups(
    server: tuple[str, Any], watched: Any, artifacts: Path
) -> None:
    base, services = server
    now = int(time.time())
    for index in range(FIRST):
        store(services, f"p{index}", now - (index + 2) * HOUR, severity=30 + index)
    page = watched.page
    page.goto(f"{base}/events")
    page.wait_for_selector(READY, state="attached")
    # Filtered to severe groups: the updates honour the URL's filters too.
    severe = page.context.new_page()
    severe.goto(f"{base}/events?range=24h&min_severity=60")
    severe.wait_for_selector(READY, state="attached")
    assert shown(severe) == []
    opened = shown(page)
    assert len(opened) == FIRST
    assert in_order(opened)

    # A new newest group goes on top, an older one below the rest, both highlighted.
    store(services, "new", now - HOUR // 2, severity=75)
    store(services, "old", now - 20 * HOUR)
    wait_for_serial(page, services)
    after = shown(page)
    assert in_order(after)
    assert len(after) == FIRST + 2
    assert (after[0]["key"], after[0]["fresh"]) == ("source src-new", True)
    assert (after[-1]["key"], after[-1]["fresh"]) == ("source src-old", True)
    assert [g["id"] for g in after[1:-1]] == [g["id"] for g in opened]
    page.screenshot(path=str(artifacts / "events-live-new.png"))

    # A group grows: redrawn in its place with its second event.
    grown = next(g for g in after if g["key"] == "source src-p3")
    store(services, "p3", grown["started"] + 60)
    wait_for_serial(page, services)
    regrown = shown(page)
    assert [g["id"] for g in regrown] == [g["id"] for g in after]
    assert next(g for g in regrown if g["id"] == grown["id"])["events"] == 2
    assert "2 events" in page.inner_text(f'li[data-group-id="{grown["id"]}"] .event-counts')

    # A path change opens a group; the fall it caused arrives, and pruning merges the
    # path change's group into the fall's (the twin rule): the first disappears.
    store(
        services,
        "x",
        now - 10 * 60,
        detector="path",
        metric="as_path",
        kind="pathchange",
        direction="none",
        old_value=None,
        new_value=None,
        unit="",
        description="AS path changed",
    )
    wait_for_serial(page, services)
    path_group = shown(page)[0]
    assert (path_group["key"], path_group["direction"]) == ("source src-x", "path change")
    store(services, "x", now - 10 * 60 + 60, kind="decr", direction="down", severity=65)
    wait_for_serial(page, services)
    merged = shown(page)
    assert path_group["id"] not in [g["id"] for g in merged]
    assert (merged[0]["key"], merged[0]["direction"], merged[0]["events"]) == (
        "source src-x",
        "falling",
        2,
    )
    assert in_order(merged)
    assert len(merged) == FIRST + 3

    # Scrolled down, the reader keeps their place; a button says what came in above.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    anchor = page.evaluate(
        """() => {
            const li = [...document.querySelectorAll('#event-groups > li')]
                .find(el => el.getBoundingClientRect().top > 0);
            return { id: li.dataset.groupId, top: li.getBoundingClientRect().top };
        }"""
    )
    store(services, "later", now - 5 * 60)
    wait_for_serial(page, services)
    top = page.evaluate(
        f"document.querySelector('li[data-group-id=\"{anchor['id']}\"]').getBoundingClientRect().top"
    )
    assert abs(top - anchor["top"]) <= 1
    banner = page.locator("#events-new button")
    assert banner.is_visible()
    assert banner.inner_text() == "1 new group ↑"
    page.screenshot(path=str(artifacts / "events-live-scrolled.png"))
    banner.click()
    page.wait_for_function("window.scrollY === 0")
    assert page.locator("#events-new").is_hidden()
    assert shown(page)[0]["key"] == "source src-later"

    # The filtered page took only what its filters show: the severe groups of the last day.
    wait_for_serial(severe, services)
    assert [(g["key"], g["direction"]) for g in shown(severe)] == [
        ("source src-x", "falling"),
        ("source src-new", "rising"),
    ]
    assert severe.locator(".events-empty").is_hidden()
    assert watched.problems == []
