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


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as data, read and parsed once per process."""
    text = resources.files("ampweb").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def _openapi_json() -> bytes:
    # Encoded once too: the document never changes while the process runs.
    return json.dumps(openapi_document(), separators=(",", ":")).encode()


@view_config(route_name="api.v1.openapi", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document, as JSON."""
    return Response(
        body=_openapi_json(),
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
