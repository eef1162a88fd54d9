"""`/api/v1/openapi.json`: the API's OpenAPI document, kept as YAML in `ampweb/openapi.yaml`.

`/api/v1/docs` renders the same document for people (Swagger UI, vendored).
Both are public: they describe the API, not the data, as the document's
``security: [{}]`` on them says.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ampy.views import view_styles


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as data: `openapi.yaml` with the view styles the registry declares.

    The YAML lists the styles of the collections shipped here; a collection
    added in its modules alone (`ampy.collections`) brings its styles into the
    document, and so into request validation, without an edit to the YAML.
    """
    return document_for(current_styles())


def current_styles() -> tuple[str, ...]:
    """The view styles the registry declares now, sorted."""
    return tuple(sorted(view_styles()))


@functools.cache
def document_for(styles: tuple[str, ...]) -> dict[str, Any]:
    """The document with these view styles."""
    # Read and parsed once per set of styles (once per process, in practice).
    document = yaml.safe_load(documented_yaml())
    document["components"]["schemas"]["ViewStyleName"]["enum"] = list(styles)
    return document


def documented_yaml() -> str:
    """The text of `ampweb/openapi.yaml`."""
    return resources.files("ampweb").joinpath("openapi.yaml").read_text(encoding="utf-8")


@functools.cache
def _openapi_json(styles: tuple[str, ...]) -> bytes:
    # Encoded once too: the document changes only when a collection is registered.
    return json.dumps(document_for(styles), separators=(",", ":")).encode()


@view_config(route_name="api.v1.openapi", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document, as JSON."""
    return Response(
        body=_openapi_json(current_styles()),
        content_type="application/json",
        charset="utf-8",
        cache_control="public, max-age=3600",
    )


@view_config(
    route_name="api.v1.docs",
    request_method="GET",
    renderer="api_docs.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def api_docs(request: Request) -> dict[str, Any]:
    """The API documentation page, drawn in the browser from `/api/v1/openapi.json`."""
    return {"spec_url": request.route_path("api.v1.openapi")}
