"""The traceroute path map and AS path pages (view styles ``traceroute`` and ``as-path``).

`paths_page_data` is what either page needs, so that the general view page
can render ``paths.jinja2`` for these styles; the views below answer the
same URLs on their own (Pyramid prefers them for their ``match_param``), so
the pages work whichever way they are reached.
"""

from __future__ import annotations

import time
from typing import Any

from pyramid.httpexceptions import HTTPFound
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import BadParameter, int_param
from ampweb.views import script_json
from ampy.paths import MAX_PATH_RANGE

#: The page of each style: its title, the kind of paths it lists and the summary's column.
PAGES = {
    "traceroute": {"title": "Traceroute path map", "kind": "ip", "column": "path_length"},
    "as-path": {"title": "AS path", "kind": "as", "column": "as_path_length"},
}
#: The default period when the URL gives none.
DEFAULT_SPAN = 86400


def paths_page_data(
    request: Request, view: Any, start: int | None, end: int | None
) -> dict[str, Any]:
    """What ``paths.jinja2`` renders for `view` (an `ampy` view or legend) over [start, end).

    `start` and `end` may be ``None`` (the page then shows the day up to the
    last result). Returns ``{style, title, view_id, lines, page_data}``;
    ``page_data`` is JSON for the page's script.
    """
    legend = request.ampy.legend(view.view_id)
    page = PAGES[legend.style]
    lines = [line.as_dict() for line in legend.lines]
    last = None
    for line in legend.lines:
        for stream_id in line.stream_ids:
            stream_last = request.ampy.stream(stream_id).last
            if stream_last is not None and (last is None or stream_last > last):
                last = stream_last
    page_data = {
        "view_id": legend.view_id,
        "style": legend.style,
        "kind": page["kind"],
        "column": page["column"],
        "title": page["title"],
        "lines": lines,
        "view_url": request.route_path("view", style=legend.style, view_id=legend.view_id),
        "history_url": request.route_path("api.v1.view.history", view_id=legend.view_id),
        "paths_url": request.route_path("api.v1.view.paths", view_id=legend.view_id),
        # The events of the view's streams, marked on the summary; a marker opens its groups.
        "events_api_url": request.route_path("api.v1.events"),
        "events_url": request.route_path("events.index"),
        "start": start,
        "end": end,
        "last": last,
        "now": int(time.time()),
        "default_span": DEFAULT_SPAN,
        "max_span": MAX_PATH_RANGE,
    }
    return {
        "style": legend.style,
        "title": page["title"],
        "view_id": legend.view_id,
        "lines": lines,
        "page_data": script_json(page_data),
    }


@view_config(
    route_name="view", match_param="style=traceroute", renderer="paths.jinja2", request_method="GET"
)
@view_config(
    route_name="view.range",
    match_param="style=traceroute",
    renderer="paths.jinja2",
    request_method="GET",
)
@view_config(
    route_name="view", match_param="style=as-path", renderer="paths.jinja2", request_method="GET"
)
@view_config(
    route_name="view.range",
    match_param="style=as-path",
    renderer="paths.jinja2",
    request_method="GET",
)
def paths_page(request: Request) -> dict[str, Any]:
    """The path map or AS path page of a view; a view of another style redirects to its own page."""
    view = request.ampy.view(request.matchdict["view_id"])
    start = int_param(request, "start", None, minimum=0, maximum=2**40, source="match")
    end = int_param(request, "end", None, minimum=0, maximum=2**40, source="match")
    if start is not None and end is not None and end <= start:
        raise BadParameter("the page's end must be after its start")
    if view.style != request.matchdict["style"]:
        if start is None or end is None:
            location = request.route_path("view", style=view.style, view_id=view.view_id)
        else:
            location = request.route_path(
                "view.range", style=view.style, view_id=view.view_id, start=start, end=end
            )
        raise HTTPFound(location=location)
    return paths_page_data(request, view, start, end)
