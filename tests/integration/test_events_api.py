"""Events and event groups on PostgreSQL: grouping, pruning (task and in process), the API, ampy.

Each test gets its own PostgreSQL database (the `postgres_url` fixture),
migrated to head, with a small mesh of events stored through the grouping
sink as the detection engine stores them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import webtest
from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.exc import DBAPIError

import ampweb
from ampweb.accounts import UserRegistry
from ampy import Ampy
from ampy.errors import BadCursor, UnknownEvent, UnknownEventGroup
from ampy.events import EventFilter, EventGroupFilter
from nntsc.config import Services
from nntsc.errors import BadValue
from nntsc.events import sinks
from nntsc.events.engine import store_events as engine_store_events
from nntsc.events.filters import EventFilterSpec
from nntsc.events.groups import prune_recent
from nntsc.events.models import Event, EventGroup, EventRating
from nntsc.events.tasks import PRUNE_PERIOD, PeriodicPruner, wait_for_passes
from nntsc.tasks import make_celery
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events, traceroute

pytestmark = pytest.mark.postgres

T0 = 1_767_000_000
PASSWORD = "a long enough password"


@pytest.fixture
def services(postgres_url: str) -> Iterator[Services]:
    services = make_services(postgres_url)
    try:
        yield services
    finally:
        services.close()


def mesh_events(services: Services) -> list[Any]:
    """Three incidents: amp-a's rises through AS64501, amp-x's, and a path change with a fall.

    Returns the stored events, oldest first.
    """
    for target, asns in (("amp-b", [64501, 64502]), ("amp-c", [64501, 64503])):
        traceroute(services, "amp-a", target, T0 - 600, asns)
    traceroute(services, "amp-x", "amp-y", T0 - 600, [64509])
    ab = icmp_stream(services, "amp-a", "amp-b")
    ac = icmp_stream(services, "amp-a", "amp-c")
    xy = icmp_stream(services, "amp-x", "amp-y")
    rows = [
        event_row(ab, T0, source="amp-a", target="amp-b", severity=35),
        event_row(ac, T0 + 60, source="amp-a", target="amp-c", severity=70),
        event_row(xy, T0 + 3 * 3600, source="amp-x", target="amp-y", severity=20),
        event_row(
            xy,
            T0 + 6 * 3600,
            source="amp-x",
            target="amp-y",
            kind="decr",
            direction="down",
            severity=55,
            old_value=40.0,
            new_value=20.0,
            description="median 40.0 ms -> 20.0 ms",
        ),
        event_row(
            xy,
            T0 + 6 * 3600 + 60,
            collection="amp-icmp",
            detector="path",
            metric="as_path",
            kind="pathchange",
            direction="none",
            severity=30,
            old_value=None,
            new_value=None,
            unit="",
            description="AS path AS64509 -> AS64510 AS64509",
            source="amp-x",
            target="amp-y",
        ),
    ]
    events = []
    for row in rows:
        # One at a time, as live detection stores them.
        events.extend(store_events(services, [row]))
    return events


def live_groups(services: Services) -> list[Any]:
    with services.sessionmaker() as session:
        return list(
            session.scalars(
                select(EventGroup).where(EventGroup.status != "merged").order_by(EventGroup.id)
            )
        )


# -- grouping and pruning on PostgreSQL ---------------------------------------------------


def test_mesh_events_end_in_one_group_per_incident(services: Services) -> None:
    events = mesh_events(services)
    groups = live_groups(services)
    assert [(g.key, g.asns, g.direction, g.event_count) for g in groups] == [
        ("asn:64501", "64501", "up", 2),
        ("asn:64509", "64509", "up", 1),
        ("asn:64509", "64509", "down", 2),
    ]
    twin = groups[2]
    assert (twin.ts_started, twin.ts_ended) == (events[3].ts_onset, events[4].ts_onset)
    with services.sessionmaker() as session:
        total = session.scalar(select(func.count()).select_from(EventGroup))
        merged_by = dict(
            session.execute(
                select(EventGroup.merged_by, func.count())
                .where(EventGroup.status == "merged")
                .group_by(EventGroup.merged_by)
            ).all()
        )
    assert total > len(groups)
    assert set(merged_by) <= {"identical", "same_key", "twin", "subset", "superset", "common_asn"}
    assert merged_by["twin"] >= 1


def group_rows(services: Services) -> dict[int, tuple[Any, ...]]:
    """Every group's row (but its ``ts_updated``) and members' keys, by id.

    Members by their events' keys: PostgreSQL's ids skip the values a key
    already stored took (ON CONFLICT DO NOTHING), SQLite's do not.
    """
    with services.sessionmaker() as session:
        table = EventGroup.__table__
        columns = [c for c in table.c if c.name != "ts_updated"]
        rows = {row[0]: tuple(row) for row in session.execute(select(*columns))}
        members: dict[int, list[tuple[Any, ...]]] = {}
        for group_id, *key in session.execute(
            text(
                "SELECT m.group_id, e.detector, e.stream_id, e.metric, e.ts_onset "
                "FROM event_group_members m JOIN events e ON e.id = m.event_id "
                "ORDER BY 1, 2, 3, 4, 5"
            )
        ):
            members.setdefault(group_id, []).append(tuple(key))
    return {group_id: (*row, members.get(group_id)) for group_id, row in rows.items()}


def event_rows(services: Services) -> list[tuple[Any, ...]]:
    """Every event's row but its id (see `group_rows`), its details as the text stored."""
    table = Event.__table__
    columns = [c if c.name != "details" else cast(c, Text) for c in table.c if c.name != "id"]
    key = (table.c.detector, table.c.stream_id, table.c.metric, table.c.ts_onset)
    with services.sessionmaker() as session:
        return [tuple(row) for row in session.execute(select(*columns).order_by(*key))]


