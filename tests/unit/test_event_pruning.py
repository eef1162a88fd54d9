"""Pruning of redundant event groups, on the recorded group sets in tests/data/event_groups.

Each fixture holds groups as online grouping left them (recorded from the
events it lists, when it lists them, so that grouping is checked to
reproduce them) and what pruning must leave live. Every fixture is also
pruned twice (the second pass must change nothing), in shuffled order (the
same result), and checked for merged groups that lead nowhere.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from nntsc.events.grouping import (
    CLOSED,
    MERGED,
    OPEN,
    QUIET,
    EventFacts,
    GroupState,
    group_events,
)
from nntsc.events.pruning import RULES, prune_groups

FIXTURES = sorted((Path(__file__).parent.parent / "data" / "event_groups").glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def groups_of(fixture: dict[str, Any]) -> list[GroupState]:
    return [
        GroupState(
            g["id"],
            g["key"],
            g["direction"],
            g["start"],
            g["end"],
            set(g["events"]),
            asns=frozenset(g.get("asns", ())),
        )
        for g in fixture["groups"]
    ]


def facts_of(fixture: dict[str, Any]) -> list[EventFacts]:
    return [
        EventFacts(
            e["id"],
            e["onset"],
            e["direction"],
            e.get("severity", 50),
            e.get("kind", ""),
            e.get("source", ""),
            e.get("target", ""),
            tuple(e.get("asns", ())),
        )
        for e in fixture["events"]
    ]


def snapshot(groups: list[GroupState]) -> dict[int | None, tuple[Any, ...]]:
    return {
        g.group_id: (
            g.key,
            sorted(g.asns),
            g.direction,
            g.start,
            g.end,
            sorted(g.events),
            g.status,
            g.merged_into,
            g.merged_by,
        )
        for g in groups
    }


@pytest.fixture(params=FIXTURES, ids=[path.stem for path in FIXTURES])
def fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_the_fixtures_cover_every_rule() -> None:
    used = set()
    for path in FIXTURES:
        fixture = load(path)
        used |= {m.rule for m in prune_groups(groups_of(fixture)).merges}
    assert used == set(RULES)


def test_recorded_groups_are_what_grouping_makes(fixture: dict[str, Any]) -> None:
    if "events" not in fixture:
        pytest.skip("a hand-made group set (no events to group)")
    _, opened = group_events(facts_of(fixture), [])
    made = [
        {
            "id": index,
            "key": g.key,
            "direction": g.direction,
            "start": g.start,
            "end": g.end,
            "events": sorted(g.events),
        }
        for index, g in enumerate(opened, 1)
    ]
    assert made == fixture["groups"]


def test_pruning_leaves_the_expected_groups(fixture: dict[str, Any]) -> None:
    groups = groups_of(fixture)
    result = prune_groups(groups, fixture["now"])
    by_id = {g.group_id: g for g in groups}
    expected = fixture["expected"]
    assert sorted(g.group_id for g in groups if g.live) == sorted(map(int, expected["live"]))
    for group_id, wanted in expected["live"].items():
        group = by_id[int(group_id)]
        for name, value in wanted.items():
            got = getattr(group, name)
            if name in ("events", "asns"):
                got = sorted(got)
            assert got == value, (group_id, name)
    for loser, winner in expected.get("merged", {}).items():
        assert by_id[int(loser)].merged_into == winner
    # Nothing is deleted, and every merged group leads to a live one.
    assert len(groups) == len(fixture["groups"])
    for group in groups:
        seen = set()
        while not group.live:
            assert group.status == MERGED
            assert group.group_id not in seen
            seen.add(group.group_id)
            group = by_id[group.merged_into]
    assert {m.loser.group_id for m in result.merges} == {g.group_id for g in groups if not g.live}


def test_pruning_twice_changes_nothing(fixture: dict[str, Any]) -> None:
    groups = groups_of(fixture)
    prune_groups(groups, fixture["now"])
    before = snapshot(groups)
    again = prune_groups(groups, fixture["now"])
    assert again.merges == []
    assert again.changed == []
    assert snapshot(groups) == before


def test_the_order_groups_come_in_does_not_matter(fixture: dict[str, Any]) -> None:
    reference = groups_of(fixture)
    prune_groups(reference, fixture["now"])
    for seed in range(5):
        shuffled = groups_of(fixture)
        random.Random(seed).shuffle(shuffled)
        prune_groups(shuffled, fixture["now"])
        assert snapshot(shuffled) == snapshot(reference)


def test_a_groups_key_is_parsed_once(
    fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made from a group (`GroupState.base`, what every judgement prunes), a copy and
    pruning take the parsed key the group has (`GroupState.parsed_key`)."""
    from nntsc.events import grouping, pruning

    groups = groups_of(fixture)
    assert all(g.parsed_key == grouping.parse_key(g.key) for g in groups)
    parsed: list[str] = []
    parse = grouping.parse_key

    def counted(key: str) -> tuple[str, frozenset[int], str]:
        parsed.append(key)
        return parse(key)

    reference = [g.base() for g in groups]
    prune_groups(reference, fixture["now"])
    monkeypatch.setattr(grouping, "parse_key", counted)
    monkeypatch.setattr(pruning, "parse_key", counted, raising=False)
    copies = [g.base() for g in groups]
    prune_groups(copies, fixture["now"])
    assert parsed == []
    assert snapshot(copies) == snapshot(reference)


