"""Finding what to notify and sending it: the scan, the attempts, the rate limit, summaries.

**The scan** (`scan`) runs every ``nntsc.notification_period`` seconds. It
reads the groups changed since its cursor: those whose
``event_groups.change_serial`` is above the last one it saw (each grouping
or pruning transaction stamps the groups it writes with the next serial,
taken under the groups' lock, so serials commit in order and "above N"
misses nothing); and the groups whose last message finished since its
previous scan (less `OVERLAP` seconds), whose follow-up was held back while
that message was in flight. It matches them against
the subscribed filters and writes the messages due as ``pending`` rows of
``notification_deliveries``: ``opened`` (sequence 0) for a live group no
message was written for, then one follow-up at a time, ``grew`` when it has
more events or a higher severity than its last message said, ``ended`` when
it closed or was merged. The rows are unique per (group, channel,
sequence) and inserted with ON CONFLICT DO NOTHING, so scanning twice, or
two scanners, write each message once. The cursor moves only when the
scan's transaction commits: a restart rescans, it never skips.

**An attempt** (`deliver`) claims one pending row (``sending``) in a
transaction that also checks the channel's rate limit (the channel row
locked on PostgreSQL, so that concurrent workers count together), then
sends, then records the outcome: ``sent``, or back to ``pending`` at
``next_attempt`` (exponential backoff) with the error, or ``failed`` after
the last attempt. A row that is not ``pending`` and due is left alone, so a
task that runs twice sends once. An attempt interrupted mid-way (the
process died) is put back to pending after `STALE` seconds: that message
may then arrive twice, and carries the same ``X-Nntsc-Delivery`` id.

**The rate limit**: a channel sends at most ``rate_limit`` messages in any
``rate_period`` seconds; a message beyond it is ``deferred``, and once the
window has room the scan writes one ``summary`` message listing every
deferred one (which become ``summarised``). Nothing is dropped.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, column, delete, func, or_, select, table, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from nntsc.config import positive_seconds
from nntsc.errors import BadValue, ConfigurationError
from nntsc.events.filters import EventFilterSpec
from nntsc.events.models import Event, EventFilter, EventGroup, EventGroupMember
from nntsc.notifications.guard import WebhookPolicy
from nntsc.notifications.messages import (
    EventFacts,
    GroupFacts,
    group_message,
    summary_message,
    test_message,
)
from nntsc.notifications.models import (
    NotificationChannel,
    NotificationCount,
    NotificationCursor,
    NotificationDelivery,
    NotificationSubscription,
)
from nntsc.notifications.senders import (
    Message,
    SendFailed,
    SmtpSettings,
    send_email,
    send_webhook,
)

log = logging.getLogger(__name__)

#: Seconds between two scans (``nntsc.notification_period``).
SCAN_PERIOD = 30.0
#: Seconds before its time cursor that each scan reads finished messages again: a
#: message marked finished just before a scan began may commit after it.
OVERLAP = 300
#: A group is announced only if its latest event is at most this old
#: (``nntsc.notification_max_age``): history detected today is not news.
MAX_AGE = 7200
#: Seconds the delivery log keeps a finished message: 90 days.
LOG_RETENTION = 90 * 86400
#: Attempts at a message before it is given up (``nntsc.notification_attempts``).
ATTEMPTS = 8
#: The pause after the first failed attempt, doubled after each (``nntsc.notification_retry``).
RETRY_BASE = 30.0
#: The longest pause between two attempts.
RETRY_MAX = 3600.0
#: An attempt still ``sending`` after this many seconds was interrupted.
STALE = 300
#: The scan's cursors: the last group change serial seen, and when it last ran.
SERIAL_CURSOR = "group_serial"
TIME_CURSOR = "finished"
#: At most this many messages are queued or tried by one pass.
BATCH = 500
#: Changed groups are read this many at a time.
CHUNK = 500
#: The advisory lock (PostgreSQL) the scan holds: one scan at a time.
SCAN_LOCK = 0x6E6E74736E6F  # "nntsno"
#: The group statuses that end a group.
ENDED = ("closed", "merged")
#: The most events read per group, for matching and for the message.
MAX_EVENTS = 1000

#: The web app's setting that lets anyone view the data (then every enabled user may be
#: sent events), and the environment variable that overrides it (docs/operations.md).
PUBLIC_DATA_SETTING = "ampweb.public_data"
#: The roles that let a user view the data when it is not public: ``viewdata`` and the
#: roles that include it (``ampweb.accounts.registry.IMPLIED_ROLES``, which the scan
#: does not import: nntsc never imports the web app).
VIEW_ROLES = frozenset({"admin", "editconfig", "viewdata"})
#: What ``ampweb.public_data`` takes for true (as Pyramid's ``asbool`` does).
_TRUE = ("t", "true", "y", "yes", "on", "1")

#: A saved filter's test: (the filter's value, the group, its events) -> whether it matches.
FilterTest = Callable[[Mapping[str, Any], GroupFacts, Sequence[EventFacts]], bool]


def saved_filter_matches(
    value: Mapping[str, Any], group: GroupFacts, events: Sequence[EventFacts]
) -> bool:
    """Whether the saved filter `value` (``event_filters.filter``) takes `group`.

    The dashboard's own test (`EventFilterSpec.matches`), so a subscription
    announces exactly the groups its filter shows. A stored filter that no
    longer reads (saved by an older version) matches nothing, and says so
    in the log.
    """
    try:
        spec = EventFilterSpec.from_json(value)
    except BadValue as error:
        log.warning("saved event filter unreadable, matching nothing: %s", error)
        return False
    return spec.matches(group, events)


@dataclass(frozen=True)
class DeliverySettings:
    """How often to scan, how to retry, how old a group may be, where the mail server is."""

    period: float = SCAN_PERIOD
    retry_base: float = RETRY_BASE
    retry_max: float = RETRY_MAX
    attempts: int = ATTEMPTS
    max_age: int = MAX_AGE
    #: Seconds the log keeps finished messages (``nntsc.notification_log_retention``).
    log_retention: int = LOG_RETENTION
    #: The web app's public URL, for links in messages (``nntsc.notification_base_url``).
    base_url: str = ""
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    #: Where webhooks may go (``nntsc.notification_webhook_allow``; `nntsc.notifications.guard`).
    webhook: WebhookPolicy = field(default_factory=WebhookPolicy)
    #: ``ampweb.public_data``: anyone may view the data, so every enabled user may be
    #: sent events; when false, only users with a role in `VIEW_ROLES`.
    public_data: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> DeliverySettings:
        attempts_text = str(settings.get("nntsc.notification_attempts", "")).strip()
        try:
            attempts = int(attempts_text) if attempts_text else ATTEMPTS
        except ValueError:
            attempts = 0
        if attempts < 1:
            raise ConfigurationError(
                f"nntsc.notification_attempts {attempts_text!r}: expected a positive number"
            )
        return cls(
            period=positive_seconds(settings, "nntsc.notification_period", SCAN_PERIOD),
            retry_base=positive_seconds(settings, "nntsc.notification_retry", RETRY_BASE),
            retry_max=positive_seconds(settings, "nntsc.notification_retry_max", RETRY_MAX),
            attempts=attempts,
            max_age=int(positive_seconds(settings, "nntsc.notification_max_age", MAX_AGE)),
            log_retention=int(
                positive_seconds(settings, "nntsc.notification_log_retention", LOG_RETENTION)
            ),
            base_url=str(settings.get("nntsc.notification_base_url", "")).strip(),
            smtp=SmtpSettings.from_settings(settings),
            webhook=WebhookPolicy.from_settings(settings),
            public_data=str(settings.get(PUBLIC_DATA_SETTING, "")).strip().lower() in _TRUE,
        )

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: doubling, at most `retry_max`."""
        return float(min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1)))