def test_events_and_groups_written_on_postgresql_are_those_written_on_sqlite(
    services: Services, tmp_path
) -> None:
    # PostgreSQL writes a batch's events, the ends of loss events, new groups,
    # their conclusions and members as arrays (one statement each); SQLite
    # row by row. The same batches leave the same rows (group ids included:
    # both number from 1), and store a key already stored (or twice in a
    # batch) once.
    lite = make_services(f"sqlite:///{tmp_path}/groups.sqlite")
    sinks.load_sinks()
    try:
        rng = random.Random(18)
        pairs = [(s, t) for s in ("amp-a", "amp-b", "amp-c") for t in ("amp-x", "amp-y", "amp-z")]
        rows = []
        paths = {pair: rng.sample(range(64500, 64507), rng.randint(1, 3)) for pair in pairs}
        for both in (services, lite):
            for (source, target), path in paths.items():
                traceroute(both, source, target, T0 - 600, path)
                traceroute(both, source, target, T0 + 2 * 3600, [*path[:1], 64509])
        streams = {pair: icmp_stream(services, *pair) for pair in pairs}
        assert {pair: icmp_stream(lite, *pair) for pair in pairs} == streams
        for index in range(90):
            source, target = rng.choice(pairs)
            direction = rng.choice(["up", "up", "down", "none"])
            rows.append(
                event_row(
                    streams[(source, target)],
                    T0 + rng.randrange(0, 5 * 3600, 30) + index,
                    source=source,
                    target=target,
                    direction=direction,
                    kind={"up": "incr", "down": "decr", "none": "pathchange"}[direction],
                    severity=rng.randint(1, 99),
                    old_value=rng.choice([None, 20.5]),
                    details=rng.choice([None, {"samples": index}]),
                )
            )
        for index, (source, target) in enumerate(pairs[:4]):
            onset = T0 + 600 * index
            loss = {"detector": "loss", "metric": "lossrate", "source": source, "target": target}
            rows.append(event_row(streams[(source, target)], onset, kind="loss", **loss))
            rows.append(
                event_row(
                    streams[(source, target)],
                    onset + 300,
                    kind="loss_end",
                    direction="down",
                    ts_ended=onset + 300,
                    details={"loss_onset": onset},
                    **loss,
                )
            )
        batches = []
        while rows:
            size = rng.choice([1, 1, 2, 5, 20])
            batches.append(rows[:size] + rows[: size // 5])
            rows = rows[size:]
        batches.append(batches[3])
        for both in (services, lite):
            for batch in batches:
                with both.sessionmaker.begin() as session:
                    engine_store_events(session, batch)
            prune_recent(both, now=T0 + 6 * 3600)
        on_postgresql = group_rows(services)
        assert len(on_postgresql) > 90
        # Groups that gave their members up in a join keep none.
        assert sum(1 for row in on_postgresql.values() if row[-1]) > 90
        assert on_postgresql == group_rows(lite)
        events = event_rows(services)
        assert len(events) == 98
        assert sum(1 for row in events if row[4] == "loss" and row[8] is not None) == 4
        assert events == event_rows(lite)
    finally:
        lite.close()


def test_concurrent_grouping_processes_leave_no_duplicates(services: Services) -> None:
    traceroute(services, "amp-a", "amp-b", T0 - 600, [64501, 64502])
    streams = [icmp_stream(services, "amp-a", "amp-b")] + [
        icmp_stream(services, "amp-a", f"amp-{i}") for i in range(6)
    ]
    for i in range(6):
        traceroute(services, "amp-a", f"amp-{i}", T0 - 600, [64501, 64600 + i])
    errors: list[BaseException] = []

    def detect(stream: int, target: str, onset: int) -> None:
        # Its own services, as another `nntsc events run` process has.
        other = Services(dict(services.settings))
        try:
            store_events(other, [event_row(stream, onset, source="amp-a", target=target)])
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            other.close()

    threads = [
        threading.Thread(target=detect, args=(stream, target, T0 + 10 * index))
        for index, (stream, target) in enumerate(
            zip(streams, ["amp-b", *(f"amp-{i}" for i in range(6))], strict=True)
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    prune_recent(services, now=T0 + 600)
    assert [(g.key, g.event_count) for g in live_groups(services)] == [("asn:64501", 7)]


def test_the_pruning_task_runs_and_a_second_pass_changes_nothing(services: Services) -> None:
    mesh_events(services)
    app = make_celery(
        {
            "nntsc.sql_url": services.settings["nntsc.sql_url"],
            "nntsc.timeseries_url": "sql",
            "celery.always_eager": "true",
        },
        environ={},
    )
    entry = app.conf.beat_schedule["prune-event-groups"]
    assert (entry["task"], entry["schedule"]) == ("nntsc.events.prune_groups", PRUNE_PERIOD)
    assert entry["options"]["expires"] < PRUNE_PERIOD
    try:
        task = app.tasks["nntsc.events.prune_groups"]
        task.delay().get()
        with services.sessionmaker() as session:
            before = [tuple(r) for r in session.execute(select(EventGroup.__table__)).all()]
        assert task.delay().get() == 0
        with services.sessionmaker() as session:
            after = [tuple(r) for r in session.execute(select(EventGroup.__table__)).all()]
        # ts_updated moves only for what changed: nothing did.
        assert sorted(after) == sorted(before)
    finally:
        app.nntsc_services.close()


def test_in_process_pruning_runs_on_its_own_thread(services: Services) -> None:
    calls: list[Any] = []

    def prune(target: Services) -> Any:
        calls.append(target)
        return prune_recent(target)

    pruner = PeriodicPruner(services, period=0.05, prune=prune).start()
    try:
        assert wait_for_passes(pruner, 2)
    finally:
        pruner.stop()
    assert calls[0] is services


# -- ampy ------------------------------------------------------------------------------


@pytest.fixture
def ampy(services: Services) -> Iterator[Ampy]:
    ampy = Ampy(Services(dict(services.settings)))
    try:
        yield ampy
    finally:
        ampy.close()


def test_ampy_pages_events_with_a_cursor(services: Services, ampy: Ampy) -> None:
    events = mesh_events(services)
    seen = []
    cursor = None
    while True:
        page = ampy.events(EventFilter(), cursor, pagesize=2)
        seen.extend(item["id"] for item in page.items)
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seen == [e.id for e in reversed(events)]
    assert [e["id"] for e in ampy.events(EventFilter(kind="pathchange")).items] == [events[4].id]
    assert [e["id"] for e in ampy.events(EventFilter(min_severity=50)).items] == [
        events[3].id,
        events[1].id,
    ]
    window = EventFilter(start=T0 + 60, end=T0 + 3 * 3600 + 1)
    assert [e["id"] for e in ampy.events(window).items] == [events[2].id, events[1].id]
    streams = EventFilter(stream_ids=[events[0].stream_id])
    assert [e["id"] for e in ampy.events(streams).items] == [events[0].id]
    with pytest.raises(BadCursor):
        ampy.events(EventFilter(), "not-a-cursor")


def test_ampy_reads_groups_and_rates_events(services: Services, ampy: Ampy) -> None:
    events = mesh_events(services)
    page = ampy.event_groups(EventGroupFilter(), pagesize=2)
    assert [g["asns"] for g in page.items] == [[64509], [64509]]
    rest = ampy.event_groups(EventGroupFilter(), page.next_cursor, pagesize=2)
    assert [g["key"] for g in rest.items] == ["asn:64501"]
    assert not rest.has_more
    assert [g["key"] for g in ampy.event_groups(EventGroupFilter(asn=64501)).items] == ["asn:64501"]
    assert ampy.event_groups(EventGroupFilter(asn=6450)).items == []
    down = ampy.event_groups(EventGroupFilter(direction="down")).items
    assert [g["direction"] for g in down] == ["down"]
    merged = ampy.event_groups(EventGroupFilter(status="merged"), pagesize=500).items
    assert merged
    assert all(g["merged_into"] for g in merged)

    group = ampy.event_group(rest.items[0]["id"])
    assert [e["id"] for e in group["events"]] == [events[0].id, events[1].id]
    assert [s["properties"]["destination"] for s in group["streams"]] == ["amp-b", "amp-c"]
    assert group["events_truncated"] is False
    loser = ampy.event_group(merged[0]["id"])
    assert loser["status"] == "merged"

    with pytest.raises(UnknownEventGroup):
        ampy.event_group(10**9)
    with pytest.raises(UnknownEvent):
        ampy.rate_event(10**9, "someone", True)


def test_a_page_of_groups_reads_the_events_of_each_as_one_group_does(
    services: Services, ampy: Ampy
) -> None:
    """The dashboard's batch read lists, for every group, the events `event_group` lists."""
    mesh_events(services)
    every = ampy.event_groups(EventGroupFilter(status="all"), pagesize=500).items
    batch = ampy.event_reader.groups_events([g["id"] for g in every])
    assert batch == {g["id"]: ampy.event_group(g["id"])["events"] for g in every}
    # The merges' events are there too: the live groups stand for all five events.
    live = ampy.event_groups_with_events(EventGroupFilter())
    assert [len(g["events"]) for g in live.items] == [g["event_count"] for g in live.items]
    assert sum(len(g["events"]) for g in live.items) == 5
    assert [len(g["events"]) for g in ampy.event_groups_with_events(events_per_group=1).items] == [
        1,
        1,
        1,
    ]
    assert ampy.event_reader.groups_events([]) == {}


def test_changes_since_a_serial_on_postgresql(services: Services, ampy: Ampy) -> None:
    """Each of the five grouping transactions takes the next serial; the changes since 0
    are the live list and the merged groups, those since 4 the last transaction's."""
    assert ampy.event_change_serial() == 0
    events = mesh_events(services)
    assert ampy.event_change_serial() == 5
    everything = ampy.event_group_changes(EventGroupFilter(), 0)
    live = ampy.event_groups(EventGroupFilter()).items
    assert [g["id"] for g in everything.groups] == [g["id"] for g in live]
    merged = ampy.event_groups(EventGroupFilter(status="merged"), pagesize=500).items
    assert sorted(everything.removed) == sorted(g["id"] for g in merged)
    last = ampy.event_group_changes(EventGroupFilter(), 4)
    # The path change joined the fall's group (its twin), which now has both events.
    assert [(g["direction"], [e["id"] for e in g["events"]]) for g in last.groups] == [
        ("down", [events[3].id, events[4].id])
    ]
    assert last.removed
    assert ampy.event_group_changes(EventGroupFilter(), 5).groups == []


# -- the HTTP API --------------------------------------------------------------------------


@pytest.fixture
def api(services: Services) -> Iterator[tuple[webtest.TestApp, dict[str, str]]]:
    """The app over this database (data private), and a viewer's Bearer header."""
    users = UserRegistry(services.sessionmaker)
    users.create_user("viewer", PASSWORD, ["viewdata"])
    _, token = users.create_token("viewer", "events test")
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{
                "nntsc.sql_url": services.settings["nntsc.sql_url"],
                "nntsc.timeseries_url": "sql",
                "ampweb.session_secret": "s" * 40,
            },
        )
    )
    try:
        yield app, {"Authorization": f"Bearer {token}"}
    finally:
        app.app.registry["ampy"].close()


def test_the_api_needs_a_viewer_like_the_data_api(api: tuple[webtest.TestApp, dict]) -> None:
    app, _ = api
    for path in ("/api/v1/events", "/api/v1/event-groups", "/api/v1/event-groups/1"):
        assert app.get(path, status=401).json["error"].startswith("authentication required")
    app.post_json("/api/v1/events/1/rating", {"useful": True}, status=401)


def test_the_api_lists_pages_and_details(
    services: Services, api: tuple[webtest.TestApp, dict]
) -> None:
    app, viewer = api
    events = mesh_events(services)
    first = app.get("/api/v1/events", {"pagesize": 3}, headers=viewer).json
    assert [e["id"] for e in first["items"]] == [e.id for e in reversed(events)][:3]
    assert first["has_more"] is True
    second = app.get(
        "/api/v1/events", {"pagesize": 3, "cursor": first["next_cursor"]}, headers=viewer
    ).json
    assert [e["id"] for e in second["items"]] == [events[1].id, events[0].id]
    assert (second["has_more"], second["next_cursor"]) == (False, None)
    filtered = app.get(
        "/api/v1/events",
        {"collection": "amp-icmp", "detector": "level", "kind": "decr", "min_severity": 50},
        headers=viewer,
    ).json
    assert [e["description"] for e in filtered["items"]] == ["median 40.0 ms -> 20.0 ms"]
    assert app.get(f"/api/v1/events/{events[0].id}", headers=viewer).json["severity"] == 35

    groups = app.get("/api/v1/event-groups", headers=viewer).json["items"]
    assert [g["key"] for g in groups] == ["asn:64509", "asn:64509", "asn:64501"]
    detail = app.get(f"/api/v1/event-groups/{groups[0]['id']}", headers=viewer).json
    assert [e["kind"] for e in detail["events"]] == ["decr", "pathchange"]
    assert detail["streams"][0]["properties"]["source"] == "amp-x"


def test_a_views_events_and_the_groups_of_an_event(
    services: Services, ampy: Ampy, api: tuple[webtest.TestApp, dict]
) -> None:
    """A graph page marks its view's events (one call); a marker opens the event's groups."""
    app, viewer = api
    events = mesh_events(services)
    group = ampy.group(
        "amp-icmp",
        {"source": "amp-x", "destination": "amp-y", "packet_size": "84"},
        {"FAMILY": "SPLIT"},
    )
    view_id = ampy.create_view("latency", [group])
    marked = app.get(
        "/api/v1/events", {"view": view_id, "start": T0, "end": T0 + 7 * 3600}, headers=viewer
    ).json["items"]
    assert [e["id"] for e in marked] == [events[4].id, events[3].id, events[2].id]
    # Within the range only, and with `stream` only the streams of both.
    assert [
        e["id"] for e in ampy.events(EventFilter(view_id=view_id, start=T0 + 4 * 3600)).items
    ] == [events[4].id, events[3].id]
    other = events[0].stream_id
    assert ampy.events(EventFilter(view_id=view_id, stream_ids=[other])).items == []
    empty = ampy.create_view("latency", [])
    assert app.get("/api/v1/events", {"view": empty}, headers=viewer).json["items"] == []
    missing = app.get("/api/v1/events", {"view": "nosuchview"}, headers=viewer, status=404)
    assert "nosuchview" in missing.json["error"]

    # The groups that stand for an event: live ones, and through merges with status=all.
    for event in events:
        live = app.get("/api/v1/event-groups", {"event": event.id}, headers=viewer).json
        assert live["items"], event.id
        for found in live["items"]:
            detail = app.get(f"/api/v1/event-groups/{found['id']}", headers=viewer).json
            assert event.id in [e["id"] for e in detail["events"]]
        every = ampy.event_groups(EventGroupFilter(event_id=event.id, status="all")).items
        assert {g["id"] for g in live["items"]} < {g["id"] for g in every}
    assert app.get("/api/v1/event-groups", {"event": 10**9}, headers=viewer).json["items"] == []


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/v1/events", {"view": "v" * 65}, "view"),
        ("/api/v1/event-groups", {"event": "0"}, "event"),
        ("/api/v1/events", {"cursor": "bogus"}, "cursor"),
        ("/api/v1/events", {"start": "10", "end": "5"}, "'end'"),
        ("/api/v1/events", {"min_severity": "101"}, "min_severity"),
        ("/api/v1/events", {"stream": "x"}, "stream"),
        ("/api/v1/events", {"pagesize": "501"}, "pagesize"),
        ("/api/v1/events", {"collection": "nope"}, "nope"),
        ("/api/v1/event-groups", {"status": "gone"}, "status"),
        ("/api/v1/event-groups", {"asn": "-1"}, "asn"),
    ],
)
def test_bad_parameters_are_named(
    api: tuple[webtest.TestApp, dict], path: str, params: dict, message: str
) -> None:
    app, viewer = api
    status = 404 if message == "nope" else 400
    answer = app.get(path, params, headers=viewer, status=status).json
    assert message in answer["error"]


