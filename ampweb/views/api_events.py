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

from ampweb.params import BadParameter, int_param, json_object
from ampy.events import GROUP_STATUSES, MAX_PAGESIZE, EventFilter, EventGroupFilter
from nntsc.events.models import DIRECTIONS, GROUP_KEY_KINDS

RATING_FIELDS = ("useful", "reason", "comment")
#: Stream ids are 32-bit (`streams.stream_id`).
MAX_STREAM_ID = 2**31 - 1


def _text(request: Request, name: str) -> str | None:
    value = request.params.get(name)
    return value or None


def _choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    value = _text(request, name)
    if value is not None and value not in choices:
        raise BadParameter(f"parameter {name!r} must be one of {', '.join(choices)}")
    return value


def _cursor(request: Request) -> str | None:
    return _text(request, "cursor")


def _range(request: Request) -> tuple[int | None, int | None]:
    start = int_param(request, "start", None, minimum=0)
    end = int_param(request, "end", None, minimum=0)
    if start is not None and end is not None and end <= start:
        raise BadParameter("parameter 'end' must be after 'start'")
    return start, end


def _severity(request: Request) -> int | None:
    return int_param(request, "min_severity", None, minimum=0, maximum=100)


@view_config(route_name="api.v1.events", request_method="GET", renderer="json")
def events(request: Request) -> dict[str, Any]:
    """Events newest onset first, filtered by time, collection, stream, detector, kind, severity."""
    start, end = _range(request)
    streams = []
    for raw in request.params.getall("stream"):
        try:
            stream = int(raw)
        except ValueError:
            raise BadParameter(f"parameter 'stream' must be an integer, got {raw!r}") from None
        if not 1 <= stream <= MAX_STREAM_ID:
            raise BadParameter(f"parameter 'stream' must be between 1 and {MAX_STREAM_ID}")
        streams.append(stream)
    filters = EventFilter(
        start=start,
        end=end,
        collection=_text(request, "collection"),
        stream_ids=streams,
        detector=_text(request, "detector"),
        kind=_text(request, "kind"),
        min_severity=_severity(request),
    )
    pagesize = int_param(request, "pagesize", 50, minimum=1, maximum=MAX_PAGESIZE)
    return request.ampy.events(filters, _cursor(request), pagesize).as_dict()  # type: ignore[arg-type]


@view_config(route_name="api.v1.event", request_method="GET", renderer="json")
def event(request: Request) -> dict[str, Any]:
    event_id = int_param(request, "event_id", minimum=1, maximum=2**63 - 1, source="match")
    return request.ampy.event(event_id)


@view_config(route_name="api.v1.event_groups", request_method="GET", renderer="json")
def event_groups(request: Request) -> dict[str, Any]:
    """Event groups newest first (live ones unless ``status`` says), without their events."""
    start, end = _range(request)
    filters = EventGroupFilter(
        start=start,
        end=end,
        status=_choice(request, "status", tuple(GROUP_STATUSES)) or "live",
        direction=_choice(request, "direction", DIRECTIONS),
        key_kind=_choice(request, "key_kind", GROUP_KEY_KINDS),
        asn=int_param(request, "asn", None, minimum=1, maximum=2**32 - 1),
        endpoint=_text(request, "endpoint"),
        min_severity=_severity(request),
        min_events=int_param(request, "min_events", None, minimum=1, maximum=2**31 - 1),
    )
    pagesize = int_param(request, "pagesize", 20, minimum=1, maximum=MAX_PAGESIZE)
    return request.ampy.event_groups(filters, _cursor(request), pagesize).as_dict()  # type: ignore[arg-type]


@view_config(route_name="api.v1.event_group", request_method="GET", renderer="json")
def event_group(request: Request) -> dict[str, Any]:
    """One group with its events and their streams (a merged group names its winner)."""
    group_id = int_param(request, "group_id", minimum=1, maximum=2**63 - 1, source="match")
    return request.ampy.event_group(group_id)


@view_config(route_name="api.v1.event.rating", request_method="POST", renderer="json")
def rate_event(request: Request) -> dict[str, Any]:
    """The caller's rating of an event: ``{"useful": bool, "reason": str, "comment": str}``."""
    if request.identity is None:
        # Anyone may read public data, but a rating is someone's.
        raise HTTPForbidden()
    event_id = int_param(request, "event_id", minimum=1, maximum=2**63 - 1, source="match")
    body = json_object(request)
    unknown = sorted(set(body) - set(RATING_FIELDS))
    if unknown:
        raise BadParameter(
            f"unknown field {unknown[0]!r}; expected some of useful, reason, comment"
        )
    if "useful" not in body:
        raise BadParameter("field 'useful' (true or false) is required")
    return request.ampy.rate_event(
        event_id,  # type: ignore[arg-type]
        request.identity.username,
        body["useful"],
        body.get("reason", ""),
        body.get("comment", ""),
    )
