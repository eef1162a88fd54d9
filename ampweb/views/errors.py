"""Our error types -> HTTP statuses, in one place. API paths answer JSON, pages HTML."""

from __future__ import annotations

import logging
from html import escape

from pyramid.exceptions import BadCSRFToken, PredicateMismatch
from pyramid.httpexceptions import HTTPException, HTTPForbidden
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config
from sqlalchemy.exc import InterfaceError, OperationalError

from ampweb.accounts import UnknownToken, UnknownUser
from ampweb.security import forbidden
from ampweb.validation import operations, template_of
from ampy.errors import (
    UnknownEvent,
    UnknownEventFilter,
    UnknownEventGroup,
    UnknownMetric,
    UnknownView,
)
from nntsc.errors import (
    AlreadyExists,
    BadQuery,
    BadValue,
    NntscError,
    StoreUnavailable,
    UnknownCollection,
    UnknownMesh,
    UnknownScheduleItem,
    UnknownSite,
    UnknownStream,
)
from nntsc.notifications.channels import UnknownChannel, UnknownSubscription

log = logging.getLogger(__name__)

STATUS = (
    (BadQuery, 400),
    (BadValue, 400),
    (UnknownStream, 404),
    (UnknownCollection, 404),
    (UnknownView, 404),
    (UnknownMetric, 404),
    (UnknownEvent, 404),
    (UnknownEventGroup, 404),
    (UnknownEventFilter, 404),
    (UnknownSite, 404),
    (UnknownMesh, 404),
    (UnknownScheduleItem, 404),
    (UnknownUser, 404),
    (UnknownToken, 404),
    (UnknownChannel, 404),
    (UnknownSubscription, 404),
    (AlreadyExists, 409),
    (StoreUnavailable, 503),
)


#: The longest error message answered: a message quoting what the client sent
#: (an id, a name) must not echo an arbitrarily long value back.
MAX_MESSAGE = 300
#: Titles of the error page, by status.
TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    414: "URL too long",
    429: "Too many requests",
    503: "Service unavailable",
}


def wants_json(request: Request) -> bool:
    """Whether `request` is made to the API (answered JSON) rather than to a page (HTML)."""
    # The raw WSGI path: reading request.path decodes it, which may be what failed.
    path = request.environ.get("PATH_INFO", "")
    return path.startswith("/api/") or path in ("/healthz", "/metrics")


def bounded(message: str) -> str:
    """`message`, cut to `MAX_MESSAGE` characters."""
    if len(message) <= MAX_MESSAGE:
        return message
    return message[: MAX_MESSAGE - 1] + "…"


def _answer(request: Request, status: int, message: str) -> Response:
    message = bounded(message)
    if wants_json(request):
        return Response(json_body={"error": message}, status=status)
    return error_page(request, status, message)


def error_page(request: Request, status: int, message: str) -> Response:
    """The site's HTML error page: what went wrong, the way back and the search."""
    title = TITLES.get(status, "Error")
    values = {"status": status, "title": title, "message": message}
    try:
        response = render_to_response("error.jinja2", values, request)
    except Exception:
        # The page's layout asks who is logged in, which needs the SQL
        # database: when that is what failed, a page without the layout.
        log.warning("could not render the error page for %s", status, exc_info=True)
        response = Response(
            f"<!doctype html><title>{status} {escape(title)}</title>"
            f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
            '<p><a href="/">Back to the graphs</a></p>',
            content_type="text/html",
        )
    response.status = status
    return response


@exception_view_config(NntscError)
def nntsc_error(error: NntscError, request: Request) -> Response:
    for kind, status in STATUS:
        if isinstance(error, kind):
            if status == 503:
                log.warning("store unavailable on %s: %s", request.path, error)
            return _answer(request, status, str(error))
    log.exception("unexpected error on %s", request.path)
    return _answer(request, 500, "internal error")


@exception_view_config(OperationalError)
@exception_view_config(InterfaceError)
def database_unreachable(error: Exception, request: Request) -> Response:
    """The SQL database went away mid-request: a 503, like any store outage."""
    log.warning("SQL database unavailable on %s: %s", request.path, error)
    return _answer(request, 503, "the SQL database is unavailable")


@exception_view_config(Exception)
def unexpected(error: Exception, request: Request) -> Response:
    """Anything else is our bug: logged with its traceback, answered without details."""
    if isinstance(error, HTTPException):
        return http_error(error, request)
    log.exception("unexpected error on %s", request.path)
    return _answer(request, 500, "internal error")


@notfound_view_config()
def not_found(request: Request) -> Response:
    """No route, no view for the method, or a view that raised `HTTPNotFound("why")`."""
    allowed = _allowed_methods(request)
    if allowed is not None and request.method not in allowed:
        response = _answer(
            request, 405, f"{request.method} is not allowed here; use {', '.join(allowed)}"
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response
    error = request.exception
    detail = getattr(error, "detail", None)
    if detail and not isinstance(error, PredicateMismatch) and detail != request.path_info:
        return _answer(request, 404, str(detail))
    return _answer(request, 404, f"no such page: {request.path}")


def _allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document offers at the matched route, if it describes it."""
    route = request.matched_route
    if route is None:
        return None
    template = template_of(route.pattern)
    methods = {method for path, method in operations() if path == template}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods) or None


@exception_view_config(HTTPException)
def http_error(error: HTTPException, request: Request) -> Response:
    """Pyramid's HTTP errors as our own answers; redirects and successes pass through."""
    if isinstance(error, HTTPForbidden):
        return forbidden(error, request)
    code = error.code or 500
    if code < 400:
        return error
    # An HTTPNotFound raised with a message carries it in `detail`; a bad
    # CSRF token's detail names Pyramid's function, its explanation says why.
    if error.detail and not isinstance(error, BadCSRFToken):
        message = str(error.detail)
    else:
        message = error.explanation or error.title
    response = _answer(request, code, message)
    # Headers the status needs (Allow on a 405, Retry-After) go along.
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in error.headers:
            response.headers[name] = error.headers[name]
    return response
