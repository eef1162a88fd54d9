"""REST API of events and event groups: lists a page at a time, one group, ratings,
the dashboard's statistics (frequency, common streams) and users' saved filters.

Lists answer ``{"items": [...], "pagesize": N, "next_cursor": C, "has_more": bool}``,
newest first; pass ``cursor=C`` for the next page (`ampy.events` says why a
cursor and not a page number). Reading needs the ``view`` permission like the
rest of the data API; rating an event or a group, the CSV export of every
rating and saved filters need a user (401 without one). The dashboard's
filter parameters (``range``, ``min_severity``, ``min_endpoints``, ``asn``,
``source``, ``target``, ``kind``, ``collection``) are read in one place,
`nntsc.events.filters.EventFilterSpec`.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.params import BadParameter
from ampweb.rendering import json_response
from ampweb.security import ACCOUNT, ADMIN, USER_VIEW
from ampy.events import EventFilter, EventGroupFilter
from ampy.ratings import EXPORT_COLUMNS, REASONS
from nntsc.errors import BadValue
from nntsc.events.filters import EventFilterSpec


def filter_spec(request: Request) -> EventFilterSpec:
    """The dashboard filter of the request's query parameters; 400 naming a bad one."""
    return EventFilterSpec.from_params(request.GET.items())


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
def event_groups(request: Request) -> Response:
    """Event groups newest first (live ones unless ``status`` says), without their events.

    Answered as a `Response` (`json_response`): the dashboard's and scripts' most
    asked list skips Pyramid's renderer machinery, for the same answer."""
    params = request.openapi
    # Time, severity, endpoints, ASNs and the event conditions: the dashboard's filter.
    filters = EventGroupFilter(
        status=params["status"],
        direction=params["direction"],
        key_kind=params["key_kind"],
        endpoint=params["endpoint"],
        min_events=params["min_events"],
        event_id=params["event"],
        spec=filter_spec(request),
    )
    page = request.ampy.event_groups(filters, params["cursor"], params["pagesize"])
    return json_response(request, page.as_dict())


@view_config(route_name="api.v1.event_group", request_method="GET", renderer="json")
def event_group(request: Request) -> dict[str, Any]:
    """One group with its events and their streams (a merged group names its winner)."""
    return request.ampy.event_group(request.openapi["group_id"])


def _rating(request: Request) -> tuple[str, bool, str, str]:
    """The caller and their verdict, reason and comment from the request body."""
    body = request.openapi["body"]
    return (
        request.identity.username,
        body["useful"],
        body.get("reason", ""),
        body.get("comment", ""),
    )


# Anyone may read public data, but a rating is someone's: USER_VIEW needs a user.
@view_config(
    route_name="api.v1.event.rating", request_method="POST", renderer="json", permission=USER_VIEW
)
def rate_event(request: Request) -> dict[str, Any]:
    """The caller's rating of an event: ``{"useful": bool, "reason": str, "comment": str}``."""
    return request.ampy.rate_event(request.openapi["event_id"], *_rating(request))


@view_config(
    route_name="api.v1.event_group.rating",
    request_method="POST",
    renderer="json",
    permission=USER_VIEW,
)
def rate_event_group(request: Request) -> dict[str, Any]:
    """The caller's rating of an event group, as of an event."""
    return request.ampy.rate_event_group(request.openapi["group_id"], *_rating(request))


@view_config(route_name="api.v1.event_ratings.summary", request_method="GET", renderer="json")
def rating_summary(request: Request) -> dict[str, Any]:
    """Counts per event and group, the caller's own ratings, and the reasons one may give."""
    params = request.openapi
    username = request.identity.username if request.identity is not None else None
    summary = request.ampy.rating_summary(params["event"], params["group"], username)
    return {**summary, "user": username, "reasons": [reason.as_dict() for reason in REASONS]}


@view_config(route_name="api.v1.event_ratings.csv", request_method="GET", permission=USER_VIEW)
def ratings_csv(request: Request) -> Response:
    """Every rating (made in [start, end) when given) with what it rated, as CSV.

    Needs a user who may see the data: the rows name events and streams.
    Raters are named to admins only; anyone else sees their own name on their
    own ratings, and an anonymous ``rater`` id (``rater-2``) on everyone's.
    """
    start, end = _range(request)
    rows = request.ampy.ratings_export(
        start, end, viewer=request.identity.username, every_name=bool(request.has_permission(ADMIN))
    )
    return Response(
        app_iter=_csv_lines(EXPORT_COLUMNS, rows),
        content_type="text/csv",
        charset="utf-8",
        content_disposition='attachment; filename="event-ratings.csv"',
    )