# -- counts for /metrics -----------------------------------------------------------------------


def count(session: Session, channel_kind: str, outcome: str, by: int = 1) -> None:
    """Add `by` to the ``notification_counts`` row of (channel kind, outcome)."""
    table = NotificationCount.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(channel_kind=channel_kind, outcome=outcome, total=by)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel_kind", "outcome"],
            set_={"total": table.c.total + statement.excluded.total},
        )
    )


# -- reading groups ----------------------------------------------------------------------------


def _group_facts(group: EventGroup) -> GroupFacts:
    return GroupFacts(
        id=group.id,
        key=group.key,
        key_kind=group.key_kind,
        asns=group.asns,
        direction=group.direction,
        status=group.status,
        ts_started=group.ts_started,
        ts_ended=group.ts_ended,
        severity=group.severity,
        event_count=group.event_count,
        source_count=group.source_count,
        target_count=group.target_count,
        endpoint_count=group.endpoint_count,
        merged_into=group.merged_into,
    )


def _event_facts(event: Event) -> EventFacts:
    return EventFacts(
        id=event.id,
        collection=event.collection,
        stream_id=event.stream_id,
        kind=event.kind,
        metric=event.metric,
        severity=event.severity,
        description=event.description,
        source=event.source,
        target=event.target,
        ts_onset=event.ts_onset,
    )


