"""Event groups in the database: the grouping sink and the pruning pass.

`group_new_events` is registered in `nntsc.events.sinks`: the detection
engine calls it with its session and the events it has just stored, and in
that same transaction each event joins (or opens) its groups
(`nntsc.events.grouping`), after which the groups near the new events are
judged again (`nntsc.events.pruning`). History detection and live detection
therefore leave pruned groups behind at once, and a grouping error rolls
the events back so that they are detected again.

A group's row keeps its base facts (key, direction, and its members in
``event_group_members``, which change only when an event joins two groups
of its key: the later one's move to the earlier, and the later stays,
merged into it, without members) and what the last judgement concluded (status,
``merged_into``, ``merged_by``, ``asns``, the span and counts of the events
it stands for, its own and those of the groups merged into it other than
as a superset). Each judgement starts again from the base facts, so the
conclusions depend only on which events are in which key's group: events
stored one at a time end as events stored together do.

`prune_recent` is the periodic pass (the Celery beat task of
`nntsc.events.tasks`, or the in-process timer of the embedded default): it
prunes the groups of the last two hours, which catches what concurrent
detection processes left and closes the groups that went quiet.

Grouping and pruning take a transaction-scoped advisory lock on PostgreSQL,
so that two processes never judge the same groups at once (one would merge
a group the other is adding an event to); SQLite has one writer at a time
anyway.
"""

from __future__ import annotations

import functools
import logging
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection as Collection_
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Select,
    TextClause,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from nntsc.collections import Collection, all_collections
from nntsc.collections import get as get_collection
from nntsc.errors import ConfigurationError
from nntsc.events import sinks
from nntsc.events.grouping import (
    MAX_DURATION,
    MERGED,
    OPEN,
    QUIET,
    SAME_KEY,
    SUPERSET,
    EventFacts,
    GroupState,
    group_events,
)
from nntsc.events.metrics import compact_counts
from nntsc.events.models import Event, EventGroup, EventGroupMember
from nntsc.events.pruning import prune_groups
from nntsc.events.sinks import NewEvent
from nntsc.store.sqlutil import ArrayRows, execute_rows, is_postgresql

__all__ = [
    "PRUNE_WINDOW",
    "AsPathLookup",
    "PruneReport",
    "family_cte",
    "family_parents",
    "follows_merge",
    "group_new_events",
    "next_change_serial",
    "prune_range",
    "prune_recent",
]

log = logging.getLogger(__name__)

#: The periodic pass prunes the groups active in this many seconds before now.
PRUNE_WINDOW = 2 * 3600
#: How far back (seconds) the latest traceroute of a pair before an event is searched for.
TRACEROUTE_LOOKBACK = 86400
#: Streams read at once by `AsPathLookup.prefetch` (two days of rows a minute each stay
#: under the raw-row limit of a read).
PREFETCH_STREAMS = 64
#: Sorts after any AS path id of the same timestamp (for bisecting (timestamp, id) rows).
_MAX_PATH_ID = 1 << 62
#: The advisory lock (PostgreSQL) that grouping and pruning hold for their transaction.
GROUPS_LOCK = 0x6E6E74736367  # "nntscg"


def _lock(session: Session) -> None:
    if _postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GROUPS_LOCK})


# -- the AS path of a pair --------------------------------------------------------------


def _traceroute_collections() -> list[Collection]:
    """Collections whose rows name an AS path of a source and destination (both traceroutes)."""
    return [
        c
        for c in all_collections()
        if "as_path_id" in c.field_names and {"source", "destination"} <= set(c.property_names)
    ]


