"""`/api/v1/openapi.json`: the API's OpenAPI document, kept as YAML in `ampweb/openapi.yaml`."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml
from pyramid.request import Request
from pyramid.response import Response
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


@view_config(route_name="api.v1.openapi", request_method="GET")
def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document, as JSON."""
    return Response(
        body=_openapi_json(),
        content_type="application/json",
        charset="utf-8",
        cache_control="public, max-age=3600",
    )
