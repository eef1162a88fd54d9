"""Test schedules: the REST API of sites' and meshes' items, and the YAML amplet2 fetches.

``/api/v1/{sites|meshes}/{name}/schedule`` lists (``view``) and creates
(``editconfig``) the items of a site or mesh; the item paths below it read,
change, delete, enable or disable one item and add or remove its
destinations, all changes needing ``editconfig``. Bodies are checked against
the OpenAPI document first, then by `nntsc.schedules.registry` (a test's
options among them): bad input answers 400 and changes nothing.

``/yaml/{ampname}`` is the one thing here (and, with logging in itself and
the health checks, in the whole app) that answers without a user: amplet2
monitors fetch their schedule with no credentials. It tells nothing the
monitor would not be told anyway: the tests it runs and towards whom.
"""

from __future__ import annotations

import datetime
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ampweb.security import EDITCONFIG
from nntsc.schedules.options import TESTS

#: Path segment -> the registry's owner kind.
OWNER_KINDS = {"sites": "site", "meshes": "mesh"}


def _owner(request: Request) -> tuple[str, str]:
    return OWNER_KINDS[request.matchdict["owner"]], request.matchdict["name"]


def _item_id(request: Request) -> int:
    # Converted and bounds-checked against openapi.yaml's `itemId` by the validation.
    return int(request.openapi["item_id"])


@view_config(route_name="api.v1.schedule_tests", request_method="GET", renderer="json")
def schedule_tests(request: Request) -> dict[str, Any]:
    """amplet2's tests and the options a schedule item may give each."""
    return {"items": [test.as_dict() for test in TESTS.values()]}


@view_config(route_name="api.v1.schedule", request_method="GET", renderer="json")
def list_schedule(request: Request) -> dict[str, Any]:
    kind, name = _owner(request)
    inherited = bool(request.openapi["inherited"]) and kind == "site"
    items = request.ampy.schedules.list_items(kind, name, inherited=inherited)
    return {"items": [item.as_dict() for item in items]}


@view_config(route_name="api.v1.schedule", request_method="POST", permission=EDITCONFIG)
def create_schedule_item(request: Request) -> Response:
    kind, name = _owner(request)
    item = request.ampy.schedules.create_item(kind, name, **request.openapi["body"])
    response = Response(json_body=item.as_dict(), status=201)
    response.location = request.route_url(
        "api.v1.schedule.item", owner=request.matchdict["owner"], name=name, item_id=item.id
    )
    return response


@view_config(route_name="api.v1.schedule.item", request_method="GET", renderer="json")
def get_schedule_item(request: Request) -> dict[str, Any]:
    return request.ampy.schedules.get_item(*_owner(request), _item_id(request)).as_dict()


@view_config(
    route_name="api.v1.schedule.item", request_method="PUT", permission=EDITCONFIG, renderer="json"
)
def update_schedule_item(request: Request) -> dict[str, Any]:
    registry = request.ampy.schedules
    return registry.update_item(
        *_owner(request), _item_id(request), **request.openapi["body"]
    ).as_dict()


@view_config(route_name="api.v1.schedule.item", request_method="DELETE", permission=EDITCONFIG)
def delete_schedule_item(request: Request) -> Response:
    request.ampy.schedules.delete_item(*_owner(request), _item_id(request))
    return Response(status=204)


@view_config(
    route_name="api.v1.schedule.status",
    request_method="PUT",
    permission=EDITCONFIG,
    renderer="json",
)
def set_schedule_item_status(request: Request) -> dict[str, Any]:
    enabled = request.openapi["body"]["enabled"]
    return request.ampy.schedules.set_enabled(
        *_owner(request), _item_id(request), enabled
    ).as_dict()


@view_config(
    route_name="api.v1.schedule.destinations",
    request_method="POST",
    permission=EDITCONFIG,
    renderer="json",
)
def add_schedule_destination(request: Request) -> dict[str, Any]:
    body = request.openapi["body"]
    kind, destination = ("site", body["site"]) if "site" in body else ("mesh", body["mesh"])
    return request.ampy.schedules.add_destination(
        *_owner(request), _item_id(request), kind, destination
    ).as_dict()


@view_config(
    route_name="api.v1.schedule.destination",
    request_method="DELETE",
    permission=EDITCONFIG,
    renderer="json",
)
def remove_schedule_destination(request: Request) -> dict[str, Any]:
    kind = OWNER_KINDS[request.matchdict["kind"]]
    return request.ampy.schedules.remove_destination(
        *_owner(request), _item_id(request), kind, request.matchdict["destination"]
    ).as_dict()


@view_config(route_name="amplet.schedule", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def amplet_schedule(request: Request) -> Response:
    """The site's schedule as amplet2 parses it; 304 when unchanged since ``If-Modified-Since``.

    ``Last-Modified`` is the last change of anything the document is made
    of. A site whose schedule never changed has an empty one, last changed
    at the epoch, so a monitor that has it is never sent it again.
    """
    text, modified = request.ampy.amplet_schedule(request.matchdict["ampname"])
    last_modified = datetime.datetime.fromtimestamp(modified, datetime.UTC)
    since = request.if_modified_since
    if since is not None and last_modified <= since:
        response = Response(status=304)
    else:
        response = Response(text, content_type="application/yaml", charset="utf-8")
    response.last_modified = last_modified
    # A monitor asks again on its own schedule; a cache in between must ask us too.
    response.cache_control = "no-cache"
    return response
