"""The web app's own plumbing that stands in for Pyramid's: the route mapper and the JSON renderer.

Each must answer what Pyramid's own answers (the same route for every path;
the same JSON values), only sooner.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.urldispatch import RoutesMapper as PyramidRoutesMapper

from ampweb.routes import RoutesMapper, use_mapper


def _app_mapper() -> RoutesMapper:
    config = Configurator()
    use_mapper(config)
    config.add_static_view("static", "ampweb:static")
    config.include("ampweb.routes")
    config.commit()
    mapper = config.registry.getUtility(IRoutesMapper)
    assert isinstance(mapper, RoutesMapper)
    return mapper


def _example(pattern: str) -> str:
    """A path the pattern matches: each placeholder filled with a value it accepts."""
    filled = re.sub(r"\{owner:[^}]*\}", "sites", pattern)
    filled = re.sub(r"\{kind:[^}]*\}", "meshes", filled)
    filled = re.sub(r"\{\w+:\\d\+\}", "12", filled)
    filled = re.sub(r"\{[^{}]*(\{[^}]*\}[^{}]*)*\}", "nz", filled)
    return filled if filled.startswith("/") else "/" + filled


def test_the_app_mapper_finds_the_route_pyramid_finds_for_every_path() -> None:
    mapper = _app_mapper()
    paths = {_example(route.pattern) for route in mapper.get_routes()}
    # Every route is reached by its example (static files through their own route).
    for route in mapper.get_routes():
        assert mapper(Request.blank(_example(route.pattern)))["route"] is not None, route.name
    paths |= {
        "/",
        "/api/v1/event-groups",
        "/api/v1/event-groups/",
        "/api/v1/event-groups/7",
        "/api/v1/sites/nz/akl",
        "/api/v1/sites/nz/akl/schedule",
        "/api/v1/meshes/schedule-tests",
        "/yaml/api/v1/event-groups",
        "/matrix/latency/a/b",
        "/no/such/page",
        "/static/css/site.css",
        "/api/v1/%C3%A9",
    }
    fixed = mapper.fixed_paths()
    # The API's routes without placeholders are among those found by their path.
    assert "/api/v1/event-groups" in fixed
    assert "/api/v1/collections" in fixed
    for path in sorted(paths):
        request = Request.blank(path)
        ours = mapper(request)
        theirs = PyramidRoutesMapper.__call__(mapper, request)
        assert (ours["route"], ours["match"]) == (theirs["route"], theirs["match"]), path


def test_a_fixed_path_that_an_earlier_route_matches_is_left_to_the_order() -> None:
    config = Configurator()
    use_mapper(config)
    config.add_route("any", "/things/{name}")
    config.add_route("one", "/things/one")
    config.add_route("list", "/things")
    config.add_route("if", "/only-get", request_method="GET")
    config.commit()
    mapper = config.registry.getUtility(IRoutesMapper)
    # "/things/one" is the earlier route's; a route with predicates is matched in order.
    assert set(mapper.fixed_paths()) == {"/things"}
    assert mapper(Request.blank("/things/one"))["route"].name == "any"
    assert mapper(Request.blank("/things"))["route"].name == "list"
    assert mapper(Request.blank("/only-get"))["route"].name == "if"
    assert mapper(Request.blank("/only-get", method="POST"))["route"] is None
    # A route added later is seen.
    config.add_route("more", "/more")
    config.commit()
    assert mapper(Request.blank("/more"))["route"].name == "more"


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __json__(self, request: Any) -> dict[str, int]:
        return {"x": self.x}


VALUES: dict[str, Any] = {
    "page": {"items": [{"id": 1, "asns": [64496], "merged_into": None}], "has_more": False},
    "text": {"name": 'Zürich – ✓ "quoted" </script>', "empty": ""},
    "numbers": {"int": -3, "float": 0.1, "big": 2**63 - 1, "small": 1e-7, "true": True},
    "int keys": {1: "one", 2: [1.5, None]},
    "custom": {"point": Point(4)},
    "too big for orjson": {"n": 2**70},
}


def _render(value: Any) -> tuple[bytes, str]:
    config = Configurator()
    config.include("ampweb.rendering")
    config.add_route("value", "/value")
    config.add_view(lambda request: value, route_name="value", renderer="json")
    response = Request.blank("/value").get_response(config.make_wsgi_app())
    assert response.status_code == 200
    return response.body, response.content_type


@pytest.mark.parametrize("name", VALUES)
def test_json_answers_hold_the_values_the_standard_json_renderer_writes(name: str) -> None:
    body, content_type = _render(VALUES[name])
    assert content_type == "application/json"
    expected = json.loads(json.dumps(VALUES[name], default=lambda obj: obj.__json__(None)))
    assert json.loads(body) == expected


def test_a_float_that_is_not_a_number_is_null_not_invalid_json() -> None:
    body, _ = _render({"nan": math.nan, "inf": math.inf})
    assert json.loads(body) == {"nan": None, "inf": None}


def _strict_json(body: bytes) -> Any:
    """`body` read as JSON, refusing the bare ``NaN`` and ``Infinity`` that `json` accepts."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def test_a_float_that_is_not_a_number_is_null_where_orjson_refuses_the_value() -> None:
    # An integer beyond 64 bits sends the whole value to Pyramid's renderer, whose
    # json wrote NaN and Infinity bare, in the value and in what __json__ gives.
    class Odd:
        def __json__(self, request: Any) -> dict[str, Any]:
            return {"nan": math.nan, "items": (math.inf, 1.5)}

    value = {"n": 2**70, "nan": math.nan, "list": [-math.inf, 0.5], "odd": Odd(), 1: math.nan}
    body, content_type = _render(value)
    assert content_type == "application/json"
    assert _strict_json(body) == {
        "n": 2**70,
        "nan": None,
        "list": [None, 0.5],
        "odd": {"nan": None, "items": [None, 1.5]},
        "1": None,
    }


def test_a_value_neither_renderer_can_write_still_fails() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _render({"set": {1, 2}})


def _answers(value: Any) -> tuple[Any, Any]:
    """The answers of `value` returned to the ``json`` renderer and given to `json_response`."""
    from ampweb.rendering import json_response

    config = Configurator()
    config.include("ampweb.rendering")
    config.add_route("rendered", "/rendered")
    config.add_view(lambda request: value, route_name="rendered", renderer="json")
    config.add_route("direct", "/direct")
    config.add_view(
        lambda request: json_response(request, value), route_name="direct", renderer="json"
    )
    app = config.make_wsgi_app()
    return Request.blank("/rendered").get_response(app), Request.blank("/direct").get_response(app)


@pytest.mark.parametrize("name", [*VALUES, "not a number"])
def test_json_response_answers_what_the_json_renderer_answers(name: str) -> None:
    value = VALUES.get(name, {"nan": math.nan, "items": [math.inf, 1]})
    rendered, direct = _answers(value)
    assert direct.status == rendered.status == "200 OK"
    assert direct.headerlist == rendered.headerlist
    assert direct.body == rendered.body


def test_json_response_fails_as_the_renderer_does() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _answers({"set": {1, 2}})
