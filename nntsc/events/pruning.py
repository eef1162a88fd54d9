"""Pruning redundant event groups: the rules of `docs/events.md`, applied in place.

Online grouping (`nntsc.events.grouping`) puts every event in one group per
key, so one incident leaves many groups behind: the same events under the
source, the target and every ASN of the path. Pruning keeps the groups that
explain the events best and marks each other one ``merged`` into the group
that took its place (`GroupState.merged_into`); nothing is deleted, so a
link to a merged group still leads somewhere. The rules, in the order they
are tried:

1. **identical**: groups of one direction with the same events are one
   group: an ASN group if one of them is (pointing at the ASNs of all of
   them), else the source group, else the target group.
2. **same key**: groups of one key (or pointing at the same ASNs) and
   direction whose spans touch (within `QUIET`) are one group, if it stays
   within `MAX_DURATION`. Concurrent grouping processes, and history
   detection that meets events out of order, can open two.
3. **twins**: a group of events without a direction (path and mode
   changes) joins a concurrent group of the same key that has one: the
   path change and the latency rise it caused are one incident. netevmon
   put such events in an ``incr`` and a ``decr`` group and purged the twin
   later; here they start in a ``none`` group and end with the rise or fall.
4. **subset**: when the groups whose events are a strict subset of a
   group's events cover every event that it shares with other groups, they
   merge into it (they add nothing to the picture); an ASN group also
   points at the ASNs all of them have in common.
5. **superset**: a group all of whose events are also in other groups, none
   of which holds all of its events, is merged into the one sharing most of
   them (which does not take its events: they are elsewhere already): two
   separate problems that happen to share a third party do not
   make the third party their cause.
6. **common ASN**: two concurrent ASN groups of one direction without common
   events, where one's ASNs are a strict subset of the other's, merge under
   the smaller set: given AS2, AS1+AS2 and AS1+AS2+AS3 at once, AS2 is the
   likely cause.

The rules are applied until none applies any more, so the live groups that
come out satisfy none of them, and pruning them again changes nothing.
Every merge removes one live group, so it ends after at most as many
merges as there are groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from nntsc.events.grouping import (
    ASN,
    CLOSED,
    KEY_KIND_RANK,
    MAX_DURATION,
    MERGED,
    NO_DIRECTION,
    OPEN,
    QUIET,
    SUPERSET,
    GroupState,
)

__all__ = ["MAX_ASNS", "RULES", "Merge", "PruneResult", "prune_groups"]

#: The most ASNs a group may point at (they must fit `event_groups.asns`).
MAX_ASNS = 30

IDENTICAL = "identical"
SAME_KEY = "same_key"
TWIN = "twin"
SUBSET = "subset"
COMMON_ASN = "common_asn"
#: The rules in the order they are tried.
RULES = (IDENTICAL, SAME_KEY, TWIN, SUBSET, SUPERSET, COMMON_ASN)


@dataclass(frozen=True)
class Merge:
    """That `loser` was merged into `winner` by `rule`."""

    loser: GroupState
    winner: GroupState
    rule: str


@dataclass(frozen=True)
class PruneResult:
    """The merges made, in order, and every live group whose key, span, events or status changed."""

    merges: list[Merge]
    changed: list[GroupState]


def _near(a: GroupState, b: GroupState) -> bool:
    """Whether the spans of `a` and `b` overlap or are at most `QUIET` apart."""
    return a.start - QUIET <= b.end and b.start - QUIET <= a.end


def _fits(a: GroupState, b: GroupState) -> bool:
    return max(a.end, b.end) - min(a.start, b.start) <= MAX_DURATION


def _label(group: GroupState) -> object:
    """What a group blames: its ASNs for an ASN group, else its key."""
    return group.asns if group.key_kind == ASN else group.key


def _by_id(group: GroupState) -> int:
    return group.group_id if group.group_id is not None else -1


def _by_facts(group: GroupState) -> tuple[int, int, int, tuple[int, ...], str, str, int]:
    """A group's place among the groups judged, by its own facts: its span, key and direction.

    Not its id: ids follow the order groups were opened in, which follows
    the order the events came in. The groups of one key and direction that
    grouping makes are disjoint in time, so no two have the same place.
    """
    kind, asns, endpoint = group.parsed_key
    return (
        group.start,
        group.end,
        KEY_KIND_RANK.get(kind, 9),
        tuple(sorted(asns)),
        endpoint,
        group.direction,
        _by_id(group),
    )


class _Pruner:
    def __init__(self, groups: Iterable[GroupState]) -> None:
        self.live = sorted((g for g in groups if g.live), key=_by_facts)
        #: Each live group's place, by its facts as given: every choice between
        #: groups below falls to the first in this order, so the groups left
        #: depend on the groups' facts only.
        self.rank: dict[int, int] = {id(g): place for place, g in enumerate(self.live)}
        self.merges: list[Merge] = []
        self.changed: dict[int, GroupState] = {}
        #: Each group's events as a frozenset, when last made (`identical`).
        self.frozen: dict[int, frozenset[int]] = {}

    # -- bookkeeping -------------------------------------------------------------

    def merge(self, loser: GroupState, winner: GroupState, rule: str, absorb: bool = True) -> None:
        """Mark `loser` merged into `winner`, which takes its events and span if `absorb`."""
        if absorb:
            winner.events |= loser.events
            winner.start = min(winner.start, loser.start)
            winner.end = max(winner.end, loser.end)
        loser.status = MERGED
        loser.merged_into = winner.group_id
        loser.merged_by = rule
        self.merges.append(Merge(loser, winner, rule))
        self.changed[id(winner)] = winner
        self.changed.pop(id(loser), None)

    def widen(self, group: GroupState, asns: Iterable[int]) -> None:
        wider = group.asns | frozenset(asns)
        if wider != group.asns and len(wider) <= MAX_ASNS:
            group.asns = wider
            self.changed[id(group)] = group

    def current(self) -> list[GroupState]:
        self.live = [g for g in self.live if g.status != MERGED]
        return self.live

    def holders(self) -> dict[int, list[GroupState]]:
        """Event id -> the live groups that hold it."""
        index: dict[int, list[GroupState]] = defaultdict(list)
        for group in self.current():
            for event in group.events:
                index[event].append(group)
        return index

    def place(self, group: GroupState) -> int:
        return self.rank[id(group)]

    def neighbours(self, group: GroupState, index: dict[int, list[GroupState]]) -> list[GroupState]:
        """The live groups other than `group` that share an event with it, by id."""
        return sorted(self._neighbours(group, index), key=self.place)

    @staticmethod
    def _neighbours(group: GroupState, index: dict[int, list[GroupState]]) -> list[GroupState]:
        """`neighbours` in the order found (sorting a few of them is cheaper)."""
        found: dict[int, GroupState] = {}
        for event in group.events:
            for other in index[event]:
                if other is not group and other.status != MERGED:
                    found[id(other)] = other
        return list(found.values())

    # -- the rules, each one pass over the live groups; whether it merged any ------

    def identical(self) -> bool:
        buckets: dict[tuple[str, frozenset[int]], list[GroupState]] = defaultdict(list)
        frozen = self.frozen
        for group in self.current():
            if group.events:
                # A group's events only grow: as many as when frozen, the same.
                known = frozen.get(id(group))
                if known is None or len(known) != len(group.events):
                    known = frozen[id(group)] = frozenset(group.events)
                buckets[(group.direction, known)].append(group)
        merged = False
        for same in buckets.values():
            if len(same) < 2:
                continue
            winner = min(same, key=lambda g: (KEY_KIND_RANK.get(g.key_kind, 9), self.place(g)))
            if winner.key_kind == ASN:
                self.widen(winner, {asn for g in same if g.key_kind == ASN for asn in g.asns})
            for loser in same:
                if loser is not winner:
                    self.merge(loser, winner, IDENTICAL)
                    merged = True
        return merged

    def same_key(self) -> bool:
        buckets: dict[tuple[object, str], list[GroupState]] = defaultdict(list)
        for group in self.current():
            buckets[(_label(group), group.direction)].append(group)
        merged = False
        for same in buckets.values():
            same.sort(key=lambda g: (g.start, self.place(g)))
            current = same[0]
            for group in same[1:]:
                if _near(current, group) and _fits(current, group):
                    winner, loser = sorted((current, group), key=self.place)
                    self.merge(loser, winner, SAME_KEY)
                    current = winner
                    merged = True
                else:
                    current = group
        return merged

    def twins(self) -> bool:
        merged = False
        for twin in self.current():
            if twin.direction != NO_DIRECTION or not twin.live:
                continue
            partners = [
                g
                for g in self.live
                if g.live
                and g.direction != NO_DIRECTION
                and _label(g) == _label(twin)
                and _near(g, twin)
                and _fits(g, twin)
            ]
            if partners:
                winner = min(partners, key=lambda g: (-len(g.events & twin.events), self.place(g)))
                self.merge(twin, winner, TWIN)
                merged = True
        return merged

    def subsets(self) -> bool:
        index = self.holders()
        merged = False
        for group in sorted(self.current(), key=lambda g: (-len(g.events), self.place(g))):
            if group.status == MERGED:
                continue
            events = group.events
            subsets = [g for g in self._neighbours(group, index) if g.events < events]
            if not subsets:
                continue
            # Filtered, then sorted: the order `neighbours` gives.
            subsets.sort(key=self.place)
            shared = {
                e for e in events if any(g is not group and g.status != MERGED for g in index[e])
            }
            covered = set().union(*(g.events for g in subsets))
            if covered != shared:
                continue
            if (
                group.key_kind == ASN
                and len(subsets) > 1
                and all(g.key_kind == ASN for g in subsets)
            ):
                self.widen(group, frozenset.intersection(*(g.asns for g in subsets)))
            for subset in subsets:
                self.merge(subset, group, SUBSET)
            merged = True
        return merged

    def supersets(self) -> bool:
        # One merge per pass: the winner takes the loser's events, which can
        # make it a superset of a group judged next, and only a fresh index
        # of who holds what would show that.
        index = self.holders()
        for group in sorted(self.current(), key=lambda g: (-len(g.events), self.place(g))):
            if not group.live or not group.events:
                continue
            others = self.neighbours(group, index)
            if any(g.events >= group.events for g in others):
                continue
            if any(not any(g is not group and g.live for g in index[e]) for e in group.events):
                continue
            winner = min(others, key=lambda g: (-len(g.events & group.events), self.place(g)))
            # The loser's events stay in the groups that cover them: the
            # winner is where a link to the loser leads, not their new home.
            self.merge(group, winner, SUPERSET, absorb=False)
            return True
        return False

    def common_asns(self) -> bool:
        merged = False
        groups = sorted(
            (g for g in self.current() if g.key_kind == ASN),
            key=lambda g: (len(g.asns), self.place(g)),
        )
        for small in groups:
            if not small.live:
                continue
            for large in groups:
                if (
                    large.live
                    and large is not small
                    and large.direction == small.direction
                    and small.asns < large.asns
                    and not small.events & large.events
                    and _near(small, large)
                    and _fits(small, large)
                ):
                    self.merge(large, small, COMMON_ASN)
                    merged = True
        return merged

    def spans_fit(self) -> bool:
        """Whether every live group spans at most `MAX_DURATION` (as grouping makes them)."""
        return all(g.end - g.start <= MAX_DURATION for g in self.current())

    def run(self) -> None:
        rules: Sequence[Callable[[], bool]] = (
            self.identical,
            self.same_key,
            self.twins,
            self.subsets,
            self.supersets,
            self.common_asns,
        )
        # Start again from the first rule after any merge: the cheap, certain
        # rules (identical, same key) go before the judgements over sets.
        first = 0
        while True:
            for index in range(first, len(rules)):
                if rules[index]():
                    break
            else:
                return
            first = 0
            if rules[index] == self.supersets and self.spans_fit():
                # A superset merge only takes a group out of the live ones (its
                # winner takes nothing). Neither identical, same key nor twins
                # can apply then if they did not before: no two live groups
                # come to hold the same events, no twin gains a partner, and of
                # three groups of one key in time order, the outer two merge
                # only if one of them merges with the middle one, when no group
                # spans more than MAX_DURATION (tests/unit/test_event_pruning.py
                # checks the passes it saves against running them). Subsets
                # can: a group's events shared with others may now be only
                # those its subsets hold.
                first = rules.index(self.subsets)


def refresh_status(group: GroupState, now: int) -> bool:
    """Mark a live group open or closed by whether an event could still join it.

    Returns whether its status changed.
    """
    if not group.live:
        return False
    status = OPEN if now - group.end < QUIET and now - group.start < MAX_DURATION else CLOSED
    if status == group.status:
        return False
    group.status = status
    return True


def prune_groups(groups: Iterable[GroupState], now: int | None = None) -> PruneResult:
    """Apply the rules to `groups` (changed in place) until none applies; what changed.

    With `now`, live groups are also marked open or closed by whether an
    event could still join them (`refresh_status`). Merged groups in
    `groups` are left as they are.
    """
    groups = list(groups)
    pruner = _Pruner(groups)
    pruner.run()
    if now is not None:
        for group in pruner.current():
            if refresh_status(group, now):
                pruner.changed[id(group)] = group
    changed = sorted(pruner.changed.values(), key=_by_id)
    return PruneResult(pruner.merges, [g for g in changed if g.live])
