"""Channels, subscriptions and the delivery log, read and written for the API and the pages.

Every call takes `owner`: the user acting, who sees and changes only their
own channels and subscriptions, or ``None`` for an admin, who may manage
anyone's. A channel of another user answers as unknown (404), never as
forbidden, so that ids do not tell what exists. Bad input raises `BadValue`
naming the field, and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nntsc.errors import AlreadyExists, BadValue, NntscError
from nntsc.events.models import EventFilter
from nntsc.notifications.delivery import delivery_dict
from nntsc.notifications.guard import Refused, WebhookPolicy
from nntsc.notifications.models import (
    BODY_FORMATS,
    CHANNEL_KINDS,
    DELIVERY_STATUSES,
    NotificationChannel,
    NotificationDelivery,
    NotificationSubscription,
)

#: The most addresses one e-mail channel sends to.
MAX_ADDRESSES = 20
#: Bounds of a channel's rate limit: messages, and the window in seconds.
RATE_LIMITS = (1, 1000)
RATE_PERIODS = (60, 86400)
#: The most log rows one page holds.
MAX_PAGESIZE = 500
_ADDRESS = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+\.[^@\s,;<>\"()]+$")
#: The fields a channel is written with.
CHANNEL_FIELDS = (
    "name",
    "kind",
    "addresses",
    "url",
    "secret",
    "body_format",
    "rate_limit",
    "rate_period",
    "enabled",
)


class UnknownChannel(NntscError):
    """A notification channel id that is not stored (or not the caller's)."""

    def __init__(self, channel_id: int) -> None:
        super().__init__(f"unknown notification channel {channel_id}")
        self.channel_id = channel_id


class UnknownSubscription(NntscError):
    """A notification subscription id that is not stored (or not the caller's)."""

    def __init__(self, subscription_id: int) -> None:
        super().__init__(f"unknown notification subscription {subscription_id}")
        self.subscription_id = subscription_id


def _text(name: str, value: Any, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise BadValue(name, "must be a string")
    value = value.strip()
    if required and not value:
        raise BadValue(name, "must not be empty")
    if len(value) > limit:
        raise BadValue(name, f"must be at most {limit} characters")
    if "\x00" in value:
        raise BadValue(name, "must not hold a NUL character")
    return value


def _int(name: str, value: Any, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(name, "must be an integer")
    if not bounds[0] <= value <= bounds[1]:
        raise BadValue(name, f"must be from {bounds[0]} to {bounds[1]}")
    return value


def check_addresses(value: Any) -> list[str]:
    """A list of e-mail addresses, checked: 1 to `MAX_ADDRESSES`, each plausible."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,;]+", value) if part]
    if not isinstance(value, list) or not value:
        raise BadValue("addresses", "must be a non-empty list of e-mail addresses")
    if len(value) > MAX_ADDRESSES:
        raise BadValue("addresses", f"must hold at most {MAX_ADDRESSES} addresses")
    addresses = []
    for item in value:
        address = _text("addresses", item, 254)
        if not _ADDRESS.match(address):
            raise BadValue("addresses", f"{address[:60]!r} is not an e-mail address")
        addresses.append(address)
    return list(dict.fromkeys(addresses))


def check_url(value: Any, policy: WebhookPolicy | None = None) -> str:
    """A webhook URL, checked: http or https, with a host whose addresses `policy` permits.

    Without a `policy` the host is not resolved (the syntax alone is checked).
    """
    url = _text("url", value, 2000, required=True)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise BadValue("url", "is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BadValue("url", "must be an http:// or https:// URL with a host")
    if policy is not None:
        try:
            policy.check_url(url)
        except Refused as error:
            raise BadValue("url", str(error)) from None
    return url


def check_channel(
    fields: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
    policy: WebhookPolicy | None = None,
) -> dict:
    """The channel's columns from `fields` (over `current` for an update), checked.

    A webhook's URL is resolved and checked against `policy` when it is new
    (a channel made, or its URL given): a channel whose URL the operator has
    since disallowed can still be renamed or disabled (sending it fails).
    """
    unknown = sorted(set(fields) - set(CHANNEL_FIELDS))
    if unknown:
        raise BadValue(unknown[0][:60], "is not a channel field")
    merged = {**(current or {}), **fields}
    kind = merged.get("kind")
    if kind not in CHANNEL_KINDS:
        raise BadValue("kind", f"must be one of {', '.join(CHANNEL_KINDS)}")
    if current is not None and fields.get("kind", kind) != current["kind"]:
        raise BadValue("kind", "cannot change; make another channel")
    values: dict[str, Any] = {
        "name": _text("name", merged.get("name"), 255, required=True),
        "kind": kind,
        "rate_limit": _int("rate_limit", merged.get("rate_limit", 10), RATE_LIMITS),
        "rate_period": _int("rate_period", merged.get("rate_period", 3600), RATE_PERIODS),
    }
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadValue("enabled", "must be true or false")
    values["enabled"] = enabled
    if kind == "email":
        for name in ("url", "secret"):
            if fields.get(name):
                raise BadValue(name, "is for webhook channels")
        addresses = check_addresses(merged.get("addresses"))
        values.update(addresses=addresses, url="", secret="", body_format="json")
    else:
        if fields.get("addresses"):
            raise BadValue("addresses", "is for e-mail channels")
        body_format = merged.get("body_format", "json")
        if body_format not in BODY_FORMATS:
            raise BadValue("body_format", f"must be one of {', '.join(BODY_FORMATS)}")
        values.update(
            addresses=[],
            url=check_url(
                merged.get("url"), policy if current is None or "url" in fields else None
            ),
            secret=_text("secret", merged.get("secret", ""), 255),
            body_format=body_format,
        )
    return values


def channel_dict(channel: NotificationChannel) -> dict[str, Any]:
    """A channel as the API answers it; the webhook secret is never shown, only whether set."""
    return {
        "id": channel.id,
        "username": channel.username,
        "name": channel.name,
        "kind": channel.kind,
        "addresses": list(channel.addresses),
        "url": channel.url,
        "signed": bool(channel.secret),
        "body_format": channel.body_format,
        "rate_limit": channel.rate_limit,
        "rate_period": channel.rate_period,
        "enabled": channel.enabled,
        "created": channel.created,
        "updated": channel.updated,
    }


@dataclass(frozen=True)
class LogPage:
    """One page of the delivery log, newest first, and the cursor of the next."""

    items: list[dict[str, Any]]
    pagesize: int
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "pagesize": self.pagesize,
            "next_cursor": self.next_cursor,
            "has_more": self.next_cursor is not None,
        }


def _encode_cursor(created: int, delivery_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created}:{delivery_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, delivery_id = base64.urlsafe_b64decode(padded).decode().partition(":")
        return int(created), int(delivery_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadValue("cursor", "is not one a log page gave") from None


class NotificationRegistry:
    """Channels, subscriptions and the delivery log in SQL."""

    def __init__(
        self, sessions: sessionmaker[Session], webhook_policy: WebhookPolicy | None = None
    ) -> None:
        self.sessions = sessions
        #: Where webhooks may go; by default only global addresses (`nntsc.notifications.guard`).
        self.webhook_policy = WebhookPolicy() if webhook_policy is None else webhook_policy

    # -- channels --------------------------------------------------------------------------

    def _channel(self, session: Session, channel_id: int, owner: str | None) -> NotificationChannel:
        channel = session.get(NotificationChannel, channel_id)
        if channel is None or (owner is not None and channel.username != owner):
            raise UnknownChannel(channel_id)
        return channel

    def list_channels(self, owner: str | None) -> list[dict[str, Any]]:
        """The channels of `owner` (everyone's for ``None``), by user and name."""
        query = select(NotificationChannel).order_by(
            NotificationChannel.username, NotificationChannel.name
        )
        if owner is not None:
            query = query.where(NotificationChannel.username == owner)
        with self.sessions() as session:
            return [channel_dict(c) for c in session.scalars(query)]

    def get_channel(self, channel_id: int, owner: str | None) -> dict[str, Any]:
        with self.sessions() as session:
            return channel_dict(self._channel(session, channel_id, owner))

    def channel_for_sending(self, channel_id: int, owner: str | None) -> int:
        """The id of a channel `owner` may send a test message on (`UnknownChannel` otherwise)."""
        with self.sessions() as session:
            return self._channel(session, channel_id, owner).id

    def create_channel(
        self, username: str, fields: Mapping[str, Any], now: int | None = None
    ) -> dict[str, Any]:
        """A new channel of `username`; `AlreadyExists` when they have one of that name."""
        values = check_channel(fields, policy=self.webhook_policy)
        now = int(time.time()) if now is None else now
        channel = NotificationChannel(username=username, created=now, updated=now, **values)
        try:
            with self.sessions.begin() as session:
                session.add(channel)
        except IntegrityError:
            raise AlreadyExists("notification channel", values["name"]) from None
        return channel_dict(channel)

    def update_channel(
        self, channel_id: int, owner: str | None, fields: Mapping[str, Any], now: int | None = None
    ) -> dict[str, Any]:
        """Change the given fields of a channel (a webhook keeps its secret unless given)."""
        try:
            with self.sessions.begin() as session:
                channel = self._channel(session, channel_id, owner)
                current = {name: getattr(channel, name) for name in CHANNEL_FIELDS}
                for name, value in check_channel(fields, current, self.webhook_policy).items():
                    setattr(channel, name, value)
                channel.updated = int(time.time()) if now is None else now
        except IntegrityError:
            raise AlreadyExists("notification channel", str(fields.get("name", ""))) from None
        return channel_dict(channel)

    def delete_channel(self, channel_id: int, owner: str | None) -> None:
        """Delete a channel, its subscriptions and its delivery log."""
        with self.sessions.begin() as session:
            session.delete(self._channel(session, channel_id, owner))

    # -- subscriptions ---------------------------------------------------------------------

    def saved_filters(self, owner: str | None) -> list[dict[str, Any]]:
        """The saved event filters one may subscribe (`owner`'s; everyone's for ``None``)."""
        query = select(EventFilter).order_by(EventFilter.username, EventFilter.name)
        if owner is not None:
            query = query.where(EventFilter.username == owner)
        with self.sessions() as session:
            return [
                {"id": f.id, "username": f.username, "name": f.name, "notify": f.notify}
                for f in session.scalars(query)
            ]

    def list_subscriptions(self, owner: str | None) -> list[dict[str, Any]]:
        """The subscriptions of `owner` (everyone's for ``None``), with filter and channel names."""
        query = (
            select(NotificationSubscription, EventFilter, NotificationChannel)
            .join(EventFilter, EventFilter.id == NotificationSubscription.filter_id)
            .join(
                NotificationChannel,
                NotificationChannel.id == NotificationSubscription.channel_id,
            )
            .order_by(NotificationChannel.username, NotificationSubscription.id)
        )
        if owner is not None:
            query = query.where(NotificationChannel.username == owner)
        with self.sessions() as session:
            return [_subscription_dict(*row) for row in session.execute(query)]

    def create_subscription(
        self, filter_id: Any, channel_id: Any, owner: str | None, now: int | None = None
    ) -> dict[str, Any]:
        """Announce the groups of a saved filter on a channel (both of one user).

        Turns the filter's ``notify`` on: it is the filter's switch for all
        its subscriptions. `AlreadyExists` if the pair is subscribed already.
        """
        filter_id = _int("filter_id", filter_id, (1, 2**63 - 1))
        channel_id = _int("channel_id", channel_id, (1, 2**63 - 1))
        now = int(time.time()) if now is None else now
        try:
            with self.sessions.begin() as session:
                channel = self._channel(session, channel_id, owner)
                saved = session.get(EventFilter, filter_id)
                if saved is None or saved.username != channel.username:
                    raise BadValue(
                        "filter_id", f"no saved filter {filter_id} of user {channel.username}"
                    )
                saved.notify = True
                subscription = NotificationSubscription(
                    filter_id=filter_id, channel_id=channel_id, created=now
                )
                session.add(subscription)
                session.flush()
                return _subscription_dict(subscription, saved, channel)
        except IntegrityError:
            raise AlreadyExists("subscription", f"{filter_id} -> {channel_id}") from None

    def delete_subscription(self, subscription_id: int, owner: str | None) -> None:
        with self.sessions.begin() as session:
            subscription = session.get(NotificationSubscription, subscription_id)
            channel = (
                None
                if subscription is None
                else session.get(NotificationChannel, subscription.channel_id)
            )
            if subscription is None or (
                owner is not None and (channel is None or channel.username != owner)
            ):
                raise UnknownSubscription(subscription_id)
            session.delete(subscription)

    # -- the delivery log --------------------------------------------------------------------

    def deliveries(
        self,
        owner: str | None,
        cursor: str | None = None,
        pagesize: int = 50,
        status: str | None = None,
        channel_id: int | None = None,
    ) -> LogPage:
        """The delivery log newest first, a page at a time (keyset on (created, id))."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise BadValue("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
        pagesize = _int("pagesize", pagesize, (1, MAX_PAGESIZE))
        table = NotificationDelivery.__table__
        query = (
            select(NotificationDelivery, NotificationChannel)
            .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
            .order_by(table.c.created.desc(), table.c.id.desc())
            .limit(pagesize + 1)
        )
        if owner is not None:
            query = query.where(NotificationChannel.username == owner)
        if status is not None:
            query = query.where(table.c.status == status)
        if channel_id is not None:
            query = query.where(table.c.channel_id == channel_id)
        if cursor:
            query = query.where(tuple_(table.c.created, table.c.id) < _decode_cursor(cursor))
        with self.sessions() as session:
            rows = session.execute(query).all()
        items = [
            {
                **delivery_dict(delivery),
                "channel": channel.name,
                "channel_kind": channel.kind,
                "username": channel.username,
            }
            for delivery, channel in rows[:pagesize]
        ]
        next_cursor = None
        if len(rows) > pagesize:
            last = items[-1]
            next_cursor = _encode_cursor(last["created"], last["id"])
        return LogPage(items, pagesize, next_cursor)


def _subscription_dict(
    subscription: NotificationSubscription, saved: EventFilter, channel: NotificationChannel
) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "username": channel.username,
        "filter_id": saved.id,
        "filter_name": saved.name,
        "notify": saved.notify,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "channel_kind": channel.kind,
        "created": subscription.created,
    }


__all__: Sequence[str] = [
    "NotificationRegistry",
    "UnknownChannel",
    "UnknownSubscription",
    "channel_dict",
    "check_channel",
]