class AsPathLookup:
    """The public ASNs on the AS path the latest traceroute of a pair took, at a time.

    The pair is the event's source and target, matched against the
    ``source`` and ``destination`` of every traceroute stream (and its
    ``family`` when the event's stream has one); the path is that of the
    newest row at or before the time, searched back at most a day
    (`TRACEROUTE_LOOKBACK`). `prefetch` reads the traceroute rows of many
    (pair, time) questions at once: one read per traceroute collection and
    day of the questions' times, instead of up to four reads a question.
    Answers are remembered for the lookup's life (one batch of events); the
    pairs' streams come from `StreamRegistry.pair_streams`, which keeps them
    across lookups while no traceroute stream is created (asked on
    `connection` if given).
    """

    def __init__(self, services: Any, connection: Connection | None = None) -> None:
        self.services = services
        self.connection = connection
        self._streams: dict[tuple[str, str, str], list[tuple[Collection, list[int]]]] = {}
        self._answers: dict[tuple[tuple[str, str, str], int], tuple[int, ...]] = {}
        self._paths: dict[int, tuple[int, ...]] = {}

    def _pair_streams(
        self, source: str, target: str, family: str
    ) -> list[tuple[Collection, list[int]]]:
        key = (source, target, family)
        if key not in self._streams:
            self._load_pairs([key])
        return self._streams[key]

    def _load_pairs(self, pairs: Iterable[tuple[str, str, str]]) -> None:
        """Find the traceroute streams of many pairs at once (`StreamRegistry.pair_streams`)."""
        wanted = sorted(set(pairs) - set(self._streams))
        if wanted:
            self._streams.update(
                self.services.streams.pair_streams(
                    _traceroute_collections(), wanted, self.connection
                )
            )

    def _public_asns(self, path_ids: Iterable[int]) -> None:
        wanted = sorted(set(path_ids) - set(self._paths))
        if not wanted:
            return
        for path_id, path in self.services.paths.as_paths(wanted).items():
            # 0 is an unknown AS, -1 a silent hop, -2 a private address: none is a
            # network to blame.
            self._paths[path_id] = tuple(dict.fromkeys(asn for asn, _ in path["path"] if asn > 0))

    def prefetch(self, questions: Iterable[tuple[str, str, str, int]]) -> None:
        """Answer many (source, target, family, time) questions with few reads."""
        pending: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        for source, target, family, at in questions:
            if source and target and ((source, target, family), at) not in self._answers:
                pending[(source, target, family)].add(at)
        if not pending:
            return
        lookback = TRACEROUTE_LOOKBACK
        self._load_pairs(pending)
        # Per collection, the streams of every pair asked about, and the times.
        asked: dict[str, tuple[Collection, set[int], set[int]]] = {}
        for pair, times in pending.items():
            for collection, stream_ids in self._pair_streams(*pair):
                entry = asked.setdefault(collection.name, (collection, set(), set()))
                entry[1].update(stream_ids)
                entry[2].update(times)
        # Per stream, its rows' (timestamp, as_path_id) in time order.
        seen: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for collection, wanted, times in asked.values():
            ordered = sorted(times)
            chunk_start = 0
            for index in range(1, len(ordered) + 1):
                # Read a day of questions at a time, so that memory stays bounded.
                if index < len(ordered) and ordered[index] - ordered[chunk_start] < lookback:
                    continue
                first, last = ordered[chunk_start], ordered[index - 1]
                ids = sorted(wanted)
                for offset in range(0, len(ids), PREFETCH_STREAMS):
                    for row in self.services.timeseries.raw(
                        collection,
                        ids[offset : offset + PREFETCH_STREAMS],
                        first - lookback,
                        last + 1,
                        fields=("as_path_id",),
                    ):
                        path_id = row.values.get("as_path_id")
                        if path_id is not None:
                            seen[row.stream_id].append((row.timestamp, int(path_id)))
                chunk_start = index
        for rows in seen.values():
            rows.sort()
        answers: dict[tuple[tuple[str, str, str], int], int | None] = {}
        for pair, times in pending.items():
            streams = [s for _, ids in self._pair_streams(*pair) for s in ids]
            for at in times:
                newest: tuple[int, int] | None = None
                for stream_id in streams:
                    rows = seen.get(stream_id, [])
                    index = bisect_right(rows, (at, _MAX_PATH_ID)) - 1
                    if (
                        index >= 0
                        and rows[index][0] >= at - lookback
                        and (newest is None or rows[index][0] > newest[0])
                    ):
                        newest = rows[index]
                answers[(pair, at)] = None if newest is None else newest[1]
        self._public_asns(path_id for path_id in answers.values() if path_id is not None)
        for question, path_id in answers.items():
            self._answers[question] = () if path_id is None else self._paths[path_id]

    def asns(self, source: str, target: str, family: str, at: int) -> tuple[int, ...]:
        """Public ASNs in path order (each once); empty when no traceroute of the pair is known."""
        if not source or not target:
            return ()
        answer = self._answers.get(((source, target, family), at))
        if answer is None:
            self.prefetch([(source, target, family, at)])
            answer = self._answers[((source, target, family), at)]
        return answer


