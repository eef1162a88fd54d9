"""The notification pages in Chromium: add, test, edit channels, subscribe a filter, read the log.

Test messages go to a real SMTP server (aiosmtpd); a webhook channel points
at a port nothing listens on, so the log shows a failure and its reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.notify_receivers import LOOPBACK_ALLOW, SmtpReceiver, free_port

PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver) -> Iterator[str]:
    """The app with user ``alice`` and her saved filter ``severe``, and admin ``root``."""
    from ampweb.accounts import UserRegistry
    from nntsc.events.models import EventFilter
    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('notify-browser')}/nntsc.sqlite"
    services = make_services(url)
    try:
        UserRegistry(services.sessionmaker).create_user("alice", PASSWORD, ["viewdata"])
        UserRegistry(services.sessionmaker).create_user("root", PASSWORD, ["admin"])
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

    new = page.get_by_test_id("new-channel")
    new.get_by_label("Name", exact=True).fill("ops mail")
    new.get_by_label("E-mail addresses").fill("ops@example.org, noc@example.org")
    new.get_by_role("button", name="Create channel").click()
    page.get_by_text("Channel ops mail created.").wait_for()

    new.get_by_label("Name", exact=True).fill("chat")
    new.get_by_label("Kind").select_option("webhook")
    new.get_by_label("Webhook URL").fill(f"http://127.0.0.1:{free_port()}/hook")
    new.get_by_label("Body format").select_option("slack")
    new.get_by_role("button", name="Create channel").click()
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

    # Editing a channel: the dialog opens filled in; the API's refusal shows in it; Save PUTs.
    page.get_by_role("button", name="Edit chat").click()
    dialog = page.locator("#channel-dialog")
    dialog.get_by_label("Name", exact=True).wait_for()
    assert dialog.get_by_label("Webhook URL").input_value().startswith("http://127.0.0.1:")
    assert dialog.get_by_label("Body format").input_value() == "slack"
    assert dialog.get_by_label("Kind").is_disabled()
    assert not dialog.get_by_label("E-mail addresses").is_visible()
    dialog.get_by_label("Webhook URL").fill("http://10.0.0.5/hook")
    dialog.get_by_role("button", name="Save").click()
    refused = dialog.get_by_role("alert")
    refused.wait_for()
    assert "internal address" in refused.inner_text()
    moved = f"http://127.0.0.1:{free_port()}/moved"
    dialog.get_by_label("Name", exact=True).fill("team chat")
    dialog.get_by_label("Webhook URL").fill(moved)
    dialog.get_by_label("At most this many messages").fill("3")
    dialog.get_by_label("Enabled").check()
    page.screenshot(path=str(artifacts / "notifications-edit.png"), full_page=False)
    with page.expect_request(lambda r: r.method == "PUT") as put:
        dialog.get_by_role("button", name="Save").click()
    assert put.value.post_data_json == {
        "name": "team chat",
        "url": moved,
        "rate_limit": 3,
        "enabled": True,
    }
    page.wait_for_load_state()
    row = page.get_by_test_id("channels").locator("tr", has_text="team chat")
    row.wait_for()
    assert moved in row.inner_text()
    assert "3 per 3600 s" in row.inner_text()
    assert "enabled" in row.inner_text()

    page.get_by_role("button", name="Edit ops mail").click()
    assert dialog.get_by_label("E-mail addresses").input_value() == (
        "ops@example.org, noc@example.org"
    )
    assert not dialog.get_by_label("Webhook URL").is_visible()
    dialog.get_by_label("E-mail addresses").fill("noc@example.org")
    dialog.get_by_role("button", name="Save").click()
    mail_row = page.get_by_test_id("channels").locator("tr", has_text="ops mail")
    # The page reloads once the PUT is answered.
    expect(mail_row).not_to_contain_text("ops@example.org")
    expect(mail_row).to_contain_text("noc@example.org")
    page.screenshot(path=str(artifacts / "notifications-channels.png"), full_page=True)

    page.get_by_role("link", name="Delivery log").click()
    page.wait_for_url(f"{server}/admin/notifications/log")
    rows = page.get_by_test_id("deliveries").locator("tbody tr")
    assert rows.count() == 2
    assert page.locator('tr[data-status="failed"]').count() == 1
    assert page.locator('tr[data-status="sent"]').count() == 1
    page.screenshot(path=str(artifacts / "notifications-log.png"), full_page=True)
    # The failed test message is a POST answered 303 with the error shown; the one HTTP
    # error is the refused URL's 400 (which the browser reports on the console as well).
    assert watched.page_errors == []
    assert [r.rsplit(": ", 1)[1] for r in watched.failed_requests] == ["HTTP 400"]
    assert len(watched.console_errors) == 1


def test_an_admin_makes_a_channel_for_another_user(
    server: str, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{server}/login?came_from=/admin/notifications")
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/admin/notifications")

    new = page.get_by_test_id("new-channel")
    owner = new.get_by_label("For user")
    assert owner.input_value() == "root"
    new.get_by_label("Name", exact=True).fill("alice's pager")
    new.get_by_label("E-mail addresses").fill("alice@example.org")
    owner.fill("alice")
    page.screenshot(path=str(artifacts / "notifications-admin-owner.png"), full_page=True)
    new.get_by_role("button", name="Create channel").click()
    page.get_by_text("Channel alice's pager created for alice.").wait_for()
    row = page.get_by_test_id("channels").locator("tr", has_text="alice's pager")
    assert row.locator("td").first.inner_text() == "alice"
    assert watched.problems == []
