"""REST API writes to sites and meshes: create, update, delete. They need ``editconfig``.

Bodies are JSON objects with the fields of `nntsc.store.sites.SiteRegistry`.
Answers: 201 and the object on create, 200 and the object on update, 204 on
delete; `ampweb.views.errors` maps bad values to 400, unknown names to 404
and taken names to 409.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.params import BadParameter, json_object
from ampweb.security import EDITCONFIG

SITE_FIELDS = ("name", "long_name", "location", "description", "addresses")
MESH_FIELDS = (
    "name",
    "long_name",
    "description",
    "is_source",
    "is_destination",
    "public",
    "members",
)


def _fields(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object of the body, checked to hold only `allowed` fields."""
    body = json_object(request)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadParameter(f"unknown field {unknown[0]!r}; expected some of {', '.join(allowed)}")
    # A field left out stays as it is; null is not a value of any field.
    nulls = sorted(name for name, value in body.items() if value is None)
    if nulls:
        raise BadParameter(f"field {nulls[0]!r} may not be null (leave it out to keep it)")
    return body


def _changes(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The fields to change; a ``name`` in the body must be the one in the URL."""
    fields = _fields(request, allowed)
    name = fields.pop("name", request.matchdict["name"])
    if name != request.matchdict["name"]:
        raise BadParameter("field 'name' cannot change (delete and create instead)")
    return fields


def _created(request: Request, body: dict[str, Any], route: str) -> Response:
    response = Response(json_body=body, status=201)
    response.location = request.route_url(route, name=body["name"])
    return response


@view_config(route_name="api.v1.sites", request_method="POST", permission=EDITCONFIG)
def create_site(request: Request) -> Response:
    fields = _fields(request, SITE_FIELDS)
    site = request.ampy.sites.create_site(fields.pop("name", None), **fields)
    return _created(request, site.as_dict(), "api.v1.site")


@view_config(route_name="api.v1.site", request_method="PUT", permission=EDITCONFIG, renderer="json")
def update_site(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    return request.ampy.sites.update_site(name, **_changes(request, SITE_FIELDS)).as_dict()


@view_config(route_name="api.v1.site", request_method="DELETE", permission=EDITCONFIG)
def delete_site(request: Request) -> Response:
    request.ampy.sites.delete_site(request.matchdict["name"])
    return Response(status=204)


@view_config(route_name="api.v1.meshes", request_method="POST", permission=EDITCONFIG)
def create_mesh(request: Request) -> Response:
    fields = _fields(request, MESH_FIELDS)
    mesh = request.ampy.sites.create_mesh(fields.pop("name", None), **fields)
    return _created(request, mesh.as_dict(), "api.v1.mesh")


@view_config(route_name="api.v1.mesh", request_method="PUT", permission=EDITCONFIG, renderer="json")
def update_mesh(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    return request.ampy.sites.update_mesh(name, **_changes(request, MESH_FIELDS)).as_dict()


@view_config(route_name="api.v1.mesh", request_method="DELETE", permission=EDITCONFIG)
def delete_mesh(request: Request) -> Response:
    request.ampy.sites.delete_mesh(request.matchdict["name"])
    return Response(status=204)