def test_merged_groups_given_are_left_alone() -> None:
    merged = GroupState(9, "asn:64501", "up", 0, 0, {1}, status=MERGED, merged_into=8)
    live = GroupState(8, "asn:64501", "up", 0, 0, {1})
    result = prune_groups([merged, live], now=10)
    assert result.merges == []
    assert (merged.status, merged.merged_into) == (MERGED, 8)


def test_status_follows_the_quiet_period() -> None:
    recent = GroupState(1, "asn:64501", "up", 1000, 1000, {1})
    quiet = GroupState(2, "asn:64502", "up", 0, 100, {2})
    result = prune_groups([recent, quiet], now=1000 + QUIET - 1)
    assert (recent.status, quiet.status) == (OPEN, CLOSED)
    assert result.changed == [quiet]
    assert prune_groups([recent, quiet], now=1000 + QUIET - 1).changed == []


def test_same_key_groups_stay_apart_beyond_two_hours() -> None:
    early = GroupState(1, "asn:64501", "up", 0, 7000, {1, 2})
    late = GroupState(2, "asn:64501", "up", 7100, 7300, {3})
    assert prune_groups([early, late]).merges == []


def live_sets(groups: list[GroupState]) -> list[tuple[str, str, list[int], list[int]]]:
    return sorted((g.key, g.direction, sorted(g.asns), sorted(g.events)) for g in groups if g.live)


def test_events_one_at_a_time_end_in_the_groups_of_one_batch(fixture: dict[str, Any]) -> None:
    # Live detection stores events one by one (each grouped, then pruned around
    # it); history detection in batches. Both must leave the same live groups.
    if "events" not in fixture:
        pytest.skip("a hand-made group set (no events to group)")
    together = groups_of(fixture)
    prune_groups(together, fixture["now"])
    stored: list[GroupState] = []
    for event in facts_of(fixture):
        _, opened = group_events([event], stored)
        for group in opened:
            group.group_id = len(stored) + 1
            stored.append(group)
        # Each pass judges the base groups afresh, as the database layer does.
        judged = [group.base() for group in stored]
        prune_groups(judged, fixture["now"])
    assert live_sets(judged) == live_sets(together)


def random_groups(seed: int) -> list[GroupState]:
    """Groups as grouping makes them of random events: few endpoints and ASNs, so they overlap."""
    rng = random.Random(seed)
    events = []
    for event_id in range(1, rng.randint(2, 40)):
        events.append(
            EventFacts(
                event_id,
                rng.randrange(0, 4 * 3600, 60),
                rng.choice(("up", "up", "down", "none")),
                rng.randint(1, 90),
                "",
                rng.choice(("amp-a", "amp-b", "amp-c")),
                rng.choice(("amp-x", "amp-y", "amp-z", "amp-w")),
                tuple(rng.sample((64501, 64502, 64503, 64504, 64505), rng.randint(0, 4))),
            )
        )
    _, opened = group_events(events, [])
    for group_id, group in enumerate(opened, 1):
        group.group_id = group_id
    return opened


def test_the_passes_saved_after_a_superset_merge_would_have_merged_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a superset merge the pruner starts again at the subset rule, not the first one.

    Compared with starting again at the first rule every time (what the
    rules are defined by), on random group sets and on the fixtures: the
    same merges in the same order, the same groups.
    """
    from nntsc.events.pruning import _Pruner

    sets = [random_groups(seed) for seed in range(400)]
    sets += [groups_of(load(path)) for path in FIXTURES]
    saved = [(groups, copy.deepcopy(groups)) for groups in sets]
    results = [prune_groups(groups, 4 * 3600) for groups, _ in saved]
    monkeypatch.setattr(_Pruner, "spans_fit", lambda self: False)
    supersets = 0
    for (groups, bases), result in zip(saved, results, strict=True):
        reference = prune_groups(bases, 4 * 3600)
        assert snapshot(groups) == snapshot(bases)
        assert [(m.loser.group_id, m.winner.group_id, m.rule) for m in result.merges] == [
            (m.loser.group_id, m.winner.group_id, m.rule) for m in reference.merges
        ]
        supersets += sum(m.rule == "superset" for m in result.merges)
    # Enough superset merges for the shortcut to have been taken often.
    assert supersets >= 50