def test_rating_an_event_stores_and_replaces(
    services: Services, api: tuple[webtest.TestApp, dict]
) -> None:
    app, viewer = api
    event = mesh_events(services)[0]
    url = f"/api/v1/events/{event.id}/rating"
    rated = app.post_json(url, {"useful": True, "reason": "real-change"}, headers=viewer).json
    assert (rated["username"], rated["useful"], rated["reason"]) == ("viewer", True, "real-change")
    app.post_json(url, {"useful": False, "comment": "noise after all"}, headers=viewer)
    with services.sessionmaker() as session:
        ratings = session.scalars(select(EventRating)).all()
    assert [(r.username, r.useful, r.comment) for r in ratings] == [
        ("viewer", False, "noise after all")
    ]
    app.post_json(url, {"reason": "x"}, headers=viewer, status=400)
    app.post_json(url, {"useful": "yes"}, headers=viewer, status=400)
    app.post_json(url, {"useful": True, "stars": 5}, headers=viewer, status=400)
    app.post_json(url, {"useful": True, "comment": "x" * 1001}, headers=viewer, status=400)
    app.post_json("/api/v1/events/999999/rating", {"useful": True}, headers=viewer, status=404)
    app.post(url, "not json", headers=viewer, status=400)


def test_beat_scheduled_pruning_runs_through_a_real_worker(
    services: Services, tmp_path: Any
) -> None:
    from sqlalchemy import update

    from tests.celery_processes import celery_processes

    now = int(time.time())
    traceroute(services, "amp-a", "amp-b", now - 1200, [64501, 64502])
    stream = icmp_stream(services, "amp-a", "amp-b")
    store_events(services, [event_row(stream, now - 600, source="amp-a", target="amp-b")])
    (winner,) = live_groups(services)
    # Undo what the sink concluded, as if a crash had left the groups unjudged.
    with services.sessionmaker.begin() as session:
        session.execute(
            update(EventGroup).values(status="open", merged_into=None, merged_by=None, asns="")
        )
    assert len(live_groups(services)) == 4
    settings = {
        "nntsc.sql_url": services.settings["nntsc.sql_url"],
        "nntsc.timeseries_url": "sql",
        "nntsc.event_pruning": "celery",
        "nntsc.event_pruning_period": "1",
    }
    with celery_processes(tmp_path, settings) as celery:
        deadline = time.monotonic() + 90
        while len(live_groups(services)) != 1:
            assert time.monotonic() < deadline, celery.log("worker")
            time.sleep(0.5)
        worker, beat = celery.log("worker"), celery.log("beat")
    assert "Sending due task prune-event-groups (nntsc.events.prune_groups)" in beat
    assert "Task nntsc.events.prune_groups" in worker
    (again,) = live_groups(services)
    assert (again.id, again.asns, again.event_count) == (winner.id, "64501 64502", 1)


