"""What a notification says: a subject and text for people, a JSON document for programs.

Built when the message is sent (not when it was queued), from the group as
it is then, so that a message delayed by retries or the rate limit tells
the latest state; the delivery log keeps what it said (`GroupFacts.state`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from nntsc.notifications.senders import Message

#: The most events a message lists.
MAX_LISTED_EVENTS = 20
#: What each kind of message says happened to its group.
HEADLINES = {"opened": "new", "grew": "growing", "ended": "ended"}


@dataclass(frozen=True)
class GroupFacts:
    """A group as a message describes it."""

    id: int
    key: str
    key_kind: str
    asns: str
    direction: str
    status: str
    ts_started: int
    ts_ended: int
    severity: int
    event_count: int
    source_count: int
    target_count: int
    endpoint_count: int
    merged_into: int | None

    @property
    def state(self) -> dict[str, Any]:
        """What follow-ups are decided on: counts, severity, status."""
        return {
            "event_count": self.event_count,
            "severity": self.severity,
            "status": self.status,
            "merged_into": self.merged_into,
        }


@dataclass(frozen=True)
class EventFacts:
    """One event of a group, as a message lists it."""

    id: int
    collection: str
    stream_id: int
    kind: str
    metric: str
    severity: int
    description: str
    source: str
    target: str
    ts_onset: int


def _time(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _what(group: GroupFacts) -> str:
    kind, _, value = group.key.partition(":")
    where = "AS" + value.replace("-", ", AS") if kind == "asn" else f"{kind} {value}"
    return f"{where}, direction {group.direction}"


def _link(base_url: str, group: GroupFacts) -> str:
    """The events dashboard showing the groups that started when this one did."""
    if not base_url:
        return ""
    return f"{base_url.rstrip('/')}/events?start={group.ts_started}&end={group.ts_started + 1}"


def group_message(
    kind: str,
    group: GroupFacts,
    events: Sequence[EventFacts],
    delivery_id: int,
    channel: str,
    base_url: str = "",
) -> Message:
    """The message about `group` of kind ``opened``, ``grew`` or ``ended``."""
    headline = HEADLINES.get(kind, kind)
    status = group.status
    if status == "merged" and group.merged_into is not None:
        status = f"merged into group {group.merged_into}"
    subject = (
        f"[nntsc] {headline} event group {group.id}: {_what(group)} "
        f"({group.event_count} events, severity {group.severity})"
    )
    lines = [
        f"Event group {group.id} ({headline}): {_what(group)}",
        f"{group.event_count} events, severity {group.severity}, "
        f"{group.source_count} sources, {group.target_count} targets",
        f"From {_time(group.ts_started)} to {_time(group.ts_ended)}; {status}",
    ]
    listed = list(events)[:MAX_LISTED_EVENTS]
    if listed:
        lines.append("")
        lines.extend(
            f"- {_time(e.ts_onset)} {e.source} -> {e.target}: {e.description} "
            f"(severity {e.severity})"
            for e in listed
        )
        if len(events) > len(listed):
            lines.append(f"- and {len(events) - len(listed)} more")
    link = _link(base_url, group)
    if link:
        lines.extend(["", link])
    text = "\n".join(lines)
    document = {
        "delivery_id": delivery_id,
        "kind": kind,
        "channel": channel,
        "group": asdict(group),
        "events": [asdict(e) for e in listed],
        "text": text,
    }
    return Message(subject, text, document)


def summary_message(
    items: Sequence[tuple[str, GroupFacts]], delivery_id: int, channel: str, base_url: str = ""
) -> Message:
    """One message for the notifications the rate limit held back: (kind, group) each."""
    subject = f"[nntsc] {len(items)} event group notifications held back by the rate limit"
    lines = [f"{len(items)} notifications were held back by this channel's rate limit:", ""]
    for kind, group in items:
        line = (
            f"- group {group.id} {HEADLINES.get(kind, kind)}: {_what(group)}, "
            f"{group.event_count} events, severity {group.severity}, {group.status}"
        )
        link = _link(base_url, group)
        lines.append(f"{line} {link}".rstrip())
    text = "\n".join(lines)
    document = {
        "delivery_id": delivery_id,
        "kind": "summary",
        "channel": channel,
        "items": [{"kind": kind, "group": asdict(group)} for kind, group in items],
        "text": text,
    }
    return Message(subject, text, document)


def test_message(delivery_id: int, channel: str) -> Message:
    """The message sent when a user tests a channel."""
    text = f"A test message from nntsc to the notification channel {channel!r}."
    document = {"delivery_id": delivery_id, "kind": "test", "channel": channel, "text": text}
    return Message(f"[nntsc] test of notification channel {channel}", text, document)
