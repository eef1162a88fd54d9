"""The dashboard's self-update on SQLite: change serials, "what changed since N", /events/live.

Events are stored through the real grouping sink (`tests.events_factory`);
the same reads run on PostgreSQL in tests/integration/test_events_api.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import webtest
from sqlalchemy import select

import ampweb
from ampy import Ampy
from ampy.events import EventGroupFilter
from nntsc.config import Services
from nntsc.errors import BadValue
from nntsc.events.groups import prune_recent
from nntsc.events.models import EventGroup
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events

T0 = 1_767_000_000


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def ampy(services: Services) -> Iterator[Ampy]:
    reader = Ampy(Services(dict(services.settings)))
    try:
        yield reader
    finally:
        reader.close()


def serials(services: Services) -> dict[int, tuple[str, int]]:
    with services.sessionmaker() as session:
        rows = session.execute(
            select(EventGroup.id, EventGroup.status, EventGroup.change_serial)
        ).all()
    return {row.id: (row.status, row.change_serial) for row in rows}


def rise(stream: int, onset: int, severity: int = 40) -> dict:
    return event_row(stream, onset, source="amp-a", target="amp-b", severity=severity)


def test_each_grouping_transaction_stamps_what_it_wrote_with_the_next_serial(
    services: Services, ampy: Ampy
) -> None:
    # Onsets of a minute or two ago, so that the group is open until a later pass closes it.
    t0 = int(time.time()) - 120
    assert ampy.event_change_serial() == 0
    assert ampy.event_group_changes(EventGroupFilter(), 0).as_dict() == {
        "serial": 0,
        "groups": [],
        "removed": [],
        "complete": True,
    }
    stream = icmp_stream(services, "amp-a", "amp-b")
    store_events(services, [rise(stream, t0)])
    first = serials(services)
    # A source and a target group, identical: one stays live, one is merged into it.
    assert sorted(status for status, _ in first.values()) == ["merged", "open"]
    assert {serial for _, serial in first.values()} == {1}
    assert ampy.event_change_serial() == 1

    changes = ampy.event_group_changes(EventGroupFilter(), 0)
    live_id = next(i for i, (status, _) in first.items() if status == "open")
    merged_id = next(i for i, (status, _) in first.items() if status == "merged")
    assert changes.serial == 1
    assert [g["id"] for g in changes.groups] == [live_id]
    assert changes.groups[0]["events"][0]["ts_onset"] == t0
    assert changes.removed == [merged_id]

    # The live group grows; the next transaction has the next number.
    store_events(services, [rise(stream, t0 + 60, severity=70)])
    assert ampy.event_change_serial() == 2
    grown = ampy.event_group_changes(EventGroupFilter(), 1)
    assert [(g["id"], g["event_count"], g["severity"]) for g in grown.groups] == [(live_id, 2, 70)]
    # A filter that no longer (or never) shows a changed group lists it as removed.
    assert ampy.event_group_changes(EventGroupFilter(min_severity=80), 1).groups == []
    assert live_id in ampy.event_group_changes(EventGroupFilter(min_severity=80), 1).removed
    # Nothing after the newest change.
    assert ampy.event_group_changes(EventGroupFilter(), 2).groups == []

    # A pass that changes nothing takes no number; one that closes the group does.
    prune_recent(services, now=t0 + 120)
    assert ampy.event_change_serial() == 2
    prune_recent(services, now=t0 + 3 * 3600, window=4 * 3600)
    assert ampy.event_change_serial() == 3
    closed = ampy.event_group_changes(EventGroupFilter(), 2)
    assert [(g["id"], g["status"]) for g in closed.groups] == [(live_id, "closed")]


def test_a_large_change_is_read_in_whole_changes(services: Services, ampy: Ampy) -> None:
    streams = [icmp_stream(services, f"amp-{i}", f"amp-t{i}") for i in range(3)]
    # Serial 1: three pairs at once (six groups); serial 2: one more pair.
    store_events(
        services,
        [
            event_row(s, T0 + 3600 * i, source=f"amp-{i}", target=f"amp-t{i}")
            for i, s in enumerate(streams)
        ],
    )
    other = icmp_stream(services, "amp-9", "amp-t9")
    store_events(services, [event_row(other, T0 + 7200 * 3, source="amp-9", target="amp-t9")])
    # Room for four groups: change 1 alone does not fit, so it comes whole, and incomplete.
    first = ampy.event_group_changes(EventGroupFilter(), 0, limit=4)
    assert (first.serial, first.complete) == (1, False)
    assert len(first.groups) + len(first.removed) == 6
    assert [g["ts_started"] for g in first.groups] == [T0 + 7200, T0 + 3600, T0]
    rest = ampy.event_group_changes(EventGroupFilter(), first.serial, limit=4)
    assert (rest.serial, rest.complete, len(rest.groups)) == (2, True, 1)
    # Room for seven: change 1 fits, change 2 is cut short, so only change 1 comes.
    cut = ampy.event_group_changes(EventGroupFilter(), 0, limit=7)
    assert (cut.serial, cut.complete) == (1, False)
    with pytest.raises(BadValue):
        ampy.event_group_changes(EventGroupFilter(), -1)
    with pytest.raises(BadValue):
        ampy.event_group_changes(EventGroupFilter(), 0, limit=0)


def test_the_live_endpoint_answers_changes_as_list_items_and_304_when_idle(
    services: Services,
) -> None:
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{
                "nntsc.sql_url": services.settings["nntsc.sql_url"],
                "nntsc.timeseries_url": "sql",
                "ampweb.public_data": "true",
            },
        )
    )
    try:
        page = app.get("/events")
        assert 'data-serial="0"' in page.text
        stream = icmp_stream(services, "amp-a", "amp-b")
        store_events(services, [rise(stream, T0)])
        answer = app.get("/events/live?since=0", headers={"If-None-Match": '"0"'})
        assert answer.headers["ETag"] == '"1"'
        body = answer.json
        assert body["serial"] == 1
        assert body["complete"]
        (group,) = body["groups"]
        assert group["ts_started"] == T0
        assert group["html"].startswith(f'<li class="event-group" data-group-id="{group["id"]}"')
        assert "median (incr)" in group["html"]
        assert len(body["removed"]) == 1
        # The same page rendered whole shows the same item.
        assert group["html"] in app.get("/events").text

        # Idle: 304 for the change the page has, with no body.
        idle = app.get("/events/live?since=1", headers={"If-None-Match": '"1"'}, status=304)
        assert idle.headers["ETag"] == '"1"'
        assert idle.body == b""
        # Without the condition: an empty answer.
        assert app.get("/events/live?since=1").json["groups"] == []
        # A page that has seen a later change than the database's newest (restored from
        # a backup) is told the database's, to carry on from.
        ahead = app.get("/events/live?since=7", headers={"If-None-Match": '"7"'})
        assert (ahead.status_int, ahead.json["serial"], ahead.headers["ETag"]) == (200, 1, '"1"')
        # The page's filters apply: a filter that hides the group lists it as removed.
        hidden = app.get("/events/live?since=0&min_severity=90").json
        assert hidden["groups"] == []
        assert group["id"] in hidden["removed"]
        assert app.get("/events/live?since=0&range=1h").json["groups"] == []

        for bad in ("", "?since=x", "?since=-1", "?since=0&min_severity=abc", "?since=0&range=2y"):
            assert app.get(f"/events/live{bad}", status=400).status_int == 400
    finally:
        app.app.registry["ampy"].close()


def metric_values(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of metric `name` in a scrape, by their sorted labels."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_count_events_by_kind_and_detector_and_groups_by_status(
    services: Services,
) -> None:
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{
                "nntsc.sql_url": services.settings["nntsc.sql_url"],
                "nntsc.timeseries_url": "sql",
                "ampweb.public_data": "true",
            },
        )
    )
    try:
        empty = app.get("/metrics").text
        assert metric_values(empty, "nntsc_events_total") == {}
        assert set(metric_values(empty, "nntsc_event_groups").values()) == {0}
        now = int(time.time())
        stream = icmp_stream(services, "amp-a", "amp-b")
        store_events(
            services,
            [
                rise(stream, now - 7200),
                rise(stream, now - 60),
                event_row(stream, now - 30, detector="loss", metric="loss", kind="loss"),
            ],
        )
        scrape = app.get("/metrics").text
        assert metric_values(scrape, "nntsc_events_total") == {
            (("detector", "level"), ("kind", "incr")): 2,
            (("detector", "loss"), ("kind", "loss")): 1,
        }
        with services.sessionmaker() as session:
            statuses = session.execute(select(EventGroup.status)).scalars().all()
        groups = metric_values(scrape, "nntsc_event_groups")
        assert groups == {
            (("status", status),): statuses.count(status) for status in ("open", "closed", "merged")
        }
        # The old rise's group has closed, the recent ones' group is open.
        assert groups[(("status", "open"),)] == 1
        assert groups[(("status", "closed"),)] == 1
    finally:
        app.app.registry["ampy"].close()
