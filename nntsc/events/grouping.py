"""Online grouping of events by what their streams share: a source, a target, an ASN.

Each new event belongs under several *keys*: its stream's source, its target,
and every ASN on the AS path that the latest traceroute of the same source
and target took (`docs/events.md`). For each key it joins the
group of that key and of its direction, or opens one. Events of one key that
follow each other within `QUIET` seconds stay in one group, and a group never
spans more than `MAX_DURATION` seconds; the times are the events' onsets, so
history detection, which finds events stream by stream and so out of time
order, builds the same groups as live detection.

The redundant groups this makes on purpose (an event with five keys is in
five groups) are pruned by `nntsc.events.pruning`. A group's key and its
members never change once made: they are the *base* facts, whatever the
pruning concluded. An event joins the base group of its key even when that
group was merged, and every pruning pass judges the base groups afresh
(`nntsc.events.groups`), so events arriving one at a time end in the same
groups as events arriving together (tested on every recorded group set).

Everything here is pure: `group_events` takes the facts of the new events
and the groups near them and says what changes. `nntsc.events.groups`
reads those from the database and writes the changes back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ASN",
    "MAX_DURATION",
    "QUIET",
    "SOURCE",
    "TARGET",
    "EventFacts",
    "GroupState",
    "asn_key",
    "event_keys",
    "group_events",
    "parse_key",
]

#: A group takes an event whose onset is at most this many seconds from its own
#: events (the dashboard's 300 s of netevmon; streamevmon's 10 s split groups at
#: a 1-minute measurement cadence).
QUIET = 300
#: The longest span of one group, in seconds; an incident that lasts longer goes on in a new group.
MAX_DURATION = 7200

ASN = "asn"
SOURCE = "source"
TARGET = "target"
#: Which kind of key wins when groups with the same events merge: the AS-level
#: hypothesis says more than "this source" or "this target".
KEY_KIND_RANK = {ASN: 0, SOURCE: 1, TARGET: 2}

OPEN = "open"
CLOSED = "closed"
MERGED = "merged"
#: The direction of events that have none (path changes, mode changes).
NO_DIRECTION = "none"


@dataclass(frozen=True)
class EventFacts:
    """What grouping needs to know of one stored event."""

    event_id: int
    onset: int
    #: ``up``, ``down`` or ``none``.
    direction: str
    severity: int = 0
    kind: str = ""
    source: str = ""
    target: str = ""
    #: Public ASNs on the AS path of the stream's source and target at `onset`, in path order.
    asns: tuple[int, ...] = ()


def asn_key(asns: Iterable[int]) -> str:
    """The key of a group of these ASNs: ``asn:64496-64500`` (sorted, each once)."""
    return "asn:" + "-".join(str(asn) for asn in sorted(set(asns)))


def parse_key(key: str) -> tuple[str, frozenset[int], str]:
    """(kind, ASNs, endpoint) of a key.

    ``asn:1-2`` gives (asn, {1, 2}, ""), ``source:a`` gives (source, {}, a).
    """
    kind, _, value = key.partition(":")
    if kind == ASN:
        return ASN, frozenset(int(part) for part in value.split("-") if part), ""
    return kind, frozenset(), value


def event_keys(event: EventFacts) -> list[str]:
    """The keys of `event`, in the order its groups are opened: source, target, ASNs."""
    keys = []
    if event.source:
        keys.append(f"{SOURCE}:{event.source}")
    if event.target:
        keys.append(f"{TARGET}:{event.target}")
    keys.extend(asn_key([asn]) for asn in dict.fromkeys(event.asns))
    return keys


@dataclass(eq=False)
class GroupState:
    """One group as grouping and pruning see it; a new group has no `group_id` yet.

    Compared by identity: two groups with equal fields are still two groups.
    """

    group_id: int | None
    key: str
    direction: str
    start: int
    end: int
    events: set[int] = field(default_factory=set)
    status: str = OPEN
    merged_into: int | None = None
    #: The rule of `nntsc.events.pruning` that merged it, if merged.
    merged_by: str | None = None
    #: The ASNs the group points at: its key's, widened by pruning. Empty for endpoint keys.
    asns: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.asns:
            self.asns = parse_key(self.key)[1]

    @property
    def key_kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def live(self) -> bool:
        return self.status != MERGED

    def base(self) -> GroupState:
        """A live copy with only the group's own facts (key, direction, events, span).

        What pruning judges: its conclusions (status, widened ASNs, events
        taken from others) are drawn afresh from these every time.
        """
        return GroupState(
            self.group_id, self.key, self.direction, self.start, self.end, set(self.events)
        )

    def carries(self, key: str) -> bool:
        """Whether an event of `key` belongs here: only an event of this very key does."""
        return key == self.key

    def takes(self, onset: int) -> bool:
        """Whether an event at `onset` is near enough, and keeps the group short enough."""
        if not self.start - QUIET <= onset <= self.end + QUIET:
            return False
        return max(self.end, onset) - min(self.start, onset) <= MAX_DURATION

    def add(self, event: EventFacts) -> bool:
        """Add `event`; whether it was new here."""
        if event.event_id in self.events:
            return False
        self.events.add(event.event_id)
        self.start = min(self.start, event.onset)
        self.end = max(self.end, event.onset)
        return True


#: The pruning rule whose losers keep their events to themselves.
SUPERSET = "superset"


def _order(group: GroupState) -> tuple[int, int]:
    # Stored groups before new ones, then the oldest: the same choice however
    # the candidates were listed.
    return (0, group.group_id) if group.group_id is not None else (1, 0)


def group_events(
    events: Sequence[EventFacts], groups: Iterable[GroupState]
) -> tuple[list[GroupState], list[GroupState]]:
    """Place `events` in `groups` (the groups near them, merged ones too), opening groups as needed.

    For each key of an event, the group of that key and direction whose span
    takes the event's onset gets it, whether pruning merged it or not (its
    members are the base facts pruning judges); without one, a new group
    opens.

    Returns (stored groups that gained events, groups opened), both in the
    order they were first touched; the groups given are changed in place.
    An event already in a group is not added again, so placing the same
    events twice changes nothing. Events are placed in onset order, so that
    one batch in any order makes the same groups.
    """
    # The groups by (key, direction), each list in the order given: an event
    # looks only at those of its keys (a group carries only its own key).
    candidates: dict[tuple[str, str], list[GroupState]] = defaultdict(list)
    for group in groups:
        candidates[(group.key, group.direction)].append(group)
    touched: dict[int, GroupState] = {}
    opened: list[GroupState] = []
    for event in sorted(events, key=lambda e: (e.onset, e.event_id)):
        for key in event_keys(event):
            same = candidates[(key, event.direction)]
            fitting = [group for group in same if group.carries(key) and group.takes(event.onset)]
            if not fitting:
                group = GroupState(None, key, event.direction, event.onset, event.onset)
                group.add(event)
                same.append(group)
                opened.append(group)
                continue
            group = min(fitting, key=_order)
            if group.add(event) and group.group_id is not None:
                touched.setdefault(id(group), group)
    return list(touched.values()), opened
