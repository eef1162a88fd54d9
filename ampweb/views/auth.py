"""Logging in and out. Failed logins are throttled (`ampweb.security.LoginThrottle`)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from ampweb.accounts import BadCredentials
from ampweb.security import client_address

#: Longest user name or password read from the form; longer ones cannot be valid.
MAX_FIELD = 1024


def safe_came_from(value: Any) -> str:
    """`value` if it is a path on this site to go back to after login, else ``/``.

    Anything that could lead off the site (``//host``, ``/\\host``, a scheme) is refused.
    """
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(c in value for c in "\r\n\t")
        or len(value) > 2000
    ):
        return "/"
    if value.split("?", 1)[0] in ("/login", "/logout"):
        return "/"
    return value


def _form(request: Request, **values: Any) -> dict[str, Any]:
    identity = request.identity
    return {
        "came_from": safe_came_from(request.params.get("came_from")),
        "username": "",
        "error": None,
        "identity": identity if identity is not None and identity.via == "session" else None,
        "messages": request.session.pop_flash("ok"),
        **values,
    }


@view_config(
    route_name="auth.login",
    request_method="GET",
    renderer="login.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def login_form(request: Request) -> dict[str, Any]:
    """The login form, or who is logged in and a button to log out."""
    return _form(request)


@view_config(
    route_name="auth.login",
    request_method="POST",
    renderer="login.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def login(request: Request) -> Any:
    """Check the password; on success start a session and go back where the user came from."""
    username = request.POST.get("username", "").strip()[:MAX_FIELD]
    password = request.POST.get("password", "")[:MAX_FIELD]
    came_from = safe_came_from(request.POST.get("came_from"))
    throttle = request.registry["login_throttle"]
    address = client_address(request)
    wait = throttle.retry_after(username, address)
    if wait is not None:
        request.response.status = 429
        request.response.headers["Retry-After"] = str(wait)
        minutes = max(1, round(wait / 60))
        return _form(
            request,
            username=username,
            came_from=came_from,
            error=f"Too many failed logins. Try again in about {minutes} minute(s).",
        )
    try:
        user = request.users.authenticate(username, password)
    except BadCredentials:
        throttle.failed(username, address)
        request.response.status = 400
        return _form(
            request,
            username=username,
            came_from=came_from,
            error="Wrong user name or password.",
        )
    throttle.succeeded(username, address)
    headers = remember(request, user.username, generation=user.session_generation)
    return HTTPSeeOther(came_from, headers=headers)


@view_config(route_name="auth.logout", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def logout_page(request: Request) -> HTTPSeeOther:
    """Logging out changes state, so it is a POST; the login page offers the button."""
    return HTTPSeeOther(request.route_url("auth.login"))


@view_config(route_name="auth.logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(request: Request) -> HTTPSeeOther:
    headers = forget(request)
    request.session.flash("You are logged out.", "ok")
    return HTTPSeeOther(request.route_url("auth.login"), headers=headers)