# -- a group and the groups merged into it -------------------------------------------------
#
# A group stands for its own events and for those of the groups merged into it,
# and into those, and so on, except through a merge as a superset: a superset's
# events are in its subsets (other groups), not in the group it was merged into
# (`nntsc.events.pruning`). The same events pruning counts in `event_count`.


def follows_merge(child: Any) -> ColumnElement[bool]:
    """Whether the group `child` (``event_groups`` or an alias) stands in the group it was
    merged into: it was merged into one, and not as a superset."""
    return and_(child.c.merged_into.is_not(None), child.c.merged_by != SUPERSET)


def family_cte(
    seed: Select, *, upward: bool = False, name: str = "group_family", nesting: bool = False
) -> CTE:
    """A recursive CTE (one column, ``id``) of the groups `seed` selects and their families.

    `seed` selects group ids (one column, labelled ``id``). Downward (the
    default): the groups merged into them, and into those, and so on: the
    groups whose members are the events the seed's groups stand for. Upward
    (`upward`): the groups they were merged into, up the chain: the groups
    that stand for their events. Either way along `follows_merge`. `nesting`
    for a CTE inside a correlated subquery (`name` must then be unique in
    the statement).

    For use inside a larger statement. To read a family by itself, use
    `family_parents`: PostgreSQL cannot estimate how few groups a recursive
    CTE's levels hold, and may plan the statement around it as if they held
    every group (a scan of every event instead of a few index probes).
    """
    family = seed.cte(name, recursive=True, nesting=nesting)
    step = EventGroup.__table__.alias(f"{name}_step")
    if upward:
        # From a group to the one it was merged into.
        found = select(step.c.merged_into).where(step.c.id == family.c.id, follows_merge(step))
    else:
        # From a group to those merged into it.
        found = select(step.c.id).where(step.c.merged_into == family.c.id, follows_merge(step))
    return family.union(found)


def family_parents(connection: Connection, group_ids: Iterable[int]) -> dict[int, int | None]:
    """The groups of `group_ids` and every group merged into them, each with its parent.

    The families of `family_cte` (downward), read a level of merges at a
    time, one indexed query each (usually one or two levels): each group
    found below them maps to the group it was merged into, each of
    `group_ids` to None (unless it is merged into another of them).
    """
    groups = EventGroup.__table__
    parent: dict[int, int | None] = dict.fromkeys(group_ids)
    frontier = sorted(parent)
    while frontier:
        below: list[int] = []
        for chunk in _chunks(frontier):
            # Rows unpack as tuples; annotated so that mypy knows their types.
            found: Iterable[tuple[int, int]] = connection.execute(
                select(groups.c.id, groups.c.merged_into).where(
                    groups.c.merged_into.in_(chunk), follows_merge(groups)
                )
            )
            for group_id, into in found:
                # Each group's parent once (so no loop); one of `group_ids` merged
                # into another of them gets its parent too.
                if parent.get(group_id) is None:
                    parent[group_id] = into
                    below.append(group_id)
        frontier = sorted(below)
    return parent


# -- reading and writing groups ------------------------------------------------------------


def _chunks(values: Sequence[int], size: int = 1000) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def format_asns(asns: Iterable[int]) -> str:
    """The ``event_groups.asns`` text of a set of ASNs: "64496 64500"."""
    return " ".join(str(asn) for asn in sorted(asns))


def parse_asns(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in text.split())


#: The columns of a group that pruning concludes (compared to write only what changed).
CONCLUSIONS = (
    "status",
    "merged_into",
    "merged_by",
    "asns",
    "ts_started",
    "ts_ended",
    "severity",
    "event_count",
    "source_count",
    "target_count",
    "endpoint_count",
)