def group_events(session: Session, group_ids: Sequence[int]) -> dict[int, list[EventFacts]]:
    """Per group, the events it stands for, oldest first: its own and those of the
    groups merged into it (but not through a superset merge, as ``event_count`` counts)."""
    if not group_ids:
        return {}
    groups = EventGroup.__table__
    absorbed: Iterable[tuple[int, int]] = session.execute(
        select(groups.c.id, groups.c.merged_into).where(
            groups.c.merged_into.in_(group_ids),
            or_(groups.c.merged_by.is_(None), groups.c.merged_by != "superset"),
        )
    )
    sources: dict[int, set[int]] = {group_id: {group_id} for group_id in group_ids}
    for loser, winner in absorbed:
        sources[winner].add(loser)
    owners: dict[int, list[int]] = defaultdict(list)
    for winner, members in sources.items():
        for member in members:
            owners[member].append(winner)
    found: dict[int, dict[int, EventFacts]] = defaultdict(dict)
    rows = session.execute(
        select(EventGroupMember.group_id, Event)
        .join(Event, Event.id == EventGroupMember.event_id)
        .where(EventGroupMember.group_id.in_(list(owners)))
    )
    for member_group, event in rows:
        for winner in owners[member_group]:
            found[winner][event.id] = _event_facts(event)
    return {
        group_id: sorted(found[group_id].values(), key=lambda e: (e.ts_onset, e.id))[:MAX_EVENTS]
        for group_id in group_ids
    }


# -- the scan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanReport:
    """What one scan did: groups looked at, messages written, summaries written."""

    groups: int
    queued: list[int]
    summaries: list[int]


@dataclass(frozen=True)
class _Subscription:
    id: int
    channel_id: int
    filter_value: Mapping[str, Any]


def _lock_scan(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCAN_LOCK})


#: The web app's users (ampweb.accounts), as far as the scan reads them: a
#: disabled user's subscriptions announce nothing, as they may no longer log in,
#: and neither do those of a user who may no longer view the data (`may_view`).
_USERS = table("users", column("username"), column("enabled"), column("roles", JSON))


def may_view(enabled: bool, roles: Iterable[str] | None, public_data: bool) -> bool:
    """Whether a user (enabled or not, with `roles`) may be sent events: the web app's
    rule for viewing data (``ampweb.security``, permission ``user-view``)."""
    return bool(enabled) and (public_data or not VIEW_ROLES.isdisjoint(roles or ()))


