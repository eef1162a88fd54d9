"""Event groups in the database: the grouping sink and the pruning pass.

`group_new_events` is registered in `nntsc.events.sinks`: the detection
engine calls it with its session and the events it has just stored, and in
that same transaction each event joins (or opens) its groups
(`nntsc.events.grouping`), after which the groups near the new events are
pruned (`nntsc.events.pruning`). History detection and live detection
therefore leave pruned groups behind at once, and a grouping error rolls
the events back so that they are detected again.

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

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from nntsc.collections import Collection, all_collections
from nntsc.errors import ConfigurationError
from nntsc.events import sinks
from nntsc.events.grouping import (
    MAX_DURATION,
    MERGED,
    QUIET,
    EventFacts,
    GroupState,
    group_events,
)
from nntsc.events.models import Event, EventGroup, EventGroupMember
from nntsc.events.pruning import PruneResult, prune_groups, refresh_status

__all__ = [
    "PRUNE_WINDOW",
    "AsPathLookup",
    "PruneReport",
    "group_new_events",
    "prune_range",
    "prune_recent",
]

log = logging.getLogger(__name__)

#: The periodic pass prunes the groups active in this many seconds before now.
PRUNE_WINDOW = 2 * 3600
#: Windows searched, smallest first, for the latest traceroute of a pair before an event.
TRACEROUTE_LOOKBACK = (3600, 86400)
#: The advisory lock (PostgreSQL) that grouping and pruning hold for their transaction.
GROUPS_LOCK = 0x6E6E74736367  # "nntscg"


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
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
    newest row at or before the time, searched back at most a day. Answers
    are remembered for the lookup's life (one batch of events).
    """

    def __init__(self, services: Any) -> None:
        self.services = services
        self._streams: dict[tuple[str, str, str], list[tuple[Collection, list[int]]]] = {}
        self._answers: dict[tuple[tuple[str, str, str], int], tuple[int, ...]] = {}

    def _pair_streams(
        self, source: str, target: str, family: str
    ) -> list[tuple[Collection, list[int]]]:
        key = (source, target, family)
        if key not in self._streams:
            found = []
            for collection in _traceroute_collections():
                filters = {"source": source, "destination": target}
                if family and "family" in collection.property_names:
                    filters["family"] = family
                page = self.services.streams.find(collection, filters, 1, 1000)
                if page.items:
                    found.append((collection, [s.stream_id for s in page.items]))
            self._streams[key] = found
        return self._streams[key]

    def asns(self, source: str, target: str, family: str, at: int) -> tuple[int, ...]:
        """Public ASNs in path order (each once); empty when no traceroute of the pair is known."""
        if not source or not target:
            return ()
        key = (source, target, family)
        answer = self._answers.get((key, at))
        if answer is not None:
            return answer
        newest: tuple[int, int] | None = None
        for collection, stream_ids in self._pair_streams(source, target, family):
            for window in TRACEROUTE_LOOKBACK:
                rows = self.services.timeseries.raw(collection, stream_ids, at - window, at + 1)
                rows = [r for r in rows if r.values.get("as_path_id") is not None]
                if rows:
                    row = max(rows, key=lambda r: r.timestamp)
                    if newest is None or row.timestamp > newest[0]:
                        newest = (row.timestamp, int(row.values["as_path_id"]))
                    break
        asns: tuple[int, ...] = ()
        if newest is not None:
            path = self.services.paths.as_path(newest[1])["path"]
            # 0 is an unknown AS, -1 a silent hop, -2 a private address: none is a network to blame.
            asns = tuple(dict.fromkeys(asn for asn, _ in path if asn > 0))
        self._answers[(key, at)] = asns
        return asns


# -- reading and writing groups ------------------------------------------------------------


def _chunks(values: Sequence[int], size: int = 1000) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def format_asns(asns: Iterable[int]) -> str:
    """The ``event_groups.asns`` text of a set of ASNs: "64496 64500"."""
    return " ".join(str(asn) for asn in sorted(asns))


def parse_asns(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in text.split())


