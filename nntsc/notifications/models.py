"""The notification tables: channels, subscriptions, the delivery log, its cursor and counters.

A *channel* is where a user's messages go (e-mail addresses, or a webhook
URL); a *subscription* links one of the user's saved dashboard filters
(``event_filters``) to one of their channels. Each message is a row of
``notification_deliveries``, written before it is sent: its unique key
(group, channel, sequence) is what makes delivery happen at most once per
group, channel and step however often the scan and the tasks run
(`docs/events.md`, "Notifications"). The tables join the shared metadata of
`nntsc.store.models`; `migrations/versions/0014_notifications.py` creates them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nntsc.store.models import Base

#: Where a channel's messages go.
CHANNEL_KINDS = ("email", "webhook")
#: A webhook's body: our JSON document, or ``{"text": ...}`` as Slack and Mattermost take it.
BODY_FORMATS = ("json", "slack")
#: What a message says of its group: it opened, it grew (more events or a higher
#: severity), it ended (closed or merged); a summary of messages held back by the
#: rate limit; a test message sent on request.
DELIVERY_KINDS = ("opened", "grew", "ended", "summary", "test")
#: ``pending`` (to send, at ``next_attempt``), ``sending`` (an attempt is under
#: way), ``sent``, ``failed`` (given up after the last attempt), ``deferred``
#: (held back by the channel's rate limit), ``summarised`` (sent as part of a summary).
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "deferred", "summarised")


class NotificationChannel(Base):
    """Where one user's notifications go: e-mail addresses or a webhook."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("username", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    #: One of `CHANNEL_KINDS`.
    kind: Mapped[str] = mapped_column(String(16))
    #: E-mail channels: the recipients.
    addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Webhook channels: where the body is POSTed.
    url: Mapped[str] = mapped_column(String(2000), default="")
    #: Webhook channels: the HMAC-SHA256 key of the ``X-Nntsc-Signature`` header; empty: unsigned.
    secret: Mapped[str] = mapped_column(String(255), default="")
    #: Webhook channels: one of `BODY_FORMATS`.
    body_format: Mapped[str] = mapped_column(String(16), default="json")
    #: At most this many messages every `rate_period` seconds; the rest wait for a summary.
    rate_limit: Mapped[int] = mapped_column(default=10)
    rate_period: Mapped[int] = mapped_column(default=3600)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)


class NotificationSubscription(Base):
    """That the groups matching a saved filter are announced on a channel (of the same user)."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (UniqueConstraint("filter_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    filter_id: Mapped[int] = mapped_column(
        ForeignKey("event_filters.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[int] = mapped_column(BigInteger)


class NotificationDelivery(Base):
    """One message to one channel, and what became of it: the delivery log.

    Written (``pending``) before anything is sent; an attempt first claims
    it (``sending``), so two tasks never send it both; a failed attempt puts
    it back to ``pending`` at a later `next_attempt` (exponential backoff)
    until the last attempt. Group messages are unique per (group, channel,
    sequence): 0 the group opened, then one more per follow-up.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("group_id", "channel_id", "sequence"),
        # What is due: pending deliveries by time (the queue and its age).
        Index(None, "status", "next_attempt"),
        # A channel's messages in its rate window.
        Index(None, "channel_id", "claimed"),
        # The log page: newest first, a page at a time (keyset).
        Index(None, "created", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    #: The group the message is about; none for summaries and test messages.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_groups.id", ondelete="CASCADE"), index=True
    )
    #: The subscription that asked for it (the first one, when several match).
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_subscriptions.id", ondelete="SET NULL")
    )
    #: One of `DELIVERY_KINDS`.
    kind: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(default=0)
    #: One of `DELIVERY_STATUSES`.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    #: When it was written (queued).
    created: Mapped[int] = mapped_column(BigInteger)
    #: When a pending delivery may be tried (next).
    next_attempt: Mapped[int] = mapped_column(BigInteger)
    #: When its last attempt started: it counts against the rate limit from then.
    claimed: Mapped[int | None] = mapped_column(BigInteger)
    #: When it was sent, summarised or given up.
    finished: Mapped[int | None] = mapped_column(BigInteger)
    #: Why the last attempt failed (or why it was not tried).
    error: Mapped[str] = mapped_column(String(1000), default="")
    #: What the message said of its group (event count, severity, status), for
    #: deciding follow-ups; a summary's: the deliveries it summarised.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: For a ``summarised`` delivery: the summary that carried it.
    summary_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="SET NULL")
    )


class NotificationCursor(Base):
    """How far the scan has gone: the last group change serial it read
    (``event_groups.change_serial``), and when it last ran (for finished messages)."""

    __tablename__ = "notification_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class NotificationCount(Base):
    """Messages sent and attempts failed, per channel kind, for ``/metrics``.

    Kept in SQL, not in the memory of the process that sends (a Celery
    worker), so that the web app's scrape shows them, across restarts too.
    """

    __tablename__ = "notification_counts"
    __table_args__ = (PrimaryKeyConstraint("channel_kind", "outcome"),)

    channel_kind: Mapped[str] = mapped_column(String(16))
    #: ``sent``, ``failed`` (an attempt that failed), ``given_up``, ``deferred``.
    outcome: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(BigInteger, default=0)
