"""The events dashboard: event groups newest first, a page at a time, with their events.

The server renders the page (two queries a page: the groups, then all their
events, `ampy.api.Ampy.event_groups_with_events`); `static/js/events.js`
shows the times in the zone the header's switch chooses, and its modules
under `static/js/events/` draw the filter panel (with the user's saved
filters), the frequency graph and the common events from the API. The
filters are query parameters, read in one place
(`nntsc.events.filters.EventFilterSpec`), so a filtered view is a URL to
share:

``range``          the groups that started in the last 1h, 6h, 24h, 7d or 30d (default all)
``start``/``end``  Unix seconds instead of ``range``
``min_severity``   0 to 100
``min_endpoints``  sources and targets together, at least
``asn``, ``source``, ``target``, ``kind``, ``collection``  lists (repeated, or comma-separated)
``event``          the groups that stand for this event (a graph's event marker links here)
``cursor``         the page after the one that gave it (``next_cursor`` of the API)

The page updates itself (``static/js/events-live.js``): it polls
``/events/live`` with its own query parameters and the number of the last
change to groups it has seen (``since``, sent as ``If-None-Match`` too);
the answer is 304 while nothing changed (one index probe), else the
changed groups the same filters show, rendered by the page's own template
(``events_group.jinja2``), and the ids of those it no longer shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotModified
from pyramid.renderers import render
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import BadParameter, int_param
from ampy.events import EventGroupFilter, decode_cursor
from nntsc.collections import all_collections
from nntsc.errors import ConfigurationError
from nntsc.events.filters import RANGE_CHOICES, EventFilterSpec
from nntsc.events.models import EVENT_KINDS
from nntsc.text import decimal_int

#: Groups a page shows.
PAGESIZE = 20
#: Events each group lists (its count says how many it has).
EVENTS_PER_GROUP = 50
#: How much of the graph an event's link shows on each side of the event.
GRAPH_MARGIN = 3 * 3600
#: Seconds between two polls of a page's live updates unless ``ampweb.events_refresh`` says.
REFRESH = 15
#: What each event kind is called on the filter panel.
KIND_LABELS = {
    "incr": "rise",
    "decr": "fall",
    "loss": "loss",
    "loss_end": "loss ended",
    "pathchange": "path change",
    "mode": "mode change",
}


def _key_label(group: dict[str, Any]) -> str:
    """What the group's events share, for people: "AS64496", "source amp-wlg"."""
    kind, _, value = group["key"].partition(":")
    if kind == "asn":
        asns = group["asns"] or [int(value)]
        return ", ".join(f"AS{asn}" for asn in asns)
    return f"{kind} {value}"


def _graph_url(request: Request, event: dict[str, Any]) -> str:
    """The event's stream graphed around the event (its whole span for one that ended)."""
    last = max(event["ts_onset"], event["ts_ended"] or 0, event["ts_detected"] or 0)
    return request.route_path(
        "graph.stream.range",
        stream_id=event["stream_id"],
        start=max(0, event["ts_onset"] - GRAPH_MARGIN),
        end=last + GRAPH_MARGIN,
    )


def refresh_seconds(settings: Mapping[str, Any]) -> int:
    """``ampweb.events_refresh``: seconds between two polls of an open dashboard (at least 1)."""
    raw = str(settings.get("ampweb.events_refresh") or REFRESH)
    seconds = decimal_int(raw.strip()) or 0
    if seconds < 1:
        raise ConfigurationError(
            f"ampweb.events_refresh must be a whole number of seconds >= 1, not {raw!r}"
        )
    return seconds


def utc_text(ts: int | None) -> str:
    """ "2026-11-26 10:05 UTC" (with seconds when not zero): the page reads without JavaScript."""
    if ts is None:
        return ""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.3g} {unit}".strip()


def group_filter(request: Request) -> EventGroupFilter:
    """The groups the page's query parameters ask for (the page and its live updates)."""
    event_id = int_param(request, "event", None, minimum=1, maximum=2**63 - 1)
    return EventGroupFilter(
        spec=EventFilterSpec.from_params(request.GET.items()), event_id=event_id
    )


