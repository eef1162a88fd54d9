"""REST API of events and event groups: lists a page at a time, one group, ratings.

Lists answer ``{"items": [...], "pagesize": N, "next_cursor": C, "has_more": bool}``,
newest first; pass ``cursor=C`` for the next page (`ampy.events` says why a
cursor and not a page number). Reading needs the ``view`` permission like the
rest of the data API; rating an event needs a user (401 without one).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import BadParameter
from ampy.events import EventFilter, EventGroupFilter


def _range(request: Request) -> tuple[int | None, int | None]:
    start, end = request.openapi["start"], request.openapi["end"]
    # A relation between two parameters, which the document's schemas cannot state.
    if start is not None and end is not None and end <= start:
        raise BadParameter("parameter 'end' must be after 'start'")
    return start, end


@view_config(route_name="api.v1.events", request_method="GET", renderer="json")
def events(request: Request) -> dict[str, Any]:
    """Events newest onset first, by time, collection, stream or view, detector, kind, severity."""
    start, end = _range(request)
    params = request.openapi
    filters = EventFilter(
        start=start,
        end=end,
        collection=params["collection"],
        stream_ids=params["stream"],
        detector=params["detector"],
        kind=params["kind"],
        min_severity=params["min_severity"],
        view_id=params["view"],
    )
    return request.ampy.events(filters, params["cursor"], params["pagesize"]).as_dict()


@view_config(route_name="api.v1.event", request_method="GET", renderer="json")
def event(request: Request) -> dict[str, Any]:
    return request.ampy.event(request.openapi["event_id"])


@view_config(route_name="api.v1.event_groups", request_method="GET", renderer="json")
def event_groups(request: Request) -> dict[str, Any]:
    """Event groups newest first (live ones unless ``status`` says), without their events."""
    start, end = _range(request)
    params = request.openapi
    filters = EventGroupFilter(
        start=start,
        end=end,
        status=params["status"],
        direction=params["direction"],
        key_kind=params["key_kind"],
        asn=params["asn"],
        endpoint=params["endpoint"],
        min_severity=params["min_severity"],
        min_events=params["min_events"],
        event_id=params["event"],
    )
    return request.ampy.event_groups(filters, params["cursor"], params["pagesize"]).as_dict()


@view_config(route_name="api.v1.event_group", request_method="GET", renderer="json")
def event_group(request: Request) -> dict[str, Any]:
    """One group with its events and their streams (a merged group names its winner)."""
    return request.ampy.event_group(request.openapi["group_id"])


@view_config(route_name="api.v1.event.rating", request_method="POST", renderer="json")
def rate_event(request: Request) -> dict[str, Any]:
    """The caller's rating of an event: ``{"useful": bool, "reason": str, "comment": str}``."""
    if request.identity is None:
        # Anyone may read public data, but a rating is someone's.
        raise HTTPForbidden()
    body = request.openapi["body"]
    return request.ampy.rate_event(
        request.openapi["event_id"],
        request.identity.username,
        body["useful"],
        body.get("reason", ""),
        body.get("comment", ""),
    )
