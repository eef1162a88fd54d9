"""HTML pages: the stream list and the graph pages of views (a stream's graph is a view)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.request import Request
from pyramid.view import view_config

import ampy.collections as presentation
from ampweb.params import BadParameter, choice_param, int_param
from ampweb.views import script_json
from ampy.groups import parse_group, spec_for
from nntsc.collections import get as get_collection

PAGESIZE = 50
#: The longest stream search term.
MAX_TERM = 200


@view_config(route_name="index", renderer="index.jinja2", request_method="GET")
def index(request: Request) -> dict[str, Any]:
    """Buttons that start a graph of each style, and the streams of one collection, paged."""
    ampy = request.ampy
    collections = sorted(ampy.collections(), key=lambda c: _tab_order(c["name"]))
    names = tuple(c["name"] for c in collections)
    term = request.params.get("q", "").strip()
    if len(term) > MAX_TERM:
        raise BadParameter(f"parameter 'q' may be at most {MAX_TERM} characters")
    shown = choice_param(request, "collection", names, _first_match(ampy, names, term))
    page_number = int_param(request, "page", 1, minimum=1)
    page = ampy.find_streams(shown, {}, page=page_number, pagesize=PAGESIZE, term=term)
    styles = ampy.view_styles()
    declared = get_collection(shown)
    return {
        "collections": collections,
        "collection": {
            "name": shown,
            "title": declared.title or shown,
            "description": declared.description,
            "properties": [
                {"name": p.name, "label": p.label, "unit": p.unit} for p in declared.properties
            ],
        },
        "styles": [{"style": style, "title": _title(style)} for style in sorted(styles)],
        "page_data": script_json({"view": None, "styles": _styles_data(styles)}),
        "term": term,
        "streams": [stream.as_dict() for stream in page.items],
        "page": page.page,
        "total": page.total,
        "has_more": page.has_more,
    }


def _first_match(ampy: Any, names: tuple[str, ...], term: str) -> str:
    """The collection whose tab a search lands on: the first (in tab order) with a match."""
    if term:
        for name in names:
            if ampy.find_streams(name, {}, page=1, pagesize=1, term=term).total:
                return name
    return names[0]


@view_config(route_name="graph.stream", request_method="GET")
@view_config(route_name="graph.stream.range", request_method="GET")
def graph(request: Request) -> HTTPFound:
    """A stream's graph is the view of its own line: links to /graph/<id> keep working."""
    stream_id = int_param(request, "stream_id", minimum=1, maximum=2**31 - 1, source="match")
    start = int_param(request, "start", None, minimum=0, source="match")
    end = int_param(request, "end", None, minimum=0, source="match")
    if start is not None and end is not None and end <= start:
        raise BadParameter("the graph's end must be after its start")
    style, view_id = request.ampy.view_of_stream(stream_id)
    if start is None or end is None:
        return HTTPFound(request.route_path("view", style=style, view_id=view_id))
    return HTTPFound(
        request.route_path("view.range", style=style, view_id=view_id, start=start, end=end)
    )


#: What a view style's name may be (it names a script file).
VIEW_STYLE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
#: The view ids ampy makes (base32 of a digest); anything else cannot name a view.
VIEW_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def _collection_data(name: str) -> dict[str, Any]:
    """What the add-series dialog needs of a collection: its levels, labelled, in order."""
    collection = get_collection(name)
    labels = {p.name: p.label for p in collection.properties}
    return {
        "collection": name,
        "title": collection.title or name,
        "levels": [
            {"property": level, "label": labels.get(level, level.replace("_", " ").capitalize())}
            for level in spec_for(name).hierarchy
        ],
    }


def _tab_order(collection: str) -> tuple[int, str]:
    return presentation.tab_key(presentation.get(collection))


def _title(style: str) -> str:
    return presentation.style(style).title


