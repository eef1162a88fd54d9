"""The notifications API and pages: one's own channels, bad input refused, test messages, the log.

The app (webtest) runs over a SQLite file with public data, as the
embedded default; users act with API tokens. Test messages go to a real
SMTP server (aiosmtpd) and to a webhook port nothing listens on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

import ampweb
from ampweb.accounts import UserRegistry
from nntsc.events.models import EventFilter
from nntsc.notifications.delivery import TEST_LIMIT
from tests.conftest import make_services
from tests.notify_receivers import LOOPBACK_ALLOW, SmtpReceiver, free_port

CHANNELS = "/api/v1/notification-channels"
SUBSCRIPTIONS = "/api/v1/notification-subscriptions"
LOG = "/api/v1/notification-deliveries"


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def app(tmp_path, smtp: SmtpReceiver) -> Iterator[tuple[webtest.TestApp, dict[str, Any]]]:
    """The app, each user's token headers, and each user's saved filter id."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    services = make_services(url)
    users = UserRegistry(services.sessionmaker)
    headers: dict[str, Any] = {}
    now = int(time.time())
    try:
        for name, role in (("alice", "viewdata"), ("bob", "viewdata"), ("carol", "admin")):
            users.create_user(name, roles=[role])
            headers[name] = {"Authorization": f"Bearer {users.create_token(name, 't')[1]}"}
            with services.sessionmaker.begin() as session:
                saved = EventFilter(
                    username=name,
                    name="severe",
                    filter={"min_severity": 50},
                    created=now,
                    updated=now,
                    notify=False,
                )
                session.add(saved)
                session.flush()
                headers[f"{name}_filter"] = saved.id
    finally:
        services.close()
    settings = {
        "nntsc.sql_url": url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
        "nntsc.smtp.host": "127.0.0.1",
        "nntsc.smtp.port": str(smtp.port),
        "nntsc.smtp.from": "nntsc@example.org",
        # No background thread: these tests send only test messages, on request.
        "nntsc.notification_delivery": "celery",
        **LOOPBACK_ALLOW,
    }
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    try:
        yield test_app, headers
    finally:
        test_app.app.registry["ampy"].close()


BAD_CHANNELS = [
    ({"name": "x"}, "kind"),
    ({"name": "x", "kind": "sms"}, "kind"),
    ({"name": "", "kind": "email", "addresses": ["a@example.org"]}, "name"),
    ({"name": "x", "kind": "email"}, "addresses"),
    ({"name": "x", "kind": "email", "addresses": ["not an address"]}, "addresses"),
    ({"name": "x", "kind": "email", "addresses": ["a@example.org"], "url": "http://a"}, "url"),
    ({"name": "x", "kind": "webhook"}, "url"),
    ({"name": "x", "kind": "webhook", "url": "ftp://example.org/x"}, "url"),
    ({"name": "x", "kind": "webhook", "url": "http://example.org:99999/"}, "url"),
    ({"name": "x", "kind": "webhook", "url": "http://a.org", "body_format": "xml"}, "body_format"),
    ({"name": "x", "kind": "webhook", "url": "http://a.org", "rate_limit": 0}, "rate_limit"),
    ({"name": "x", "kind": "webhook", "url": "http://a.org", "rate_period": 5}, "rate_period"),
    ({"name": "x", "kind": "webhook", "url": "http://a.org", "colour": "red"}, "colour"),
    # Internal addresses (the fixture allows only 127.0.0.0/8), and a host that does not resolve.
    ({"name": "x", "kind": "webhook", "url": "http://10.0.0.5/hook"}, "internal address"),
    ({"name": "x", "kind": "webhook", "url": "http://169.254.169.254/latest"}, "internal address"),
    ({"name": "x", "kind": "webhook", "url": "http://[::1]:8080/"}, "internal address"),
    ({"name": "x", "kind": "webhook", "url": "http://no-such-host.invalid/"}, "does not resolve"),
]


