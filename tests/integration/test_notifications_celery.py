"""Notifications through a real Celery worker and beat, to a webhook receiver that starts down.

Beat queues the scan every second; the worker (a separate process, as in
production) writes the message, fails to reach the receiver, retries
itself with its backoff, and once the receiver is up delivers the message
exactly once, however many scans and retries run after.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from ampweb.accounts import UserRegistry
from nntsc.events.models import EventFilter
from nntsc.notifications.channels import NotificationRegistry
from nntsc.notifications.delivery import DeliverySettings, scan
from nntsc.notifications.models import NotificationDelivery
from tests.celery_processes import celery_processes
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events
from tests.notify_receivers import LOOPBACK, WebhookReceiver, wait_for

SECRET = "worker-secret"


def test_a_webhook_that_is_down_gets_its_message_once_through_the_worker(
    postgres_url: str, tmp_path
) -> None:
    settings = {
        "nntsc.sql_url": postgres_url,
        "nntsc.timeseries_url": "sql",
        "nntsc.notification_delivery": "celery",
        "nntsc.notification_period": "1",
        "nntsc.notification_retry": "1",
        "nntsc.event_pruning": "celery",
        "nntsc.expiry": "celery",
        # The receiver is on loopback, which webhooks may not reach by default.
        "nntsc.notification_webhook_allow": "127.0.0.0/8",
    }
    services = make_services(postgres_url)
    hook = WebhookReceiver(secret=SECRET)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", roles=["viewdata"])
        now = int(time.time())
        with services.sessionmaker.begin() as session:
            saved = EventFilter(
                username="alice", name="all", filter={}, notify=False, created=now, updated=now
            )
            session.add(saved)
            session.flush()
            filter_id = saved.id
        registry = NotificationRegistry(services.sessionmaker, LOOPBACK)
        channel = registry.create_channel(
            "alice", {"name": "hook", "kind": "webhook", "url": hook.url, "secret": SECRET}
        )
        registry.create_subscription(filter_id, channel["id"], "alice")
        # The first scan sets the cursor (the worker's would too, a second later).
        scan(services.sessionmaker, DeliverySettings())

        def log() -> list[NotificationDelivery]:
            with services.sessionmaker() as session:
                return list(session.scalars(select(NotificationDelivery)))

        with celery_processes(tmp_path, settings) as celery:
            stream = icmp_stream(services, "amp-a", "amp-b")
            store_events(services, [event_row(stream, now - 60, source="amp-a", target="amp-b")])
            wait_for(
                lambda: any(d.attempts >= 2 for d in log()),
                60,
                "two failed attempts " + celery.log("worker")[-2000:],
            )
            (pending,) = log()
            assert pending.status in ("pending", "sending")
            assert "unreachable" in pending.error
            hook.start()
            wait_for(lambda: log()[0].status == "sent", 60, "the message sent")
            # More scans (every second) and no more sends.
            time.sleep(3)
            worker = celery.log("worker")
        assert len(hook.received) == 1
        assert hook.received[0].signed_correctly
        assert hook.received[0].document["kind"] == "opened"
        (sent,) = log()
        assert sent.attempts >= 3
        assert "Task nntsc.notifications.scan" in worker
        assert "Task nntsc.notifications.send" in worker
        assert "retry: Retry in 1" in worker
    finally:
        hook.stop()
        services.close()
