"""The dashboard's filter (`nntsc.events.filters.EventFilterSpec`): its forms, SQL and Python.

The SQL clause and the Python predicate must select the same groups: both
are checked on groups that grouping and pruning made on SQLite (PostgreSQL:
tests/integration/test_event_filters_api.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from ampy.events import EventReader
from nntsc.config import Services
from nntsc.errors import BadValue
from nntsc.events.filters import EventFilterSpec
from nntsc.events.models import EventGroup
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events, traceroute

T0 = 1_767_000_000


def test_query_parameters_read_back_equal() -> None:
    spec = EventFilterSpec.from_params(
        [
            ("range", "24h"),
            ("min_severity", "30"),
            ("min_endpoints", ""),
            ("asn", "AS64500, 64496"),
            ("asn", "64496"),
            ("kind", "loss"),
            ("kind", "incr"),
            ("source", " amp-wlg "),
            ("cursor", "ignored"),
        ]
    )
    assert spec == EventFilterSpec(
        range="24h",
        min_severity=30,
        asns=(64496, 64500),
        kinds=("incr", "loss"),
        sources=("amp-wlg",),
    )
    assert spec.to_params() == [
        ("range", "24h"),
        ("min_severity", "30"),
        ("asn", "64496"),
        ("asn", "64500"),
        ("source", "amp-wlg"),
        ("kind", "incr"),
        ("kind", "loss"),
    ]
    assert EventFilterSpec.from_params(spec.to_params()) == spec
    assert EventFilterSpec.from_params([]).is_empty
    assert EventFilterSpec().to_params() == []


def test_json_reads_back_equal() -> None:
    spec = EventFilterSpec(
        start=100, end=200, min_endpoints=2, targets=("www.example.com",), collections=("amp-icmp",)
    )
    document = spec.to_json()
    assert document == {
        "range": "all",
        "start": 100,
        "end": 200,
        "min_endpoints": 2,
        "targets": ["www.example.com"],
        "collections": ["amp-icmp"],
    }
    assert EventFilterSpec.from_json(document) == spec
    assert EventFilterSpec.from_json({}) == EventFilterSpec()


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ([("range", "2h")], "range"),
        ([("min_severity", "101")], "min_severity"),
        ([("min_severity", "high")], "min_severity"),
        # A digit to str.isdigit that int() refuses: BadValue, not a bare ValueError.
        ([("min_severity", "\u00b2")], "min_severity"),
        ([("asn", "6\u00b2")], "asn"),
        # Two signs: digits after stripping every "-", no number to int() either.
        ([("min_severity", "--5")], "min_severity"),
        ([("min_endpoints", "0")], "min_endpoints"),
        ([("start", "200"), ("end", "100")], "end"),
        ([("asn", "AS-1")], "asn"),
        ([("asn", "4294967296")], "asn"),
        ([("kind", "explosion")], "kind"),
        ([("collection", "amp-nothing")], "collection"),
        ([("source", "x" * 256)], "source"),
        ([("target", str(n)) for n in range(101)], "target"),
    ],
)
def test_bad_query_parameters_are_named(params: list[tuple[str, str]], named: str) -> None:
    with pytest.raises(BadValue) as raised:
        EventFilterSpec.from_params(params)
    assert raised.value.field == named
    assert str(raised.value).startswith(f"{named}: ")


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ([], "filter"),
        ({"min_severty": 3}, "filter"),
        ({"min_severity": "30"}, "min_severity"),
        ({"min_severity": True}, "min_severity"),
        ({"range": 24}, "range"),
        ({"asns": "64496"}, "asns"),
        ({"asns": ["64496"]}, "asns"),
        ({"kinds": ["loss", 3]}, "kinds"),
        ({"sources": [""]}, "sources"),
        ({"sources": [["amp-a"]]}, "sources"),
    ],
)
def test_bad_json_is_named(document: object, named: str) -> None:
    with pytest.raises(BadValue) as raised:
        EventFilterSpec.from_json(document)
    assert raised.value.field == named


def test_a_relative_range_is_taken_at_now() -> None:
    spec = EventFilterSpec(range="1h")
    assert spec.window(now=10_000) == (6_400, None)
    group = {"ts_started": 7_000, "severity": 1, "endpoint_count": 1, "asns": ""}
    assert spec.matches(group, [], now=10_000)
    assert not spec.matches(group, [], now=20_000)
    # Fixed bounds win over the range.
    assert EventFilterSpec(range="1h", start=5, end=50).window(now=10_000) == (5, 50)


def test_asns_match_whole_numbers_and_events_match_all_their_conditions() -> None:
    group = {"ts_started": 1, "severity": 50, "endpoint_count": 3, "asns": [64496, 64500]}
    events = [
        {"source": "amp-a", "target": "amp-b", "kind": "loss", "collection": "amp-icmp"},
        {"source": "amp-c", "target": "amp-d", "kind": "incr", "collection": "amp-dns"},
    ]
    assert EventFilterSpec(asns=(64500, 1)).matches(group, events)
    assert not EventFilterSpec(asns=(6449,)).matches({**group, "asns": "64496 64500"}, events)
    assert EventFilterSpec(sources=("amp-a",), kinds=("loss",)).matches(group, events)
    # A loss somewhere and amp-c somewhere is not a loss from amp-c.
    assert not EventFilterSpec(sources=("amp-c",), kinds=("loss",)).matches(group, events)
    assert not EventFilterSpec(min_severity=51).matches(group, events)
    assert not EventFilterSpec(min_endpoints=4).matches(group, events)
    assert EventFilterSpec(min_endpoints=3, min_severity=50).matches(group, events)


# -- the SQL clause and the predicate agree on stored groups ---------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        yield services
    finally:
        services.close()


def stored_groups(services: Services) -> dict[int, int]:
    """Events of two pairs through AS64501 and of a pair without a path; {event: onset}.

    The path change of amp-x -> amp-y comes with a rise of the same pair, so
    pruning merges its group into the rise's (the ``twin`` rule): the live
    group stands for the path change through a merged group only.
    """
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 64502])
    traceroute(services, "amp-a", "amp-c", T0 - 600, [64501, 64503])
    ab, ac = icmp_stream(services, "amp-a", "amp-b"), icmp_stream(services, "amp-a", "amp-c")
    xy = icmp_stream(services, "amp-x", "amp-y")
    events = store_events(
        services,
        [
            event_row(ab, T0, source="amp-a", target="amp-b", severity=35),
            event_row(ac, T0 + 60, source="amp-a", target="amp-c", severity=70, kind="loss"),
            event_row(
                xy,
                T0 + 4030,
                source="amp-x",
                target="amp-y",
                detector="path",
                metric="as_path",
                kind="pathchange",
                direction="none",
                severity=20,
            ),
            event_row(xy, T0 + 4000, source="amp-x", target="amp-y", severity=10, kind="decr"),
        ],
    )
    return {event.id: event.ts_onset for event in events}


SPECS = [
    EventFilterSpec(),
    EventFilterSpec(min_severity=50),
    EventFilterSpec(min_endpoints=3),
    EventFilterSpec(asns=(64501,)),
    EventFilterSpec(asns=(6450,)),
    EventFilterSpec(sources=("amp-x",)),
    EventFilterSpec(targets=("amp-c",)),
    EventFilterSpec(targets=("amp-c", "amp-y"), min_severity=50),
    EventFilterSpec(kinds=("pathchange",)),
    EventFilterSpec(kinds=("loss",), sources=("amp-a",)),
    EventFilterSpec(kinds=("loss",), targets=("amp-b",)),
    EventFilterSpec(collections=("amp-icmp",), min_severity=21),
    EventFilterSpec(collections=("amp-dns",)),
    EventFilterSpec(start=T0 + 1000),
    EventFilterSpec(range="1h", kinds=("decr",)),
]


def test_sql_and_python_select_the_same_groups(services: Services) -> None:
    stored_groups(services)
    reader = EventReader(services.engine, services.sessionmaker)
    table = EventGroup.__table__
    with services.engine.connect() as connection:
        live = [
            dict(row._mapping)
            for row in connection.execute(select(table).where(table.c.status != "merged"))
        ]
    families = reader.groups_events([group["id"] for group in live])
    now = T0 + 4500
    selected = {}
    for spec in SPECS:
        with services.engine.connect() as connection:
            in_sql = set(
                connection.scalars(
                    select(table.c.id).where(table.c.status != "merged", spec.groups_clause(now))
                )
            )
        in_python = {g["id"] for g in live if spec.matches(g, families[g["id"]], now=now)}
        assert in_sql == in_python, spec
        selected[spec] = in_sql
    everything = selected[EventFilterSpec()]
    assert len(everything) == 2
    # Each condition keeps some groups and drops others (or all): none is a no-op here.
    for spec in SPECS[1:]:
        assert selected[spec] != everything, spec
    (path_group,) = selected[EventFilterSpec(kinds=("pathchange",))]
    with services.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == path_group)).one()
    # The live group is a rise: it holds the path change through the group merged into it.
    assert row.direction == "up"
    assert selected[EventFilterSpec(kinds=("loss",), targets=("amp-b",))] == set()


def test_both_plans_select_the_same_groups(services: Services) -> None:
    """Event conditions asked events first or group by group (EXISTS) select the same groups."""
    stored_groups(services)
    table = EventGroup.__table__
    now = T0 + 4500
    for spec in SPECS:
        found = []
        for plan in ("events", "groups"):
            with services.engine.connect() as connection:
                found.append(
                    set(
                        connection.scalars(
                            select(table.c.id).where(
                                table.c.status != "merged", spec.groups_clause(now, plan=plan)
                            )
                        )
                    )
                )
        assert found[0] == found[1], spec
    # The path change reaches its live group only through the group merged into it.
    with services.engine.connect() as connection:
        (via_merge,) = connection.scalars(
            select(table.c.id).where(
                table.c.status != "merged",
                EventFilterSpec(kinds=("pathchange",)).groups_clause(now, plan="groups"),
            )
        )
        merged = connection.scalars(select(table.c.id).where(table.c.merged_into == via_merge))
        assert list(merged)


def test_the_probed_plan_selects_the_same_groups(services: Services) -> None:
    """A page's plan is chosen by a probe of the matching events (`choose_plan`): from
    those events when few match, group by group when more than the limit do; the same
    groups either way."""
    stored_groups(services)
    table = EventGroup.__table__
    now = T0 + 4500

    def selected(connection: Connection, spec: EventFilterSpec, plan: Any) -> set[int]:
        clause = spec.groups_clause(now, plan=plan)
        return set(connection.scalars(select(table.c.id).where(table.c.status != "merged", clause)))

    for spec in SPECS:
        with services.engine.connect() as connection:
            expected = selected(connection, spec, "groups")
            matching = list(connection.scalars(spec.matching_events_probe(now, 10_000)))
            for limit in (0, 1, 1000):
                plan = spec.choose_plan(connection, now, limit)
                assert selected(connection, spec, plan) == expected, (spec, limit)
                if not spec.has_event_conditions:
                    assert plan == "groups"
                elif len(matching) > limit:
                    assert plan == "groups", (spec, limit)
                else:
                    assert plan == tuple(sorted(matching)), (spec, limit)


def test_parameters_without_a_filter_give_the_empty_filter() -> None:
    # Others' parameters and empty fields are no filter: the empty one, shared.
    for params in ([], [("cursor", "abc"), ("status", "all")], [("range", " "), ("kind", ",")]):
        spec = EventFilterSpec.from_params(params)
        assert spec == EventFilterSpec()
        assert spec.is_empty
        assert spec is EventFilterSpec.from_params([])
    assert EventFilterSpec.from_params([("range", "24h")]) == EventFilterSpec(range="24h")
    assert EventFilterSpec.from_params([("kind", "loss")]).kinds == ("loss",)