@pytest.mark.parametrize(("body", "named"), BAD_CHANNELS)
def test_bad_channel_input_is_a_400_naming_the_field_and_stores_nothing(
    app: tuple[webtest.TestApp, dict[str, Any]], body: dict[str, Any], named: str
) -> None:
    client, headers = app
    answer = client.post_json(CHANNELS, body, headers=headers["alice"], status=400)
    assert named in answer.json["error"]
    assert client.get(CHANNELS, headers=headers["alice"]).json["items"] == []


def test_channels_are_their_owners_and_test_messages_are_sent_and_logged(
    app: tuple[webtest.TestApp, dict[str, Any]], smtp: SmtpReceiver
) -> None:
    client, headers = app
    alice, bob, carol = headers["alice"], headers["bob"], headers["carol"]
    client.get(CHANNELS, status=401)

    mail = client.post_json(
        CHANNELS,
        {"name": "mail", "kind": "email", "addresses": ["ops@example.org"]},
        headers=alice,
        status=201,
    ).json
    down = f"http://127.0.0.1:{free_port()}/hook"
    hook = client.post_json(
        CHANNELS,
        {"name": "hook", "kind": "webhook", "url": down, "secret": "k", "body_format": "slack"},
        headers=alice,
        status=201,
    ).json
    assert hook["signed"] is True
    assert "secret" not in hook
    client.post_json(
        CHANNELS, {"name": "mail", "kind": "webhook", "url": down}, headers=alice, status=409
    )
    # Another user's channel does not exist for bob; an admin manages it.
    client.get(f"{CHANNELS}/{mail['id']}", headers=bob, status=404)
    client.delete(f"{CHANNELS}/{mail['id']}", headers=bob, status=404)
    client.post(f"{CHANNELS}/{mail['id']}/test", headers=bob, status=404)
    assert client.get(CHANNELS, headers=bob).json["items"] == []
    assert {c["name"] for c in client.get(CHANNELS, headers=carol).json["items"]} == {
        "mail",
        "hook",
    }
    changed = client.put_json(
        f"{CHANNELS}/{hook['id']}", {"rate_limit": 3}, headers=carol, status=200
    ).json
    assert (changed["rate_limit"], changed["signed"]) == (3, True)
    client.put_json(f"{CHANNELS}/{hook['id']}", {"kind": "email"}, headers=alice, status=400)

    sent = client.post(f"{CHANNELS}/{mail['id']}/test", headers=alice, status=200).json
    assert (sent["status"], sent["kind"], sent["error"]) == ("sent", "test", "")
    (message,) = smtp.messages
    assert message["From"] == "nntsc@example.org"
    assert "mail" in message["Subject"]
    failed = client.post(f"{CHANNELS}/{hook['id']}/test", headers=alice, status=200).json
    assert failed["status"] == "failed"
    assert "unreachable" in failed["error"]

    # Subscriptions link one's own filter to one's own channel.
    client.post_json(
        SUBSCRIPTIONS,
        {"filter_id": headers["bob_filter"], "channel_id": mail["id"]},
        headers=alice,
        status=400,
    )
    subscription = client.post_json(
        SUBSCRIPTIONS,
        {"filter_id": headers["alice_filter"], "channel_id": mail["id"]},
        headers=alice,
        status=201,
    ).json
    assert (subscription["filter_name"], subscription["notify"]) == ("severe", True)
    client.post_json(
        SUBSCRIPTIONS,
        {"filter_id": headers["alice_filter"], "channel_id": mail["id"]},
        headers=alice,
        status=409,
    )
    client.post_json(SUBSCRIPTIONS, {"filter_id": "x", "channel_id": 1}, headers=alice, status=400)
    assert client.get(SUBSCRIPTIONS, headers=bob).json["items"] == []
    client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=bob, status=404)

    # The log: one's own messages; an admin sees everyone's.
    log = client.get(LOG, headers=alice).json
    assert [(d["channel"], d["status"]) for d in log["items"]] == [
        ("hook", "failed"),
        ("mail", "sent"),
    ]
    assert client.get(LOG, headers=bob).json["items"] == []
    first = client.get(LOG, {"pagesize": 1}, headers=carol).json
    assert first["has_more"] is True
    second = client.get(LOG, {"pagesize": 1, "cursor": first["next_cursor"]}, headers=carol).json
    assert [d["id"] for d in second["items"]] == [sent["id"]]
    client.get(LOG, {"cursor": "%%%"}, headers=alice, status=400)
    client.get(LOG, {"status": "lost"}, headers=alice, status=400)

    # The pages show the same.
    page = client.get("/admin/notifications", headers=alice).text
    assert "ops@example.org" in page
    assert "severe" in page
    log_page = client.get("/admin/notifications/log", headers=carol).text
    assert 'data-status="failed"' in log_page
    assert "unreachable" in log_page

    client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=alice, status=204)
    client.delete(f"{CHANNELS}/{mail['id']}", headers=carol, status=204)
    assert [c["name"] for c in client.get(CHANNELS, headers=alice).json["items"]] == ["hook"]


