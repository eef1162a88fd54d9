"""The demo stays alive: an hour after it was loaded, the feeder brings every tab back to fresh.

The demo here is loaded with `nntsc demo-data` as `make demo` does, but
ending an hour ago (the clock advanced by an hour): every latency cell is
then stale. `nntsc demo-feed --once` catches up from the newest stored row
to now, as the feeder `make demo` starts does when it starts, and the
matrix page then shows fresh values on every tab. Screenshots (the stale
cells, for legibility, and the fresh matrix) go to `tests/artifacts/`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ampy.matrix import metrics
from nntsc.cli import main
from tests.conftest import serve_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium package",
        allow_module_level=True,
    )

SITES = "4"
MESHES = "demo-monitors/demo-monitors"
READY = 'body[data-matrix-ready="true"]'
NUMBER = re.compile(r"^\d")


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def matrix(page: Any, base: str, metric: str) -> Any:
    page.goto(f"{base}/matrix/{metric}/{MESHES}")
    page.wait_for_selector(READY, state="attached")
    return page


def test_the_demo_an_hour_later_shows_fresh_cells(
    tmp_path: Path, watched: Any, artifacts: Path
) -> None:
    sql_url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    ini = tmp_path / "demo.ini"
    ini.write_text(
        f"[app:main]\nnntsc.sql_url = {sql_url}\nnntsc.timeseries_url = sql\n"
        "nntsc.live_url = memory://\n",
        encoding="utf-8",
    )
    loaded_at = int(time.time()) - 3600
    run("db", "upgrade", "-c", str(ini))
    common = ("-c", str(ini), "--sites", SITES, "--end", str(loaded_at), "--seed", "1")
    run("demo-data", *common, "--days", "0.25", "--tests", "all")
    settings = {
        "nntsc.sql_url": sql_url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
    }
    page = watched.page

    # An hour later, nothing has fed the demo: the latency cells are stale, and still legible.
    with serve_app(**settings) as url:
        matrix(page, url, "latency")
        cells = page.locator("a.cell")
        assert cells.count() > 0
        assert page.locator("a.cell.has-stale").count() == cells.count()
        # Legible: dark upright figures over light, sparse stripes.
        style = page.locator("a.cell .half.stale").first.evaluate(
            """e => { const s = getComputedStyle(e);
                      return [s.color, s.fontStyle, s.backgroundImage]; }"""
        )
        red, green, blue = (int(v) for v in re.findall(r"\d+", style[0])[:3])
        assert red + green + blue < 3 * 96, style
        assert style[1] == "normal", style
        stripes = [float(a) for a in re.findall(r"rgba\([^)]*?, ([\d.]+)\)", style[2])]
        assert stripes, style
        assert max(stripes) <= 0.5, style
        page.locator("table.matrix").screenshot(path=str(artifacts / "demo-stale-matrix.png"))

    output = run("demo-feed", "-c", str(ini), "--sites", SITES, "--seed", "1", "--once")
    assert re.search(r"demo feed: [1-9]\d* reports", output), output

    with serve_app(**settings) as url:
        for metric in metrics():
            matrix(page, url, metric)
            assert page.locator("a.cell").count() > 0, metric
            assert page.locator("a.cell.has-stale").count() == 0, metric
            values = page.locator("a.cell .half").all_inner_texts()
            assert any(NUMBER.match(text) for text in values), (metric, values)
            if metric == "latency":
                page.locator("table.matrix").screenshot(path=str(artifacts / "demo-fed-matrix.png"))
    assert watched.problems == []
