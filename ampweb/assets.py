"""Static files with a version in their URLs, so that a deploy takes effect at once.

Every URL the templates make with ``request.static_url``/``static_path`` carries
``?v=<version>``, the version being a hash of the contents of ``ampweb/static``:
a browser that cached the old files under the old version asks for the new ones.
The page scripts are ES modules that import each other by relative URL
(``./lib/api.js``), which a query on the entry module does not reach; the import
map of every page (``request.import_map``, written by ``base.jinja2`` before any
module) maps each module's plain URL to its versioned one, so the imports, and
the graph styles loaded with ``import()``, carry the version too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

STATIC = Path(__file__).parent / "static"
#: The query parameter that carries the version.
PARAM = "v"


def static_version(root: Path = STATIC) -> str:
    """A short hash of the names and contents of every file under `root`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def module_specs(root: Path = STATIC) -> list[str]:
    """The asset specs of the ES modules under `root` (the page scripts and vendored modules)."""
    return [
        f"ampweb:static/{path.relative_to(root).as_posix()}"
        for path in sorted(root.rglob("*.js"))
        if path.is_file()
    ]


def import_map(request: Request) -> str:
    """The page's import map as JSON safe inside a <script> element."""
    imports = {}
    for spec in request.registry["ampweb.modules"]:
        versioned = request.static_path(spec)
        imports[versioned.split("?", 1)[0]] = versioned
    # "<" escaped so that no "</script>" can end the element early.
    return json.dumps({"imports": imports}, sort_keys=True).replace("<", "\\u003c")


def includeme(config: Configurator) -> None:
    """Serve ampweb/static under /static with versioned URLs; `request.import_map`
    (`ampweb.request.AppRequest`) for the pages."""
    from pyramid.static import QueryStringConstantCacheBuster

    settings = config.get_settings()
    max_age = int(settings.get("ampweb.static_max_age", 3600))
    config.add_static_view("static", "ampweb:static", cache_max_age=max_age)
    version = static_version()
    config.registry["ampweb.static_version"] = version
    config.registry["ampweb.modules"] = module_specs()
    config.add_cache_buster("ampweb:static/", QueryStringConstantCacheBuster(version, param=PARAM))
