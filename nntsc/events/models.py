"""The event tables: events, event groups, their members, ratings and saved filters.

One table each, whatever the number of streams (the predecessor kept one
table per stream, `docs/events.md`). Times are Unix seconds, as in
the rest of the schema. The tables join the shared metadata of
`nntsc.store.models`, so `migrations/versions/0008_events.py` must create
exactly these (`tests/integration/test_migrations.py`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nntsc.store.models import Base

#: What an event says happened (`Event.kind`).
EVENT_KINDS = ("incr", "decr", "loss", "loss_end", "pathchange", "mode")
#: Which way an event (or a group of events) moved a measurement.
DIRECTIONS = ("up", "down", "none")
#: What a group's key names.
GROUP_KEY_KINDS = ("asn", "source", "target")
#: A group is open while events may join it, closed after, merged when pruned.
GROUP_STATUSES = ("open", "closed", "merged")


class Event(Base):
    """One change detected on one stream's metric.

    An event is identified by (detector, stream_id, metric, ts_onset):
    detecting the same rows twice (live and from history, or two
    processes) finds the same key, and the second insert changes nothing.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("detector", "stream_id", "metric", "ts_onset"),
        # "Events of these streams in [start, end)": graph overlays, stream pages.
        Index(None, "stream_id", "ts_onset"),
        # "Every event in [start, end), newest first, page N" (keyset on onset, id).
        Index(None, "ts_onset", "id"),
        # The dashboard filters' event conditions (`nntsc.events.filters`): the events
        # of these sources / targets / kinds since a time, found without reading every
        # event of the window when few or none match (migration 0022).
        Index(None, "source", "ts_onset"),
        Index(None, "target", "ts_onset"),
        Index(None, "kind", "ts_onset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    collection: Mapped[str] = mapped_column(String(64))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.stream_id", ondelete="CASCADE"))
    #: The detector class's name: ``level``, ``loss``, ``path``, ``mode``.
    detector: Mapped[str] = mapped_column(String(32))
    #: The field (or derived series) watched: ``median``, ``as_path``, ...
    metric: Mapped[str] = mapped_column(String(64))
    #: One of `EVENT_KINDS`.
    kind: Mapped[str] = mapped_column(String(16))
    #: One of `DIRECTIONS`: up for a rise or for loss starting, down for a fall or loss ending.
    direction: Mapped[str] = mapped_column(String(8))
    #: Timestamp of the first row showing the change.
    ts_onset: Mapped[int] = mapped_column(BigInteger)
    #: Timestamp of the row that made the detector decide (onset <= detected).
    ts_detected: Mapped[int] = mapped_column(BigInteger)
    #: When the condition ended, for events that have an end (a loss run).
    ts_ended: Mapped[int | None] = mapped_column(BigInteger)
    #: 0 to 100; see `nntsc.events.severity`.
    severity: Mapped[int]
    #: The level before and after, in `unit` (the graph's unit, e.g. ms).
    old_value: Mapped[float | None] = mapped_column(Float)
    new_value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16), default="")
    #: For people: "median 20.1 ms -> 41.7 ms".
    description: Mapped[str] = mapped_column(String(500))
    #: The stream's endpoints (AMP source and destination; sysdig host and name), for grouping.
    source: Mapped[str] = mapped_column(String(255), default="")
    target: Mapped[str] = mapped_column(String(255), default="")
    #: Detector-specific facts, e.g. the old and new path ids and AS paths of a path change.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EventGroup(Base):
    """Events that share a key (an ASN on their paths, a source, a target) and a direction.

    Kept up to date as events arrive and as redundant groups are pruned: a
    group that loses is marked ``merged`` with `merged_into`, never deleted,
    so links to it stay valid.
    """

    __tablename__ = "event_groups"
    __table_args__ = (
        # "Newest groups first, page N": a keyset (ts_started, id) read backwards.
        Index(None, "ts_started", "id"),
        # The open group of a key and direction, when an event arrives.
        Index(None, "key", "direction", "status"),
        # "What changed since change N" (the dashboard's self-update), and its newest N.
        Index(None, "change_serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: ``asn:64496``, ``source:amp-wlg``, ``target:www.example.com``.
    key: Mapped[str] = mapped_column(String(300))
    #: One of `GROUP_KEY_KINDS`.
    key_kind: Mapped[str] = mapped_column(String(16))
    #: One of `DIRECTIONS`.
    direction: Mapped[str] = mapped_column(String(8))
    #: Onset of the earliest member event.
    ts_started: Mapped[int] = mapped_column(BigInteger)
    #: Onset of the latest member event.
    ts_ended: Mapped[int] = mapped_column(BigInteger)
    #: When the group last changed (an event joined, it closed or was merged).
    ts_updated: Mapped[int] = mapped_column(BigInteger)
    #: The highest severity of its events.
    severity: Mapped[int]
    event_count: Mapped[int]
    #: Distinct sources, targets and both together among its events' streams.
    source_count: Mapped[int]
    target_count: Mapped[int]
    endpoint_count: Mapped[int]
    #: One of `GROUP_STATUSES`.
    status: Mapped[str] = mapped_column(String(8))
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("event_groups.id", ondelete="SET NULL"), index=True
    )
    #: The ASNs the group points at, "64496 64500": its key's, and those pruning
    #: found common to all its events (migration 0010). Empty for endpoint keys.
    asns: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: The pruning rule that merged it (`nntsc.events.pruning.RULES`), if merged.
    merged_by: Mapped[str | None] = mapped_column(String(16))
    #: The change (a transaction of grouping or pruning) that last wrote the group
    #: (migration 0016): each such transaction takes the next number after the
    #: highest stored, under the groups' lock, so numbers are committed in order
    #: and "the groups with a number above N" is everything that changed since N.
    change_serial: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class EventGroupMember(Base):
    """That an event belongs to a group; an event is in one group per key it has."""

    __tablename__ = "event_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("event_groups.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EventRating(Base):
    """A user's judgement of an event or of a group: was it useful, and why (not).

    Exactly one of `event_id` and `group_id` is set; rating the same thing
    again replaces the rating (unique per user and thing).
    """

    __tablename__ = "event_ratings"
    __table_args__ = (
        UniqueConstraint("username", "event_id"),
        UniqueConstraint("username", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_groups.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    useful: Mapped[bool] = mapped_column(Boolean)
    #: A short reason code ("real-change", "noise", "duplicate", ...).
    reason: Mapped[str] = mapped_column(String(64), default="")
    #: Free text the user added.
    comment: Mapped[str] = mapped_column(String(1000), default="")
    created: Mapped[int] = mapped_column(BigInteger)


class EventFilter(Base):
    """A user's named, saved filter of the event dashboard."""

    __tablename__ = "event_filters"
    __table_args__ = (UniqueConstraint("username", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    #: The filter's settings as the dashboard sends them (collections, kinds, ASNs, ...).
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Whether the user wants notifications of groups matching it.
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)


class EventCheckpoint(Base):
    """The newest row of a stream that live detection has been through.

    Advanced in the transaction that stores the events those rows gave, so
    a process that stops (or crashes) resumes after the last row whose
    events are stored, and a process taking the stream over starts there.
    """

    __tablename__ = "event_checkpoints"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.stream_id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    last_timestamp: Mapped[int] = mapped_column(BigInteger)


class EventPartition(Base):
    """A share of the streams (stream_id modulo the partition count) and who detects on it.

    `nntsc events run` processes lease partitions: a lease is renewed while
    its owner runs and may be taken once it has expired, so several
    processes split the streams between them and a dead one's share moves on.
    """

    __tablename__ = "event_partitions"

    partition: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    #: Unix seconds when the lease runs out.
    expires: Mapped[int] = mapped_column(BigInteger, default=0)


class EventRunner(Base):
    """A running `nntsc events run` process, known to the others while its lease lasts.

    The partitions are shared among the runners listed here, including one
    that holds no partition yet.
    """

    __tablename__ = "event_runners"

    owner: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: Unix seconds when it counts as gone unless it renews.
    expires: Mapped[int] = mapped_column(BigInteger)


class EventCount(Base):
    """Counts of events (by kind and detector) and groups (by status), kept by triggers.

    Triggers on ``events`` and ``event_groups`` (migration ``0021``) add a
    row of changes in the transaction of every statement that inserts,
    updates or deletes them (a stream deleted with its events too), so the
    counts are exact whichever process wrote, and survive restarts. A
    count is the sum of its rows: on PostgreSQL each statement appends its
    own (concurrent writers never wait for one another), and
    `nntsc.events.metrics.compact_counts` folds them into one row a key;
    on SQLite (one writer) the triggers keep one row a key.
    """

    __tablename__ = "event_counts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    #: ``events`` or ``groups``.
    what: Mapped[str] = mapped_column(String(8))
    #: An event's kind, or a group's status.
    name: Mapped[str] = mapped_column(String(16))
    #: An event's detector ("" for groups).
    detector: Mapped[str] = mapped_column(String(32))
    #: A change of the count (or, folded, the count).
    n: Mapped[int] = mapped_column(BigInteger)