def _subscriptions(session: Session, public_data: bool) -> list[_Subscription]:
    """Every subscription whose channel is enabled, of an enabled user who may view
    the data, and whose filter has ``notify`` on."""
    rows: Iterable[tuple[int, int, dict[str, Any] | None, list[str] | None]] = session.execute(
        select(
            NotificationSubscription.id,
            NotificationSubscription.channel_id,
            EventFilter.filter,
            _USERS.c.roles,
        )
        .join(EventFilter, EventFilter.id == NotificationSubscription.filter_id)
        .join(NotificationChannel, NotificationChannel.id == NotificationSubscription.channel_id)
        .join(_USERS, _USERS.c.username == NotificationChannel.username)
        .where(
            NotificationChannel.enabled.is_(True),
            EventFilter.notify.is_(True),
            _USERS.c.enabled.is_(True),
        )
        .order_by(NotificationSubscription.id)
    )
    return [
        _Subscription(s_id, channel_id, value or {})
        for s_id, channel_id, value, roles in rows
        if may_view(True, roles, public_data)
    ]


def _owner_may_view(session: Session, channel: NotificationChannel, public_data: bool) -> bool:
    """Whether `channel`'s owner may still be sent events (`may_view`), read now."""
    row = session.execute(
        select(_USERS.c.enabled, _USERS.c.roles).where(_USERS.c.username == channel.username)
    ).first()
    return row is not None and may_view(row[0], row[1], public_data)


def _latest_deliveries(
    session: Session, group_ids: Sequence[int]
) -> dict[int, dict[int, NotificationDelivery]]:
    """Per group and channel, the delivery of the highest sequence."""
    latest: dict[int, dict[int, NotificationDelivery]] = defaultdict(dict)
    if not group_ids:
        return latest
    for delivery in session.scalars(
        select(NotificationDelivery)
        .where(NotificationDelivery.group_id.in_(group_ids))
        .order_by(NotificationDelivery.sequence)
    ):
        assert delivery.group_id is not None
        latest[delivery.group_id][delivery.channel_id] = delivery
    return latest


def _follow_up(group: GroupFacts, last: NotificationDelivery) -> str | None:
    """The follow-up due after `last` (a message that finished), if any."""
    if last.kind == "ended" or last.state is None:
        return None
    said = last.state
    if said.get("status") not in ENDED and group.status in ENDED:
        return "ended"
    # Late events may join a group that closed: news too.
    if group.event_count > int(said.get("event_count", 0)) or group.severity > int(
        said.get("severity", 0)
    ):
        return "grew"
    return None


