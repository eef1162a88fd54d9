"""Online grouping of events by what their streams share: a source, a target, an ASN.

Each new event belongs under several *keys*: its stream's source, its target,
and every ASN on the AS path that the latest traceroute of the same source
and target took (`docs/events.md`). For each key it joins the
group of that key and of its direction, or opens one. Events of one key that
follow each other within `QUIET` seconds in one `slot` (a `MAX_DURATION`
stretch of the epoch) are one group, whatever order they arrive in: an
event that bridges two groups joins them. The times are the events'
onsets, so history detection, which finds events stream by stream and so
out of time order, and live detection, which stores them in the order they
were detected, build the same groups.

The redundant groups this makes on purpose (an event with five keys is in
five groups) are pruned by `nntsc.events.pruning`. A group's key and its
members are its *base* facts, whatever the pruning concluded: members are
only added, but for a join, which moves the later group's members to the
earlier and leaves the later merged into it. An event joins the base group
of its key even when that group was merged, and every pruning pass judges
the base groups afresh (`nntsc.events.groups`), choosing between them by
their facts, not their ids; so events arriving in any order and any
batches end in the same groups (tested on random event sets).

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
    "slot",
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


#: `GroupState.parsed_key` before its key is parsed.
_UNPARSED: tuple[str, frozenset[int], str] = ("", frozenset(), "")


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
    #: The group of its key that took its events when an event joined the two (`group_events`).
    joined_into: GroupState | None = None
    #: Its key parsed (`parse_key`: kind, ASNs, endpoint), once: from `key` unless given
    #: (`base` gives its copy the parsed key of the group it copies).
    parsed_key: tuple[str, frozenset[int], str] = field(default=_UNPARSED, repr=False)

    def __post_init__(self) -> None:
        if self.parsed_key is _UNPARSED:
            self.parsed_key = parse_key(self.key)
        if not self.asns:
            self.asns = self.parsed_key[1]

    @property
    def key_kind(self) -> str:
        return self.parsed_key[0]

    @property
    def live(self) -> bool:
        return self.status != MERGED

    def base(self) -> GroupState:
        """A live copy with only the group's own facts (key, direction, events, span).

        What pruning judges: its conclusions (status, widened ASNs, events
        taken from others) are drawn afresh from these every time.
        """
        return GroupState(
            self.group_id,
            self.key,
            self.direction,
            self.start,
            self.end,
            set(self.events),
            parsed_key=self.parsed_key,
        )

    def carries(self, key: str) -> bool:
        """Whether an event of `key` belongs here: only an event of this very key does."""
        return key == self.key

    def takes(self, onset: int) -> bool:
        """Whether an event at `onset` is near enough (within `QUIET`), in the group's slot.

        A group's events lie in one `slot` (for groups made before slots, its
        span stays within `MAX_DURATION`); a group whose events were joined
        into another's takes nothing.
        """
        if not self.events or not self.start - QUIET <= onset <= self.end + QUIET:
            return False
        if slot(onset) != slot(self.start):
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
#: The pruning rule of groups of one key and direction that meet: also what
#: grouping marks a group whose events it joined into another's.
SAME_KEY = "same_key"


def slot(onset: int) -> int:
    """The `MAX_DURATION` slot of the epoch (UTC, even hours) that `onset` falls in.

    A group's events all lie in one slot: so a group is the run of its key's
    events in the slot that follow each other within `QUIET`, whatever order
    they came in (`group_events`). Pruning's same-key rule joins the groups
    of an incident that crosses a slot's edge while the whole stays within
    `MAX_DURATION`.
    """
    return onset // MAX_DURATION


def _order(group: GroupState) -> tuple[int, int]:
    # Stored groups before new ones, then the oldest: the same choice however
    # the candidates were listed.
    return (0, group.group_id) if group.group_id is not None else (1, 0)


def group_events(
    events: Sequence[EventFacts], groups: Iterable[GroupState]
) -> tuple[list[GroupState], list[GroupState]]:
    """Place `events` in `groups` (the groups near them, merged ones too), opening groups as needed.

    For each key of an event, the group of that key and direction that takes
    the event's onset (within `QUIET` of its events, in the same `slot`)
    gets it, whether pruning merged it or not (its members are the base
    facts pruning judges); without one, a new group opens. When the event
    bridges two groups of its key (within `QUIET` of both), they become one:
    the earlier takes the later's events, and the later, left empty, is
    marked merged into it (`joined_into`, and the `SAME_KEY` rule). So each
    key's groups are the runs of its events in each slot that follow each
    other within `QUIET`: a function of the set of events, not of the order
    they came in or of how they were split into batches.

    Returns (stored groups that gained or lost events, groups opened), both
    in the order they were first touched; the groups given are changed in
    place. A group opened here and joined into another here is not
    returned. An event already in a group is not added again, so placing
    the same events twice changes nothing.
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
            if any(event.event_id in group.events for group in fitting):
                continue
            # The earliest takes the event, and the events of any other it bridges to.
            fitting.sort(key=lambda g: (g.start, _order(g)))
            group = fitting[0]
            group.add(event)
            if group.group_id is not None:
                touched.setdefault(id(group), group)
            for later in fitting[1:]:
                _join(later, group)
                for changed in (group, later):
                    if changed.group_id is not None:
                        touched.setdefault(id(changed), changed)
    return list(touched.values()), [group for group in opened if group.joined_into is None]


def _join(later: GroupState, earlier: GroupState) -> None:
    """Move the events of `later` into `earlier` (of one key), and mark `later` merged into it."""
    earlier.events |= later.events
    earlier.start = min(earlier.start, later.start)
    earlier.end = max(earlier.end, later.end)
    later.events = set()
    later.joined_into = earlier
    later.status = MERGED
    later.merged_into = earlier.group_id
    later.merged_by = SAME_KEY
