"""Online grouping of events by source, target and the ASNs of their path (pure, no database)."""

from __future__ import annotations

import random

from nntsc.events.grouping import (
    MAX_DURATION,
    MERGED,
    QUIET,
    EventFacts,
    GroupState,
    asn_key,
    event_keys,
    group_events,
    parse_key,
)

T0 = 1_767_000_000


def rise(event_id: int, onset: int, **facts: object) -> EventFacts:
    values: dict = {"source": "amp-a", "target": "amp-b", "asns": (64510, 64520)} | facts
    return EventFacts(event_id, onset, values.pop("direction", "up"), 50, "incr", **values)


def keyed(groups: list[GroupState]) -> dict[tuple[str, str], list[list[int]]]:
    found: dict[tuple[str, str], list[list[int]]] = {}
    for group in sorted(groups, key=lambda g: g.start):
        found.setdefault((group.key, group.direction), []).append(sorted(group.events))
    return found


def test_keys_are_source_target_and_each_asn_once() -> None:
    event = rise(1, T0, asns=(64510, 64520, 64510, 64530))
    assert event_keys(event) == [
        "source:amp-a",
        "target:amp-b",
        "asn:64510",
        "asn:64520",
        "asn:64530",
    ]
    assert event_keys(EventFacts(2, T0, "up")) == []


def test_asn_keys_parse_back() -> None:
    assert asn_key([64520, 64510, 64520]) == "asn:64510-64520"
    assert parse_key("asn:64510-64520") == ("asn", frozenset({64510, 64520}), "")
    assert parse_key("target:www.example.com") == ("target", frozenset(), "www.example.com")


def test_an_event_opens_one_group_per_key() -> None:
    touched, opened = group_events([rise(1, T0)], [])
    assert touched == []
    assert [(g.key, g.direction, g.events) for g in opened] == [
        ("source:amp-a", "up", {1}),
        ("target:amp-b", "up", {1}),
        ("asn:64510", "up", {1}),
        ("asn:64520", "up", {1}),
    ]
    assert all(g.group_id is None and (g.start, g.end) == (T0, T0) for g in opened)


def test_events_within_the_quiet_period_share_a_group() -> None:
    _, opened = group_events([rise(1, T0), rise(2, T0 + QUIET), rise(3, T0 + 2 * QUIET + 1)], [])
    assert keyed(opened)[("asn:64510", "up")] == [[1, 2], [3]]


def test_a_group_spans_at_most_two_hours() -> None:
    events = [rise(i, T0 + i * 240) for i in range(40)]
    _, opened = group_events(events, [])
    spans = [g.end - g.start for g in opened if g.key == "asn:64510"]
    assert len(spans) == 2
    assert max(spans) <= MAX_DURATION


def test_directions_group_apart() -> None:
    _, opened = group_events(
        [rise(1, T0), rise(2, T0 + 10, direction="down"), rise(3, T0 + 20, direction="none")], []
    )
    assert keyed(opened)[("asn:64510", "up")] == [[1]]
    assert keyed(opened)[("asn:64510", "down")] == [[2]]
    assert keyed(opened)[("asn:64510", "none")] == [[3]]


def test_order_of_arrival_does_not_matter() -> None:
    # History detection finds events stream by stream, out of time order.
    events = [
        rise(i, T0 + (i * 97) % 3000, target=f"amp-{i % 3}", asns=(64500 + i % 4,))
        for i in range(30)
    ]
    _, reference = group_events(events, [])
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        _, opened = group_events(shuffled, [])
        assert keyed(opened) == keyed(reference)


def test_stored_groups_take_events_and_are_reported() -> None:
    stored = GroupState(7, "asn:64510", "up", T0 - 100, T0 - 100, {99})
    touched, opened = group_events([rise(1, T0)], [stored])
    assert touched == [stored]
    assert stored.events == {99, 1}
    assert (stored.start, stored.end) == (T0 - 100, T0)
    assert "asn:64510" not in {g.key for g in opened}


def test_grouping_the_same_event_again_changes_nothing() -> None:
    _, opened = group_events([rise(1, T0)], [])
    for index, group in enumerate(opened, 1):
        group.group_id = index
    touched, again = group_events([rise(1, T0)], opened)
    assert (touched, again) == ([], [])


def test_an_event_of_a_merged_key_joins_that_group() -> None:
    # Its members are the base facts that every pruning pass judges afresh.
    winner = GroupState(7, "asn:64510", "up", T0, T0, {99}, asns=frozenset({64510, 64520}))
    loser = GroupState(8, "asn:64520", "up", T0, T0, {99}, MERGED, 7, "identical")
    older = GroupState(6, "asn:64520", "up", T0 - 900, T0 - 900, {98}, MERGED, 8, "subset")
    touched, opened = group_events([rise(1, T0 + 60, asns=(64520,))], [older, loser, winner])
    assert loser.events == {99, 1}
    assert winner.events == {99}
    assert older.events == {98}
    assert touched == [loser]
    assert [g.key for g in opened] == ["source:amp-a", "target:amp-b"]


def test_the_base_of_a_group_forgets_what_pruning_concluded() -> None:
    merged = GroupState(8, "asn:64520", "up", T0, T0 + 60, {1, 2}, MERGED, 7, "identical")
    merged.asns = frozenset({64510, 64520})
    base = merged.base()
    assert (base.group_id, base.key, base.start, base.end, base.events) == (
        8,
        "asn:64520",
        T0,
        T0 + 60,
        {1, 2},
    )
    assert (base.live, base.merged_into, base.asns) == (True, None, frozenset({64520}))
    assert base.events is not merged.events


