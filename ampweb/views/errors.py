"""Our error types -> HTTP statuses, in one place. API paths answer JSON, pages HTML."""

from __future__ import annotations

import logging

from pyramid.httpexceptions import HTTPException, HTTPForbidden
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config
from sqlalchemy.exc import InterfaceError, OperationalError

from ampweb.accounts import UnknownToken, UnknownUser
from ampweb.security import forbidden
from ampy.errors import UnknownMetric, UnknownView
from nntsc.errors import (
    AlreadyExists,
    BadQuery,
    BadValue,
    NntscError,
    StoreUnavailable,
    UnknownCollection,
    UnknownMesh,
    UnknownSite,
    UnknownStream,
)

log = logging.getLogger(__name__)

STATUS = (
    (BadQuery, 400),
    (BadValue, 400),
    (UnknownStream, 404),
    (UnknownCollection, 404),
    (UnknownView, 404),
    (UnknownMetric, 404),
    (UnknownSite, 404),
    (UnknownMesh, 404),
    (UnknownUser, 404),
    (UnknownToken, 404),
    (AlreadyExists, 409),
    (StoreUnavailable, 503),
)


def _answer(request: Request, status: int, message: str) -> Response:
    if request.path.startswith("/api/") or request.path == "/healthz":
        response = Response(json_body={"error": message}, status=status)
    else:
        response = Response(f"{status}: {message}", status=status, content_type="text/plain")
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
    return _answer(request, 404, f"no such page: {request.path}")


@exception_view_config(HTTPException)
def http_error(error: HTTPException, request: Request) -> Response:
    if isinstance(error, HTTPForbidden):
        return forbidden(error, request)
    if request.path.startswith("/api/"):
        return _answer(request, error.code or 500, error.explanation or error.title)
    return error
