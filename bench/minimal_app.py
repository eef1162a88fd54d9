"""The smallest Pyramid JSON app: what bench/web.py compares the real endpoints with."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.router import Router


def hello(request: Request) -> dict[str, object]:
    return {"status": "ok", "items": [1, 2, 3]}


def make_minimal_app() -> Router:
    """One route, ``/hello``, answering a small JSON object through the json renderer."""
    config = Configurator()
    config.add_route("hello", "/hello")
    config.add_view(hello, route_name="hello", renderer="json", request_method="GET")
    return config.make_wsgi_app()
