"""Checks every request passes before a route is matched.

WebOb decodes the path, the query string and cookies lazily, as UTF-8, the
first time a view (or the security policy) reads them: a percent-encoded
invalid byte (``?came_from=%ff``) would raise `UnicodeDecodeError` deep in
whichever view looked first and answer 500. This tween decodes them all once,
up front, and answers 400 naming the part that is malformed. NUL characters
are refused there too: PostgreSQL cannot store them in text, and no name,
id or parameter of this app contains one. (Cookies need no check: WebOb
leaves out a cookie it cannot decode. JSON bodies are checked where they are
read, `ampweb.params.json_object`.)
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW

from ampweb.params import BadParameter

Handler = Callable[[Request], Response]


class BadRequestEncoding(BadParameter):
    """A part of the request line or headers is not valid UTF-8, or holds a NUL."""


def _path_problem(environ: dict) -> str | None:
    # WSGI hands PATH_INFO over as the request's bytes decoded as latin-1.
    raw = environ.get("PATH_INFO", "").encode("latin-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the URL path is not valid UTF-8"
    if "\x00" in text:
        return "the URL path contains a NUL character"
    return None


def _query_problem(request: Request) -> str | None:
    try:
        values = request.GET
    except UnicodeDecodeError:
        return "the query string is not valid UTF-8"
    for name, value in values.items():
        if "\x00" in name or "\x00" in value:
            return "the query string contains a NUL character"
    return None


def _neutralise(request: Request, problem: str) -> None:
    """Make what is malformed safe to read while the error page is made.

    The error page reads the path and may read the query; the request is
    refused anyway, so the malformed part is replaced by something that decodes.
    """
    environ = request.environ
    if problem.startswith("the URL path"):
        raw = environ.get("PATH_INFO", "").encode("latin-1").replace(b"\x00", b"")
        environ["PATH_INFO"] = quote(raw, safe="/")
    else:
        environ["QUERY_STRING"] = ""
        environ.pop("webob._parsed_query_vars", None)


def request_encoding_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """400 for a request whose path or query string does not decode (see module doc)."""

    def check_encoding(request: Request) -> Response:
        problem = _path_problem(request.environ) or _query_problem(request)
        if problem is not None:
            _neutralise(request, problem)
            raise BadRequestEncoding(problem)
        received = request.environ.get("wsgi.input")
        try:
            return handler(request)
        finally:
            # WebOb copies a body of more than 10 kB it reads into a temporary
            # file of its own and never closes it: closed here, once answered.
            copied = request.environ.get("wsgi.input")
            if copied is not received and hasattr(copied, "close"):
                copied.close()

    return check_encoding


def includeme(config: Configurator) -> None:
    # Under the exception view tween, so that the 400 is answered by ampweb.views.errors.
    config.add_tween("ampweb.tweens.request_encoding_tween_factory", under=EXCVIEW)
