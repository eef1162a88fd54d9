"""Event groups in the database (SQLite): the grouping sink, the pruning pass, the path lookup.

The same checks run on PostgreSQL in tests/integration/test_events_api.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from nntsc.collections import Row
from nntsc.config import Services
from nntsc.events import sinks
from nntsc.events.grouping import MAX_DURATION
from nntsc.events.groups import (
    AsPathLookup,
    _traceroute_collections,
    group_stored_events,
    prune_range,
    prune_recent,
)
from nntsc.events.models import Event, EventGroup, EventGroupMember
from tests.conftest import make_services
from tests.events_factory import TRACEROUTE, event_row, icmp_stream, store_events, traceroute

T0 = 1_767_000_000


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        yield services
    finally:
        services.close()


def groups_table(services: Services) -> dict[int, dict[str, Any]]:
    with services.sessionmaker() as session:
        rows = session.execute(select(EventGroup.__table__)).all()
        members = session.execute(select(EventGroupMember.__table__)).all()
    found = {row.id: {**row._mapping, "events": set()} for row in rows}
    for group_id, event_id in members:
        found[group_id]["events"].add(event_id)
    return found


def live(services: Services) -> dict[str, set[int]]:
    return {
        g["key"]: g["events"] for g in groups_table(services).values() if g["status"] != "merged"
    }


def two_targets(services: Services) -> tuple[int, int]:
    """amp-a to amp-b through AS64501, AS64502 and to amp-c through AS64501, AS64503."""
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 64502])
    traceroute(services, "amp-a", "amp-c", T0 - 600, [64501, 64503])
    return icmp_stream(services, "amp-a", "amp-b"), icmp_stream(services, "amp-a", "amp-c")


def test_the_grouping_sink_is_registered() -> None:
    from nntsc.events.groups import group_new_events

    assert group_new_events in sinks.load_sinks()


def test_the_sink_needs_a_session_of_the_services(services: Services) -> None:
    from sqlalchemy.orm import Session

    from nntsc.errors import ConfigurationError
    from nntsc.events.groups import group_new_events

    with Session(services.engine) as session, pytest.raises(ConfigurationError):
        group_new_events(session, [object()])  # type: ignore[list-item]


def test_events_are_grouped_and_pruned_in_their_transaction(services: Services) -> None:
    ab, ac = two_targets(services)
    e1, e2 = store_events(
        services,
        [
            event_row(ab, T0, source="amp-a", target="amp-b", severity=35),
            event_row(ac, T0 + 60, source="amp-a", target="amp-c", severity=70),
        ],
    )
    assert live(services) == {"asn:64501": {e1.id, e2.id}}
    groups = groups_table(services)
    # Nothing is deleted: the six groups of the keys are all there.
    assert sorted(g["key"] for g in groups.values()) == sorted(
        ["source:amp-a", "target:amp-b", "target:amp-c", "asn:64501", "asn:64502", "asn:64503"]
    )
    (winner,) = [g for g in groups.values() if g["status"] != "merged"]
    assert winner["event_count"] == 2
    assert winner["severity"] == 70
    assert (winner["source_count"], winner["target_count"], winner["endpoint_count"]) == (1, 2, 3)
    assert (winner["ts_started"], winner["ts_ended"]) == (T0, T0 + 60)
    for group in groups.values():
        if group["status"] == "merged":
            assert group["merged_into"] in groups


def test_pruning_twice_changes_nothing(services: Services) -> None:
    ab, ac = two_targets(services)
    store_events(
        services,
        [
            event_row(ab, T0, source="amp-a", target="amp-b"),
            event_row(ac, T0 + 60, source="amp-a", target="amp-c"),
        ],
    )
    prune_recent(services, now=T0 + 600)
    before = groups_table(services)
    report = prune_recent(services, now=T0 + 600)
    assert (report.merged_total, report.updated) == (0, 0)
    assert groups_table(services) == before


def test_groups_close_when_quiet(services: Services) -> None:
    ab, _ = two_targets(services)
    store_events(services, [event_row(ab, T0, source="amp-a", target="amp-b")])
    prune_recent(services, now=T0 + 100)
    assert {g["status"] for g in groups_table(services).values()} >= {"open"}
    prune_recent(services, now=T0 + 400)
    statuses = {g["status"] for g in groups_table(services).values()}
    assert "open" not in statuses


def test_events_arriving_out_of_order_make_the_same_groups(services: Services) -> None:
    ab, ac = two_targets(services)
    rows = [
        event_row(ab, T0, source="amp-a", target="amp-b"),
        event_row(ac, T0 + 60, source="amp-a", target="amp-c"),
    ]
    # History detection stores one stream's events, then the next stream's.
    (second,) = store_events(services, rows[1:])
    (first,) = store_events(services, rows[:1])
    assert live(services) == {"asn:64501": {first.id, second.id}}


def test_grouping_the_same_events_again_changes_nothing(services: Services) -> None:
    ab, _ = two_targets(services)
    events = store_events(services, [event_row(ab, T0, source="amp-a", target="amp-b")])
    before = groups_table(services)
    with services.sessionmaker.begin() as session:
        group_stored_events(session, services, events, now=T0 + 10)
    after = groups_table(services)
    assert {k: v["events"] for k, v in after.items()} == {k: v["events"] for k, v in before.items()}


def test_the_path_is_that_of_the_latest_traceroute_before_the_event(services: Services) -> None:
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 0, -1, 64502, 64502])
    traceroute(services, "amp-a", "amp-b", T0 + 1000, [64501, 64509])
    lookup = AsPathLookup(services)
    # Unknown (0), silent (-1) and private (-2) hops blame no network.
    assert lookup.asns("amp-a", "amp-b", "ipv4", T0) == (64501, 64502)
    assert lookup.asns("amp-a", "amp-b", "ipv4", T0 + 1000) == (64501, 64509)
    assert lookup.asns("amp-a", "amp-b", "ipv6", T0) == ()
    assert lookup.asns("amp-a", "amp-z", "ipv4", T0) == ()
    assert lookup.asns("amp-a", "amp-b", "ipv4", T0 - 2 * 86400) == ()


def test_events_without_a_traceroute_group_by_their_endpoints(services: Services) -> None:
    stream = icmp_stream(services, "amp-x", "amp-y")
    (event,) = store_events(services, [event_row(stream, T0, source="amp-x", target="amp-y")])
    groups = groups_table(services)
    assert sorted(g["key"] for g in groups.values()) == ["source:amp-x", "target:amp-y"]
    # Identical events: the source group wins over the target group.
    assert live(services) == {"source:amp-x": {event.id}}


def test_events_stored_one_at_a_time_are_judged_as_if_together(services: Services) -> None:
    # tests/data/event_groups/superset.json, stored as live detection stores
    # events: AS64509 is a third party of two separate problems. Judged one
    # event at a time from what earlier passes concluded, the first event's
    # AS64509 group would have taken the second event in; judged afresh from
    # the groups' own events each time, it is pruned as in one batch.
    pairs = {
        "amp-b": ("amp-a", [64501, 64509, 64503]),
        "amp-d": ("amp-c", [64502, 64509, 64504]),
        "amp-e": ("amp-a", [64501, 64505]),
        "amp-f": ("amp-c", [64502, 64506]),
    }
    stored = []
    for offset, (target, (source, asns)) in enumerate(pairs.items()):
        traceroute(services, source, target, T0 - 600, asns)
        stream = icmp_stream(services, source, target)
        stored.extend(
            store_events(
                services, [event_row(stream, T0 + 10 * offset, source=source, target=target)]
            )
        )
    e1, e2, e3, e4 = (event.id for event in stored)
    assert live(services) == {"asn:64501": {e1, e3}, "asn:64502": {e2, e4}}
    (third_party,) = [g for g in groups_table(services).values() if g["key"] == "asn:64509"]
    assert (third_party["status"], third_party["merged_by"]) == ("merged", "superset")


def test_a_batch_of_questions_is_answered_as_each_alone_with_few_reads(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 64502])
    traceroute(services, "amp-a", "amp-b", T0 + 1000, [64501, 64509])
    traceroute(services, "amp-a", "amp-c", T0 - 86400, [64501, 64503])
    questions = [
        ("amp-a", target, family, at)
        for target in ("amp-b", "amp-c", "amp-z")
        for family in ("ipv4", "ipv6")
        for at in (T0 - 601, T0 - 600, T0, T0 + 999, T0 + 1000, T0 + 86400 + 1000, T0 + 86401)
    ]
    alone = {q: AsPathLookup(services).asns(*q) for q in questions}
    assert alone[("amp-a", "amp-c", "ipv4", T0)] == (64501, 64503)
    # A day back at most: the amp-c path is too old a second later.
    assert AsPathLookup(services).asns("amp-a", "amp-c", "ipv4", T0 + 1) == ()
    reads = []
    raw = services.timeseries.raw

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return raw(*args, **kwargs)

    monkeypatch.setattr(services.timeseries, "raw", counted)
    lookup = AsPathLookup(services)
    lookup.prefetch(questions)
    assert {q: lookup.asns(*q) for q in questions} == alone
    # One read per traceroute collection and day of questions, not one per question.
    assert 0 < len(reads) <= 2 * 3


def keys_of(services: Services, event_id: int) -> set[str]:
    """The keys of the groups (merged or not) that hold `event_id` as a member."""
    return {g["key"] for g in groups_table(services).values() if event_id in g["events"]}


def test_a_traceroute_stream_made_after_a_grouping_call_is_seen_by_the_next(
    tmp_path: Path, services: Services
) -> None:
    # The pairs' traceroute streams are kept across grouping calls
    # (`StreamRegistry.pair_streams`) until a traceroute stream is created. Here another
    # process (its own services on the same database, whose registry this
    # process never hears from) creates them, as the collector does for
    # `nntsc events run`.
    other = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        stream = icmp_stream(services, "amp-a", "amp-b")
        pair = {"source": "amp-a", "target": "amp-b"}
        (first,) = store_events(services, [event_row(stream, T0, **pair)])
        assert keys_of(services, first.id) == {"source:amp-a", "target:amp-b"}
        # A pair without traceroutes gains one.
        traceroute(other, "amp-a", "amp-b", T0 + 3000, [64501, 64502])
        (second,) = store_events(services, [event_row(stream, T0 + 3600, **pair)])
        assert keys_of(services, second.id) == {
            "source:amp-a",
            "target:amp-b",
            "asn:64501",
            "asn:64502",
        }
        # A pair with a traceroute stream gains another, whose newer row is the path.
        properties = {
            "source": "amp-a",
            "destination": "amp-b",
            "family": "ipv4",
            "packet_size": "1500",
        }
        larger = other.streams.stream_id(TRACEROUTE, properties)
        values = dict.fromkeys(TRACEROUTE.field_names)
        values.update(as_path_id=other.paths.as_path_id([64501, 64509]), responded=1)
        other.timeseries.write(TRACEROUTE, [Row(larger, T0 + 6000, values)], {larger: properties})
        (third,) = store_events(services, [event_row(stream, T0 + 7200, **pair)])
        assert keys_of(services, third.id) == {
            "source:amp-a",
            "target:amp-b",
            "asn:64501",
            "asn:64509",
        }
    finally:
        other.close()


def test_pair_streams_are_asked_of_sql_again_only_after_a_traceroute_stream_is_made(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 64502])
    asked: list[Any] = []
    matching = services.streams.matching

    def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        return matching(*args, **kwargs)

    monkeypatch.setattr(services.streams, "matching", counted)
    collections = _traceroute_collections()
    pairs = [("amp-a", "amp-b", "ipv4"), ("amp-a", "amp-z", "ipv4")]
    first = services.streams.pair_streams(collections, pairs)
    assert [len(first[p]) for p in pairs] == [1, 0]
    assert asked
    asked.clear()
    assert services.streams.pair_streams(collections, pairs) == first
    assert asked == []
    traceroute(services, "amp-a", "amp-z", T0 - 600, [64501])
    again = services.streams.pair_streams(collections, pairs)
    assert asked
    assert again[pairs[0]] == first[pairs[0]]
    assert len(again[pairs[1]]) == 1


def test_a_family_is_a_group_and_the_groups_merged_into_it_not_through_a_superset(
    services: Services,
) -> None:
    """`family_cte` (both ways) and `family_parents` follow the same merges."""
    from sqlalchemy import insert, literal

    from nntsc.events.groups import family_cte, family_parents

    # 1 <- 2 <- 3 (merged as identical, then as a subset); 1 <- 4 as a superset,
    # 4 <- 5; 6 on its own.
    merges = {2: (1, "identical"), 3: (2, "subset"), 4: (1, "superset"), 5: (4, "identical")}
    rows = [
        {
            "id": group_id,
            "key": f"asn:{64500 + group_id}",
            "key_kind": "asn",
            "direction": "up",
            "ts_started": T0,
            "ts_ended": T0 + 60,
            "ts_updated": T0 + 60,
            "severity": 50,
            "event_count": 1,
            "source_count": 1,
            "target_count": 1,
            "endpoint_count": 2,
            "status": "merged" if group_id in merges else "closed",
            "merged_into": merges.get(group_id, (None, None))[0],
            "merged_by": merges.get(group_id, (None, None))[1],
        }
        for group_id in range(1, 7)
    ]
    groups = EventGroup.__table__
    with services.engine.begin() as connection:
        connection.execute(insert(groups), rows)

    def family(group_id: int, upward: bool = False) -> set[int]:
        seed = select(literal(group_id).label("id"))
        cte = family_cte(seed, upward=upward)
        with services.engine.connect() as connection:
            return set(connection.execute(select(cte.c.id)).scalars())

    # Down: what each group stands for; a superset's own members are elsewhere.
    assert family(1) == {1, 2, 3}
    assert family(4) == {4, 5}
    assert family(6) == {6}
    # Up: the groups that stand for a group's events.
    assert family(3, upward=True) == {3, 2, 1}
    assert family(5, upward=True) == {5, 4}
    with services.engine.connect() as connection:
        assert family_parents(connection, [1]) == {1: None, 2: 1, 3: 2}
        assert family_parents(connection, [4, 6]) == {4: None, 5: 4, 6: None}
        # A group asked for that is merged into another one asked for gets its parent.
        assert family_parents(connection, [2, 1]) == {1: None, 2: 1, 3: 2}
        assert family_parents(connection, []) == {}


def test_a_page_of_groups_from_a_kept_statement_is_the_page_built_afresh(
    services: Services,
) -> None:
    from sqlalchemy import Select

    from ampy.events import EventGroupFilter, EventReader, _group_dict
    from nntsc.events.filters import EventFilterSpec

    for index in range(4):
        source, target = f"amp-s{index}", f"amp-t{index}"
        stream = icmp_stream(services, source, target)
        store_events(
            services,
            [event_row(stream, T0 + 600 * index, source=source, target=target, severity=40)],
        )
    reader = EventReader(services.read_engine, services.sessionmaker)

    def afresh(filters: EventGroupFilter, cursor: str | None) -> list[dict[str, Any]]:
        with services.read_engine.connect() as connection:
            rows = connection.execute(reader.groups_query(filters, cursor, 2)).all()
        return [_group_dict(row) for row in rows[:2]]

    filters = EventGroupFilter(status="all", spec=EventFilterSpec(min_severity=30))
    pages, cursor = [], None
    kept_for_cursors = set()
    for _ in range(10):
        page = reader.groups(filters, cursor, 2)
        # The statement kept for the first page with a cursor serves every later one.
        assert page.items == afresh(filters, cursor)
        if cursor is not None:
            kept_for_cursors.add(id(reader._group_statements[(filters, True, 2)]))
        pages.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(kept_for_cursors) == 1
    assert len(pages) == len(groups_table(services)) > 4
    assert len({group["id"] for group in pages}) == len(pages)
    assert set(reader._group_statements) == {(filters, False, 2), (filters, True, 2)}
    assert all(isinstance(kept.select, Select) for kept in reader._group_statements.values())
    # SQLite's statements go through `Connection` (the driver cursor is psycopg2's alone).
    assert all(kept.driver_sql is None for kept in reader._group_statements.values())
    # A filter whose statement depends on the time, or on the events, is not kept.
    for spec in (EventFilterSpec(range="24h"), EventFilterSpec(kinds=("incr",))):
        reader.groups(EventGroupFilter(spec=spec), None, 2)
    assert len(reader._group_statements) == 2


def live_groups_by_facts(services: Services) -> list[tuple[Any, ...]]:
    """The live groups by their facts, each with the events it stands for, as (stream, onset).

    Ids are left out: they follow the order events and groups were stored in.
    A group stands for its own events and those of the groups merged into it
    other than as a superset, and into those, and so on.
    """
    groups = groups_table(services)
    with services.sessionmaker() as session:
        onsets = {
            event_id: (stream_id, onset)
            for event_id, stream_id, onset in session.execute(
                select(Event.id, Event.stream_id, Event.ts_onset)
            )
        }
    children: dict[int, list[int]] = {}
    for group_id, group in groups.items():
        if group["merged_into"] is not None and group["merged_by"] != "superset":
            children.setdefault(group["merged_into"], []).append(group_id)

    def stands_for(group_id: int) -> set[int]:
        found = set(groups[group_id]["events"])
        for child in children.get(group_id, []):
            found |= stands_for(child)
        return found

    return sorted(
        (
            g["key"],
            g["direction"],
            g["status"],
            g["asns"],
            g["ts_started"],
            g["ts_ended"],
            g["event_count"],
            g["severity"],
            sorted(onsets[e] for e in stands_for(group_id)),
        )
        for group_id, g in groups.items()
        if g["status"] != "merged"
    )


def test_events_stored_in_any_order_and_batches_leave_the_same_groups(
    services: Services,
) -> None:
    """The groups are a function of the events, whatever order and batches they are stored in.

    Live detection stores a cycle's events in the order they were detected,
    history detection stream by stream: events whose onsets chain within
    QUIET came in an order that put them in two groups of one key, which
    pruning merged only when their spans met, so the live groups differed
    (bench/events_grouping.py --show-differences listed 10-15 of about 310).
    Now each key's groups are the runs of its events in each slot, and
    pruning chooses between groups by their facts, not their ids.
    """
    pairs = [("amp-a", "amp-x"), ("amp-a", "amp-y"), ("amp-b", "amp-x"), ("amp-b", "amp-z")]
    paths = [[64501, 64502], [64501, 64503], [64504, 64502], [64504, 64505, 64503]]
    streams = []
    for (source, target), asns in zip(pairs, paths, strict=True):
        traceroute(services, source, target, T0 - 600, asns)
        streams.append((icmp_stream(services, source, target), source, target))
    kinds = [("incr", "up"), ("incr", "up"), ("decr", "down"), ("pathchange", "none")]
    for seed in range(4):
        rng = random.Random(seed)
        rows = []
        taken = set()
        while len(rows) < 40:
            stream_id, source, target = rng.choice(streams)
            onset = T0 + rng.randrange(0, 5 * 3600, 60)
            if (stream_id, onset) in taken:
                continue
            taken.add((stream_id, onset))
            kind, direction = rng.choice(kinds)
            rows.append(
                event_row(
                    stream_id,
                    onset,
                    kind=kind,
                    direction=direction,
                    severity=rng.randint(1, 90),
                    source=source,
                    target=target,
                )
            )
        found = []
        judged_per_call = []
        for split in range(4):
            with services.sessionmaker.begin() as session:
                for table in (EventGroupMember, EventGroup, Event):
                    session.execute(delete(table))
            order = list(rows)
            batches = [order]
            if split:
                rng.shuffle(order)
                batches = []
                while order:
                    size = rng.randint(1, 8)
                    batches.append(order[:size])
                    order = order[size:]
            for batch in batches:
                store_events(services, batch)
                # A pass judges the groups within reach of its events with the
                # groups merged into them: each live group counts the events it
                # stands for.
                for group in live_groups_by_facts(services):
                    assert group[6] == len(group[8]), (seed, group)
            # Each call judged every group its events could change the judgement of:
            # the groups are already those of one batch, before any pass over the range.
            judged_per_call.append(live_groups_by_facts(services))
            # What one batch's pass judged at once, the periodic pass judges so.
            with services.sessionmaker.begin() as session:
                prune_range(session, T0 - MAX_DURATION, T0 + 6 * 3600, now=T0 + 7 * 3600)
            found.append(live_groups_by_facts(services))
        assert found[1:] == [found[0]] * 3, seed
        assert judged_per_call == found, seed