def test_admins_make_channels_for_others_and_webhooks_stay_off_internal_addresses(
    app: tuple[webtest.TestApp, dict[str, Any]],
) -> None:
    client, headers = app
    alice, bob, carol = headers["alice"], headers["bob"], headers["carol"]
    mail = {"name": "mail", "kind": "email", "addresses": ["ops@example.org"]}
    # Only an admin names another user as the owner; naming oneself is no change.
    refused = client.post_json(CHANNELS, {**mail, "owner": "bob"}, headers=alice, status=403)
    assert "owner" in refused.json["error"]
    assert client.get(CHANNELS, headers=carol).json["items"] == []
    own = client.post_json(CHANNELS, {**mail, "owner": "alice"}, headers=alice, status=201).json
    assert own["username"] == "alice"
    for_bob = client.post_json(CHANNELS, {**mail, "owner": "bob"}, headers=carol, status=201).json
    assert for_bob["username"] == "bob"
    assert [c["id"] for c in client.get(CHANNELS, headers=bob).json["items"]] == [for_bob["id"]]
    client.put_json(f"{CHANNELS}/{for_bob['id']}", {"rate_limit": 2}, headers=bob, status=200)
    nobody = client.post_json(CHANNELS, {**mail, "owner": "nobody"}, headers=carol, status=400)
    assert "owner" in nobody.json["error"]
    client.put_json(f"{CHANNELS}/{own['id']}", {"owner": "bob"}, headers=carol, status=400)
    assert client.get(f"{CHANNELS}/{own['id']}", headers=carol).json["username"] == "alice"

    # A webhook's URL cannot be changed to an internal address either; the channel stays.
    url = f"http://127.0.0.1:{free_port()}/hook"
    hook = client.post_json(
        CHANNELS, {"name": "hook", "kind": "webhook", "url": url}, headers=alice, status=201
    ).json
    moved = client.put_json(
        f"{CHANNELS}/{hook['id']}", {"url": "http://192.168.1.1/"}, headers=alice, status=400
    )
    assert "url" in moved.json["error"]
    assert "internal address" in moved.json["error"]
    assert client.get(f"{CHANNELS}/{hook['id']}", headers=alice).json["url"] == url