def _insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows`, skipping any whose (group, channel, sequence) exists; the new ids."""
    if not rows:
        return []
    table = NotificationDelivery.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    ids = []
    for row in rows:
        statement = (
            insert(table)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["group_id", "channel_id", "sequence"])
            .returning(table.c.id)
        )
        new_id = session.execute(statement).scalar()
        if new_id is not None:
            ids.append(new_id)
    return ids


def _changed_groups(session: Session, after_serial: int, upto_serial: int, since: int) -> list[int]:
    """Groups written by changes (after_serial, upto_serial], and those whose message
    finished at or after `since`."""
    groups = EventGroup.__table__
    deliveries = NotificationDelivery.__table__
    changed: set[int] = set(
        session.scalars(
            select(groups.c.id).where(
                groups.c.change_serial > after_serial, groups.c.change_serial <= upto_serial
            )
        )
    )
    # A group whose message finished may owe a follow-up held back while it was in flight.
    changed.update(
        session.scalars(
            select(deliveries.c.group_id)
            .where(deliveries.c.finished >= since, deliveries.c.group_id.is_not(None))
            .distinct()
        )
    )
    return sorted(changed)


def _cursor(session: Session, name: str) -> NotificationCursor | None:
    return session.get(NotificationCursor, name)


def scan(
    sessions: sessionmaker[Session],
    settings: DeliverySettings,
    matches: FilterTest = saved_filter_matches,
    now: int | None = None,
) -> ScanReport:
    """Write the messages due for the groups changed since the cursor, and the summaries due.

    The first scan ever only sets the cursors: subscriptions announce what
    happens from then on, not the stored history.
    """
    now = int(time.time()) if now is None else now
    with sessions.begin() as session:
        _lock_scan(session)
        # Read first: groups changed after this are left for the next scan.
        newest = int(session.scalar(select(func.max(EventGroup.change_serial))) or 0)
        serial, clock = _cursor(session, SERIAL_CURSOR), _cursor(session, TIME_CURSOR)
        if serial is None or clock is None:
            session.merge(NotificationCursor(name=SERIAL_CURSOR, position=newest))
            session.merge(NotificationCursor(name=TIME_CURSOR, position=now))
            return ScanReport(0, [], [])
        after, since = serial.position, clock.position - OVERLAP
        serial.position = max(serial.position, newest)
        clock.position = max(clock.position, now)
        subscriptions = _subscriptions(session, settings.public_data)
        group_ids = _changed_groups(session, after, newest, since) if subscriptions else []
        queued = _queue_messages(session, group_ids, subscriptions, settings, matches, now)
        summaries = _queue_summaries(session, now)
        _expire_log(session, settings, now)
    return ScanReport(len(group_ids), queued, summaries)


def _expire_log(session: Session, settings: DeliverySettings, now: int) -> int:
    """Delete the finished messages older than the log's retention; how many.

    Never sooner than twice the age a group may be announced at: a group's
    rows are what says it was announced, and its follow-ups depend on them.
    """
    keep = max(settings.log_retention, 2 * settings.max_age)
    table = NotificationDelivery.__table__
    result = session.execute(
        delete(table).where(
            table.c.finished < now - keep,
            table.c.status.in_(("sent", "failed", "summarised")),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _queue_messages(
    session: Session,
    group_ids: Sequence[int],
    subscriptions: Sequence[_Subscription],
    settings: DeliverySettings,
    matches: FilterTest,
    now: int,
) -> list[int]:
    """Write the messages due for `group_ids`, a chunk of groups at a time; the new ids."""
    queued: list[int] = []
    for start in range(0, len(group_ids), CHUNK):
        chunk = group_ids[start : start + CHUNK]
        rows = _messages_due(session, chunk, subscriptions, settings, matches, now)
        queued.extend(_insert_deliveries(session, rows))
    return queued


def _messages_due(
    session: Session,
    group_ids: Sequence[int],
    subscriptions: Sequence[_Subscription],
    settings: DeliverySettings,
    matches: FilterTest,
    now: int,
) -> list[dict[str, Any]]:
    enabled = {s.channel_id for s in subscriptions}
    latest = _latest_deliveries(session, group_ids)
    groups = {
        g.id: _group_facts(g)
        for g in session.scalars(select(EventGroup).where(EventGroup.id.in_(group_ids)))
    }
    # A group not announced anywhere is news only while it is live and recent
    # (history detected today re-stamps old groups: those are skipped unread).
    fresh = [
        group_id
        for group_id, group in groups.items()
        if group.status != "merged" and group.ts_ended >= now - settings.max_age
    ]
    events = group_events(session, fresh)
    rows: list[dict[str, Any]] = []
    for group_id, group in sorted(groups.items()):
        # Follow-ups of groups already announced, on channels still enabled.
        announced = set(latest.get(group_id, {}))
        for channel_id, last in latest.get(group_id, {}).items():
            if channel_id not in enabled or last.status not in ("sent", "failed", "summarised"):
                continue
            kind = _follow_up(group, last)
            if kind is not None:
                rows.append(
                    _row(channel_id, group_id, last.subscription_id, kind, last.sequence + 1, now)
                )
        # A live, recent group not yet announced on a channel whose filter takes it.
        if group_id not in events:
            continue
        for subscription in subscriptions:
            if subscription.channel_id in announced:
                continue
            if matches(subscription.filter_value, group, events[group_id]):
                announced.add(subscription.channel_id)
                rows.append(
                    _row(subscription.channel_id, group_id, subscription.id, "opened", 0, now)
                )
    return rows


def _row(
    channel_id: int,
    group_id: int | None,
    subscription_id: int | None,
    kind: str,
    sequence: int,
    now: int,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "group_id": group_id,
        "subscription_id": subscription_id,
        "kind": kind,
        "sequence": sequence,
        "status": "pending",
        "attempts": 0,
        "created": now,
        "next_attempt": now,
        "error": "",
        "state": state,
    }


def _lock_channel(session: Session, channel_id: int) -> NotificationChannel | None:
    """The channel, its row locked on PostgreSQL until the transaction ends."""
    return session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.id == channel_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _used(session: Session, channel: NotificationChannel, now: int) -> int:
    """Messages of `channel` counted against its rate limit now."""
    table = NotificationDelivery.__table__
    return int(
        session.scalar(
            select(func.count()).where(
                table.c.channel_id == channel.id,
                table.c.claimed > now - channel.rate_period,
                table.c.status.in_(("sending", "sent")),
                table.c.kind != "test",
            )
        )
        or 0
    )


def _queue_summaries(session: Session, now: int) -> list[int]:
    """One summary per channel with deferred messages and room in its rate window."""
    table = NotificationDelivery.__table__
    channel_ids: Sequence[int] = session.scalars(
        select(table.c.channel_id).where(table.c.status == "deferred").distinct()
    ).all()
    summaries = []
    for channel_id in channel_ids:
        channel = _lock_channel(session, channel_id)
        if channel is None or not channel.enabled:
            continue
        if _used(session, channel, now) >= channel.rate_limit:
            continue
        deferred: Sequence[int] = session.scalars(
            select(table.c.id)
            .where(table.c.channel_id == channel_id, table.c.status == "deferred")
            .order_by(table.c.id)
        ).all()
        summary = NotificationDelivery(
            **_row(channel_id, None, None, "summary", 0, now, {"deliveries": list(deferred)})
        )
        session.add(summary)
        session.flush()
        session.execute(
            update(table)
            .where(table.c.id.in_(deferred), table.c.status == "deferred")
            .values(status="summarised", summary_id=summary.id)
        )
        summaries.append(summary.id)
    return summaries


# -- attempts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What an attempt at a delivery came to.

    `status`: ``sent``, ``retry`` (try again in `retry_in` seconds),
    ``failed`` (given up), ``deferred`` (rate limit), or ``skipped`` (not
    pending or not due: another attempt has it, or it is done).
    """

    status: str
    retry_in: float | None = None
    error: str = ""


def due_deliveries(sessions: sessionmaker[Session], now: int | None = None) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first; stale attempts freed first."""
    now = int(time.time()) if now is None else now
    table = NotificationDelivery.__table__
    with sessions.begin() as session:
        session.execute(
            update(table)
            .where(table.c.status == "sending", table.c.claimed < now - STALE)
            .values(status="pending", next_attempt=now, error="attempt interrupted")
        )
        return list(
            session.scalars(
                select(table.c.id)
                .where(table.c.status == "pending", table.c.next_attempt <= now)
                .order_by(table.c.next_attempt, table.c.id)
                .limit(BATCH)
            )
        )


def _message(
    session: Session, delivery: NotificationDelivery, channel: NotificationChannel, base_url: str
) -> tuple[Message, dict[str, Any] | None, list[tuple[int, dict[str, Any]]]]:
    """The message of `delivery`, what it says of its group, and of the summarised ones."""
    if delivery.kind == "test":
        return test_message(delivery.id, channel.name), None, []
    if delivery.kind == "summary":
        ids = list((delivery.state or {}).get("deliveries", []))
        items: list[tuple[str, GroupFacts]] = []
        said: list[tuple[int, dict[str, Any]]] = []
        rows = session.execute(
            select(NotificationDelivery.id, NotificationDelivery.kind, EventGroup)
            .join(EventGroup, EventGroup.id == NotificationDelivery.group_id)
            .where(NotificationDelivery.id.in_(ids))
            .order_by(NotificationDelivery.id)
        )
        for delivery_id, kind, group in rows:
            facts = _group_facts(group)
            items.append((kind, facts))
            said.append((delivery_id, facts.state))
        message = summary_message(items, delivery.id, channel.name, base_url)
        return message, delivery.state, said
    stored = session.get(EventGroup, delivery.group_id)
    if stored is None:
        raise SendFailed(f"event group {delivery.group_id} is gone")
    facts = _group_facts(stored)
    events = group_events(session, [stored.id])[stored.id]
    message = group_message(delivery.kind, facts, events, delivery.id, channel.name, base_url)
    return message, facts.state, []


def send_message(
    channel: NotificationChannel,
    message: Message,
    delivery_id: int,
    smtp: SmtpSettings,
    webhook: WebhookPolicy | None = None,
) -> None:
    """Send `message` on `channel`; `SendFailed` when it is not accepted."""
    if channel.kind == "email":
        send_email(smtp, channel.addresses, message)
    else:
        send_webhook(
            channel.url, channel.secret, channel.body_format, message, delivery_id, webhook
        )


def deliver(
    sessions: sessionmaker[Session],
    delivery_id: int,
    settings: DeliverySettings,
    now: int | None = None,
) -> Outcome:
    """One attempt at a pending, due delivery: claim it, send it, record what happened."""
    now = int(time.time()) if now is None else now
    table = NotificationDelivery.__table__
    with sessions.begin() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        if delivery is None:
            return Outcome("skipped")
        channel = _lock_channel(session, delivery.channel_id)
        delivery = session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.id == delivery_id)
            .execution_options(populate_existing=True)
        ).one()
        if channel is None or delivery.status != "pending" or delivery.next_attempt > now:
            return Outcome("skipped")
        if not channel.enabled and delivery.kind != "test":
            delivery.status, delivery.finished = "failed", now
            delivery.error = "the channel is disabled"
            count(session, channel.kind, "given_up")
            return Outcome("failed", error=delivery.error)
        # Checked when sending too, not only when queued: a message queued (or
        # deferred, or retried) before its owner was disabled or lost the role
        # that lets them view the data is not sent. A test message says nothing
        # of the data and goes to whoever asked for it.
        if delivery.kind != "test" and not _owner_may_view(session, channel, settings.public_data):
            delivery.status, delivery.finished = "failed", now
            delivery.error = "the channel's owner may no longer view the data"
            count(session, channel.kind, "given_up")
            return Outcome("failed", error=delivery.error)
        metered = delivery.kind not in ("test", "summary")
        if metered and _used(session, channel, now) >= channel.rate_limit:
            delivery.status = "deferred"
            delivery.error = (
                f"rate limit: {channel.rate_limit} messages per {channel.rate_period} s"
            )
            count(session, channel.kind, "deferred")
            return Outcome("deferred", error=delivery.error)
        delivery.status, delivery.claimed = "sending", now
        delivery.attempts += 1
        attempts, kind = delivery.attempts, delivery.kind
        message, state, summarised = _message(session, delivery, channel, settings.base_url)
        session.expunge(channel)
    try:
        send_message(channel, message, delivery_id, settings.smtp, settings.webhook)
    except SendFailed as error:
        # A test message is tried once: the person testing sees the error at once.
        give_up = attempts >= settings.attempts or kind == "test"
        delay = settings.backoff(attempts)
        with sessions.begin() as session:
            session.execute(
                update(table)
                .where(table.c.id == delivery_id)
                .values(
                    status="failed" if give_up else "pending",
                    next_attempt=now + round(delay),
                    finished=now if give_up else None,
                    error=str(error)[:1000],
                    state=state,
                )
            )
            count(session, channel.kind, "failed")
            if give_up:
                count(session, channel.kind, "given_up")
                # A summary given up is done with too: its groups' follow-ups go on.
                for summarised_id, said in summarised:
                    session.execute(
                        update(table)
                        .where(table.c.id == summarised_id)
                        .values(state=said, finished=now)
                    )
        log.warning(
            "notification %d to channel %d, attempt %d: %s",
            delivery_id,
            channel.id,
            attempts,
            error,
        )
        if give_up:
            return Outcome("failed", error=str(error))
        return Outcome("retry", delay, str(error))
    finished = int(time.time())
    with sessions.begin() as session:
        session.execute(
            update(table)
            .where(table.c.id == delivery_id)
            .values(status="sent", finished=finished, error="", state=state)
        )
        for summarised_id, said in summarised:
            session.execute(
                update(table)
                .where(table.c.id == summarised_id)
                .values(state=said, finished=finished)
            )
        count(session, channel.kind, "sent")
    return Outcome("sent")


#: Test messages one user's channels may be sent per `TEST_WINDOW` seconds.
TEST_LIMIT = 10
TEST_WINDOW = 600


def send_test(
    sessions: sessionmaker[Session], channel_id: int, settings: DeliverySettings
) -> dict[str, Any]:
    """Send a test message on a channel now (one attempt); its delivery log row.

    A user's channels get at most `TEST_LIMIT` test messages per `TEST_WINDOW`
    seconds (`BadValue` after that): tests are sent on request, outside every
    channel's rate limit, to addresses the user typed.
    """
    now = int(time.time())
    with sessions.begin() as session:
        channel = _lock_channel(session, channel_id)
        if channel is None:
            raise BadValue("channel_id", f"no channel {channel_id}")
        table = NotificationDelivery.__table__
        recent = session.scalar(
            select(func.count())
            .select_from(
                table.join(NotificationChannel, NotificationChannel.id == table.c.channel_id)
            )
            .where(
                NotificationChannel.username == channel.username,
                table.c.kind == "test",
                table.c.created > now - TEST_WINDOW,
            )
        )
        if (recent or 0) >= TEST_LIMIT:
            raise BadValue(
                "channel_id",
                f"at most {TEST_LIMIT} test messages per {TEST_WINDOW // 60} minutes "
                "to one user's channels; try again later",
            )
        delivery = NotificationDelivery(**_row(channel_id, None, None, "test", 0, now))
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    deliver(sessions, delivery_id, settings, now)
    with sessions() as session:
        stored = session.get(NotificationDelivery, delivery_id)
        assert stored is not None
        return delivery_dict(stored)


def delivery_dict(delivery: NotificationDelivery) -> dict[str, Any]:
    """A delivery log row as the API answers it."""
    return {
        "id": delivery.id,
        "channel_id": delivery.channel_id,
        "group_id": delivery.group_id,
        "subscription_id": delivery.subscription_id,
        "kind": delivery.kind,
        "sequence": delivery.sequence,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created": delivery.created,
        "next_attempt": delivery.next_attempt,
        "finished": delivery.finished,
        "error": delivery.error,
        "summary_id": delivery.summary_id,
    }


def queue_age(session: Session, now: int | None = None) -> tuple[int, float]:
    """(messages waiting: pending, sending or deferred; seconds since the oldest was written)."""
    now = int(time.time()) if now is None else now
    table = NotificationDelivery.__table__
    row: tuple[int | None, int | None] = session.execute(
        select(func.count(), func.min(table.c.created)).where(
            table.c.status.in_(("pending", "sending", "deferred"))
        )
    ).one()
    waiting, oldest = row
    return int(waiting or 0), float(max(0, now - oldest)) if oldest is not None else 0.0


def run_pass(
    sessions: sessionmaker[Session],
    settings: DeliverySettings,
    matches: FilterTest = saved_filter_matches,
    now: int | None = None,
) -> list[Outcome]:
    """One in-process pass: scan, then try every due delivery (the embedded default)."""
    scan(sessions, settings, matches, now)
    return [deliver(sessions, d, settings, now) for d in due_deliveries(sessions, now)]


__all__ = [
    "DeliverySettings",
    "Outcome",
    "ScanReport",
    "deliver",
    "due_deliveries",
    "may_view",
    "queue_age",
    "run_pass",
    "scan",
    "send_test",
]
