"""Reading request parameters; a bad one raises `BadParameter`, which answers 400."""

from __future__ import annotations

from pyramid.request import Request

from nntsc.errors import BadQuery


class BadParameter(BadQuery):
    """A request parameter is missing or malformed; the message names it."""


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
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"parameter {name!r} must be an integer, got {raw!r}") from None
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