def shown_group(request: Request, group: dict[str, Any]) -> dict[str, Any]:
    """A group with what the template shows of it and of its events."""
    events = [
        {
            **event,
            "old_text": _value(event["old_value"], event["unit"]),
            "new_text": _value(event["new_value"], event["unit"]),
            "graph_url": _graph_url(request, event),
        }
        for event in group["events"]
    ]
    # The event the page is about (``event``), highlighted in the groups that stand for it.
    chosen = request.params.get("event", "")
    chosen_event = decimal_int(chosen)
    return {**group, "label": _key_label(group), "events": events, "chosen_event": chosen_event}


@view_config(route_name="events.index", renderer="events.jinja2", request_method="GET")
def events_page(request: Request) -> dict[str, Any]:
    """One page of event groups; 400 for a bad filter or a cursor no page gave."""
    filters = group_filter(request)
    assert filters.spec is not None
    spec = filters.spec
    cursor = request.params.get("cursor") or None
    # Read before the page: a change committed in between is sent again, not missed.
    serial = request.ampy.event_change_serial()
    page = request.ampy.event_groups_with_events(
        filters, cursor, PAGESIZE, events_per_group=EVENTS_PER_GROUP
    )
    # The links (the next page, a shared URL) keep the filter in its canonical form,
    # and the event the page is about; a saved filter is the filter alone.
    kept = spec.to_params()
    about = [("event", str(filters.event_id))] if filters.event_id is not None else []
    groups = [shown_group(request, group) for group in page.items]
    # The part of the list this page holds, for the groups the live updates bring.
    upper = "{}.{}".format(*decode_cursor(cursor)) if cursor else ""
    lower = f"{groups[-1]['ts_started']}.{groups[-1]['id']}" if page.next_cursor else ""
    return {
        "groups": groups,
        "spec": spec,
        "ranges": RANGE_CHOICES,
        "event_id": filters.event_id,
        "kinds": [(kind, KIND_LABELS.get(kind, kind)) for kind in EVENT_KINDS],
        "collections": sorted(c.name for c in all_collections()),
        "first_page": cursor is None,
        "first_url": request.route_path("events.index", _query=[*kept, *about]),
        "next_url": (
            request.route_path("events.index", _query=[*kept, *about, ("cursor", page.next_cursor)])
            if page.next_cursor
            else None
        ),
        "filter_query": urlencode(kept),
        "events_per_group": EVENTS_PER_GROUP,
        "utc": utc_text,
        "live": {
            "serial": serial,
            "upper": upper,
            "lower": lower,
            "interval": refresh_seconds(request.registry.settings) * 1000,
        },
    }


@view_config(route_name="events.live", renderer="json", request_method="GET")
def events_live(request: Request) -> Any:
    """What changed after change ``since`` among the groups the page's filters show.

    304 (with the same ETag) while the newest change is still ``since``;
    else ``{"serial", "groups": [{"id", "ts_started", "html"}], "removed",
    "complete"}``, each group's ``html`` its item of the page's list.
    """
    since = int_param(request, "since", None, minimum=0, maximum=2**62)
    if since is None:
        raise BadParameter("parameter 'since' is required (the change the page has seen)")
    filters = group_filter(request)
    serial = request.ampy.event_change_serial()
    if serial <= since:
        # Nothing newer. The ETag names the change the answer brings the page up to:
        # the newest, also when the page has seen a later one (a database restored
        # from a backup), so that it carries on from the database's.
        headers = {"ETag": f'"{serial}"', "Cache-Control": "no-cache"}
        if serial == since and str(since) in request.if_none_match:
            return HTTPNotModified(headers=headers)
        request.response.headers.update(headers)
        return {"serial": serial, "groups": [], "removed": [], "complete": True}
    changes = request.ampy.event_group_changes(filters, since, events_per_group=EVENTS_PER_GROUP)
    groups = [
        {
            "id": group["id"],
            "ts_started": group["ts_started"],
            "html": render(
                "events_group.jinja2",
                {"group": shown_group(request, group), "utc": utc_text},
                request,
            ),
        }
        for group in changes.groups
    ]
    request.response.headers["ETag"] = f'"{changes.serial}"'
    request.response.headers["Cache-Control"] = "no-cache"
    return {
        "serial": changes.serial,
        "groups": groups,
        "removed": changes.removed,
        "complete": changes.complete,
    }
