"""`/healthz` and `/metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config


# Load balancers and monitoring ask without logging in, so these two are public.
@view_config(route_name="health", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def health(request: Request) -> Response:
    """200 when every store answers, 503 naming what does not."""
    status = request.ampy.ping()
    healthy = all(value == "ok" for value in status.values())
    return Response(
        json_body={"status": "ok" if healthy else "unavailable", **status},
        status=200 if healthy else 503,
    )


@view_config(route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def metrics(request: Request) -> Response:
    return Response(
        body=generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8"
    )