@dataclass
class _Stored:
    """The groups near some time, as their base facts, and what was concluded of them."""

    groups: dict[int, GroupState]
    concluded: dict[int, dict[str, Any]]
    #: (severity, source, target) of every event of those groups, for their counts.
    facts: dict[int, tuple[int, str, str]]


def _load(session: Session, start: int, end: int) -> _Stored:
    """Every group (merged too) whose span touches [start, end], as its base facts.

    A group's base is its key, direction and own members (`GroupState.base`),
    its span that of its members' onsets; also loaded are the groups beyond
    the range that share an event with one of them, so that judging a group
    near the edge sees every group its events are in, and the groups merged
    into one of them or that one was merged into, and the groups sharing an
    event with any of those, and so on (`_linked`). Two statements, and
    two more a level of merges or shared events beyond the range (usually
    one: a group's events lie in one slot): the groups, then their members
    with the facts of their events.
    """
    table = EventGroup.__table__
    members = EventGroupMember.__table__
    in_range = select(table.c.id).where(table.c.ts_ended >= start, table.c.ts_started <= end)
    # The groups in range and those sharing an event with one of them.
    held = select(members.c.event_id).where(members.c.group_id.in_(in_range))
    wanted = in_range.union(select(members.c.group_id).where(members.c.event_id.in_(held)))
    stored = _Stored({}, {}, {})
    _read_groups(session, stored, [table.c.id.in_(wanted)], [members.c.group_id.in_(wanted)])
    frontier = set(stored.groups)
    while frontier:
        # Judged without the groups merged into it, a group would count their
        # events no more while they still pointed at it (and the other way
        # round): a merge across the range's edge is judged on both sides.
        parents = {stored.concluded[g]["merged_into"] for g in frontier} - {None}
        known = set(stored.groups)
        found: set[int] = set()
        for chunk in _chunks(sorted(frontier)):
            # The groups merged into them, and those sharing an event with them
            # (pruning's rules over shared events reach that far: `_linked`).
            held = select(members.c.event_id).where(members.c.group_id.in_(chunk))
            found.update(
                session.scalars(
                    select(table.c.id)
                    .where(table.c.merged_into.in_(chunk))
                    .union(select(members.c.group_id).where(members.c.event_id.in_(held)))
                )
            )
        found = (found | parents) - known
        for chunk in _chunks(sorted(found)):
            _read_groups(session, stored, [table.c.id.in_(chunk)], [members.c.group_id.in_(chunk)])
        frontier = found
    return stored


def _read_groups(
    session: Session, stored: _Stored, which: list[Any], members_of: list[Any]
) -> None:
    """Add the groups `which` selects to `stored`, with their members (`members_of`)."""
    table = EventGroup.__table__
    members = EventGroupMember.__table__
    events = Event.__table__
    columns = (table.c.id, table.c.key, table.c.direction, *(table.c[c] for c in CONCLUSIONS))
    groups = stored.groups
    added: set[int] = set()
    for row in session.execute(select(*columns).where(*which)):
        if row.id in groups:
            continue
        groups[row.id] = GroupState(
            row.id, row.key, row.direction, row.ts_started, row.ts_ended, set()
        )
        stored.concluded[row.id] = {name: row._mapping[name] for name in CONCLUSIONS}
        added.add(row.id)
    # Rows unpack as tuples; annotated so that mypy knows their types.
    found: Iterable[tuple[int, int, int, int, str, str]] = session.execute(
        select(
            members.c.group_id,
            members.c.event_id,
            events.c.ts_onset,
            events.c.severity,
            events.c.source,
            events.c.target,
        )
        .join(events, events.c.id == members.c.event_id)
        .where(*members_of)
    )
    spans: dict[int, tuple[int, int]] = {}
    facts = stored.facts
    for group_id, event_id, onset, severity, source, target in found:
        if group_id not in added:  # a group made since the first statement read the groups
            continue
        groups[group_id].events.add(event_id)
        facts[event_id] = (severity, source, target)
        span = spans.get(group_id)
        spans[group_id] = (
            (onset, onset) if span is None else (min(span[0], onset), max(span[1], onset))
        )
    for group_id, (first, last) in spans.items():
        groups[group_id].start = first
        groups[group_id].end = last