def test_a_failed_filtered_page_leaves_the_connections_jit_setting_alone(
    services: Services, ampy: Ampy, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh_events(services)
    reader = ampy.event_reader
    with reader.engine.connect() as connection:
        default = connection.exec_driver_sql("SHOW jit").scalar_one()
    spec = EventFilterSpec.from_params([("kind", "decr")])
    assert reader.groups(EventGroupFilter(spec=spec), None, 20).items is not None

    def failing(*args: Any, **kwargs: Any) -> Any:
        return text("SELECT 1 / 0")

    monkeypatch.setattr(reader, "groups_query", failing)
    with pytest.raises(DBAPIError):
        reader.groups(EventGroupFilter(spec=spec), None, 20)
    # The pool hands out the same connection again (one was ever checked out).
    with reader.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW jit").scalar_one() == default


def test_a_filtered_page_runs_its_statement_with_jit_off(services: Services, ampy: Ampy) -> None:
    """The read engine runs each statement in its own transaction (autocommit), where a
    SET LOCAL lasts for itself alone: the page takes one transaction for its statements."""
    from sqlalchemy import event

    mesh_events(services)
    reader = ampy.event_reader
    seen: list[str] = []

    def before(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "ORDER BY event_groups.ts_started DESC" in statement:
            with cursor.connection.cursor() as probe:
                probe.execute("SHOW jit")
                seen.append(probe.fetchone()[0])

    event.listen(reader.engine, "before_cursor_execute", before)
    try:
        for params in ([("kind", "decr")], [("source", "amp-a")], []):
            spec = EventFilterSpec.from_params(params)
            reader.groups(EventGroupFilter(spec=spec), None, 20)
    finally:
        event.remove(reader.engine, "before_cursor_execute", before)
    with reader.engine.connect() as connection:
        default = connection.exec_driver_sql("SHOW jit").scalar_one()
    # The two filtered pages without JIT; the unfiltered one as the server is set.
    assert seen == ["off", "off", default]


# -- the page's statement on a driver cursor (issue 18 item 9) ---------------------------


def _through_connection(
    reader: Any, filters: EventGroupFilter, cursor: str | None, size: int
) -> Any:
    """The page as `Connection.execute` reads it: a listener on the engine's statements makes
    `EventReader.groups` leave the driver cursor alone (`EventReader._driver_direct`)."""
    from sqlalchemy import event

    def listener(*args: Any) -> None:
        pass

    event.listen(reader.engine, "before_cursor_execute", listener)
    try:
        assert not reader._driver_direct()
        return reader.groups(filters, cursor, size)
    finally:
        event.remove(reader.engine, "before_cursor_execute", listener)


def test_kept_pages_on_the_driver_cursor_are_the_pages_through_sqlalchemy(
    services: Services, ampy: Ampy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page of every kept filter, read on a psycopg2 cursor, as text and then
    prepared on the server, is the page `execute` reads."""
    import ampy.events as events_module

    mesh_events(services)
    reader = ampy.event_reader
    driven: list[str] = []
    prepared: list[str] = []
    run, run_prepared = events_module.run_on_driver, events_module.run_prepared

    def counted(engine: Any, sql: str, params: dict[str, Any]) -> list[Any]:
        driven.append(sql)
        return run(engine, sql, params)

    def counted_prepared(engine: Any, statement: Any, params: dict[str, Any]) -> list[Any]:
        prepared.append(statement.name)
        return run_prepared(engine, statement, params)

    monkeypatch.setattr(events_module, "run_on_driver", counted)
    monkeypatch.setattr(events_module, "run_prepared", counted_prepared)
    kept_filters = [
        EventGroupFilter(),
        EventGroupFilter(status="all"),
        EventGroupFilter(status="merged", direction="up"),
        EventGroupFilter(asn=64501, min_events=1),
        EventGroupFilter(key_kind="asn", spec=EventFilterSpec(min_severity=30, asns=(64509,))),
        EventGroupFilter(spec=EventFilterSpec(start=T0 - 1, end=T0 + 86400, min_endpoints=2)),
    ]
    assert reader._driver_direct()
    pages = 0
    for filters in kept_filters:
        cursor = None
        while True:
            expected = _through_connection(reader, filters, cursor, 1)
            # As text the first times (`PREPARE_AFTER`), then prepared on the server.
            for _ in range(events_module.PREPARE_AFTER + 2):
                page = reader.groups(filters, cursor, 1)
                assert page == expected
                pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    # Each page read by `groups` went to the driver (not those read through the connection).
    assert len(driven) + len(prepared) == pages > 2 * len(kept_filters)
    assert len(prepared) >= pages / 2
    # The group of an event (a recursive statement) runs there too.
    group_of_event = EventGroupFilter(
        event_id=reader.groups(EventGroupFilter(), None, 1).items[0]["id"]
    )
    before = len(driven) + len(prepared)
    assert reader.groups(group_of_event) == _through_connection(reader, group_of_event, None, 20)
    assert len(driven) + len(prepared) == before + 1
    # A list parameter (IN, expanded into the text at each execution) goes through SQLAlchemy.
    endpoint = EventGroupFilter(endpoint="amp-a")
    assert reader._kept_statement(endpoint, False, 20).driver_sql is None
    before = len(driven) + len(prepared)
    assert reader.groups(endpoint) == _through_connection(reader, endpoint, None, 20)
    assert len(driven) + len(prepared) == before


def _prepared_here(engine: Any) -> dict[str, tuple[int, int]]:
    """The statements prepared on the connection the pool hands out next (the one a
    single thread's reads used last), with their generic and custom plans counted."""
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
            return {name: (generic, custom) for name, generic, custom in cursor.fetchall()}
    finally:
        connection.close()


def _run_sql(engine: Any, sql: str) -> None:
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def test_a_kept_page_is_prepared_once_per_connection_and_planned_once(
    services: Services, ampy: Ampy
) -> None:
    """From its third run a kept page runs as a statement prepared on the server, once per
    connection, and the server plans the first page (no parameter) once, not per call."""
    import ampy.events as events_module

    mesh_events(services)
    reader = ampy.event_reader
    filters = EventGroupFilter()
    expected = _through_connection(reader, filters, None, 2)
    following = _through_connection(reader, filters, expected.next_cursor, 2)
    # A new pool: a single thread's reads all get its one connection.
    reader.engine.dispose()
    kept = reader._kept_statement(filters, False, 2)
    for _ in range(events_module.PREPARE_AFTER):
        assert reader.groups(filters, None, 2) == expected
    assert kept.prepared.name not in _prepared_here(reader.engine)
    for _ in range(6):
        assert reader.groups(filters, None, 2) == expected
    assert _prepared_here(reader.engine)[kept.prepared.name] == (6, 0)
    # A page with a cursor: its values are the prepared statement's parameters.
    cursor = expected.next_cursor
    assert following.items
    assert following.items[0]["id"] not in {g["id"] for g in expected.items}
    for _ in range(events_module.PREPARE_AFTER + 3):
        assert reader.groups(filters, cursor, 2) == following
    with_cursor = reader._kept_statement(filters, True, 2).prepared
    assert with_cursor.varying == ("cursor_started", "cursor_id")
    assert sum(_prepared_here(reader.engine)[with_cursor.name]) == 3


def test_a_prepared_page_survives_its_statement_deallocated_and_a_schema_change(
    services: Services, ampy: Ampy
) -> None:
    """A prepared page whose statement the server dropped (DEALLOCATE ALL, DISCARD ALL) or
    whose plan no longer fits the table (a column's type changed) is prepared again."""
    import ampy.events as events_module

    mesh_events(services)
    reader = ampy.event_reader
    filters = EventGroupFilter()
    expected = _through_connection(reader, filters, None, 20)
    name = reader._kept_statement(filters, False, 20).prepared.name
    reader.engine.dispose()
    for _ in range(events_module.PREPARE_AFTER + 1):
        assert reader.groups(filters) == expected
    assert name in _prepared_here(reader.engine)
    _run_sql(reader.engine, "DEALLOCATE ALL")
    assert reader.groups(filters) == expected
    assert name in _prepared_here(reader.engine)
    _run_sql(reader.engine, "DISCARD ALL")
    assert reader.groups(filters) == expected
    # A selected column's type changes: "cached plan must not change result type".
    with services.engine.begin() as connection:
        connection.execute(text("ALTER TABLE event_groups ALTER COLUMN asns TYPE text"))
    assert reader.groups(filters) == expected
    assert reader.groups(filters) == expected


def test_a_prepared_page_survives_a_lost_connection_and_a_pool_reset(
    services: Services, ampy: Ampy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a connection has prepared goes with it: a new connection (after its server
    process was terminated, or the pool was replaced) prepares the page again."""
    import ampy.events as events_module
    import nntsc.config

    mesh_events(services)
    reader = ampy.event_reader
    filters = EventGroupFilter()
    expected = ampy.event_groups(filters)
    for _ in range(events_module.PREPARE_AFTER + 1):
        assert ampy.event_groups(filters) == expected
    monkeypatch.setattr(nntsc.config, "PING_AFTER_IDLE", 3600.0)
    connection = reader.engine.raw_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert events_module.PREPARED_KEY in connection.info
    connection.close()
    with services.engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.2)
    # `Ampy`'s retry: the first try fails on the dead connection, the second prepares anew.
    assert ampy.event_groups(filters) == expected
    name = reader._kept_statement(filters, False, 20).prepared.name
    assert name in _prepared_here(reader.engine)
    reader.engine.dispose()
    assert ampy.event_groups(filters) == expected
    assert name in _prepared_here(reader.engine)


def test_a_connection_keeps_at_most_max_prepared_statements(
    services: Services, ampy: Ampy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ampy.events as events_module

    mesh_events(services)
    reader = ampy.event_reader
    monkeypatch.setattr(events_module, "MAX_PREPARED", 2)
    monkeypatch.setattr(events_module, "PREPARE_AFTER", 0)
    pages = [EventGroupFilter(min_events=min_events) for min_events in range(1, 6)]
    expected = [_through_connection(reader, filters, None, 20) for filters in pages]
    reader.engine.dispose()
    for filters, page in zip(pages, expected, strict=True):
        assert reader.groups(filters) == page
        assert 0 < len(_prepared_here(reader.engine)) <= 2


def test_a_page_on_a_connection_in_a_transaction_is_not_prepared(services: Services) -> None:
    """An engine whose connections are not in autocommit (a failed statement would abort
    the transaction) runs the page's text."""
    import ampy.events as events_module
    from nntsc.config import make_engine

    mesh_events(services)
    # A pool of its own: its one connection is the one each call gets.
    engine = make_engine(services.settings["nntsc.sql_url"])
    try:
        reader = events_module.EventReader(engine, services.sessionmaker)
        filters = EventGroupFilter()
        kept = reader._kept_statement(filters, False, 20)
        expected = _through_connection(reader, filters, None, 20)
        engine.dispose()
        rows = events_module.run_prepared(engine, kept.prepared, {})
        assert [row[0] for row in rows[:20]] == [item["id"] for item in expected.items]
        assert _prepared_here(engine) == {}
    finally:
        engine.dispose()


def test_a_lost_connection_on_the_driver_cursor_is_retried_on_a_new_one(
    services: Services, ampy: Ampy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement on a connection whose server process is gone fails as SQLAlchemy's
    OperationalError and invalidates the pool as `Connection` does: `Ampy`'s retry gets a
    new connection, not the next dead one of the pool."""
    from sqlalchemy.exc import OperationalError

    import ampy.events as events_module
    import nntsc.config

    mesh_events(services)
    reader = ampy.event_reader
    expected = ampy.event_groups(EventGroupFilter())
    # Two connections in the pool, neither pinged when checked out.
    monkeypatch.setattr(nntsc.config, "PING_AFTER_IDLE", 3600.0)
    first, second = reader.engine.raw_connection(), reader.engine.raw_connection()
    pids = []
    for connection in (first, second):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])
        connection.close()
    with services.engine.connect() as admin:
        for pid in pids:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.2)
    kept = reader._kept_statement(EventGroupFilter(), False, 20)
    assert kept.driver_sql is not None
    with pytest.raises(OperationalError) as raised:
        events_module.run_on_driver(reader.engine, kept.driver_sql, kept.driver_params)
    assert raised.value.connection_invalidated
    # The other dead connection was invalidated with the pool: the next statement runs
    # on a new connection (and so does the next page).
    rows = events_module.run_on_driver(reader.engine, kept.driver_sql, kept.driver_params)
    assert len(rows) == len(expected.items)
    assert ampy.event_groups(EventGroupFilter()) == expected
    # A failing statement is SQLAlchemy's error too, and the connection is back in the pool.
    with pytest.raises(DBAPIError) as failed:
        events_module.run_on_driver(reader.engine, "SELECT 1 / 0", {})
    assert not failed.value.connection_invalidated
    assert ampy.event_groups(EventGroupFilter()) == expected


def test_a_filter_no_event_meets_answers_an_empty_page_without_its_statement(
    services: Services, ampy: Ampy
) -> None:
    """When the probe finds no event meeting the event conditions in the window, no group
    stands for one: the page is empty and its statement is not run. Its arguments are
    still checked."""
    from sqlalchemy import event

    mesh_events(services)
    reader = ampy.event_reader
    statements: list[str] = []

    def before(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    spec = EventFilterSpec(sources=("nobody",))
    event.listen(reader.engine, "before_cursor_execute", before)
    try:
        page = reader.groups(EventGroupFilter(spec=spec), None, 20)
        with pytest.raises(BadCursor):
            reader.groups(EventGroupFilter(spec=spec), "not-a-cursor", 20)
        with pytest.raises(BadValue):
            reader.groups(EventGroupFilter(status="gone", spec=spec), None, 20)
    finally:
        event.remove(reader.engine, "before_cursor_execute", before)
    assert page.items == []
    assert page.next_cursor is None
    assert not any("ORDER BY event_groups.ts_started DESC" in s for s in statements)
    assert len([s for s in statements if "FROM events" in s]) == 3
    # The statement it skips selects nothing: the same page, built and run.
    with reader.engine.connect() as connection:
        assert (
            connection.execute(
                reader.groups_query(EventGroupFilter(spec=spec), None, 20, plan=())
            ).all()
            == []
        )
    # A source some event has gives its groups, as before.
    some = reader.groups(EventGroupFilter(spec=EventFilterSpec(sources=("amp-x",))), None, 20)
    assert some.items
    assert all(g["key"] != "asn:64501" for g in some.items)