def _load_groups(session: Session, start: int, end: int, merged: bool = False) -> list[GroupState]:
    """The live groups whose span touches [start, end], with their member events.

    Also the live groups beyond the range that share an event with one of
    them, so that judging a group near the edge sees every group its events
    are in; with `merged`, the merged groups in the range as well, and the
    groups they were merged into (grouping follows them).
    """
    table = EventGroup.__table__
    members = EventGroupMember.__table__
    columns = (
        table.c.id,
        table.c.key,
        table.c.direction,
        table.c.ts_started,
        table.c.ts_ended,
        table.c.status,
        table.c.merged_into,
        table.c.merged_by,
        table.c.asns,
    )
    groups: dict[int, GroupState] = {}

    def add(rows: Iterable[Any]) -> list[int]:
        ids = []
        for row in rows:
            if row.id in groups:
                continue
            groups[row.id] = GroupState(
                row.id,
                row.key,
                row.direction,
                row.ts_started,
                row.ts_ended,
                set(),
                row.status,
                row.merged_into,
                row.merged_by,
                parse_asns(row.asns),
            )
            ids.append(row.id)
        for chunk in _chunks(ids):
            for group_id, event_id in session.execute(
                select(members.c.group_id, members.c.event_id).where(members.c.group_id.in_(chunk))
            ):
                groups[group_id].events.add(event_id)
        return ids

    in_range = [table.c.ts_ended >= start, table.c.ts_started <= end]
    if not merged:
        in_range.append(table.c.status != MERGED)
    add(session.execute(select(*columns).where(*in_range)))
    if merged:
        # The winners of merged groups, and theirs in turn (a chain is short).
        wanted = {g.merged_into for g in groups.values() if g.merged_into is not None}
        while wanted - set(groups):
            chunk = sorted(wanted - set(groups))[:1000]
            if not add(session.execute(select(*columns).where(table.c.id.in_(chunk)))):
                break
            wanted = {g.merged_into for g in groups.values() if g.merged_into is not None}
        return sorted(groups.values(), key=lambda g: g.group_id or 0)
    events = sorted({e for g in groups.values() for e in g.events})
    beyond: set[int] = set()
    for chunk in _chunks(events):
        beyond.update(
            session.scalars(
                select(members.c.group_id).where(members.c.event_id.in_(chunk)).distinct()
            )
        )
    beyond -= set(groups)
    for chunk in _chunks(sorted(beyond)):
        add(
            session.execute(select(*columns).where(table.c.id.in_(chunk), table.c.status != MERGED))
        )
    return sorted(groups.values(), key=lambda g: g.group_id or 0)