#: What a spreadsheet reads a cell beginning with as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """`value` for a CSV cell: empty for None, and text a spreadsheet would run as a
    formula (a comment ``=HYPERLINK(...)``) quoted with a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_lines(columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    """The header and then each row, one encoded line at a time (the rows stream from SQL)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in itertools.chain([columns], rows):
        writer.writerow([spreadsheet_cell(value) for value in values])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


@view_config(route_name="api.v1.events.frequency", request_method="GET", renderer="json")
def event_frequency(request: Request) -> dict[str, Any]:
    """Events per 30 minutes of the live groups the filter selects, over its range."""
    return request.ampy.event_frequency(filter_spec(request))


@view_config(route_name="api.v1.events.common", request_method="GET", renderer="json")
def common_events(request: Request) -> dict[str, Any]:
    """The streams with the most events in the last 24 h (the filter's event conditions apply)."""
    items = request.ampy.common_event_streams(filter_spec(request), request.openapi["limit"])
    for item in items:
        item["graph_url"] = request.route_path(
            "graph.stream.range",
            stream_id=item["stream_id"],
            start=max(0, item["last_onset"] - COMMON_GRAPH_SPAN),
            end=item["last_onset"] + COMMON_GRAPH_MARGIN,
        )
    return {"items": items}


#: A common stream's graph link shows the day before its latest event, and a little after.
COMMON_GRAPH_SPAN = 86400
COMMON_GRAPH_MARGIN = 3600


# -- saved filters: each user's own -------------------------------------------------------


def _spec_of(body: dict[str, Any]) -> EventFilterSpec:
    try:
        return EventFilterSpec.from_json(body["filter"])
    except BadValue as error:
        # "filter.min_severity: ...": where in the body the bad value is.
        field = error.field if error.field == "filter" else f"filter.{error.field}"
        raise BadValue(field, str(error).partition(": ")[2]) from None


@view_config(
    route_name="api.v1.event_filters", request_method="GET", renderer="json", permission=ACCOUNT
)
def list_event_filters(request: Request) -> dict[str, Any]:
    """The caller's saved filters, by name."""
    return {"items": request.ampy.event_filters(request.identity.username)}


@view_config(route_name="api.v1.event_filters", request_method="POST", permission=ACCOUNT)
def save_event_filter(request: Request) -> Response:
    """Save ``{"name", "filter", "notify"}`` as the caller's; 409 when they have the name."""
    body = request.openapi["body"]
    saved = request.ampy.save_event_filter(
        request.identity.username, body["name"], _spec_of(body), body.get("notify", False)
    )
    response = Response(json_body=saved, status=201)
    response.location = request.route_url("api.v1.event_filter", filter_id=saved["id"])
    return response


@view_config(
    route_name="api.v1.event_filter", request_method="GET", renderer="json", permission=ACCOUNT
)
def get_event_filter(request: Request) -> dict[str, Any]:
    """One of the caller's saved filters (404 for anyone else's)."""
    return request.ampy.event_filter(request.identity.username, request.openapi["filter_id"])


@view_config(
    route_name="api.v1.event_filter", request_method="PUT", renderer="json", permission=ACCOUNT
)
def update_event_filter(request: Request) -> dict[str, Any]:
    """Change the name, filter or notify flag (those in the body) of one of the caller's."""
    body = request.openapi["body"]
    return request.ampy.update_event_filter(
        request.identity.username,
        request.openapi["filter_id"],
        name=body.get("name"),
        spec=_spec_of(body) if "filter" in body else None,
        notify=body.get("notify"),
    )


@view_config(route_name="api.v1.event_filter", request_method="DELETE", permission=ACCOUNT)
def delete_event_filter(request: Request) -> Response:
    request.ampy.delete_event_filter(request.identity.username, request.openapi["filter_id"])
    return Response(status=204)