def _linked(stored: _Stored, group_ids: set[int]) -> set[int]:
    """`group_ids` and, among `stored`, every group sharing an event or a merge with one of
    them, and so on.

    Judging a group that others were merged into must judge them too (and a
    group must be judged with the one it was merged into): else one would
    keep pointing at a group whose counts no longer include its events, or
    a group would count the events of one no longer merged into it. And the
    rules over shared events (identical, subset, superset) reach as far as
    events are shared: judged with only the groups sharing an event with
    it, not those sharing one with them, a group could be judged a superset
    where a pass over the whole range judged it not (events that arrived in
    another order left other groups: `bench/events_grouping.py
    --show-differences`). A group's events lie in one `slot`, so sharing
    events reaches no further than the slot, and merges beyond it.
    """
    holders: dict[int, list[int]] = defaultdict(list)
    below: dict[int, list[int]] = defaultdict(list)
    for group_id, group in stored.groups.items():
        for event_id in group.events:
            holders[event_id].append(group_id)
        into = stored.concluded[group_id]["merged_into"]
        if into is not None:
            below[into].append(group_id)
    linked = set(group_ids)
    frontier = list(linked)
    while frontier:
        group_id = frontier.pop()
        above = stored.concluded[group_id]["merged_into"]
        others = [*below.get(group_id, ()), *((above,) if above is not None else ())]
        for event_id in stored.groups[group_id].events:
            others.extend(holders[event_id])
        for other in others:
            if other in stored.groups and other not in linked:
                linked.add(other)
                frontier.append(other)
    return linked


