"""The notification pages in Chromium: add channels, send a test, subscribe a filter, read the log.

Test messages go to a real SMTP server (aiosmtpd); a webhook channel points
at a port nothing listens on, so the log shows a failure and its reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notify_receivers import LOOPBACK_ALLOW, SmtpReceiver, free_port

PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver) -> Iterator[str]:
    """The app with user ``alice`` and her saved filter ``severe``."""
    from ampweb.accounts import UserRegistry
    from nntsc.events.models import EventFilter
    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('notify-browser')}/nntsc.sqlite"
    services = make_services(url)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", PASSWORD, ["viewdata"])
        now = int(time.time())
        with services.sessionmaker.begin() as session:
            session.add(
                EventFilter(
                    username="alice",
                    name="severe",
                    filter={"min_severity": 50},
                    notify=False,
                    created=now,
                    updated=now,
                )
            )
    finally:
        services.close()
    settings = {
        "nntsc.sql_url": url,
        "nntsc.timeseries_url": "sql",
        "ampweb.session_secret": "n" * 40,
        "nntsc.smtp.host": "127.0.0.1",
        "nntsc.smtp.port": str(smtp.port),
        "nntsc.notification_delivery": "celery",
        **LOOPBACK_ALLOW,
    }
    with serve_app(**settings) as server_url:
        yield server_url


def test_channels_tests_subscriptions_and_the_log(
    server: str, smtp: SmtpReceiver, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{server}/login?came_from=/admin/notifications")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/admin/notifications")

    page.get_by_label("Name", exact=True).fill("ops mail")
    page.get_by_label("E-mail addresses").fill("ops@example.org, noc@example.org")
    page.get_by_role("button", name="Create channel").click()
    page.get_by_text("Channel ops mail created.").wait_for()

    page.get_by_label("Name", exact=True).fill("chat")
    page.get_by_label("Kind").select_option("webhook")
    page.get_by_label("Webhook URL").fill(f"http://127.0.0.1:{free_port()}/hook")
    page.get_by_label("Body format").select_option("slack")
    page.get_by_role("button", name="Create channel").click()
    page.get_by_text("Channel chat created.").wait_for()

    mail_row = page.locator("tr", has_text="ops mail")
    mail_row.get_by_role("button", name="Send a test").click()
    page.get_by_text("Test message sent.").wait_for()
    assert len(smtp.messages) == 1
    assert smtp.recipients[-1] == ["ops@example.org", "noc@example.org"]
    page.locator("tr", has_text="chat").get_by_role("button", name="Send a test").click()
    page.get_by_role("alert").wait_for()
    assert "webhook unreachable" in page.get_by_role("alert").inner_text()
    page.locator("tr", has_text="chat").get_by_role("button", name="Disable").click()
    page.get_by_text("Channel chat disabled.").wait_for()
    assert "disabled" in page.locator("tr", has_text="chat").inner_text()

    page.locator("select[name=channel_id]").select_option(label="ops mail")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_text("Subscribed.").wait_for()
    subscriptions = page.get_by_test_id("subscriptions")
    assert "severe" in subscriptions.inner_text()
    page.screenshot(path=str(artifacts / "notifications-channels.png"), full_page=True)

    page.get_by_role("link", name="Delivery log").click()
    page.wait_for_url(f"{server}/admin/notifications/log")
    rows = page.get_by_test_id("deliveries").locator("tbody tr")
    assert rows.count() == 2
    assert page.locator('tr[data-status="failed"]').count() == 1
    assert page.locator('tr[data-status="sent"]').count() == 1
    page.screenshot(path=str(artifacts / "notifications-log.png"), full_page=True)
    # The failed test message is a POST answered 303 with the error shown: no HTTP errors.
    assert watched.problems == []