def _live(groups: list[GroupState]) -> list[tuple[str, list[int], list[int]]]:
    return sorted((g.key, sorted(g.asns), sorted(g.events)) for g in groups if g.live)


def test_events_one_at_a_time_end_as_if_together() -> None:
    # Live detection stores events one by one, each grouped and pruned at once.
    from nntsc.events.pruning import prune_groups

    events = [
        rise(1, T0, target="amp-b", asns=(64501, 64502)),
        rise(2, T0 + 60, target="amp-c", asns=(64501, 64503)),
        rise(3, T0 + 90, target="amp-d", asns=(64501, 64504)),
        rise(4, T0 + 120, source="amp-x", target="amp-y", asns=(64509,)),
    ]
    together: list[GroupState] = []
    _, opened = group_events(events, together)
    for index, group in enumerate(opened, 1):
        group.group_id = index
    prune_groups(opened)
    for order in (events, events[::-1], [events[2], events[0], events[3], events[1]]):
        stored: list[GroupState] = []
        for event in order:
            _, new = group_events([event], stored)
            for group in new:
                group.group_id = len(stored) + 1
                stored.append(group)
            # Each pass judges the base groups afresh, as the database layer does.
            judged = [group.base() for group in stored]
            prune_groups(judged)
        assert _live(judged) == _live(opened)
    assert _live(opened) == [
        ("asn:64501", [64501], [1, 2, 3]),
        ("asn:64509", [64509], [4]),
    ]


def random_events(rng: random.Random) -> list[EventFacts]:
    """Events of few endpoints and ASNs over five hours (across slots), close enough to chain."""
    events = []
    for event_id in range(1, rng.randint(2, 60)):
        events.append(
            EventFacts(
                event_id,
                T0 + rng.randrange(0, 5 * 3600, 30),
                rng.choice(("up", "up", "down", "none")),
                rng.randint(1, 90),
                "",
                rng.choice(("amp-a", "amp-b")),
                rng.choice(("amp-x", "amp-y", "amp-z")),
                tuple(rng.sample((64501, 64502, 64503, 64504), rng.randint(0, 3))),
            )
        )
    return events


def stored_in_batches(batches: list[list[EventFacts]], now: int) -> list[GroupState]:
    """Group and prune `batches` one after the other as the database layer does; the judged groups.

    Group ids are given in the order groups are opened, so they differ with
    the order of the events; every pass judges the base groups afresh.
    """
    from nntsc.events.pruning import prune_groups

    stored: list[GroupState] = []
    judged: list[GroupState] = []
    for batch in batches:
        _, opened = group_events(batch, stored)
        for group in opened:
            group.group_id = len(stored) + 1
            stored.append(group)
        judged = [group.base() for group in stored if group.events]
        prune_groups(judged, now)
    return judged


def test_groups_are_a_function_of_the_events_not_of_their_order_or_batches() -> None:
    # Live detection stores events a cycle at a time in the order they are
    # detected (not their onsets'); history detection stream by stream. The
    # same events in any order and split into any batches leave the same live
    # groups: the same keys, directions, ASNs and members.
    now = T0 + 6 * 3600
    differing = 0
    for seed in range(150):
        rng = random.Random(seed)
        events = random_events(rng)
        reference = _live_sets(stored_in_batches([events], now))
        for _ in range(4):
            order = list(events)
            rng.shuffle(order)
            batches = []
            while order:
                size = rng.randint(1, 6)
                batches.append(order[:size])
                order = order[size:]
            found = _live_sets(stored_in_batches(batches, now))
            differing += found != reference
    assert differing == 0


def _live_sets(groups: list[GroupState]) -> list[tuple[str, str, list[int], list[int]]]:
    return sorted((g.key, g.direction, sorted(g.asns), sorted(g.events)) for g in groups if g.live)


def test_an_event_that_bridges_two_groups_of_its_key_joins_them() -> None:
    # A slot starts at T0 - T0 % MAX_DURATION: all three onsets are in one.
    base = T0 - T0 % MAX_DURATION + 600
    early = GroupState(7, "asn:64510", "up", base, base, {1})
    late = GroupState(5, "asn:64510", "up", base + 2 * QUIET, base + 2 * QUIET, {2})
    touched, opened = group_events([rise(3, base + QUIET, asns=(64510,))], [late, early])
    # The earlier takes the event and the later's members; the later stays, merged into it.
    assert early.events == {1, 2, 3}
    assert (early.start, early.end) == (base, base + 2 * QUIET)
    assert late.events == set()
    assert (late.status, late.merged_into, late.merged_by, late.joined_into) == (
        MERGED,
        7,
        "same_key",
        early,
    )
    assert touched == [early, late]
    assert "asn:64510" not in {g.key for g in opened}
    # Grouping the event again changes nothing; the emptied group takes nothing.
    assert group_events([rise(3, base + QUIET, asns=(64510,))], [late, early])[0] == []
    assert not late.takes(base + 2 * QUIET)


def test_groups_do_not_cross_a_slot_edge() -> None:
    edge = T0 - T0 % MAX_DURATION + MAX_DURATION
    _, opened = group_events([rise(1, edge - 60), rise(2, edge + 60)], [])
    assert keyed(opened)[("asn:64510", "up")] == [[1], [2]]
