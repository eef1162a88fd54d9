"""The matrix page in a real browser (Debian's Chromium) over the browser tests' live app.

The live app serves every AMP test over two days up to about now, with the
meshes demo-monitors (sources) and demo-targets (destinations), rolled up.
The page marks `<body data-matrix-ready="true" data-matrix-mode="...">` once
its cells are drawn, and its tooltip `data-ready="true"` once the pair's
history is in. Screenshots go to `tests/artifacts/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium package",
        allow_module_level=True,
    )

SOURCES = "demo-monitors"
TARGETS = "demo-targets"
PAGE = f"/matrix/latency/{SOURCES}/{TARGETS}"
READY = 'body[data-matrix-ready="true"]'
TOOLTIP_READY = '#matrix-tooltip[data-ready="true"]'


def open_matrix(watched: Any, url: str) -> Any:
    page = watched.page
    page.goto(url)
    page.wait_for_selector(READY, state="attached")
    return page


def cell(page: Any, source: str, destination: str) -> Any:
    return page.locator(f'a.cell[data-source="{source}"][data-destination="{destination}"]')


def problems_of_the_view_page(problems: list[str]) -> list[str]:
    """Of what went wrong after landing on a graph page, what is not about that page.

    The graph pages are built apart from the matrix and may not answer yet: a
    404 for the page itself (and the console line Chromium logs for it) is
    left out.
    """
    return [
        p
        for p in problems
        if not re.search(r"https?://[^/]+/view/", p)
        and not (p.startswith("console: Failed to load resource") and "404" in p)
    ]


def test_hover_shows_the_tooltip_and_a_click_opens_the_graph(
    live_server: Any, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    # A fake clock, so that the minute's refresh can be run without waiting for it.
    page.clock.install()
    open_matrix(watched, live_server.url + PAGE)

    # Rows are the source mesh's sites, columns the destination mesh's.
    rows = page.locator("table.matrix tbody th").all_inner_texts()
    columns = page.locator("table.matrix thead th").all_inner_texts()
    assert len(rows) >= 2
    assert set(rows) <= set(columns)
    assert page.locator("a.cell").count() >= len(rows)
    # Latency is measured over IPv4 and IPv6: cells are split in two halves.
    assert page.locator("a.cell.split").count() >= 1
    assert page.locator("#legend-splits").inner_text() == (
        "Each cell is split: IPv4 above, IPv6 below."
    )
    assert page.locator("a.cell .half.c0, a.cell .half.c1, a.cell .half.c2").count() >= 1
    updated = page.locator("#matrix-updated").inner_text()
    assert "updated" in updated
    assert "UTC" in updated

    source, destination = live_server.reachable[0]
    target = cell(page, source, destination)
    label = target.get_attribute("aria-label")
    assert label.startswith(f"{source} to {destination}: IPv4: ")
    assert label.endswith("Opens the graph.")
    href = target.get_attribute("href")
    assert re.fullmatch(r"/view/latency/[^/]+", href), href

    target.hover()
    page.wait_for_selector(TOOLTIP_READY)
    tooltip = page.locator("#matrix-tooltip")
    assert tooltip.is_visible()
    assert tooltip.get_attribute("data-source") == source
    assert target.get_attribute("aria-describedby") == "matrix-tooltip"
    text = tooltip.inner_text()
    assert f"{source} → {destination}" in text
    assert "last 24 hours" in text.lower()
    # The 1, 6 and 24 hour stats, with a value for IPv4 in each.
    assert page.locator(".tip-stats thead th").all_inner_texts() == ["ms", "1 h", "6 h", "24 h"]
    ipv4 = page.locator(".tip-stats tbody tr").filter(has_text="IPv4").locator("td")
    assert [re.fullmatch(r"[\d.,]+", v) is not None for v in ipv4.all_inner_texts()] == [True] * 3
    # The sparkline has a line drawn.
    assert page.locator(".sparkline path").count() >= 1
    assert len(page.locator(".sparkline path").first.get_attribute("d")) > 50
    page.screenshot(path=str(artifacts / "matrix-latency-tooltip.png"))

    # The minute's refresh fetches the cells again without reloading the page,
    # and the tooltip stays on the hovered pair.
    page.evaluate("window.notReloaded = true")
    with page.expect_response(lambda r: "/api/v1/matrix/latency?" in r.url) as refreshed:
        page.clock.run_for(61_000)
    assert refreshed.value.ok
    page.wait_for_function(
        "generated => Number(document.querySelector('#matrix').dataset.generated) >= generated",
        arg=refreshed.value.json()["generated"],
    )
    assert page.evaluate("window.notReloaded") is True
    assert tooltip.is_visible()
    assert tooltip.get_attribute("data-source") == source
    assert tooltip.get_attribute("data-destination") == destination

    # Relative mode: in the URL, in the cells' colours and in the legend, without a reload.
    page.mouse.move(5, 5)
    page.click("#mode-relative")
    page.wait_for_selector('body[data-matrix-ready="true"][data-matrix-mode="relative"]')
    assert urlsplit(page.url).query == "mode=relative"
    assert page.locator('.legend-list[data-mode="relative"]').is_visible()
    assert not page.locator('.legend-list[data-mode="absolute"]').is_visible()
    assert page.get_attribute("#mode-relative", "aria-pressed") == "true"
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(artifacts / "matrix-latency-relative.png"))

    # The loss tab keeps the meshes and the mode.
    page.click('.matrix-tabs a[data-metric="loss"]')
    page.wait_for_url(f"**/matrix/loss/{SOURCES}/{TARGETS}?mode=relative")
    page.wait_for_selector('body[data-matrix-ready="true"][data-matrix-mode="relative"]')
    assert page.locator("h1").inner_text() == "Loss matrix"
    assert page.get_attribute('.matrix-tabs a[aria-current="page"]', "data-metric") == "loss"
    page.screenshot(path=str(artifacts / "matrix-loss-relative.png"))

    # A click opens the pair's graph. The tooltip is let finish first, so that
    # leaving the page cancels no request.
    target = cell(page, source, destination)
    href = target.get_attribute("href")
    assert re.fullmatch(r"/view/loss/[^/]+", href), href
    target.hover()
    page.wait_for_selector(TOOLTIP_READY)
    assert watched.problems == []
    target.click()
    # The graph page may add its time range to the URL.
    landed = re.compile(re.escape(href) + r"(/\d+/\d+)?")
    page.wait_for_url(lambda url: landed.fullmatch(urlsplit(url).path) is not None)
    assert landed.fullmatch(urlsplit(page.url).path)
    assert problems_of_the_view_page(watched.problems) == []


def test_keyboard_focus_shows_the_tooltip(live_server: Any, watched: Any) -> None:
    page = open_matrix(watched, live_server.url + PAGE)
    first = page.locator("a.cell").first
    first.focus()
    page.wait_for_selector(TOOLTIP_READY)
    assert page.locator("#matrix-tooltip").get_attribute("data-source") == first.get_attribute(
        "data-source"
    )
    page.keyboard.press("Escape")
    assert page.locator("#matrix-tooltip").is_hidden()
    assert watched.problems == []


def test_mesh_chooser_opens_the_other_matrix(live_server: Any, watched: Any) -> None:
    page = open_matrix(watched, live_server.url + f"/matrix/dns/{SOURCES}/{TARGETS}")
    # The DNS resolver is only in the target mesh: its column is there, and measured.
    assert cell(page, live_server.reachable[0][0], "8.8.8.8").count() == 1
    page.select_option("#dst-mesh", SOURCES)
    page.wait_for_url(f"**/matrix/dns/{SOURCES}/{SOURCES}")
    page.wait_for_selector(READY, state="attached")
    assert "8.8.8.8" not in page.locator("table.matrix thead").inner_text()
    assert watched.problems == []


def test_stale_cells_are_marked(live_server: Any, watched: Any, artifacts: Path) -> None:
    """A cell whose streams fell silent keeps its colour, hatched, and says since when."""
    page = watched.page
    source, destination = live_server.reachable[0]
    last_result = live_server.end - 6 * 3600

    def go_stale(route: Any) -> None:
        # The demo data runs up to now; make one pair look silent for six hours.
        answer = route.fetch().json()
        for item in answer["cells"]:
            if (item["source"], item["destination"]) == (source, destination):
                item.update(stale=True, last_result=last_result)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route(re.compile(r".*/api/v1/matrix/latency\?.*"), go_stale)
    open_matrix(watched, live_server.url + PAGE)
    target = cell(page, source, destination)
    assert "has-stale" in target.get_attribute("class")
    half = target.locator(".half.stale").first
    title = half.get_attribute("title")
    assert "stale: last result" in title
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(6 hours ago\)", title), title
    assert "stale" in target.get_attribute("aria-label")
    # Hatched: a stripe pattern over the colour.
    assert "repeating-linear-gradient" in half.evaluate("e => getComputedStyle(e).backgroundImage")
    page.locator("table.matrix").screenshot(path=str(artifacts / "matrix-stale-cell.png"))
    assert watched.problems == []


@pytest.mark.parametrize("metric", ["jitter", "mos"])
def test_udp_tabs_have_values(live_server: Any, watched: Any, artifacts: Path, metric: str) -> None:
    """The jitter and MOS tabs colour the pairs that run UDP streams; a cell opens its graph."""
    page = open_matrix(watched, f"{live_server.url}/matrix/{metric}/{SOURCES}/{SOURCES}")
    tab = page.locator('.matrix-tabs a[aria-current="page"]')
    assert tab.get_attribute("data-metric") == metric
    coloured = page.locator("a.cell .half:not(.none), a.cell:not(.split):not(.none)")
    assert page.locator("a.cell[href]").count() >= 1
    assert coloured.count() >= 1
    href = page.locator("a.cell[href]").first.get_attribute("href")
    assert re.fullmatch(rf"/view/{metric}/[^/]+", href), href
    # Cells are split by direction as the collection names it; MOS has the received one only.
    splits = page.locator("#legend-splits")
    if metric == "jitter":
        assert splits.inner_text() == "Each cell is split: inward above, outward below."
    else:
        assert not splits.is_visible()
    page.screenshot(path=str(artifacts / f"matrix-{metric}.png"), full_page=True)
    assert watched.problems == []


@pytest.mark.parametrize(("metric", "style"), [("fastping", "latency"), ("sip", "sip")])
def test_fastping_and_sip_tabs_have_values(
    live_server: Any, watched: Any, artifacts: Path, metric: str, style: str
) -> None:
    """Fastping's median and SIP's MOS colour the pairs that run them; a cell opens its graph.

    A SIP call's column is the site its URI's host names (``sip:echo@amp-wlg``).
    """
    page = open_matrix(watched, f"{live_server.url}/matrix/{metric}/{SOURCES}/{SOURCES}")
    tab = page.locator('.matrix-tabs a[aria-current="page"]')
    assert tab.get_attribute("data-metric") == metric
    coloured = page.locator("a.cell .half:not(.none), a.cell:not(.split):not(.none)")
    assert coloured.count() >= 1
    href = page.locator("a.cell[href]").first.get_attribute("href")
    assert re.fullmatch(rf"/view/{style}/[^/]+", href), href
    page.screenshot(path=str(artifacts / f"matrix-{metric}.png"), full_page=True)
    assert watched.problems == []