def test_an_admin_makes_a_channel_for_another_user_on_the_page(
    app: tuple[webtest.TestApp, dict[str, Any]],
) -> None:
    client, headers = app
    alice, bob, carol = headers["alice"], headers["bob"], headers["carol"]
    form = {"action": "create_channel", "kind": "email", "addresses": "ops@example.org"}
    # Only an admin's form names the owner, offering every user's name.
    page = client.get("/admin/notifications", headers=carol).text
    assert 'name="owner" value="carol"' in page
    assert '<option value="bob">' in page
    assert 'name="owner"' not in client.get("/admin/notifications", headers=alice).text

    made = client.post(
        "/admin/notifications", {**form, "name": "bob's mail", "owner": "bob"}, headers=carol
    )
    assert "Channel bob&#39;s mail created for bob." in made.follow(headers=carol).text
    (channel,) = client.get(CHANNELS, headers=bob).json["items"]
    assert (channel["name"], channel["username"]) == ("bob's mail", "bob")
    own = client.post("/admin/notifications", {**form, "name": "mine", "owner": ""}, headers=carol)
    assert "Channel mine created." in own.follow(headers=carol).text

    # Someone else's name from one who is no admin, or a user that does not exist: nothing made.
    for who, owner, error in ((alice, "bob", "only an admin"), (carol, "nobody", "no user")):
        refused = client.post(
            "/admin/notifications", {**form, "name": "sneaky", "owner": owner}, headers=who
        )
        assert error in refused.follow(headers=who).text
    assert [c["name"] for c in client.get(CHANNELS, headers=carol).json["items"]] == [
        "bob's mail",
        "mine",
    ]


def test_test_messages_are_limited_per_user_whatever_the_channel(
    app: tuple[webtest.TestApp, dict[str, Any]],
) -> None:
    """The test button sends at once, outside the rate limits: a user gets TEST_LIMIT a while."""
    client, headers = app
    alice, bob = headers["alice"], headers["bob"]
    url = f"http://127.0.0.1:{free_port()}/hook"
    channels = [
        client.post_json(
            CHANNELS, {"name": f"hook {n}", "kind": "webhook", "url": url}, headers=alice
        ).json["id"]
        for n in range(2)
    ]
    for n in range(TEST_LIMIT):
        sent = client.post(f"{CHANNELS}/{channels[n % 2]}/test", headers=alice, status=200).json
        assert sent["status"] == "failed"
    refused = client.post(f"{CHANNELS}/{channels[1]}/test", headers=alice, status=400).json
    assert "channel_id" in refused["error"]
    assert "test messages" in refused["error"]
    assert len(client.get(LOG, headers=alice).json["items"]) == TEST_LIMIT
    # Another user's channels have their own allowance.
    own = client.post_json(
        CHANNELS, {"name": "hook", "kind": "webhook", "url": url}, headers=bob
    ).json["id"]
    client.post(f"{CHANNELS}/{own}/test", headers=bob, status=200)


def test_with_private_data_a_user_without_a_role_may_not_subscribe(tmp_path) -> None:
    """A subscription sends events: a user who may not see them subscribes nothing."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    services = make_services(url)
    users = UserRegistry(services.sessionmaker)
    users.create_user("dan", roles=[])
    dan = {"Authorization": f"Bearer {users.create_token('dan', 't')[1]}"}
    now = int(time.time())
    with services.sessionmaker.begin() as session:
        saved = EventFilter(
            username="dan", name="all", filter={}, created=now, updated=now, notify=False
        )
        session.add(saved)
        session.flush()
        filter_id = saved.id
    services.close()
    client = webtest.TestApp(
        ampweb.main({}, **{"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", **LOOPBACK_ALLOW})
    )
    try:
        channel = client.post_json(
            CHANNELS,
            {"name": "mail", "kind": "email", "addresses": ["dan@example.org"]},
            headers=dan,
            status=201,
        ).json
        body = {"filter_id": filter_id, "channel_id": channel["id"]}
        client.post_json(SUBSCRIPTIONS, body, headers=dan, status=403)
        client.post(
            "/admin/notifications", {"action": "subscribe", **body}, headers=dan, status=303
        )
        assert client.get(SUBSCRIPTIONS, headers=dan).json["items"] == []
    finally:
        client.app.registry["ampy"].close()