def _counts(group: GroupState, facts: dict[int, tuple[int, str, str]]) -> dict[str, int]:
    """A group's event count, highest severity, distinct sources, targets and endpoints."""
    found = [facts[e] for e in group.events if e in facts]
    sources = {s for _, s, _ in found if s}
    targets = {t for _, _, t in found if t}
    return {
        "event_count": len(found),
        "severity": max((s for s, _, _ in found), default=0),
        "source_count": len(sources),
        "target_count": len(targets),
        "endpoint_count": len(sources | targets),
    }


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass did: groups judged, newly merged by each rule, rows updated."""

    groups: int
    merged: dict[str, int]
    updated: int

    @property
    def merged_total(self) -> int:
        return sum(self.merged.values())


def prune_range(session: Session, start: int, end: int, now: int | None = None) -> PruneReport:
    """Judge the groups whose span touches [start, end] afresh, in `session`'s transaction.

    Every group is judged from its base facts (`GroupState.base`), so the
    result depends only on which events are in which key's group, not on
    the order they came in or on what earlier passes concluded. Only the
    groups whose conclusions changed are written (with `ts_updated`), so a
    second pass over the same groups writes nothing.
    """
    now = int(time.time()) if now is None else now
    _lock(session)
    stored = _load(session, start, end)
    return _judge(session, stored, list(stored.groups.values()), now)


def _joined(group: GroupState) -> GroupState:
    """The group that holds the events joined away from `group` (`group_events`), at the end
    of the chain: a group opened in the same batch and joined in turn is never stored."""
    while group.joined_into is not None:
        group = group.joined_into
    return group


def _judge(
    session: Session,
    stored: _Stored,
    groups: Sequence[GroupState],
    now: int,
    new: Collection_[int] = frozenset(),
) -> PruneReport:
    """Prune `groups` (some of `stored`) from their base facts; write what changed.

    A group without events of its own (grouping joined them into an earlier
    group of its key) is not judged: it stays merged into that group, as
    grouping marked it when it joined them (written here, the first time).
    The groups of `new` (ids from `_new_group_ids`) are not stored yet: they
    are inserted with what was concluded of them.
    """
    judged = [group.base() for group in groups if group.events]
    prune_groups(judged, now)
    merged: dict[str, int] = defaultdict(int)
    changes: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    for group in groups:
        if group.events or group.joined_into is None:
            continue
        assert group.group_id is not None, "only stored groups are judged"
        merged[SAME_KEY] += 1
        changes.append(
            {
                "group_id": group.group_id,
                **stored.concluded[group.group_id],
                "status": MERGED,
                "merged_into": _joined(group).group_id,
                "merged_by": SAME_KEY,
                "asns": format_asns(group.asns),
                **_counts(group, stored.facts),
                "ts_updated": now,
            }
        )
    for group in judged:
        assert group.group_id is not None, "only groups with ids are judged"
        values = {
            "status": group.status,
            "merged_into": group.merged_into,
            "merged_by": group.merged_by,
            "asns": format_asns(group.asns),
            "ts_started": group.start,
            "ts_ended": group.end,
            **_counts(group, stored.facts),
        }
        if group.group_id in new:
            if group.status == MERGED:
                merged[group.merged_by or ""] += 1
            made.append(
                {
                    "id": group.group_id,
                    "key": group.key,
                    "key_kind": group.key_kind,
                    "direction": group.direction,
                    **values,
                    "ts_updated": now,
                }
            )
            continue
        before = stored.concluded[group.group_id]
        if values == before:
            continue
        if group.status == MERGED and (
            before["status"] != MERGED or before["merged_into"] != group.merged_into
        ):
            merged[group.merged_by or ""] += 1
        changes.append({"group_id": group.group_id, **values, "ts_updated": now})
    missing = set(new) - {row["id"] for row in made}
    assert not missing, f"new groups {sorted(missing)} were not judged"
    if changes or made:
        serial = next_change_serial(session)
        if made:
            _insert_groups(session, [{**row, "change_serial": serial} for row in made])
        if changes:
            _update_groups(session, [{**c, "change_serial": serial} for c in changes])
    return PruneReport(len(judged), dict(merged), len(changes) + len(made))


#: The PostgreSQL type of each column of ``event_groups`` that grouping writes
#: (and of ``event_group_members``), for their rows as arrays (`_group_writes`).
_PG_TYPES = {
    "id": "integer",
    "group_id": "integer",
    "key": "text",
    "key_kind": "text",
    "direction": "text",
    "status": "text",
    "merged_into": "integer",
    "merged_by": "text",
    "asns": "text",
    "ts_started": "bigint",
    "ts_ended": "bigint",
    "ts_updated": "bigint",
    "severity": "integer",
    "event_count": "integer",
    "source_count": "integer",
    "target_count": "integer",
    "endpoint_count": "integer",
    "change_serial": "bigint",
    "event_id": "integer",
}


@functools.cache
def _group_writes(kind: str, names: tuple[str, ...]) -> tuple[TextClause, ArrayRows]:
    """The PostgreSQL statement writing rows of the columns `names` as arrays: ``insert``
    new groups, ``update`` stored ones (``group_id`` names each), insert ``members``."""
    rows = ArrayRows({name: _PG_TYPES[name] for name in names})
    columns = ", ".join(rows.names)
    if kind == "insert":
        sql = f"INSERT INTO event_groups ({columns}) SELECT {columns} FROM {rows.source}"
    elif kind == "update":
        assignments = ", ".join(f"{name} = v.{name}" for name in names if name != "group_id")
        sql = (
            f"UPDATE event_groups SET {assignments} FROM {rows.source} "
            "WHERE event_groups.id = v.group_id"
        )
    else:
        sql = f"INSERT INTO event_group_members ({columns}) SELECT {columns} FROM {rows.source}"
    return text(sql), rows


def _postgresql(session: Session) -> bool:
    return is_postgresql(session)


def _insert_groups(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new groups' rows (each with its id), in one statement on PostgreSQL.

    On PostgreSQL the rows go as one array per column (SQLAlchemy renders
    and binds an executemany INSERT row by row: `bench/events.py`'s new
    groups took 20 ms of this process's CPU that way, 9 ms as arrays).
    Elsewhere a new group merged into another new one is inserted after it,
    so that the foreign key holds at every statement of the executemany.
    """
    execute_rows(
        session,
        _parents_first(rows),
        _group_writes("insert", tuple(rows[0])),
        insert(EventGroup.__table__),
    )


