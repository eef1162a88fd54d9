"""Which event groups someone wants to see: one small typed value, `EventFilterSpec`.

The events dashboard, its shared URLs, the saved per-user filters
(``event_filters.filter``), the frequency graph and the notifications of
saved filters all ask the same question, "does this group match?", and
must all answer it the same way. So the filter is one frozen dataclass
that knows every form it travels in and both ways of answering:

- **query parameters** (`from_params`, `to_params`): the dashboard's URL,
  ``?range=24h&min_severity=30&asn=64496&kind=loss&kind=incr``; a list
  parameter repeats, or holds values separated by commas (what a text
  field sends), so a filtered view is a URL to share;
- **JSON** (`from_json`, `to_json`): what a saved filter stores and what
  the REST API of saved filters takes and answers,
  ``{"range": "24h", "min_severity": 30, "asns": [64496], "kinds": ["loss", "incr"]}``;
- **SQL** (`groups_clause`): a WHERE clause over ``event_groups`` that a
  keyset page adds to its one statement;
- **Python** (`matches`): the same test on a group and the events it
  stands for, already in memory (what a notification sink has in hand).

Bad input raises `nntsc.errors.BadValue` naming the parameter or key, which
the web layer answers with 400; an empty filter matches every group.

What matches: a group that started in the time range, whose most severe
event reaches ``min_severity``, whose events touch at least
``min_endpoints`` distinct sources and targets together, that points at one
of ``asns`` (its key's ASN or one pruning found common to its events), and,
when any of ``sources``, ``targets``, ``kinds``, ``collections`` is given,
that stands for at least one event meeting all of them at once (its source
among ``sources``, its target among ``targets``, ...): "groups with a loss
event from amp-wlg", not "a loss somewhere and amp-wlg somewhere". Within
one list, any value matches. A group stands for its own events and those of
the groups merged into it, except through a ``superset`` merge
(`nntsc.events.pruning`), as ``GET /api/v1/event-groups/{id}`` lists them.

A relative ``range`` (``24h``) stays relative: a saved filter of the last
day shows the last day whenever it is loaded, and `matches` takes ``now``.
``start``/``end`` (Unix seconds) are fixed bounds and win over ``range``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, literal, or_, select, true

from nntsc.collections import all_collections
from nntsc.errors import BadValue
from nntsc.events.groups import family_cte
from nntsc.events.models import EVENT_KINDS, Event, EventGroup, EventGroupMember
from nntsc.text import decimal_int

__all__ = [
    "LIST_FIELDS",
    "MAX_VALUES",
    "PARAMS",
    "PROBE_EVENTS",
    "RANGES",
    "RANGE_CHOICES",
    "EventFilterSpec",
]

#: The relative ranges, in seconds back from now ("all": no lower bound).
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
RANGE_CHOICES = ("all", *RANGES)
#: The most values one list may hold (a filter is typed by people).
MAX_VALUES = 100
#: The longest source or target name (the ``events`` columns' width).
MAX_NAME = 255
#: A page whose event conditions more events than this meet asks group by group
#: (`EventFilterSpec.choose_plan`); fewer, from those events.
PROBE_EVENTS = 1000
#: The largest Unix time and ASN accepted.
MAX_TIME = 2**62
MAX_ASN = 2**32 - 1
#: The list fields (JSON key) and the query parameter each is spelt as in a URL.
LIST_FIELDS = {
    "asns": "asn",
    "sources": "source",
    "targets": "target",
    "kinds": "kind",
    "collections": "collection",
}
#: The single-valued fields; their query parameter has the same name.
SCALAR_FIELDS = ("range", "start", "end", "min_severity", "min_endpoints")
#: Every query parameter a filter reads (others, e.g. ``cursor``, are left alone).
PARAMS = (*SCALAR_FIELDS, *LIST_FIELDS.values())


def _int(name: str, value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, str):
        number = decimal_int(value.strip(), signed=True)
        if number is None:
            raise BadValue(name, f"must be an integer, got {value[:60]!r}")
        value = number
    elif isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(name, "must be an integer")
    if not minimum <= value <= maximum:
        raise BadValue(name, f"must be between {minimum} and {maximum}")
    return value


def _asn(name: str, value: Any) -> int:
    # "AS64496" is how people write an ASN; accept it beside the bare number.
    if isinstance(value, str) and value.strip()[:2].upper() == "AS":
        value = value.strip()[2:]
    return _int(name, value, 1, MAX_ASN)


def _name(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(name, "must be a string")
    value = value.strip()
    if not value or len(value) > MAX_NAME or "\x00" in value:
        raise BadValue(name, f"must be a name of 1 to {MAX_NAME} characters")
    return value


def _kind(name: str, value: Any) -> str:
    if value not in EVENT_KINDS:
        raise BadValue(name, f"must be one of {', '.join(EVENT_KINDS)}")
    return str(value)


def _collection(name: str, value: Any) -> str:
    known = sorted(c.name for c in all_collections())
    if value not in known:
        shown = value[:60] if isinstance(value, str) else value
        raise BadValue(name, f"unknown collection {shown!r}")
    return str(value)


#: How each list field checks and normalises one value.
_LIST_VALUE: dict[str, Callable[[str, Any], Any]] = {
    "asns": _asn,
    "sources": _name,
    "targets": _name,
    "kinds": _kind,
    "collections": _collection,
}


def _field(obj: Any, name: str) -> Any:
    """A mapping's item or an object's attribute: rows, dicts and ORM objects alike."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _group_asns(group: Any) -> set[int]:
    asns = _field(group, "asns") or ()
    if isinstance(asns, str):
        return {int(part) for part in asns.split()}
    return {int(asn) for asn in asns}


