"""The ``json`` renderer of every view: orjson, with Pyramid's own renderer where orjson can't.

Pyramid's JSON renderer writes with the standard library's `json` (about
50 us for a page of 20 event groups, an eighth of that request's CPU) and
hands the text to the response, which encodes it again. This one writes the
same values with orjson (a few us), straight to bytes for the body. The
content type and the custom objects (``__json__``, adapters) are Pyramid's.
Where orjson refuses a value (an integer beyond 64 bits, an object it does
not know and that has no ``__json__``) the value is written by Pyramid's
renderer as before, so it answers what it did, or fails as it did, but for
floats that are not numbers: null there too (`finite_dumps`).

The JSON text says the same values, written more tightly: no spaces after
``,`` and ``:``, text as UTF-8 rather than ``\\u`` escapes, and a float that
is not a number (NaN, infinity), which `json` wrote as a bare ``NaN`` that is
not JSON and that browsers refuse, is ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson
from pyramid.config import Configurator
from pyramid.renderers import JSON, render_to_response
from pyramid.request import Request
from pyramid.response import Response

#: Dict keys that are not text (ints) written as text, as `json` does; dataclasses and
#: datetimes through ``__json__`` and the adapters, as `json` would have them.
OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def _finite(value: Any) -> Any:
    """`value` with every float that is not a number (NaN, infinity) made ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def finite_dumps(value: Any, *, default: Callable[[Any], Any], **kw: Any) -> str:
    """`json.dumps` writing a float that is not a number as ``null``, as orjson does.

    `json` writes them as a bare ``NaN`` or ``Infinity`` (not JSON); its
    encoder has no hook for floats, so they are replaced before it writes,
    in the value and in what `default` gives for a custom object.
    """
    return json.dumps(_finite(value), default=lambda obj: _finite(default(obj)), **kw)


class FastJSON(JSON):
    """Pyramid's JSON renderer writing with orjson (see the module's docstring)."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("serializer", finite_dumps)
        super().__init__(**kw)

    def __call__(self, info: Any) -> Callable[[Any, dict[str, Any]], bytes | str]:
        fallback = super().__call__(info)

        def render(value: Any, system: dict[str, Any]) -> bytes | str:
            request = system.get("request")
            if request is not None:
                response = request.response
                if response.content_type == response.default_content_type:
                    response.content_type = "application/json"
            try:
                return orjson.dumps(value, default=self._make_default(request), option=OPTIONS)
            except orjson.JSONEncodeError:
                return fallback(value, system)

        return render


def json_response(request: Request, value: Any) -> Response:
    """`value` answered as the ``json`` renderer answers it (the same status, headers and
    body), for a view to return instead of `value`.

    A view's return value other than a `Response` goes through Pyramid's
    renderer machinery: an adapter lookup, a copy of the renderer's helper,
    the renderer's system values and their ``BeforeRender`` event, then the
    response, about as much CPU as writing the JSON. A view answering many
    small requests (``GET /api/v1/event-groups``) skips that: the body is
    written by orjson as `FastJSON` writes it into the request's own
    response. A value orjson refuses (one needing ``__json__`` or an adapter,
    an integer beyond 64 bits) is rendered by the ``json`` renderer itself.
    """
    try:
        body = orjson.dumps(value, option=OPTIONS)
    except orjson.JSONEncodeError:
        return render_to_response("json", value, request=request)
    response = request.response
    if response.content_type == response.default_content_type:
        response.content_type = "application/json"
    response.body = body
    return response


def includeme(config: Configurator) -> None:
    config.add_renderer("json", FastJSON())