def _update_groups(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Write the conclusions of stored groups (``group_id`` names each): one statement on
    PostgreSQL (rows as arrays), an executemany UPDATE by primary key elsewhere."""
    table = EventGroup.__table__
    execute_rows(
        session,
        rows,
        _group_writes("update", tuple(rows[0])),
        update(table).where(table.c.id == bindparam("group_id")),
    )


def _insert_members(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``event_group_members`` rows: one statement on PostgreSQL (rows as arrays)."""
    execute_rows(
        session,
        rows,
        _group_writes("members", ("group_id", "event_id")),
        insert(EventGroupMember.__table__),
    )


def _parents_first(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """New groups' rows ordered so that each comes after the new group it is merged into."""
    into = {row["id"]: row["merged_into"] for row in rows}
    depth: dict[int, int] = {}
    for group_id in into:
        chain: list[int] = []
        while group_id in into and group_id not in depth and group_id not in chain:
            chain.append(group_id)
            group_id = into[group_id]
        below = depth.get(group_id, -1)
        for member in reversed(chain):
            below += 1
            depth[member] = below
    return sorted(rows, key=lambda row: (depth[row["id"]], row["id"]))


def _new_group_ids(session: Session, count: int) -> list[int]:
    """Ids for `count` new groups, ascending (as inserting them in order gave them).

    PostgreSQL: taken from the table's sequence. SQLite: one above the
    highest; the transaction already holds the database's write lock (it
    stored the events being grouped), so no other writer takes them first.
    """
    if not count:
        return []
    if _postgresql(session):
        ids = session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('event_groups', 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"count": count},
        ).all()
        return sorted(int(i) for i in ids)
    highest = session.execute(select(func.max(EventGroup.__table__.c.id))).scalar()
    first = int(highest or 0) + 1
    return list(range(first, first + count))


def next_change_serial(session: Session) -> int:
    """The number of this transaction's change to groups: one above the highest stored.

    Called under the groups' lock (`_lock`; SQLite has one writer at a time),
    which is held until commit, so the numbers are committed in the order
    they are taken: a reader that has seen change N and asks for the groups
    above N misses nothing (`ampy.events.EventReader.group_changes`). The
    index on ``change_serial`` makes the max one index probe.
    """
    table = EventGroup.__table__
    highest = session.execute(select(func.max(table.c.change_serial))).scalar()
    return int(highest or 0) + 1


def prune_recent(services: Any, now: int | None = None, window: int = PRUNE_WINDOW) -> PruneReport:
    """The periodic pass: prune the groups active in the last `window` seconds, and commit."""
    now = int(time.time()) if now is None else now
    with services.sessionmaker.begin() as session:
        report = prune_range(session, now - window, now, now)
    # The counts' rows that the minute's transactions appended, folded (no lock needed).
    with services.engine.begin() as connection:
        compact_counts(connection)
    if report.merged_total or report.updated:
        log.info(
            "event groups: %d judged, %d newly merged (%s), %d updated",
            report.groups,
            report.merged_total,
            ", ".join(f"{rule} {count}" for rule, count in sorted(report.merged.items())),
            report.updated,
        )
    return report


# -- the sink ----------------------------------------------------------------------------------


def _families(services: Any, events: Sequence[Any]) -> dict[int, str]:
    """The ``family`` property (or "") of each event's stream: one query per collection."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        wanted[event.collection].add(event.stream_id)
    families: dict[int, str] = {}
    for name, stream_ids in wanted.items():
        collection = get_collection(name)
        if "family" not in collection.property_names:
            families.update(dict.fromkeys(stream_ids, ""))
            continue
        found = services.streams.properties_of(collection, sorted(stream_ids))
        for stream_id in stream_ids:
            families[stream_id] = found.get(stream_id, {}).get("family", "")
    return families


def group_stored_events(
    session: Session, services: Any, events: Sequence[Any], now: int | None = None
) -> tuple[int, int]:
    """Put `events` in their keys' groups and judge the groups around them; (opened, joined).

    `events` are the new events' columns (`nntsc.events.sinks.NewEvent`, or
    `Event` rows: anything with their attributes). The groups near them are
    read once: placing the events needs those within `QUIET` and
    `MAX_DURATION` of them, judging them again those within `MAX_DURATION`
    (and the groups sharing an event with those).
    """
    if not events:
        return 0, 0
    now = int(time.time()) if now is None else now
    lookup = AsPathLookup(services, session.connection())
    families = _families(services, events)
    questions = [
        (event.source, event.target, families[event.stream_id], event.ts_onset) for event in events
    ]
    lookup.prefetch(questions)
    facts = [
        EventFacts(
            event.id,
            event.ts_onset,
            event.direction,
            event.severity,
            event.kind,
            event.source,
            event.target,
            lookup.asns(*question),
        )
        for event, question in zip(events, questions, strict=True)
    ]
    _lock(session)
    start = min(f.onset for f in facts)
    end = max(f.onset for f in facts)
    # What placing them needs ([start - QUIET - MAX_DURATION, end + QUIET]) and
    # what judging them needs ([start - MAX_DURATION, end + MAX_DURATION]), at once.
    low, high = start - MAX_DURATION, end + MAX_DURATION
    stored = _load(session, low - QUIET, high)
    before: dict[int | None, set[int]] = {
        group_id: set(g.events) for group_id, g in stored.groups.items()
    }
    touched, opened = group_events(facts, list(stored.groups.values()))
    # The new groups get their ids first and are inserted once, with what
    # pruning concludes of them (`_judge`), instead of inserted and updated.
    # Until judged, what is concluded of them is what a new group's row held.
    for group, group_id in zip(opened, _new_group_ids(session, len(opened)), strict=True):
        group.group_id = group_id
        stored.groups[group_id] = group
        stored.concluded[group_id] = {
            **dict.fromkeys(CONCLUSIONS, 0),
            "status": OPEN,
            "merged_into": None,
            "merged_by": None,
            "asns": "",
            "ts_started": group.start,
            "ts_ended": group.end,
        }
    members = EventGroupMember.__table__
    # A group whose events were joined into an earlier one of its key gives
    # them up; the earlier one gains them with the new events.
    emptied = [group.group_id for group in touched if group.joined_into is not None]
    if emptied:
        session.execute(delete(members).where(members.c.group_id.in_(emptied)))
    new_members = [
        {"group_id": group.group_id, "event_id": event_id}
        for group in (*touched, *opened)
        for event_id in sorted(group.events - before.get(group.group_id or 0, set()))
    ]
    for fact in facts:
        stored.facts[fact.event_id] = (fact.severity, fact.source, fact.target)
    # The groups these events could change the judgement of: any that shares
    # their time (a group spans at most MAX_DURATION), as stored, and those
    # sharing an event with one of them: what `prune_range` would read.
    new = {group.group_id for group in opened if group.group_id is not None}
    near = {
        group_id
        for group_id, concluded in stored.concluded.items()
        if concluded["ts_ended"] >= low and concluded["ts_started"] <= high
    }
    judged = set(near)
    # A group that gave its members up in a join is written merged.
    judged.update(group.group_id for group in touched if group.group_id is not None)
    judged = _linked(stored, judged)
    _judge(session, stored, [stored.groups[g] for g in sorted(judged)], now, new)
    if new_members:
        # After the new groups' rows, which they reference.
        _insert_members(session, new_members)
    return len(opened), len(touched)


def group_new_events(session: Session, events: Sequence[NewEvent]) -> None:
    """The sink: group the new `events` in the transaction that stores them.

    The session must come from `Services.sessionmaker`, which names its
    services in ``session.info["services"]``: grouping reads the traceroute
    paths of the events' pairs from the configured stores.
    """
    services = session.info.get("services")
    if services is None:
        raise ConfigurationError(
            "event grouping needs a session made by Services.sessionmaker (session.info has no "
            "'services')"
        )
    group_stored_events(session, services, events)


sinks.register(group_new_events)