@dataclass(frozen=True)
class EventFilterSpec:
    """A dashboard filter: which event groups to show (see the module's docstring).

    Lists are kept sorted and without repeats, so two filters that select
    the same groups the same way are equal and give the same URL.
    """

    range: str = "all"
    start: int | None = None
    end: int | None = None
    min_severity: int | None = None
    min_endpoints: int | None = None
    asns: tuple[int, ...] = field(default=())
    sources: tuple[str, ...] = field(default=())
    targets: tuple[str, ...] = field(default=())
    kinds: tuple[str, ...] = field(default=())
    collections: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.range not in RANGE_CHOICES:
            raise BadValue("range", f"must be one of {', '.join(RANGE_CHOICES)}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _int(name, value, 0, MAX_TIME))
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise BadValue("end", "must be after start")
        if self.min_severity is not None:
            object.__setattr__(
                self, "min_severity", _int("min_severity", self.min_severity, 0, 100)
            )
        if self.min_endpoints is not None:
            object.__setattr__(
                self, "min_endpoints", _int("min_endpoints", self.min_endpoints, 1, 100_000)
            )
        for name, check in _LIST_VALUE.items():
            values = getattr(self, name)
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                raise BadValue(name, "must be a list")
            checked: list[Any] = sorted({check(name, value) for value in values})
            if len(checked) > MAX_VALUES:
                raise BadValue(name, f"must hold at most {MAX_VALUES} values")
            object.__setattr__(self, name, tuple(checked))

    # -- reading and writing -----------------------------------------------------------------

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> EventFilterSpec:
        """The filter of query parameters, as (name, value) pairs (``request.params.items()``).

        Empty values count as absent (an empty form field); a list
        parameter may repeat and may hold values separated by commas.
        Parameters that are not the filter's are ignored. `BadValue`
        names the parameter that is wrong.
        """
        scalars: dict[str, str] = {}
        lists: dict[str, list[str]] = {name: [] for name in LIST_FIELDS}
        by_param = {param: name for name, param in LIST_FIELDS.items()}
        for param, raw in params:
            if param in SCALAR_FIELDS:
                if raw.strip():
                    scalars[param] = raw.strip()
            elif param in by_param:
                lists[by_param[param]].extend(v.strip() for v in raw.split(",") if v.strip())
        if not scalars and not any(lists.values()):
            # No filter parameter (the API's default page): the empty filter, made once.
            return _EMPTY
        try:
            return cls(**scalars, **{name: tuple(v) for name, v in lists.items()})  # type: ignore[arg-type]
        except BadValue as error:
            # Name the query parameter the client wrote ("asn"), not the field ("asns").
            param = LIST_FIELDS.get(error.field, error.field)
            raise BadValue(param, str(error).partition(": ")[2]) from None

    @classmethod
    def from_json(cls, document: Any) -> EventFilterSpec:
        """The filter of a JSON object (`to_json`'s form); `BadValue` names a wrong key.

        Unknown keys are refused rather than ignored: a misspelt key
        would otherwise save a filter that silently matches more.
        """
        if not isinstance(document, Mapping):
            raise BadValue("filter", "must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in document if key not in known)
        if unknown:
            raise BadValue("filter", f"unknown key {unknown[0][:60]!r}")
        values = dict(document)
        for name in ("start", "end", "min_severity", "min_endpoints"):
            value = values.get(name)
            if isinstance(value, str):
                # JSON numbers only: "30" in a document is a client's mistake worth naming.
                raise BadValue(name, "must be an integer or null")
        if values.get("range") is None:
            values.pop("range", None)
        elif not isinstance(values["range"], str):
            raise BadValue("range", f"must be one of {', '.join(RANGE_CHOICES)}")
        for name in LIST_FIELDS:
            value = values.get(name)
            if value is None:
                values.pop(name, None)
            elif not isinstance(value, list):
                raise BadValue(name, "must be a list")
            elif name == "asns" and any(isinstance(v, str) for v in value):
                raise BadValue(name, "must be a list of integers")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The filter as a JSON object; `from_json` reads it back equal."""
        document: dict[str, Any] = {"range": self.range}
        for name in ("start", "end", "min_severity", "min_endpoints"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        for name in LIST_FIELDS:
            if getattr(self, name):
                document[name] = list(getattr(self, name))
        return document

    def to_params(self) -> list[tuple[str, str]]:
        """The filter as query parameters (lists repeat); `from_params` reads them back equal.

        The default range (``all``) is left out, so an empty filter is an empty query.
        """
        params: list[tuple[str, str]] = []
        if self.range != "all":
            params.append(("range", self.range))
        for name in ("start", "end", "min_severity", "min_endpoints"):
            if getattr(self, name) is not None:
                params.append((name, str(getattr(self, name))))
        for name, param in LIST_FIELDS.items():
            params.extend((param, str(value)) for value in getattr(self, name))
        return params

    @property
    def is_empty(self) -> bool:
        """Whether the filter matches every group."""
        return self == EventFilterSpec()

    @property
    def has_event_conditions(self) -> bool:
        """Whether the filter asks about the events (sources, targets, kinds, collections)."""
        return bool(self.sources or self.targets or self.kinds or self.collections)

    @property
    def has_group_conditions(self) -> bool:
        """Whether the filter asks about the groups themselves (severity, endpoints, ASNs)."""
        return self.min_severity is not None or self.min_endpoints is not None or bool(self.asns)

    def with_range(self, range_: str) -> EventFilterSpec:
        """The same filter over another relative range (fixed bounds dropped)."""
        return replace(self, range=range_, start=None, end=None)

    def window(self, now: int | None = None) -> tuple[int | None, int | None]:
        """(start, end) of the groups' start times: fixed bounds, else the range back from now."""
        start = self.start
        if start is None and self.range != "all":
            start = (int(time.time()) if now is None else now) - RANGES[self.range]
        return start, self.end

    def describe(self) -> str:
        """For people, e.g. "last 24h, severity >= 30, AS64496, kinds loss, incr"."""
        parts = []
        if self.start is not None or self.end is not None:
            parts.append(f"started in [{self.start or 'the first'}, {self.end or 'now'})")
        elif self.range != "all":
            parts.append(f"last {self.range}")
        if self.min_severity is not None:
            parts.append(f"severity >= {self.min_severity}")
        if self.min_endpoints is not None:
            parts.append(f">= {self.min_endpoints} endpoints")
        if self.asns:
            parts.append(", ".join(f"AS{asn}" for asn in self.asns))
        for name in ("sources", "targets", "kinds", "collections"):
            if getattr(self, name):
                parts.append(f"{name} {', '.join(getattr(self, name))}")
        return "; ".join(parts) or "every group"

    # -- SQL ---------------------------------------------------------------------------------

    def events_clause(self) -> ColumnElement[bool]:
        """The event conditions (sources, targets, kinds, collections) over ``events``."""
        return self._events_clause_over(Event.__table__)

    def _events_clause_over(self, events: Any) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.sources:
            clauses.append(events.c.source.in_(self.sources))
        if self.targets:
            clauses.append(events.c.target.in_(self.targets))
        if self.kinds:
            clauses.append(events.c.kind.in_(self.kinds))
        if self.collections:
            clauses.append(events.c.collection.in_(self.collections))
        return and_(true(), *clauses)

    def matching_events_probe(self, now: int | None = None, limit: int = PROBE_EVENTS) -> Select:
        """SELECT of the ids of at most `limit` events meeting the event conditions in the
        filter's window (a group's events start no earlier than it does).

        `choose_plan` runs it with one more than the limit: if it stops short,
        these are every matching event, and the page starts from them.
        """
        events = Event.__table__
        start, _end = self.window(now)
        query = select(events.c.id).where(self.events_clause())
        if start is not None:
            query = query.where(events.c.ts_onset >= start)
        return query.limit(limit)

    def choose_plan(
        self, connection: Connection, now: int | None = None, limit: int = PROBE_EVENTS
    ) -> str | tuple[int, ...]:
        """How a page asks the event conditions (`groups_clause`'s `plan`), by a probe.

        One statement reads the ids of up to `limit` + 1 matching events.
        When fewer than that match, the page starts from exactly those
        events (events first, their ids given): the probe has cost what the
        matching events cost, and the page then costs little. When more
        match, the condition is broad and the page asks group by group, which
        stops after a page of groups; the probe stopped after `limit` + 1
        matches, which a broad condition reaches early. A filter without
        event conditions needs no plan ("groups").
        """
        if not self.has_event_conditions:
            return "groups"
        ids: Sequence[int] = (
            connection.execute(self.matching_events_probe(now, limit + 1)).scalars().all()
        )
        if len(ids) > limit:
            return "groups"
        return tuple(sorted(ids))

    def groups_with_matching_events(
        self, start: int | None, event_ids: Sequence[int] | None = None
    ) -> Select:
        """SELECT of the ids of the groups that stand for an event meeting the event conditions.

        Found upwards, without touching the groups that have no such
        event: the groups such events are members of, then the groups
        those were merged into (not through a superset merge), and so on
        (a recursive CTE). A group's events start no earlier than it does,
        so `start` bounds the events read. `event_ids`: the matching events
        are these (`choose_plan` found them), not to be searched again.
        """
        events = Event.__table__
        members = EventGroupMember.__table__
        if event_ids is not None:
            base = select(members.c.group_id.label("id")).where(
                members.c.event_id.in_(list(event_ids))
            )
        else:
            base = (
                select(members.c.group_id.label("id"))
                .join(events, events.c.id == members.c.event_id)
                .where(self.events_clause())
            )
            if start is not None:
                base = base.where(events.c.ts_onset >= start)
        found = family_cte(base, upward=True, name="filter_groups")
        return select(found.c.id)

    def group_has_matching_events(self) -> ColumnElement[bool]:
        """Whether the outer ``event_groups`` row stands for an event meeting the event conditions.

        Asked of each group in turn (correlated EXISTS): its own members,
        then the members of the groups merged into it (not through a
        superset merge), and into those, and so on (a recursive CTE started
        from the group). A page reading groups newest first stops after its
        20 matches, so a condition most events meet costs about a page of
        groups, not every event it selects (`groups_with_matching_events`).
        """
        events = Event.__table__
        members = EventGroupMember.__table__
        groups = EventGroup.__table__
        # One EXISTS over the group and its merged-in family (not an OR of two, which
        # PostgreSQL turns into a hashed subplan over every matching event).
        family = family_cte(
            select(groups.c.id.label("id")).correlate(groups), name="filter_family", nesting=True
        )
        inner_members = members.alias("filter_members")
        inner_events = events.alias("filter_events")
        return (
            select(literal(1))
            .select_from(
                family.join(inner_members, inner_members.c.group_id == family.c.id).join(
                    inner_events, inner_events.c.id == inner_members.c.event_id
                )
            )
            .where(self._events_clause_over(inner_events))
            .exists()
        )

    def groups_clause(
        self, now: int | None = None, plan: str | tuple[int, ...] | None = None
    ) -> ColumnElement[bool]:
        """The filter as a WHERE clause over ``event_groups`` (`window` taken at `now`).

        Status is not the filter's business: the caller picks live or merged groups.

        Event conditions are asked one of two ways that select the same
        groups: ``"events"`` finds the matching events first and goes up to
        their groups, cheap when few events match; ``"groups"`` tests each
        group with EXISTS, cheap when many match, since a keyset page then
        stops after a page of groups. A tuple of event ids is the events-first
        plan from those events: every matching event, as `choose_plan` found
        them (a page picks its plan by that probe). Without a `plan`, a guess
        from the kind of condition: events first for sources and targets (of
        which there are many), group by group for kinds and collections alone.
        """
        if not (plan is None or isinstance(plan, tuple) or plan in ("events", "groups")):
            raise ValueError(f"unknown plan {plan!r}")
        if plan is None:
            plan = "events" if self.sources or self.targets else "groups"
        groups = EventGroup.__table__
        start, end = self.window(now)
        clauses: list[ColumnElement[bool]] = []
        if start is not None:
            clauses.append(groups.c.ts_started >= start)
        if end is not None:
            clauses.append(groups.c.ts_started < end)
        if self.min_severity is not None:
            clauses.append(groups.c.severity >= self.min_severity)
        if self.min_endpoints is not None:
            clauses.append(groups.c.endpoint_count >= self.min_endpoints)
        if self.asns:
            # `asns` is "64496 64500": padded, a whole number matches, not a part of one.
            padded = literal(" ") + groups.c.asns + literal(" ")
            clauses.append(or_(*(padded.like(f"% {asn} %") for asn in self.asns)))
        if self.has_event_conditions and isinstance(plan, tuple):
            clauses.append(groups.c.id.in_(self.groups_with_matching_events(start, plan)))
        elif self.has_event_conditions and plan == "events":
            clauses.append(groups.c.id.in_(self.groups_with_matching_events(start)))
        elif self.has_event_conditions:
            clauses.append(self.group_has_matching_events())
        return and_(true(), *clauses)

    # -- Python ------------------------------------------------------------------------------

    def event_matches(self, event: Any) -> bool:
        """Whether one event (a mapping or an `Event`) meets every event condition."""
        return (
            (not self.sources or _field(event, "source") in self.sources)
            and (not self.targets or _field(event, "target") in self.targets)
            and (not self.kinds or _field(event, "kind") in self.kinds)
            and (not self.collections or _field(event, "collection") in self.collections)
        )

    def matches(self, group: Any, events: Iterable[Any], now: int | None = None) -> bool:
        """Whether `group` matches, given the events it stands for: `groups_clause` in Python.

        `group` is a mapping or an object with the ``event_groups`` columns
        (``ts_started``, ``severity``, ``endpoint_count``, ``asns`` as the
        column's text or as a list of ints); each event a mapping or an
        `Event` with ``source``, ``target``, ``kind`` and ``collection``.
        `events` is only read when the filter has event conditions.
        """
        start, end = self.window(now)
        started = int(_field(group, "ts_started"))
        if start is not None and started < start:
            return False
        if end is not None and started >= end:
            return False
        if self.min_severity is not None and _field(group, "severity") < self.min_severity:
            return False
        if self.min_endpoints is not None and (
            _field(group, "endpoint_count") < self.min_endpoints
        ):
            return False
        if self.asns and not _group_asns(group) & set(self.asns):
            return False
        if self.has_event_conditions:
            return any(self.event_matches(event) for event in events)
        return True


#: The filter that matches every group (frozen: one is shared).
_EMPTY = EventFilterSpec()
