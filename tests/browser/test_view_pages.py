"""The graph pages of views and the add-series dialog in a real browser (Debian's Chromium).

The module serves the shared browser app (every AMP test of a small mesh)
with extra ICMP streams from many more sources, so that the dialog's source
dropdown has more than one page (30) of options. The view page marks `<body
data-graph-ready="true">` once its detail graph has drawn, with
`data-points`, `data-start` and `data-end` on `#detail-graph`. Screenshots go
to `tests/artifacts/`.
"""

from __future__ import annotations

import json
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
#: The options of the dialog's source dropdown (Tom Select's "loading more" row has no role).
SOURCE_OPTIONS = '.ts-wrapper[data-level="source"] .option[role=option]'
#: Extra ICMP sources, so the first level of the ICMP dialog has several pages.
EXTRA_SOURCES = [f"probe-{n:03d}" for n in range(45)]
#: The styles this page draws and a collection each (traceroute and AS path have a
#: page of their own); a style drawing several collections is checked for the others too.
STYLES = [
    ("latency", "amp-icmp"),
    ("loss", "amp-icmp"),
    ("throughput", "amp-throughput"),
    ("jitter", "amp-udpstream"),
    ("mos", "amp-udpstream"),
    ("http", "amp-http"),
    ("youtube", "amp-youtube"),
    ("sip", "amp-sip"),
    ("external", "amp-external"),
    ("latency", "amp-fastping"),
    ("loss", "amp-fastping"),
    ("latency", "amp-sip"),
    ("loss", "amp-sip"),
]


@pytest.fixture(scope="module")
def server(live_server: Any) -> Any:
    """The shared app, plus streams (without data) from many more ICMP sources."""
    from nntsc.collections import get as get_collection
    from tests.conftest import make_services

    services = make_services(live_server.sql_url)
    icmp = get_collection("amp-icmp")
    destination = live_server.reachable[0][1]
    try:
        for source in EXTRA_SOURCES:
            services.streams.stream_id(
                icmp,
                {
                    "source": source,
                    "destination": destination,
                    "family": "ipv4",
                    "packet_size": "84",
                },
            )
    finally:
        services.close()
    return live_server


def walk(server: Any, collection: str) -> dict[str, Any]:
    """A group of `collection`: the first value at every level that has data."""
    selected: list[str] = []
    while True:
        answer = requests.get(
            f"{server.url}/api/v1/collections/{collection}/options",
            params=[("selected", v) for v in selected],
            timeout=10,
        ).json()
        if answer["property"] is None:
            break
        values = [item["value"] for item in answer["items"]]
        preferred = [v for v in values if not v.startswith("probe-")]
        if answer["property"] == "source" and collection == "amp-icmp":
            preferred = [server.reachable[0][0]]
        elif answer["property"] == "destination" and collection == "amp-icmp":
            preferred = [server.reachable[0][1]]
        selected = [*answer["selected"], (preferred or values)[0]]
    from ampy.groups import spec_for

    values = dict(zip(spec_for(collection).hierarchy, answer["selected"], strict=True))
    return {"collection": collection, "values": values, "splits": {}}


