"""The dashboard's filters over the REST API, on SQLite and on PostgreSQL.

Filtered group lists, the frequency graph's counts, the common streams,
and saved filters, which are each user's own (another user's is a 404)
and refuse bad input with a 400 that changes nothing. The events are the
three incidents of tests/integration/test_events_api.py, stored through
the grouping sink.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy import update

import ampweb
from ampweb.accounts import UserRegistry
from nntsc.events.models import Event
from tests.conftest import make_services
from tests.integration.test_events_api import T0, mesh_events

PASSWORD = "a long enough password"
#: The incidents' span, as fixed bounds (they are long before now).
WINDOW = {"start": T0 - 3600, "end": T0 + 8 * 3600}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app over a fresh database holding the incidents; Bearer headers of two viewers."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    services = make_services(url)
    users = UserRegistry(services.sessionmaker)
    headers = {}
    for name in ("alice", "bob"):
        users.create_user(name, PASSWORD, ["viewdata"])
        headers[name] = {"Authorization": f"Bearer {users.create_token(name, 'test')[1]}"}
    events = mesh_events(services)
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{
                "nntsc.sql_url": url,
                "nntsc.timeseries_url": "sql",
                "ampweb.session_secret": "s" * 40,
            },
        )
    )
    try:
        yield {"app": app, "events": events, **headers}
    finally:
        app.app.registry["ampy"].close()
        services.close()


def keys(app: webtest.TestApp, headers: dict[str, str], **params: Any) -> list[str]:
    items = app.get("/api/v1/event-groups", {**WINDOW, **params}, headers=headers).json["items"]
    return [f"{g['key']} {g['direction']}" for g in items]


def test_filters_select_groups_count_events_and_name_bad_input(api: dict[str, Any]) -> None:
    app, alice = api["app"], api["alice"]
    every = ["asn:64509 down", "asn:64509 up", "asn:64501 up"]
    assert keys(app, alice) == every
    assert keys(app, alice, asn="AS64501") == ["asn:64501 up"]
    assert keys(app, alice, asn="64501,64509") == every
    assert keys(app, alice, min_endpoints="3") == ["asn:64501 up"]
    # The fall's group holds the path change through the group merged into it (twin).
    assert keys(app, alice, kind="pathchange") == ["asn:64509 down"]
    assert keys(app, alice, kind=["pathchange", "incr"], source="amp-x") == every[:2]
    assert keys(app, alice, target="amp-c", collection="amp-icmp") == ["asn:64501 up"]
    assert keys(app, alice, collection="amp-dns") == []

    frequency = app.get(
        "/api/v1/events/frequency", {**WINDOW, "source": "amp-x"}, headers=alice
    ).json
    assert frequency["binsize"] == 1800
    first = WINDOW["start"] - WINDOW["start"] % 1800
    assert frequency["times"] == list(range(first, WINDOW["end"], 1800))
    assert len(frequency["counts"]) == len(frequency["times"])
    onsets = sorted(e.ts_onset for e in api["events"] if e.source == "amp-x")
    assert sum(frequency["counts"]) == len(onsets) == 3
    busiest = frequency["times"][frequency["counts"].index(2)]
    assert busiest <= onsets[1] < onsets[2] < busiest + 1800
    everything = app.get("/api/v1/events/frequency", WINDOW, headers=alice).json
    assert sum(everything["counts"]) == 5
    # Through the groups: the rises of amp-a (70) and amp-x's fall with its path change (55).
    severe = app.get("/api/v1/events/frequency", {**WINDOW, "min_severity": 50}, headers=alice).json
    assert sum(severe["counts"]) == 4
    severe_x = {**WINDOW, "min_severity": 50, "source": "amp-x", "kind": "pathchange"}
    assert sum(app.get("/api/v1/events/frequency", severe_x, headers=alice).json["counts"]) == 1

    # The incidents are long past: nothing in the last 24 hours.
    assert app.get("/api/v1/events/common", headers=alice).json == {"items": []}

    for params, named in (
        ({"kind": "explosion"}, "kind"),
        ({"asn": "AS-1"}, "asn"),
        ({"min_endpoints": "0"}, "min_endpoints"),
        ({"range": "2h"}, "range"),
        ({"collection": "amp-nothing"}, "collection"),
        ({"start": "10", "end": "5"}, "end"),
    ):
        for path in ("/api/v1/event-groups", "/api/v1/events/frequency", "/api/v1/events/common"):
            error = app.get(path, params, headers=alice, status=400).json["error"]
            assert named in error, (path, params, error)


def test_common_streams_rank_the_last_day(api: dict[str, Any]) -> None:
    app, alice = api["app"], api["alice"]
    # Move the incidents into the last day: amp-x -> amp-y has three events, the others one.
    events = Event.__table__
    services = app.app.registry["ampy"].services
    with services.engine.begin() as connection:
        connection.execute(
            update(events).values(ts_onset=events.c.ts_onset + int(time.time()) - T0 - 8 * 3600)
        )
    items = app.get("/api/v1/events/common", headers=alice).json["items"]
    assert [(i["properties"]["source"], i["events"]) for i in items] == [
        ("amp-x", 3),
        ("amp-a", 1),
        ("amp-a", 1),
    ]
    assert items[0]["title"].startswith("amp-x to amp-y")
    # Each stream's title names its line (address family), so two lines of one
    # group are told apart.
    assert items[0]["title"].endswith(" IPv4")
    assert items[0]["max_severity"] == 55
    assert items[0]["graph_url"].startswith(f"/graph/{items[0]['stream_id']}/")
    limited = app.get("/api/v1/events/common", {"limit": 1, "kind": "decr"}, headers=alice).json
    assert [(i["stream_id"], i["events"]) for i in limited["items"]] == [(items[0]["stream_id"], 1)]


def test_saved_filters_are_each_users_own(api: dict[str, Any]) -> None:
    app, alice, bob = api["app"], api["alice"], api["bob"]
    url = "/api/v1/event-filters"
    app.get(url, status=401)
    app.post_json(url, {"name": "x", "filter": {}}, status=401)

    body = {
        "name": "Loss from amp-x",
        "filter": {"range": "24h", "kinds": ["loss"], "sources": ["amp-x"]},
    }
    saved = app.post_json(url, body, headers=alice, status=201).json
    assert saved["filter"] == {"range": "24h", "kinds": ["loss"], "sources": ["amp-x"]}
    assert saved["query"] == "range=24h&source=amp-x&kind=loss"
    assert saved["notify"] is False
    mine = f"{url}/{saved['id']}"
    assert app.get(url, headers=alice).json["items"] == [saved]
    assert app.get(mine, headers=alice).json == saved

    # Bob sees none of it, and cannot touch it: as if it did not exist.
    assert app.get(url, headers=bob).json["items"] == []
    app.get(mine, headers=bob, status=404)
    app.put_json(mine, {"name": "mine now"}, headers=bob, status=404)
    app.delete(mine, headers=bob, status=404)
    # The same name is Bob's to use.
    app.post_json(url, body, headers=bob, status=201)

    for bad, named in (
        ({"name": "", "filter": {}}, "name"),
        ({"name": "y", "filter": {"kinds": ["explosion"]}}, "filter.kinds"),
        ({"name": "y", "filter": {"min_severty": 3}}, "filter"),
        ({"name": "y", "filter": {"asns": ["64496"]}}, "filter"),
        ({"name": "y", "filter": [], "notify": True}, "filter"),
        ({"name": "y", "filter": {}, "notify": "yes"}, "notify"),
        ({"name": "y"}, "filter"),
    ):
        error = app.post_json(url, bad, headers=alice, status=400).json["error"]
        assert named in error, (bad, error)
    app.put_json(mine, {"filter": {"min_endpoints": 0}}, headers=alice, status=400)
    app.post(url, "not json", headers=alice, status=400)
    assert app.get(url, headers=alice).json["items"] == [saved]

    conflict = app.post_json(url, body, headers=alice, status=409).json["error"]
    assert "already exists" in conflict
    other = app.post_json(url, {"name": "other", "filter": {}}, headers=alice, status=201).json
    app.put_json(f"{url}/{other['id']}", {"name": body["name"]}, headers=alice, status=409)

    changed = app.put_json(
        mine, {"filter": {"min_severity": 50}, "notify": True}, headers=alice
    ).json
    assert (changed["name"], changed["filter"], changed["notify"]) == (
        body["name"],
        {"range": "all", "min_severity": 50},
        True,
    )
    assert changed["query"] == "min_severity=50"
    app.delete(mine, headers=alice, status=204)
    app.get(mine, headers=alice, status=404)
    assert [f["name"] for f in app.get(url, headers=alice).json["items"]] == ["other"]
    assert [f["name"] for f in app.get(url, headers=bob).json["items"]] == [body["name"]]
