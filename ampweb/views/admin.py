"""Admin pages: users (admin), sites and meshes (editconfig), API tokens (everyone their own).

Each page lists its things with forms to create, edit and delete them. A form
posts back to the same page with an ``action`` field; the answer is a
redirect to the page with a message (post, redirect, get), except for a new
API token, which is shown once on the page itself and so never passes through
the session cookie or a URL.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.accounts import ROLES, UnknownUser
from ampweb.params import int_param
from ampweb.security import ACCOUNT, ADMIN, EDITCONFIG
from ampweb.views import script_json
from nntsc.errors import AlreadyExists, BadValue, NntscError, UnknownMesh, UnknownSite
from nntsc.schedules.models import PERIODS
from nntsc.schedules.options import TESTS

PAGESIZE = 50
#: Longest search term read from the query string.
MAX_TERM = 200


def _time(ts: int | None) -> str:
    if ts is None:
        return "never"
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _words(text: str) -> list[str]:
    """Items of a list typed as text: separated by commas, spaces or new lines."""
    return [word for word in re.split(r"[\s,]+", text) if word]


def _flag(request: Request, name: str) -> bool:
    return request.POST.get(name) in ("on", "true", "1", "yes")


def _common(request: Request, **values: Any) -> dict[str, Any]:
    """What every admin page shows: who is logged in, what they may open, messages."""
    identity = request.identity
    return {
        "identity": identity,
        "can_admin": request.has_permission(ADMIN),
        "can_editconfig": request.has_permission(EDITCONFIG),
        "messages": request.session.pop_flash("ok"),
        "errors": request.session.pop_flash("error"),
        "when": _time,
        **values,
    }


def _back(request: Request, route: str, **query: str) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_url(route, _query={k: v for k, v in query.items() if v}))


def _attempt(
    request: Request, route: str, done: str, action: Callable[[], Any], **query: str
) -> HTTPSeeOther:
    """Run `action`; flash `done` or the error (one of ours), then go back to `route`."""
    try:
        action()
    except (BadValue, AlreadyExists, UnknownUser, UnknownSite, UnknownMesh) as error:
        request.session.flash(str(error), "error")
        return _back(request, route, **query)
    request.session.flash(done, "ok")
    return _back(request, route)


def _paging(request: Request) -> tuple[str, int]:
    term = request.params.get("term", "")[:MAX_TERM]
    return term, int_param(request, "page", 1, minimum=1, maximum=100_000) or 1


def _list_page(
    request: Request,
    list_things: Callable[..., Any],
    get_thing: Callable[[str], Any],
    unknown: type[NntscError],
    **values: Any,
) -> dict[str, Any]:
    """A page of things matching the search term, and the one named by ``edit`` (404 if none)."""
    term, page_number = _paging(request)
    page = list_things(term=term, page=page_number, pagesize=PAGESIZE)
    editing = None
    if request.params.get("edit"):
        try:
            editing = get_thing(request.params["edit"])
        except (unknown, BadValue):
            request.response.status = 404
    return _common(request, page=page, term=term, editing=editing, **values)


def _change(
    request: Request,
    route: str,
    kind: str,
    create: Callable[..., Any],
    update: Callable[..., Any],
    delete: Callable[[str], Any],
    fields: dict[str, Any],
) -> HTTPSeeOther:
    """Create, update or delete the thing named in the form, as its ``action`` says."""
    action = request.POST.get("action")
    name = request.POST.get("name", "").strip()
    if action == "create":
        return _attempt(
            request,
            route,
            f"{kind} {name} created.",
            lambda: create(name, **fields),
        )
    if action == "update":
        return _attempt(
            request, route, f"{kind} {name} updated.", lambda: update(name, **fields), edit=name
        )
    if action == "delete":
        return _attempt(request, route, f"{kind} {name} deleted.", lambda: delete(name))
    request.session.flash(f"Unknown action {action!r}.", "error")
    return _back(request, route)


@view_config(
    route_name="admin.index",
    request_method="GET",
    renderer="admin_index.jinja2",
    permission=ACCOUNT,
)
def index(request: Request) -> dict[str, Any]:
    return _common(request)


# -- users ---------------------------------------------------------------------------


@view_config(
    route_name="admin.users", request_method="GET", renderer="admin_users.jinja2", permission=ADMIN
)
def users(request: Request) -> dict[str, Any]:
    registry = request.users
    return _list_page(request, registry.list_users, registry.get_user, UnknownUser, roles=ROLES)


@view_config(route_name="admin.users", request_method="POST", permission=ADMIN)
def change_users(request: Request) -> HTTPSeeOther:
    registry = request.users
    action = request.POST.get("action")
    username = request.POST.get("username", "").strip()
    me = request.identity.username
    roles = [role for role in ROLES if _flag(request, f"role_{role}")]
    if action == "create":
        return _attempt(
            request,
            "admin.users",
            f"User {username} created.",
            lambda: registry.create_user(
                username,
                request.POST.get("password") or None,
                roles,
                long_name=request.POST.get("long_name", ""),
                email=request.POST.get("email", ""),
            ),
        )
    if action == "update":
        enabled = _flag(request, "enabled")
        # An admin who took away their own admin role or disabled themselves
        # could lock everyone out; another admin must do that.
        if username == me and ("admin" not in roles or not enabled):
            request.session.flash(
                "You cannot remove your own admin role or disable yourself.", "error"
            )
            return _back(request, "admin.users", edit=username)
        return _attempt(
            request,
            "admin.users",
            f"User {username} updated.",
            lambda: registry.update_user(
                username,
                long_name=request.POST.get("long_name", ""),
                email=request.POST.get("email", ""),
                roles=roles,
                enabled=enabled,
                password=request.POST.get("password") or None,
            ),
            edit=username,
        )
    if action == "delete":
        if username == me:
            request.session.flash("You cannot delete yourself.", "error")
            return _back(request, "admin.users")
        return _attempt(
            request,
            "admin.users",
            f"User {username} deleted.",
            lambda: registry.delete_user(username),
        )
    request.session.flash(f"Unknown action {action!r}.", "error")
    return _back(request, "admin.users")


# -- schedules -----------------------------------------------------------------------

#: Units a frequency is shown in, largest first.
UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def describe_frequency(seconds: int) -> str:
    """``Every 5 minutes``, ``Every hour``, ``Once a period`` (0)."""
    if seconds == 0:
        return "Once a period"
    for size, unit in UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"
    return f"Every {seconds} seconds"


def describe_time(seconds: int, period: str) -> str:
    """A time within a period: ``06:30:00``, or ``Monday 06:30`` in a week (UTC)."""
    clock = f"{seconds % 86400 // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if period == "week":
        return f"{WEEKDAYS[min(seconds // 86400, 6)]} {clock}"
    return clock


def describe_window(item: Any) -> str:
    """When in its period an item runs: ``All day``, ``09:00:00 to 17:00:00 daily``."""
    length = PERIODS[item.period]
    if item.start == 0 and item.end == length:
        return "All day" if item.period == "day" else "All week"
    end = (
        "the end of the " + item.period
        if item.end == length
        else describe_time(item.end, item.period)
    )
    every = "daily" if item.period == "day" else "weekly"
    return f"{describe_time(item.start, item.period)} to {end} {every} (UTC)"


def _schedule(request: Request, owner_kind: str, owner: str) -> dict[str, Any]:
    """What the schedule table and its dialog show for site or mesh `owner`."""
    items = request.ampy.schedules.list_items(owner_kind, owner, inherited=owner_kind == "site")
    api = request.route_path(
        "api.v1.schedule", owner="sites" if owner_kind == "site" else "meshes", name=owner
    )
    data = {
        "owner_kind": owner_kind,
        "owner": owner,
        "api": api,
        "tests": [test.as_dict() for test in TESTS.values()],
        "items": {item.id: item.as_dict() for item in items},
    }
    return {
        "schedule_items": items,
        "schedule_data": script_json(data),
        "schedule_api": api,
        "describe_frequency": describe_frequency,
        "describe_window": describe_window,
        "test_titles": {name: test.title for name, test in TESTS.items()},
    }


# -- sites ---------------------------------------------------------------------------


@view_config(
    route_name="admin.sites",
    request_method="GET",
    renderer="admin_sites.jinja2",
    permission=EDITCONFIG,
)
def sites(request: Request) -> dict[str, Any]:
    registry = request.ampy.sites
    values = _list_page(request, registry.list_sites, registry.get_site, UnknownSite)
    if values["editing"] is not None:
        values.update(_schedule(request, "site", values["editing"].name))
    return values


@view_config(route_name="admin.sites", request_method="POST", permission=EDITCONFIG)
def change_sites(request: Request) -> HTTPSeeOther:
    registry = request.ampy.sites
    fields = {
        "long_name": request.POST.get("long_name", ""),
        "location": request.POST.get("location", ""),
        "description": request.POST.get("description", ""),
        "addresses": _words(request.POST.get("addresses", "")),
    }
    return _change(
        request,
        "admin.sites",
        "Site",
        registry.create_site,
        registry.update_site,
        registry.delete_site,
        fields,
    )


# -- meshes --------------------------------------------------------------------------


@view_config(
    route_name="admin.meshes",
    request_method="GET",
    renderer="admin_meshes.jinja2",
    permission=EDITCONFIG,
)
def meshes(request: Request) -> dict[str, Any]:
    registry = request.ampy.sites
    values = _list_page(request, registry.list_meshes, registry.get_mesh, UnknownMesh)
    if values["editing"] is not None:
        values.update(_schedule(request, "mesh", values["editing"].name))
    return values


@view_config(route_name="admin.meshes", request_method="POST", permission=EDITCONFIG)
def change_meshes(request: Request) -> HTTPSeeOther:
    registry = request.ampy.sites
    fields = {
        "long_name": request.POST.get("long_name", ""),
        "description": request.POST.get("description", ""),
        "is_source": _flag(request, "is_source"),
        "is_destination": _flag(request, "is_destination"),
        "public": _flag(request, "public"),
        "members": _words(request.POST.get("members", "")),
    }
    return _change(
        request,
        "admin.meshes",
        "Mesh",
        registry.create_mesh,
        registry.update_mesh,
        registry.delete_mesh,
        fields,
    )


# -- API tokens ----------------------------------------------------------------------


def _tokens_page(request: Request, **values: Any) -> dict[str, Any]:
    everyone = request.has_permission(ADMIN)
    tokens = request.users.list_tokens(None if everyone else request.identity.username)
    values.setdefault("new_token", None)
    return _common(request, tokens=tokens, everyone=bool(everyone), **values)


@view_config(
    route_name="admin.tokens",
    request_method="GET",
    renderer="admin_tokens.jinja2",
    permission=ACCOUNT,
)
def tokens(request: Request) -> dict[str, Any]:
    return _tokens_page(request)


@view_config(
    route_name="admin.tokens",
    request_method="POST",
    renderer="admin_tokens.jinja2",
    permission=ACCOUNT,
)
def change_tokens(request: Request) -> Any:
    """Create a token of one's own (shown once, in this answer), or revoke one."""
    registry = request.users
    action = request.POST.get("action")
    if action == "create":
        try:
            info, token = registry.create_token(
                request.identity.username, request.POST.get("name", "").strip()
            )
        except NntscError as error:
            request.session.flash(str(error), "error")
            return _back(request, "admin.tokens")
        # Never cache a page that shows a secret.
        request.response.cache_control = "no-store"
        return _tokens_page(request, new_token=token, new_token_info=info)
    if action == "revoke":
        token_id = int_param(request, "token_id", 0, minimum=0, maximum=2**31 - 1)
        owner = None if request.has_permission(ADMIN) else request.identity.username
        try:
            registry.revoke_token(token_id, username=owner)
        except NntscError as error:
            request.session.flash(str(error), "error")
        else:
            request.session.flash(f"Token {token_id} revoked.", "ok")
        return _back(request, "admin.tokens")
    request.session.flash(f"Unknown action {action!r}.", "error")
    return _back(request, "admin.tokens")