def make_view(server: Any, style: str, groups: list[Any]) -> str:
    """A view stored over the API, as an anonymous visitor (with the page's CSRF token)."""
    session = requests.Session()
    page = session.get(f"{server.url}/", timeout=10).text
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', page)
    headers = {"X-CSRF-Token": match.group(1)} if match else {}
    answer = session.post(
        f"{server.url}/api/v1/views",
        json={"style": style, "groups": groups},
        headers=headers,
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["view_id"]


def open_view(watched: Any, url: str) -> Any:
    page = watched.page
    page.goto(url)
    try:
        page.wait_for_selector(READY, state="attached")
    except Exception as error:
        raise AssertionError(f"{url} did not draw: {watched.problems}") from error
    return page


def test_every_style_draws_and_is_screenshotted(server: Any, watched: Any, artifacts: Path) -> None:
    shot: set[str] = set()
    for style, collection in STYLES:
        groups = [walk(server, collection)]
        view_id = make_view(server, style, groups)
        url = f"{server.url}/view/{style}/{view_id}/{server.start}/{server.end}"
        page = open_view(watched, url)
        points = int(page.locator("#detail-graph").get_attribute("data-points") or "0")
        assert points > 0, style
        assert "over" in page.locator("#detail-label").inner_text(), style
        assert page.locator(".legend-line").count() >= 1
        low, high = json.loads(page.locator("#detail-graph").get_attribute("data-y-range"))
        # Jitter is a spread and MOS a score from 1 to 4.5: neither axis goes below.
        if style == "jitter":
            assert low == 0 < high, (low, high)
        elif style in ("mos", "sip"):
            assert (low, high) == (1, 4.5)
        name = f"view-{style}" if style not in shot else f"view-{style}-{collection}"
        shot.add(style)
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert watched.problems == []


def test_drag_select_zooms_and_changes_the_url(server: Any, watched: Any, artifacts: Path) -> None:
    view_id = make_view(server, "latency", [walk(server, "amp-icmp")])
    page = open_view(watched, f"{server.url}/view/latency/{view_id}")
    before = page.url
    over = page.locator("#detail-graph .u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.5, y, steps=5)
    page.mouse.up()
    # The page may already show its range in the URL: wait for the new one.
    ranged = re.compile(rf"/view/latency/{view_id}/\d+/\d+$")
    page.wait_for_url(lambda url: url != before and ranged.search(url) is not None)
    assert page.url != before
    start, end = (int(v) for v in page.url.rsplit("/", 2)[-2:])
    assert 0 < end - start < 86400 * 0.3
    page.wait_for_selector(READY, state="attached")
    graph = page.locator("#detail-graph")
    assert int(graph.get_attribute("data-start")) == start
    assert int(graph.get_attribute("data-end")) == end
    page.screenshot(path=str(artifacts / "view-latency-zoomed.png"), full_page=True)
    assert watched.problems == []


def test_add_series_dialog_pages_searches_and_adds(
    server: Any, watched: Any, artifacts: Path
) -> None:
    view_id = make_view(server, "latency", [walk(server, "amp-icmp")])
    page = open_view(watched, f"{server.url}/view/latency/{view_id}/{server.start}/{server.end}")
    page.click("#add-series-button")
    dialog = page.locator("dialog#add-series")
    dialog.wait_for(state="visible")
    tabs = ["ICMP", "DNS", "TCP ping", "Fastping", "SIP"]
    assert dialog.locator(".dialog-tab").all_inner_texts() == tabs
    source = dialog.locator('.ts-wrapper[data-level="source"]')
    source.locator(".ts-control").click()
    options = page.locator(SOURCE_OPTIONS)
    page.wait_for_function("(s) => document.querySelectorAll(s).length >= 30", arg=SOURCE_OPTIONS)
    assert options.count() == 30
    # Scrolling to the end of the list loads the second page.
    with page.expect_response(lambda r: "options" in r.url and "page=2" in r.url):
        page.locator('.ts-wrapper[data-level="source"] .ts-dropdown-content').evaluate(
            "el => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); }"
        )
    page.wait_for_function("(s) => document.querySelectorAll(s).length > 30", arg=SOURCE_OPTIONS)
    page.screenshot(path=str(artifacts / "view-dialog-paging.png"))
    # Typing asks the API with the term.
    wanted = server.reachable[1][0]
    with page.expect_response(lambda r: "options" in r.url and "term=" in r.url):
        page.keyboard.type(wanted)
    page.wait_for_function(
        """([selector, wanted]) => {
            const opts = [...document.querySelectorAll(selector)];
            return opts.length > 0 && opts.every((o) => o.textContent.includes(wanted));
        }""",
        arg=[SOURCE_OPTIONS, wanted],
    )
    page.locator(SOURCE_OPTIONS, has_text=wanted).first.click()
    # The destination level opens; choose its first option.
    destination = dialog.locator('.ts-wrapper[data-level="destination"]')
    page.wait_for_selector('.ts-wrapper[data-level="destination"]:not(.disabled)')
    destination.locator(".ts-control").click()
    page.locator('.ts-wrapper[data-level="destination"] .option[role=option]').first.click()
    add = dialog.locator('[data-action="add"]')
    page.wait_for_selector('dialog#add-series [data-action="add"]:not([disabled])')
    page.screenshot(path=str(artifacts / "view-dialog-ready.png"))
    add.click()
    page.wait_for_url(re.compile(rf"/view/latency/(?!{view_id})[a-z2-7]{{12}}/\d+/\d+$"))
    page.wait_for_selector(READY, state="attached")
    assert page.locator(".legend-group").count() == 2
    assert watched.problems == []


def test_dialog_tabs_remember_their_choices(server: Any, watched: Any) -> None:
    view_id = make_view(server, "latency", [walk(server, "amp-icmp")])
    page = open_view(watched, f"{server.url}/view/latency/{view_id}")
    page.click("#add-series-button")
    source = page.locator('.ts-wrapper[data-level="source"]')
    source.locator(".ts-control").click()
    wanted = server.reachable[0][0]
    page.keyboard.type(wanted)
    page.locator(SOURCE_OPTIONS, has_text=wanted).first.click()
    page.click('.dialog-tab[data-collection="amp-dns"]')
    page.wait_for_selector('.ts-wrapper[data-level="source"]')
    assert page.locator('.ts-wrapper[data-level="source"] .item').count() == 0
    page.click('.dialog-tab[data-collection="amp-icmp"]')
    page.wait_for_selector('.ts-wrapper[data-level="source"] .item')
    assert page.locator('.ts-wrapper[data-level="source"] .item').inner_text() == wanted
    assert watched.problems == []


def test_remove_group_opens_the_view_without_it(server: Any, watched: Any) -> None:
    groups = [walk(server, "amp-icmp"), walk(server, "amp-dns")]
    view_id = make_view(server, "latency", groups)
    page = open_view(watched, f"{server.url}/view/latency/{view_id}/{server.start}/{server.end}")
    assert page.locator(".legend-group").count() == 2
    page.locator(".legend-group").nth(0).locator(".remove-group").click()
    page.wait_for_url(re.compile(rf"/view/latency/(?!{view_id})[a-z2-7]{{12}}/\d+/\d+$"))
    page.wait_for_selector(READY, state="attached")
    assert page.locator(".legend-group").count() == 1
    assert watched.problems == []


def test_time_zone_switch_is_remembered(server: Any, watched: Any) -> None:
    view_id = make_view(server, "latency", [walk(server, "amp-icmp")])
    page = open_view(watched, f"{server.url}/view/latency/{view_id}")
    assert page.locator("#range-zone").inner_text() == "UTC"
    page.click('.tz-switch [data-tz="local"]')
    assert page.locator("#range-zone").inner_text() != "UTC"
    page.reload()
    page.wait_for_selector(READY, state="attached")
    assert page.locator('.tz-switch [data-tz="local"]').get_attribute("aria-pressed") == "true"
    assert watched.problems == []


def test_axis_stops_below_an_outlier_and_marks_it(
    server: Any, watched: Any, artifacts: Path
) -> None:
    """One minute of 100,000 operations among minutes of 5 does not flatten the graph.

    Also: the file-operation axis carries its unit, and the summary says which
    range it shows (the last days, or the days up to a past range's end).
    """
    from nntsc.ingest.pipeline import Ingestor
    from nntsc.sysdig.metrics import N_SLOTS, MinuteReport
    from tests.conftest import make_services

    end = server.end - server.end % 60
    spike = end - 3 * 3600
    services = make_services(server.sql_url)
    try:
        with Ingestor(services) as ingestor:
            for minute in range(end - 6 * 3600, end, 60):
                counts = [100_000 if minute == spike else 5 + minute // 60 % 3] * N_SLOTS
                ingestor.add(
                    "fileops", MinuteReport(minute, processes={"spiky": counts}), "h1", minute
                )
    finally:
        services.close()
    group = {
        "collection": "fileops",
        "values": {"host": "h1", "kind": "process", "name": "spiky", "process": "spiky"},
    }
    view_id = make_view(server, "fileops", [group])
    page = open_view(watched, f"{server.url}/view/fileops/{view_id}/{end - 6 * 3600}/{end}")
    graph = page.locator("#detail-graph")
    low, high = json.loads(graph.get_attribute("data-y-range"))
    # Ordinary minutes count a few hundred operations, the spike hundreds of thousands.
    assert 0 <= low < high < 1000, (low, high)
    assert int(graph.get_attribute("data-clipped")) >= 1
    assert page.locator("#clipped-note").is_visible()
    assert page.locator("#summary-title").inner_text().startswith("Last ")
    page.screenshot(path=str(artifacts / "view-fileops-outlier.png"), full_page=True)
    # A range in the past: the summary says up to when it runs.
    past_end = end - 40 * 86400
    page = open_view(watched, f"{server.url}/view/fileops/{view_id}/{past_end - 3600}/{past_end}")
    title = page.locator("#summary-title").inner_text()
    assert " to " in title, title
    assert not title.startswith("Last")
    assert watched.problems == []


def test_dialog_titles_read_as_english(server: Any, watched: Any) -> None:
    """ "Add an AS path length series", not "Add a as path length series"."""
    page = watched.page
    page.goto(f"{server.url}/")
    expected = {
        "as-path": "Add an AS path length series",
        "http": "Add an HTTP series",
        "latency": "Add a latency series",
        "jitter": "Add a UDP jitter series",
        "fileops": "Add a file operations series",
    }
    for style, title in expected.items():
        page.click(f'[data-add-series="{style}"]')
        dialog = page.locator("dialog#add-series")
        dialog.wait_for(state="visible")
        assert dialog.locator(".dialog-title").inner_text() == title
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
    assert watched.problems == []


@pytest.mark.parametrize("style", ["youtube", "sip", "external"])
def test_new_collections_are_chosen_in_the_dialog(
    server: Any, watched: Any, artifacts: Path, style: str
) -> None:
    """From the stream list: each level's first choice (single ones are taken for us), then Add."""
    page = watched.page
    page.goto(f"{server.url}/")
    page.click(f'[data-add-series="{style}"]')
    dialog = page.locator("dialog#add-series")
    dialog.wait_for(state="visible")
    ready = 'dialog#add-series [data-action="add"]:not([disabled])'
    open_level = "dialog#add-series .ts-wrapper:not(.disabled):not(.has-items)"
    for _ in range(12):
        page.wait_for_function(
            "([ready, open]) => document.querySelector(ready) || document.querySelector(open)",
            arg=[ready, open_level],
        )
        if page.locator(ready).count():
            break
        level = page.locator(open_level).first.get_attribute("data-level")
        wrapper = f'dialog#add-series .ts-wrapper[data-level="{level}"]'
        page.locator(f"{wrapper} .ts-control").click()
        page.locator(f"{wrapper} .option[role=option]").first.click()
        page.wait_for_selector(f"{wrapper}.has-items")
    page.screenshot(path=str(artifacts / f"dialog-{style}.png"))
    page.locator(ready).click()
    page.wait_for_url(re.compile(rf"/view/{style}/[a-z2-7]{{12}}"))
    page.wait_for_selector(READY, state="attached")
    assert page.locator(".legend-group").count() == 1
    assert int(page.locator("#detail-graph").get_attribute("data-points") or "0") > 0
    assert watched.problems == []
