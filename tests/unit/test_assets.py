"""Versioned static URLs and the pages' import map (ampweb/assets.py)."""

from __future__ import annotations

import json
from pathlib import Path

from pyramid import testing
from pyramid.request import Request

from ampweb.assets import import_map, module_specs, static_version


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    first = static_version(tmp_path)
    assert static_version(tmp_path) == first
    (tmp_path / "js" / "a.js").write_text("export const a = 2;\n")
    second = static_version(tmp_path)
    (tmp_path / "js" / "b.js").write_text("")
    assert len({first, second, static_version(tmp_path)}) == 3


def test_the_import_map_versions_every_module_of_the_pages() -> None:
    with testing.testConfig(settings={}) as config:
        config.include("ampweb.assets")
        config.commit()
        version = config.registry["ampweb.static_version"]
        request = Request.blank("/")
        request.registry = config.registry
        text = import_map(request)
    imports = json.loads(text)["imports"]
    specs = module_specs()
    assert len(imports) == len(specs) > 20
    assert imports["/static/js/lib/api.js"] == f"/static/js/lib/api.js?v={version}"
    assert imports["/static/js/styles/latency.js"] == f"/static/js/styles/latency.js?v={version}"
    assert imports["/static/vendor/uplot/uPlot.esm.js"] == (
        f"/static/vendor/uplot/uPlot.esm.js?v={version}"
    )
    assert "<" not in text
