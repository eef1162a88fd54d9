"""Pages of notifications: one's channels and subscriptions, and the delivery log.

``/admin/notifications`` lists the user's channels (an admin's: everyone's)
with forms to add, test and delete them and to subscribe saved event
filters to them; ``/admin/notifications/log`` is the delivery log, newest
first, a page at a time. Forms post back with an ``action`` field and are
answered with a redirect and a message, as on the other admin pages.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import int_param
from ampweb.security import ACCOUNT, USER_VIEW, owner_scope
from ampweb.views.admin import _back, _common
from ampweb.views.api_notifications import NOT_ADMIN_OWNER, channel_owner
from nntsc.errors import AlreadyExists, BadValue
from nntsc.notifications.channels import UnknownChannel, UnknownSubscription
from nntsc.notifications.models import DELIVERY_STATUSES
from nntsc.text import decimal_int

#: Log rows per page.
LOG_PAGESIZE = 50
#: The largest id a form may name.
MAX_ID = 2**63 - 1
#: The most user names the "New channel" form offers an admin (any name may be typed).
USERS_OFFERED = 1000


@view_config(
    route_name="admin.notifications",
    request_method="GET",
    renderer="admin_notifications.jinja2",
    permission=ACCOUNT,
)
def notifications(request: Request) -> dict[str, Any]:
    registry = request.ampy.notifications
    owner = owner_scope(request)
    return _common(
        request,
        channels=registry.list_channels(owner),
        subscriptions=registry.list_subscriptions(owner),
        # One subscribes one's own filters to one's own channels.
        filters=registry.saved_filters(request.identity.username),
        own_channels=registry.list_channels(request.identity.username),
        everyone=owner is None,
        # An admin may make a channel for anyone: the names offered in the form.
        usernames=(
            [user.username for user in request.users.list_users(pagesize=USERS_OFFERED).items]
            if owner is None
            else []
        ),
    )


def _channel_fields(request: Request) -> dict[str, Any]:
    post = request.POST
    fields: dict[str, Any] = {"name": post.get("name", ""), "kind": post.get("kind", "")}
    if fields["kind"] == "email":
        fields["addresses"] = post.get("addresses", "")
    else:
        fields.update(
            url=post.get("url", ""),
            secret=post.get("secret", ""),
            body_format=post.get("body_format", "json"),
        )
    for name, default in (("rate_limit", 10), ("rate_period", 3600)):
        text = post.get(name, "").strip()
        number = decimal_int(text, signed=True) if text else default
        if number is None:
            raise BadValue(name, "must be an integer")
        fields[name] = number
    return fields


@view_config(route_name="admin.notifications", request_method="POST", permission=ACCOUNT)
def change_notifications(request: Request) -> HTTPSeeOther:
    """Create, test, switch or delete a channel; subscribe a filter or unsubscribe."""
    registry = request.ampy.notifications
    owner = owner_scope(request)
    action = request.POST.get("action")
    done = ""
    try:
        if action == "create_channel":
            channel_for = channel_owner(request, str(request.POST.get("owner", "")).strip())
            if channel_for is None:
                raise BadValue("owner", NOT_ADMIN_OWNER.removeprefix("owner: "))
            channel = registry.create_channel(channel_for, _channel_fields(request))
            whose = "" if channel_for == request.identity.username else f" for {channel_for}"
            done = f"Channel {channel['name']} created{whose}."
        elif action == "test_channel":
            channel_id = int_param(request, "channel_id", 0, minimum=0, maximum=MAX_ID)
            sent = request.ampy.send_test_notification(channel_id, owner)
            if sent["status"] != "sent":
                raise BadValue("test message", sent["error"] or sent["status"])
            done = "Test message sent."
        elif action in ("enable_channel", "disable_channel"):
            channel_id = int_param(request, "channel_id", 0, minimum=0, maximum=MAX_ID)
            enabled = action == "enable_channel"
            channel = registry.update_channel(channel_id, owner, {"enabled": enabled})
            done = f"Channel {channel['name']} {'enabled' if enabled else 'disabled'}."
        elif action == "delete_channel":
            channel_id = int_param(request, "channel_id", 0, minimum=0, maximum=MAX_ID)
            registry.delete_channel(channel_id, owner)
            done = f"Channel {channel_id} deleted."
        elif action == "subscribe":
            if not request.has_permission(USER_VIEW):
                # A subscription sends events: its user must be one who may see them.
                raise BadValue("filter_id", "subscribing needs the viewdata role")
            registry.create_subscription(
                int_param(request, "filter_id", 0, minimum=0, maximum=MAX_ID),
                int_param(request, "channel_id", 0, minimum=0, maximum=MAX_ID),
                owner,
            )
            done = "Subscribed."
        elif action == "unsubscribe":
            subscription_id = int_param(request, "subscription_id", 0, minimum=0, maximum=MAX_ID)
            registry.delete_subscription(subscription_id, owner)
            done = "Unsubscribed."
        else:
            raise BadValue("action", f"unknown action {str(action)[:40]!r}")
    except (BadValue, AlreadyExists, UnknownChannel, UnknownSubscription) as error:
        request.session.flash(str(error), "error")
    else:
        request.session.flash(done, "ok")
    return _back(request, "admin.notifications")


@view_config(
    route_name="admin.notifications.log",
    request_method="GET",
    renderer="admin_notification_log.jinja2",
    permission=ACCOUNT,
)
def delivery_log(request: Request) -> dict[str, Any]:
    status = request.params.get("status") or None
    if status not in (None, *DELIVERY_STATUSES):
        raise BadValue("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    cursor = request.params.get("cursor") or None
    page = request.ampy.notifications.deliveries(
        owner_scope(request), cursor, LOG_PAGESIZE, status=status
    )
    return _common(
        request,
        page=page,
        status=status or "",
        statuses=DELIVERY_STATUSES,
        everyone=owner_scope(request) is None,
    )
