"""REST API of notifications: channels, subscriptions, test messages, the delivery log.

Every call needs a user (401 without one, even when data is public). A user
sees and changes their own channels and subscriptions; an admin anyone's,
and may make a channel for another user (``owner``).
Bodies are checked against the OpenAPI document first, then by
`nntsc.notifications.channels` (a bad address or URL answers 400 naming the
field); another user's channel answers 404.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.accounts.errors import UnknownUser
from ampweb.security import ACCOUNT, ADMIN, USER_VIEW, owner_scope
from nntsc.errors import BadValue


def _created(body: dict[str, Any], location: str) -> Response:
    response = Response(json_body=body, status=201)
    response.location = location
    return response


@view_config(
    route_name="api.v1.notification_channels",
    request_method="GET",
    renderer="json",
    permission=ACCOUNT,
)
def list_channels(request: Request) -> dict[str, Any]:
    return {"items": request.ampy.notifications.list_channels(owner_scope(request))}


#: Why a user who is no admin may not name another user as a new channel's owner.
NOT_ADMIN_OWNER = "owner: only an admin may make a channel for another user"


def channel_owner(request: Request, requested: str | None) -> str | None:
    """Whose new channel it is: the caller's (`requested` empty or their own name), or
    the user `requested` names when the caller is an admin; ``None`` when the caller
    may not name them (no admin). `BadValue` naming ``owner`` for an unknown user."""
    caller = str(request.identity.username)
    owner = requested or caller
    if owner == caller:
        return caller
    if not request.has_permission(ADMIN):
        return None
    try:
        request.users.get_user(owner)
    except (UnknownUser, BadValue):
        raise BadValue("owner", f"no user {owner[:60]!r}") from None
    return owner


@view_config(route_name="api.v1.notification_channels", request_method="POST", permission=ACCOUNT)
def create_channel(request: Request) -> Response:
    """A new channel of the caller's, or (an admin's call only) of the user named by ``owner``."""
    fields = dict(request.openapi["body"])
    owner = channel_owner(request, fields.pop("owner", None))
    if owner is None:
        return Response(json_body={"error": NOT_ADMIN_OWNER}, status=403)
    channel = request.ampy.notifications.create_channel(owner, fields)
    url = request.route_url("api.v1.notification_channel", channel_id=channel["id"])
    return _created(channel, url)


@view_config(
    route_name="api.v1.notification_channel",
    request_method="GET",
    renderer="json",
    permission=ACCOUNT,
)
def get_channel(request: Request) -> dict[str, Any]:
    return request.ampy.notifications.get_channel(
        request.openapi["channel_id"], owner_scope(request)
    )


@view_config(
    route_name="api.v1.notification_channel",
    request_method="PUT",
    renderer="json",
    permission=ACCOUNT,
)
def update_channel(request: Request) -> dict[str, Any]:
    if "owner" in request.openapi["body"]:
        raise BadValue("owner", "is given on creation only; a channel keeps its user")
    return request.ampy.notifications.update_channel(
        request.openapi["channel_id"], owner_scope(request), request.openapi["body"]
    )


@view_config(route_name="api.v1.notification_channel", request_method="DELETE", permission=ACCOUNT)
def delete_channel(request: Request) -> Response:
    request.ampy.notifications.delete_channel(request.openapi["channel_id"], owner_scope(request))
    return Response(status=204)


@view_config(
    route_name="api.v1.notification_channel.test",
    request_method="POST",
    renderer="json",
    permission=ACCOUNT,
)
def test_channel(request: Request) -> dict[str, Any]:
    """Send a test message now; the delivery log row (``sent``, or ``failed`` and why)."""
    return request.ampy.send_test_notification(request.openapi["channel_id"], owner_scope(request))


@view_config(
    route_name="api.v1.notification_subscriptions",
    request_method="GET",
    renderer="json",
    permission=ACCOUNT,
)
def list_subscriptions(request: Request) -> dict[str, Any]:
    return {"items": request.ampy.notifications.list_subscriptions(owner_scope(request))}


# A subscription sends events: its user must be one who may see them.
@view_config(
    route_name="api.v1.notification_subscriptions", request_method="POST", permission=USER_VIEW
)
def create_subscription(request: Request) -> Response:
    body = request.openapi["body"]
    subscription = request.ampy.notifications.create_subscription(
        body["filter_id"], body["channel_id"], owner_scope(request)
    )
    url = request.route_url("api.v1.notification_subscription", subscription_id=subscription["id"])
    return _created(subscription, url)


@view_config(
    route_name="api.v1.notification_subscription", request_method="DELETE", permission=ACCOUNT
)
def delete_subscription(request: Request) -> Response:
    request.ampy.notifications.delete_subscription(
        request.openapi["subscription_id"], owner_scope(request)
    )
    return Response(status=204)


@view_config(
    route_name="api.v1.notification_deliveries",
    request_method="GET",
    renderer="json",
    permission=ACCOUNT,
)
def list_deliveries(request: Request) -> dict[str, Any]:
    """The delivery log newest first, one page at a time (``next_cursor``)."""
    params = request.openapi
    page = request.ampy.notifications.deliveries(
        owner_scope(request),
        params["cursor"],
        params["pagesize"],
        params["status"],
        params["channel_id"],
    )
    return page.as_dict()