def _siblings(
    style: str, styles: dict[str, tuple[str, ...]], groups: list[str]
) -> list[dict[str, str]]:
    """The styles that can draw the view's groups too, as page tabs.

    For a view of SIP calls: their MOS, latency and loss; of ICMP (or ICMP
    and SIP): latency and loss. In the order of the first collection's
    styles. An empty view has the styles drawing the same collections as
    `style`.
    """
    collections = {parse_group(description).collection for description in groups}
    if collections:
        first = min(collections, key=_tab_order)
        same = [
            s.name
            for s in presentation.get(first).styles
            if collections <= set(styles.get(s.name, ()))
        ]
    else:
        same = [name for name, drawn in styles.items() if drawn == styles[style]]
    if len(same) < 2 or style not in same:
        return []
    return [{"style": name, "title": _title(name)} for name in same]


def _styles_data(styles: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        style: {
            "style": style,
            "title": _title(style),
            "collections": [_collection_data(name) for name in sorted(collections, key=_tab_order)],
        }
        for style, collections in sorted(styles.items())
    }


@view_config(route_name="view", renderer="view.jinja2", request_method="GET")
@view_config(route_name="view.range", renderer="view.jinja2", request_method="GET")
def view_page(request: Request) -> dict[str, Any]:
    """The graph page of a view: its style's graphs over the range in the URL (or the last day).

    An unknown style or view is a 404 and a range that ends before it starts a
    400. A view opened under another style's URL redirects to its own style's.
    """
    ampy = request.ampy
    styles = ampy.view_styles()
    style = request.matchdict["style"]
    if style not in styles:
        raise HTTPNotFound(f"no such graph style: {style!r}")
    view_id = request.matchdict["view_id"]
    if len(view_id) > 64 or not set(view_id) <= VIEW_ID_CHARS:
        raise HTTPNotFound(f"no such view: {view_id!r}")
    legend = ampy.legend(view_id).as_dict()
    start = int_param(request, "start", None, minimum=0, maximum=2**40, source="match")
    end = int_param(request, "end", None, minimum=0, maximum=2**40, source="match")
    if start is not None and end is not None and end <= start:
        raise BadParameter("the graph's end must be after its start")
    if legend["style"] != style:
        if start is None or end is None:
            location = request.route_path("view", style=legend["style"], view_id=view_id)
        else:
            location = request.route_path(
                "view.range", style=legend["style"], view_id=view_id, start=start, end=end
            )
        raise HTTPFound(location=location)
    view_url = request.route_path("view", style=style, view_id=view_id)
    page_data = {
        "view": legend,
        "style": style,
        "title": _title(style),
        "view_url": view_url,
        "history_url": request.route_path("api.v1.view.history", view_id=view_id),
        "style_module": _style_module(request, style),
        "views_url": request.route_path("api.v1.views"),
        # The events of the view's streams, marked on the time axis; a marker opens its groups.
        "events_api_url": request.route_path("api.v1.events"),
        "events_url": request.route_path("events.index"),
        "start": start,
        "end": end,
        "default_span": presentation.style(style).default_span,
        "now": int(time.time()),
        "styles": _styles_data(styles),
    }
    groups = _legend_groups(legend)
    return {
        "style": style,
        "title": _title(style),
        "view_id": view_id,
        "groups": groups,
        "siblings": _siblings(style, styles, legend["groups"]),
        "page_data": script_json(page_data),
    }


#: The graph styles' scripts: ``<style>.js`` draws a style; without one the page's generic drawing.
STYLE_SCRIPTS = Path(__file__).parent.parent / "static" / "js" / "styles"


def _style_module(request: Request, style: str) -> str | None:
    """The URL of `style`'s own script, or None when it has none (style names are checked)."""
    if not VIEW_STYLE_NAME.match(style) or not (STYLE_SCRIPTS / f"{style}.js").is_file():
        return None
    return request.static_path(f"ampweb:static/js/styles/{style}.js")


def _legend_groups(legend: dict[str, Any]) -> list[dict[str, Any]]:
    """The view's groups in order, each with its title and its lines (label and colour)."""
    groups = []
    for description in legend["groups"]:
        lines = [line for line in legend["lines"] if line["group"] == description]
        title = lines[0]["title"] if lines else description
        groups.append({"description": description, "title": title, "lines": lines})
    return groups
