"""REST API writes to sites and meshes: create, update, delete. They need ``editconfig``.

Bodies are JSON objects with the fields of `nntsc.store.sites.SiteRegistry`,
checked against the OpenAPI document (`ampweb.validation`): unknown fields,
nulls and a ``name`` in an update answer 400 there.
Answers: 201 and the object on create, 200 and the object on update, 204 on
delete; `ampweb.views.errors` maps bad values to 400, unknown names to 404
and taken names to 409. A new name may not hold "/schedule" (its API paths
would be read as a schedule's): `nntsc.store.sites.check_new_name`.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.security import EDITCONFIG


def _created(request: Request, body: dict[str, Any], route: str) -> Response:
    response = Response(json_body=body, status=201)
    response.location = request.route_url(route, name=body["name"])
    return response


@view_config(route_name="api.v1.sites", request_method="POST", permission=EDITCONFIG)
def create_site(request: Request) -> Response:
    fields = dict(request.openapi["body"])
    site = request.ampy.sites.create_site(fields.pop("name"), **fields)
    return _created(request, site.as_dict(), "api.v1.site")


@view_config(route_name="api.v1.site", request_method="PUT", permission=EDITCONFIG, renderer="json")
def update_site(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    return request.ampy.sites.update_site(name, **request.openapi["body"]).as_dict()


@view_config(route_name="api.v1.site", request_method="DELETE", permission=EDITCONFIG)
def delete_site(request: Request) -> Response:
    request.ampy.sites.delete_site(request.matchdict["name"])
    return Response(status=204)


@view_config(route_name="api.v1.meshes", request_method="POST", permission=EDITCONFIG)
def create_mesh(request: Request) -> Response:
    fields = dict(request.openapi["body"])
    mesh = request.ampy.sites.create_mesh(fields.pop("name"), **fields)
    return _created(request, mesh.as_dict(), "api.v1.mesh")


@view_config(route_name="api.v1.mesh", request_method="PUT", permission=EDITCONFIG, renderer="json")
def update_mesh(request: Request) -> dict[str, Any]:
    name = request.matchdict["name"]
    return request.ampy.sites.update_mesh(name, **request.openapi["body"]).as_dict()


@view_config(route_name="api.v1.mesh", request_method="DELETE", permission=EDITCONFIG)
def delete_mesh(request: Request) -> Response:
    request.ampy.sites.delete_mesh(request.matchdict["name"])
    return Response(status=204)
