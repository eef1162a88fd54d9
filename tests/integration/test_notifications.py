"""Notifications reach a real SMTP server and a real webhook receiver, once per group and channel.

Events are stored through the grouping sink, as detection stores them;
each pass is what the in-process thread (or the Celery tasks) runs: scan,
then try what is due. The receivers are real servers on loopback ports
(`tests.notify_receivers`); the webhook one checks the HMAC signature.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select

from ampweb.accounts import UserRegistry
from nntsc.config import Services
from nntsc.events.groups import prune_recent
from nntsc.events.models import EventFilter, EventGroup
from nntsc.notifications.channels import NotificationRegistry
from nntsc.notifications.delivery import DeliverySettings, deliver, run_pass, scan
from nntsc.notifications.metrics import NotificationCollector
from nntsc.notifications.models import NotificationCount, NotificationDelivery
from nntsc.notifications.senders import SmtpSettings
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events
from tests.notify_receivers import LOOPBACK, SmtpReceiver, WebhookReceiver, free_port

SECRET = "s3cret"


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        UserRegistry(services.sessionmaker).create_user("alice", roles=["viewdata"])
        yield services
    finally:
        services.close()


def saved_filter(services: Services, name: str, value: dict[str, Any], user: str = "alice") -> int:
    now = int(time.time())
    with services.sessionmaker.begin() as session:
        row = EventFilter(
            username=user, name=name, filter=value, notify=False, created=now, updated=now
        )
        session.add(row)
        session.flush()
        return row.id


def settings_for(smtp: SmtpReceiver | None = None, retry: float = 1.0) -> DeliverySettings:
    return DeliverySettings(
        retry_base=retry,
        attempts=5,
        smtp=SmtpSettings(host="127.0.0.1", port=smtp.port) if smtp else SmtpSettings(),
        webhook=LOOPBACK,
    )


def live_groups(services: Services) -> list[EventGroup]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(EventGroup).where(EventGroup.status != "merged")))


def scrape(services: Services) -> str:
    """What /metrics says of notifications."""
    registry = CollectorRegistry()
    registry.register(NotificationCollector(services.engine))
    return generate_latest(registry).decode()


def log(services: Services) -> list[NotificationDelivery]:
    with services.sessionmaker() as session:
        return list(session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


def test_each_group_is_announced_once_per_channel_and_followed_up_as_it_grows(
    services: Services,
) -> None:
    registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
    with SmtpReceiver() as smtp, WebhookReceiver(secret=SECRET).start() as hook:
        settings = settings_for(smtp)
        mail = registry.create_channel(
            "alice", {"name": "ops mail", "kind": "email", "addresses": ["ops@example.org"]}
        )
        webhook = registry.create_channel(
            "alice", {"name": "hook", "kind": "webhook", "url": hook.url, "secret": SECRET}
        )
        quiet = registry.create_channel(
            "alice", {"name": "severe only", "kind": "webhook", "url": hook.url + "/severe"}
        )
        everything = saved_filter(services, "all", {})
        severe = saved_filter(services, "severe", {"min_severity": 90})
        wlg = saved_filter(services, "from wlg", {"sources": ["amp-wlg"]})
        for filter_id, channel in (
            (everything, mail),
            (wlg, mail),  # the same groups again on the same channel: still one message
            (everything, webhook),
            (severe, quiet),
        ):
            registry.create_subscription(filter_id, channel["id"], "alice")
        # The first scan only sets the cursor: what was stored before is not news.
        assert scan(services.sessionmaker, settings).queued == []

        now = int(time.time())
        # History detected now (three days old) is not news.
        old = icmp_stream(services, "amp-old", "www.example.org")
        store_events(
            services,
            [event_row(old, now - 3 * 86400, source="amp-old", target="www.example.org")],
        )
        stream = icmp_stream(services, "amp-wlg", "www.example.com")
        store_events(
            services,
            [event_row(stream, now - 120, source="amp-wlg", target="www.example.com")],
        )
        (group,) = [g for g in live_groups(services) if g.key == "source:amp-wlg"]
        assert group.status == "open"
        outcomes = run_pass(services.sessionmaker, settings)
        assert [o.status for o in outcomes] == ["sent", "sent"]
        assert len(smtp.messages) == 1
        assert smtp.recipients == [["ops@example.org"]]
        assert f"event group {group.id}" in smtp.messages[0]["Subject"]
        assert len(hook.received) == 1
        assert hook.received[0].signed_correctly
        document = hook.received[0].document
        assert (document["kind"], document["group"]["id"]) == ("opened", group.id)
        assert document["events"][0]["description"] == "median 20.0 ms -> 40.0 ms"

        # Passes with nothing new send nothing.
        assert run_pass(services.sessionmaker, settings) == []
        assert len(smtp.messages) == 1
        assert len(hook.received) == 1

        # The group grows: one follow-up on each channel.
        other = icmp_stream(services, "amp-wlg", "www.example.net")
        store_events(
            services,
            [event_row(other, now - 60, source="amp-wlg", target="www.example.net", severity=60)],
        )
        run_pass(services.sessionmaker, settings)
        run_pass(services.sessionmaker, settings)
        assert len(smtp.messages) == 2
        assert len(hook.received) == 2
        grown = hook.received[1].document
        assert grown["kind"] == "grew"
        assert (grown["group"]["event_count"], grown["group"]["severity"]) == (2, 60)

        # It goes quiet and closes (the periodic pruning pass, an hour later): it ended.
        prune_recent(services, now=now + 3600)
        run_pass(services.sessionmaker, settings)
        run_pass(services.sessionmaker, settings)
        assert len(smtp.messages) == 3
        assert len(hook.received) == 3
        ended = hook.received[2].document
        assert (ended["kind"], ended["group"]["status"]) == ("ended", "closed")
        assert all(r.signed_correctly for r in hook.received)

    sent = [(d.group_id, d.channel_id, d.sequence, d.kind, d.status) for d in log(services)]
    assert sorted(sent) == sorted(
        [
            (group.id, mail["id"], 0, "opened", "sent"),
            (group.id, webhook["id"], 0, "opened", "sent"),
            (group.id, mail["id"], 1, "grew", "sent"),
            (group.id, webhook["id"], 1, "grew", "sent"),
            (group.id, mail["id"], 2, "ended", "sent"),
            (group.id, webhook["id"], 2, "ended", "sent"),
        ]
    )
    with services.sessionmaker() as session:
        counts = {
            (c.channel_kind, c.outcome): c.total for c in session.scalars(select(NotificationCount))
        }
    assert counts == {("email", "sent"): 3, ("webhook", "sent"): 3}


def test_a_receiver_that_is_down_is_retried_and_gets_each_message_once(
    services: Services,
) -> None:
    registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
    settings = settings_for(retry=5.0)
    hook = WebhookReceiver(secret=SECRET, port=free_port())
    channel = registry.create_channel(
        "alice", {"name": "hook", "kind": "webhook", "url": hook.url, "secret": SECRET}
    )
    registry.create_subscription(saved_filter(services, "all", {}), channel["id"], "alice")
    scan(services.sessionmaker, settings)
    now = int(time.time())
    stream = icmp_stream(services, "amp-a", "amp-b")
    store_events(services, [event_row(stream, now - 600, source="amp-a", target="amp-b")])

    # Down: the attempt fails, is logged, and waits for its backoff.
    (outcome,) = run_pass(services.sessionmaker, settings)
    assert outcome.status == "retry"
    assert outcome.retry_in == 5.0
    (pending,) = log(services)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert "unreachable" in pending.error
    assert "nntsc_notification_queue_messages 1.0" in scrape(services)
    # Not due yet: a pass (or a duplicate task) leaves it alone.
    early = pending.next_attempt - 1
    assert deliver(services.sessionmaker, pending.id, settings, now=early).status == "skipped"
    assert run_pass(services.sessionmaker, settings, now=early) == []

    with hook.start():
        due = pending.next_attempt
        (outcome,) = run_pass(services.sessionmaker, settings, now=due)
        assert outcome.status == "sent"
        # Again, and the same delivery tried again, as a retried task would: nothing more.
        assert run_pass(services.sessionmaker, settings, now=due + 60) == []
        assert deliver(services.sessionmaker, pending.id, settings, now=due).status == "skipped"
    assert len(hook.received) == 1
    assert hook.received[0].signed_correctly
    assert hook.received[0].headers["X-Nntsc-Delivery"] == str(pending.id)
    (sent,) = log(services)
    assert (sent.status, sent.attempts, sent.error) == ("sent", 2, "")
    metrics = scrape(services)
    assert '_deliveries_total{channel_kind="webhook",outcome="sent"} 1.0' in metrics
    assert 'deliveries_total{channel_kind="webhook",outcome="failed"} 1.0' in metrics
    assert "nntsc_notification_queue_messages 0.0" in metrics
    assert "nntsc_notification_queue_age_seconds 0.0" in metrics


def test_a_disabled_users_subscriptions_announce_nothing_until_enabled_again(
    services: Services,
) -> None:
    """A user who may no longer log in is sent no events; enabled again, new groups reach them."""
    registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
    users = UserRegistry(services.sessionmaker)
    settings = settings_for()
    with WebhookReceiver().start() as hook:
        channel = registry.create_channel(
            "alice", {"name": "hook", "kind": "webhook", "url": hook.url}
        )
        registry.create_subscription(saved_filter(services, "all", {}), channel["id"], "alice")
        scan(services.sessionmaker, settings)
        users.disable_user("alice")
        now = int(time.time())
        first = icmp_stream(services, "amp-a", "amp-b")
        store_events(services, [event_row(first, now - 600, source="amp-a", target="amp-b")])
        assert run_pass(services.sessionmaker, settings) == []
        users.update_user("alice", enabled=True)
        second = icmp_stream(services, "amp-c", "amp-d")
        store_events(services, [event_row(second, now - 300, source="amp-c", target="amp-d")])
        assert [o.status for o in run_pass(services.sessionmaker, settings)] == ["sent"]
    assert len(hook.received) == 1
    assert "amp-c" in hook.received[0].body.decode()


def test_a_user_who_may_no_longer_view_the_data_is_sent_nothing(services: Services) -> None:
    """Roles removed but still enabled: nothing queued is sent, nothing new is queued;
    with ``ampweb.public_data`` on, anyone enabled may view, so they are sent again."""
    registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
    users = UserRegistry(services.sessionmaker)
    settings = settings_for()
    with WebhookReceiver().start() as hook:
        channel = registry.create_channel(
            "alice", {"name": "hook", "kind": "webhook", "url": hook.url}
        )
        registry.create_subscription(saved_filter(services, "all", {}), channel["id"], "alice")
        scan(services.sessionmaker, settings)
        now = int(time.time())
        first = icmp_stream(services, "amp-a", "amp-b")
        store_events(services, [event_row(first, now - 600, source="amp-a", target="amp-b")])
        # Queued while alice could view; her roles go before it is sent.
        (queued,) = scan(services.sessionmaker, settings).queued
        users.update_user("alice", roles=[])
        outcome = deliver(services.sessionmaker, queued, settings)
        assert (outcome.status, outcome.error) == (
            "failed",
            "the channel's owner may no longer view the data",
        )
        second = icmp_stream(services, "amp-c", "amp-d")
        store_events(services, [event_row(second, now - 300, source="amp-c", target="amp-d")])
        assert run_pass(services.sessionmaker, settings) == []
        assert hook.received == []
        assert 'deliveries_total{channel_kind="webhook",outcome="given_up"} 1.0' in scrape(services)

        # Data public: an enabled user without roles may view it, so is sent events.
        public = dataclasses.replace(settings, public_data=True)
        third = icmp_stream(services, "amp-e", "amp-f")
        store_events(services, [event_row(third, now - 200, source="amp-e", target="amp-f")])
        assert [o.status for o in run_pass(services.sessionmaker, public)] == ["sent"]
        assert "amp-e" in hook.received[0].body.decode()
        # Not public, and a role that includes viewdata: sent again.
        users.update_user("alice", roles=["editconfig"])
        fourth = icmp_stream(services, "amp-g", "amp-h")
        store_events(services, [event_row(fourth, now - 100, source="amp-g", target="amp-h")])
        assert [o.status for o in run_pass(services.sessionmaker, settings)] == ["sent"]
    assert len(hook.received) == 2
    assert "amp-g" in hook.received[1].body.decode()


def test_the_rate_limit_defers_and_then_summarises_without_dropping(services: Services) -> None:
    registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
    settings = settings_for()
    with WebhookReceiver().start() as hook:
        channel = registry.create_channel(
            "alice",
            {"name": "chat", "kind": "webhook", "url": hook.url, "body_format": "slack"}
            | {"rate_limit": 2, "rate_period": 60},
        )
        registry.create_subscription(saved_filter(services, "all", {}), channel["id"], "alice")
        scan(services.sessionmaker, settings)
        now = int(time.time())
        # Four incidents with nothing in common: four groups.
        for n in range(4):
            stream = icmp_stream(services, f"amp-{n}", f"target-{n}")
            store_events(
                services, [event_row(stream, now - 600, source=f"amp-{n}", target=f"target-{n}")]
            )
        outcomes = run_pass(services.sessionmaker, settings)
        assert sorted(o.status for o in outcomes) == ["deferred", "deferred", "sent", "sent"]
        assert len(hook.received) == 2
        # The window is still full: no summary yet.
        assert scan(services.sessionmaker, settings).summaries == []

        later = int(time.time()) + 61
        (summary_id,) = scan(services.sessionmaker, settings, now=later).summaries
        assert deliver(services.sessionmaker, summary_id, settings, now=later).status == "sent"
        assert len(hook.received) == 3
        summary = hook.received[2].document
        assert set(summary) == {"text"}
        assert summary["text"].startswith("2 notifications were held back")
        # Nothing is summarised twice.
        assert scan(services.sessionmaker, settings, now=later).summaries == []

    statuses = sorted((d.kind, d.status) for d in log(services))
    assert statuses == [
        ("opened", "sent"),
        ("opened", "sent"),
        ("opened", "summarised"),
        ("opened", "summarised"),
        ("summary", "sent"),
    ]
    assert {d.summary_id for d in log(services) if d.status == "summarised"} == {summary_id}
    # The log keeps finished messages for its retention (90 days), then forgets them.
    scan(services.sessionmaker, settings, now=later + 89 * 86400)
    assert len(log(services)) == 5
    scan(services.sessionmaker, settings, now=later + 91 * 86400)
    assert log(services) == []


def test_concurrent_passes_on_postgresql_send_each_message_once(postgres_url: str) -> None:
    """Four processes' worth of scans and attempts at once: the unique key and the claim hold."""
    services = make_services(postgres_url)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", roles=["viewdata"])
        registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
        with WebhookReceiver(secret=SECRET).start() as hook, SmtpReceiver() as smtp:
            settings = settings_for(smtp)
            everything = saved_filter(services, "all", {})
            for channel in (
                {"name": "hook", "kind": "webhook", "url": hook.url, "secret": SECRET},
                {"name": "mail", "kind": "email", "addresses": ["ops@example.org"]},
            ):
                created = registry.create_channel("alice", channel | {"rate_limit": 100})
                registry.create_subscription(everything, created["id"], "alice")
            scan(services.sessionmaker, settings)
            now = int(time.time())
            for n in range(5):
                stream = icmp_stream(services, f"amp-{n}", f"target-{n}")
                store_events(
                    services,
                    [event_row(stream, now - 60, source=f"amp-{n}", target=f"target-{n}")],
                )
            errors: list[BaseException] = []

            def passes() -> None:
                try:
                    for _ in range(3):
                        run_pass(services.sessionmaker, settings)
                except BaseException as error:
                    errors.append(error)

            threads = [threading.Thread(target=passes) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert errors == []
            groups = {g.id for g in live_groups(services)}
            assert len(groups) == 5
            assert sorted(r.document["group"]["id"] for r in hook.received) == sorted(groups)
            assert len(smtp.messages) == 5
        assert sorted((d.kind, d.status) for d in log(services)) == [("opened", "sent")] * 10
    finally:
        services.close()
