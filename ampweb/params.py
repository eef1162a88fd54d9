"""Reading request parameters; a bad one raises `BadParameter`, which answers 400."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pyramid.request import Request

from nntsc.errors import BadQuery
from nntsc.store.streams import Page
from nntsc.text import decimal_int

#: How much of a value a message quotes back to the client.
QUOTED = 60


class BadParameter(BadQuery):
    """A request parameter is missing or malformed; the message names it."""


def shown(value: str) -> str:
    """`value` quoted for an error message, cut to a bounded prefix."""
    if len(value) <= QUOTED:
        return repr(value)
    return repr(value[:QUOTED]) + "…"


def integer(name: str, raw: str) -> int:
    """`raw` as an integer (decimal digits, a ``-`` before them allowed); else a 400 naming
    parameter `name`."""
    value = decimal_int(raw, signed=True)
    if value is None:
        raise BadParameter(f"parameter {name!r} must be an integer, got {shown(raw)}")
    return value


def int_param(
    request: Request,
    name: str,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    source: str = "params",
) -> int | None:
    """Parameter `name` as an integer within bounds, or `default` when absent."""
    raw = (request.matchdict if source == "match" else request.params).get(name)
    if raw is None or raw == "":
        return default
    value = integer(name, raw)
    if minimum is not None and value < minimum:
        raise BadParameter(f"parameter {name!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise BadParameter(f"parameter {name!r} must be at most {maximum}")
    return value


def choice_param(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.params.get(name) or default
    if value not in choices:
        raise BadParameter(f"parameter {name!r} must be one of {', '.join(choices)}")
    return value


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; anything else raises `BadParameter`."""
    try:
        body = request.json_body
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise BadParameter("the request body must be a JSON object") from None
    except RecursionError:
        # Thousands of nested brackets exhaust the parser's stack.
        raise BadParameter("the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadParameter("the request body must be a JSON object")
    if _has_nul(body):
        # PostgreSQL cannot store NUL in text, and no field of ours holds one.
        raise BadParameter("the request body contains a NUL character")
    return body


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def page_body(items: Sequence[Any], found: Page | None = None) -> dict[str, Any]:
    """A list answer (INTERFACES.md): `items` as the page `found`, or all of them on one page."""
    if found is None:
        found = Page(list(items), len(items), 1, len(items))
    return {
        "items": list(items),
        "total": found.total,
        "page": found.page,
        "pagesize": found.pagesize,
        "has_more": found.has_more,
    }
