"""People's judgements of events and event groups: useful or not, and why.

A logged-in user rates an event or a group (`event_ratings`, one row per
user and thing; rating again replaces it) with a reason from `REASONS` and
an optional comment. The dashboard shows the counts and the user's own
rating (`RatingStore.summary`, one query a page); `RatingStore.export`
writes every rating with what was rated (stream, detector, metric,
severity, ...) as CSV rows, to tune the detectors by.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ampy.errors import UnknownEvent, UnknownEventGroup
from nntsc.errors import BadValue
from nntsc.events.models import Event, EventGroup, EventRating
from nntsc.store.sqlutil import upsert

__all__ = ["EXPORT_COLUMNS", "MAX_SUMMARY_ITEMS", "REASONS", "RatingStore", "Reason"]

#: Longest comment of a rating (the column's width).
MAX_COMMENT = 1000
#: The most events (and groups) one summary covers: a dashboard page holds far fewer.
MAX_SUMMARY_ITEMS = 1000


@dataclass(frozen=True)
class Reason:
    """A reason a user may give: its code (stored), its words, and which verdict it goes with."""

    code: str
    label: str
    #: True: a reason for "useful"; False: for "not useful"; None: for either.
    useful: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "useful": self.useful}


#: The reasons a rating may give, in the order the dashboard offers them.
REASONS: tuple[Reason, ...] = (
    Reason("real-change", "A real change in the network", True),
    Reason("actionable", "Someone had to act on it", True),
    Reason("noise", "Noise, not a real change", False),
    Reason("too-small", "Too small to matter", False),
    Reason("expected", "Expected (maintenance, a known cause)", False),
    Reason("duplicate", "Already reported by another event or group", False),
    Reason("wrong-group", "Events that do not belong together", False),
    Reason("other", "Something else (say in the comment)", None),
)
REASON_CODES = {reason.code: reason for reason in REASONS}

#: The columns of the CSV export, in order.
EXPORT_COLUMNS = (
    "rated",
    "event_id",
    "group_id",
    "collection",
    "stream_id",
    "source",
    "target",
    "detector",
    "metric",
    "kind",
    "severity",
    "description",
    "ts_onset",
    "group_key",
    "useful",
    "reason",
    "comment",
    "username",
    "created",
    "rater",
)


def check_rating(useful: Any, reason: Any, comment: Any) -> None:
    """`BadValue` naming the field: a verdict not a bool, an unknown reason, a bad comment."""
    if not isinstance(useful, bool):
        raise BadValue("useful", "must be true or false")
    if not isinstance(reason, str) or (reason and reason not in REASON_CODES):
        raise BadValue("reason", f"must be empty or one of {', '.join(REASON_CODES)}")
    if reason and REASON_CODES[reason].useful not in (None, useful):
        verdict = "useful" if useful else "not useful"
        raise BadValue("reason", f"{reason!r} is not a reason for {verdict}")
    if not isinstance(comment, str):
        raise BadValue("comment", "must be a string")
    if len(comment) > MAX_COMMENT:
        raise BadValue("comment", f"must be at most {MAX_COMMENT} characters")


def _rating_dict(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "group_id": row.group_id,
        "username": row.username,
        "useful": row.useful,
        "reason": row.reason,
        "comment": row.comment,
        "created": row.created,
    }


class RatingStore:
    """Stores ratings and reads them back: a page's summary, every rating as export rows."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def rate(
        self,
        username: str,
        useful: bool,
        reason: str = "",
        comment: str = "",
        *,
        event_id: int | None = None,
        group_id: int | None = None,
        now: int | None = None,
    ) -> dict[str, Any]:
        """Store `username`'s rating of one event or one group, replacing theirs; the rating.

        Exactly one of `event_id` and `group_id`. `BadValue` for a bad
        verdict, reason or comment (nothing is stored); `UnknownEvent` or
        `UnknownEventGroup` for a thing that does not exist.
        """
        if (event_id is None) == (group_id is None):
            raise ValueError("rate one event or one group")
        check_rating(useful, reason, comment)
        record = {
            "event_id": event_id,
            "group_id": group_id,
            "username": username,
            "useful": useful,
            "reason": reason,
            "comment": comment,
            "created": int(time.time()) if now is None else now,
        }
        with self.sessions.begin() as session:
            if event_id is not None and session.get(Event, event_id) is None:
                raise UnknownEvent(event_id)
            if group_id is not None and session.get(EventGroup, group_id) is None:
                raise UnknownEventGroup(group_id)
            upsert(
                session.connection(),
                EventRating.__table__,
                [record],
                ("username", "event_id" if event_id is not None else "group_id"),
                update=("useful", "reason", "comment", "created"),
            )
        return record

    def summary(
        self, event_ids: Sequence[int], group_ids: Sequence[int], username: str | None
    ) -> dict[str, Any]:
        """Per event and per group: how many found it useful and not, and `username`'s own rating.

        ``{"events": [{"id", "useful", "not_useful", "mine"}], "groups": [...]}``,
        in the order asked, ``mine`` null when the user has not rated it (or
        is anonymous). One query for all of them.
        """
        for name, ids in (("event", event_ids), ("group", group_ids)):
            if len(ids) > MAX_SUMMARY_ITEMS:
                raise BadValue(name, f"at most {MAX_SUMMARY_ITEMS} at once")
        counts: dict[tuple[str, int], dict[str, Any]] = {}
        for kind, ids in (("event", event_ids), ("group", group_ids)):
            for item in ids:
                counts[(kind, item)] = {"id": item, "useful": 0, "not_useful": 0, "mine": None}
        if counts:
            table = EventRating.__table__
            conditions = []
            if event_ids:
                conditions.append(table.c.event_id.in_(sorted(set(event_ids))))
            if group_ids:
                conditions.append(table.c.group_id.in_(sorted(set(group_ids))))
            with self.sessions() as session:
                for row in session.execute(select(table).where(or_(*conditions))):
                    key = (
                        ("event", row.event_id)
                        if row.event_id is not None
                        else ("group", row.group_id)
                    )
                    entry = counts[key]
                    entry["useful" if row.useful else "not_useful"] += 1
                    if username is not None and row.username == username:
                        entry["mine"] = _rating_dict(row)
        return {
            "events": [counts[("event", item)] for item in dict.fromkeys(event_ids)],
            "groups": [counts[("group", item)] for item in dict.fromkeys(group_ids)],
        }

    def export(
        self,
        start: int | None = None,
        end: int | None = None,
        *,
        viewer: str | None = None,
        every_name: bool = True,
    ) -> Iterator[list[Any]]:
        """Every rating made in [start, end), oldest first, as rows of `EXPORT_COLUMNS`.

        ``rater`` tells raters apart without naming them: ``rater-1`` for the
        first to appear in this export, and so on (the same within one export,
        not across exports). ``username`` names the rater when `every_name`
        (what an admin sees), and otherwise only on `viewer`'s own ratings.

        A group's rating fills the group's columns (its key, its highest
        severity, its start as the onset); an event's fills the event's.
        Read in batches, so an export of any size streams.
        """
        ratings = EventRating.__table__
        events = Event.__table__
        groups = EventGroup.__table__
        query = (
            select(
                ratings,
                events.c.collection,
                events.c.stream_id,
                events.c.source,
                events.c.target,
                events.c.detector,
                events.c.metric,
                events.c.kind,
                events.c.severity.label("event_severity"),
                events.c.description,
                events.c.ts_onset,
                groups.c.key.label("group_key"),
                groups.c.severity.label("group_severity"),
                groups.c.ts_started,
            )
            .outerjoin(events, events.c.id == ratings.c.event_id)
            .outerjoin(groups, groups.c.id == ratings.c.group_id)
            .order_by(ratings.c.created, ratings.c.id)
        )
        if start is not None:
            query = query.where(ratings.c.created >= start)
        if end is not None:
            query = query.where(ratings.c.created < end)
        raters: dict[str, str] = {}
        with self.sessions() as session:
            for row in session.execute(query.execution_options(yield_per=500)):
                of_event = row.event_id is not None
                rater = raters.setdefault(row.username, f"rater-{len(raters) + 1}")
                yield [
                    "event" if of_event else "group",
                    row.event_id,
                    row.group_id,
                    row.collection,
                    row.stream_id,
                    row.source,
                    row.target,
                    row.detector,
                    row.metric,
                    row.kind,
                    row.event_severity if of_event else row.group_severity,
                    row.description,
                    row.ts_onset if of_event else row.ts_started,
                    row.group_key,
                    "yes" if row.useful else "no",
                    row.reason,
                    row.comment,
                    row.username if every_name or row.username == viewer else "",
                    row.created,
                    rater,
                ]