def _aggregates(session: Session, group_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per group: event count, highest severity, distinct sources, targets and endpoints."""
    members = EventGroupMember.__table__
    events = Event.__table__
    facts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for chunk in _chunks(group_ids):
        rows = session.execute(
            select(members.c.group_id, events.c.severity, events.c.source, events.c.target)
            .join(events, events.c.id == members.c.event_id)
            .where(members.c.group_id.in_(chunk))
        )
        for group_id, severity, source, target in rows:
            facts[group_id].append((severity, source, target))
    result = {}
    for group_id in group_ids:
        found = facts.get(group_id, [])
        sources = {s for _, s, _ in found if s}
        targets = {t for _, _, t in found if t}
        result[group_id] = {
            "event_count": len(found),
            "severity": max((s for s, _, _ in found), default=0),
            "source_count": len(sources),
            "target_count": len(targets),
            "endpoint_count": len(sources | targets),
        }
    return result


def _save(
    session: Session,
    groups: Iterable[GroupState],
    before: Mapping[int, set[int]],
    now: int,
) -> None:
    """Write new and changed groups: their rows, new members and counts."""
    table = EventGroup.__table__
    members = EventGroupMember.__table__
    saved: list[GroupState] = []
    new_members: list[dict[str, int]] = []
    for group in groups:
        values = {
            "key": group.key,
            "key_kind": group.key_kind,
            "direction": group.direction,
            "ts_started": group.start,
            "ts_ended": group.end,
            "ts_updated": now,
            "status": group.status,
            "asns": format_asns(group.asns),
        }
        if group.group_id is None:
            group.group_id = session.execute(
                insert(table)
                .values(
                    **values,
                    severity=0,
                    event_count=0,
                    source_count=0,
                    target_count=0,
                    endpoint_count=0,
                    merged_into=None,
                )
                .returning(table.c.id)
            ).scalar_one()
        else:
            session.execute(update(table).where(table.c.id == group.group_id).values(**values))
        added = group.events - before.get(group.group_id, set())
        new_members.extend({"group_id": group.group_id, "event_id": e} for e in sorted(added))
        saved.append(group)
    if new_members:
        session.execute(insert(members), new_members)
    counts = _aggregates(session, [g.group_id for g in saved if g.group_id is not None])
    for group_id, values in counts.items():
        session.execute(update(table).where(table.c.id == group_id).values(**values))


def _apply(session: Session, result: PruneResult, before: Mapping[int, set[int]], now: int) -> None:
    table = EventGroup.__table__
    for merge in result.merges:
        session.execute(
            update(table)
            .where(table.c.id == merge.loser.group_id)
            .values(
                status=MERGED,
                merged_into=merge.winner.group_id,
                merged_by=merge.rule,
                ts_updated=now,
            )
        )
    _save(session, result.changed, before, now)


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass did: groups looked at, merged by each rule, and updated."""

    groups: int
    merged: dict[str, int]
    updated: int

    @property
    def merged_total(self) -> int:
        return sum(self.merged.values())


def prune_range(session: Session, start: int, end: int, now: int | None = None) -> PruneReport:
    """Prune the live groups whose span touches [start, end], in `session`'s transaction."""
    now = int(time.time()) if now is None else now
    _lock(session)
    groups = _load_groups(session, start, end)
    before = {g.group_id: set(g.events) for g in groups if g.group_id is not None}
    result = prune_groups(groups, now)
    _apply(session, result, before, now)
    merged: dict[str, int] = defaultdict(int)
    for merge in result.merges:
        merged[merge.rule] += 1
    return PruneReport(len(groups), dict(merged), len(result.changed))


def prune_recent(services: Any, now: int | None = None, window: int = PRUNE_WINDOW) -> PruneReport:
    """The periodic pass: prune the groups active in the last `window` seconds, and commit."""
    now = int(time.time()) if now is None else now
    with services.sessionmaker.begin() as session:
        report = prune_range(session, now - window, now, now)
    if report.merged_total or report.updated:
        log.info(
            "event groups: %d looked at, %d merged (%s), %d updated",
            report.groups,
            report.merged_total,
            ", ".join(f"{rule} {count}" for rule, count in sorted(report.merged.items())),
            report.updated,
        )
    return report


# -- the sink ----------------------------------------------------------------------------------


def _family(services: Any, stream_id: int, cache: dict[int, str]) -> str:
    if stream_id not in cache:
        cache[stream_id] = services.streams.get(stream_id).properties.get("family", "")
    return cache[stream_id]


def group_stored_events(
    session: Session, services: Any, events: Sequence[Event], now: int | None = None
) -> tuple[int, int]:
    """Put `events` in their groups and prune the groups around them; (groups opened, joined)."""
    if not events:
        return 0, 0
    now = int(time.time()) if now is None else now
    lookup = AsPathLookup(services)
    families: dict[int, str] = {}
    facts = [
        EventFacts(
            event.id,
            event.ts_onset,
            event.direction,
            event.severity,
            event.kind,
            event.source,
            event.target,
            lookup.asns(
                event.source,
                event.target,
                _family(services, event.stream_id, families),
                event.ts_onset,
            ),
        )
        for event in events
    ]
    _lock(session)
    start = min(f.onset for f in facts)
    end = max(f.onset for f in facts)
    groups = _load_groups(session, start - QUIET - MAX_DURATION, end + QUIET, merged=True)
    before = {g.group_id: set(g.events) for g in groups if g.group_id is not None}
    touched, opened = group_events(facts, groups)
    for group in (*touched, *opened):
        refresh_status(group, now)
    _save(session, [*touched, *opened], before, now)
    # The groups these events could have made redundant: any that shares
    # their time (a group spans at most MAX_DURATION).
    prune_range(session, start - MAX_DURATION, end + MAX_DURATION, now)
    return len(opened), len(touched)


def group_new_events(session: Session, events: Sequence[Event]) -> None:
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
