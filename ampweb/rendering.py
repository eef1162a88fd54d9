"""The ``json`` renderer of every view: orjson, with Pyramid's own renderer where orjson can't.

Pyramid's JSON renderer writes with the standard library's `json` (about
50 us for a page of 20 event groups, an eighth of that request's CPU) and
hands the text to the response, which encodes it again. This one writes the
same values with orjson (a few us), straight to bytes for the body. The
content type and the custom objects (``__json__``, adapters) are Pyramid's.
Where orjson refuses a value (an integer beyond 64 bits, an object it does
not know and that has no ``__json__``) the value is written by Pyramid's
renderer as before, so it answers what it did, or fails as it did.

The JSON text says the same values, written more tightly: no spaces after
``,`` and ``:``, text as UTF-8 rather than ``\\u`` escapes, and a float that
is not a number (NaN, infinity), which `json` wrote as a bare ``NaN`` that is
not JSON and that browsers refuse, is ``null``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pyramid.config import Configurator
from pyramid.renderers import JSON

#: Dict keys that are not text (ints) written as text, as `json` does; dataclasses and
#: datetimes through ``__json__`` and the adapters, as `json` would have them.
OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


class FastJSON(JSON):
    """Pyramid's JSON renderer writing with orjson (see the module's docstring)."""

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


def includeme(config: Configurator) -> None:
    config.add_renderer("json", FastJSON())
