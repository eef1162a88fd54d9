"""Notification settings: the mail server from the ini and the environment, retries, messages."""

from __future__ import annotations

import json

import pytest

from nntsc.config import resolve_settings
from nntsc.errors import ConfigurationError
from nntsc.notifications.delivery import DeliverySettings
from nntsc.notifications.senders import Message, SmtpSettings, signature, webhook_body


def test_the_environment_wins_over_the_ini_for_the_mail_server() -> None:
    ini = {"nntsc.smtp.host": "mail.example.org", "nntsc.smtp.port": "2525"}
    environ = {"NNTSC_SMTP_HOST": "relay.example.net", "NNTSC_SMTP_STARTTLS": "true"}
    smtp = SmtpSettings.from_settings(resolve_settings(ini, environ))
    assert (smtp.host, smtp.port, smtp.starttls, smtp.ssl) == (
        "relay.example.net",
        2525,
        True,
        False,
    )
    assert SmtpSettings.from_settings({"nntsc.smtp.ssl": "yes"}).port == 465


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"nntsc.smtp.port": "smtp"}, "nntsc.smtp.port"),
        ({"nntsc.smtp.port": "70000"}, "nntsc.smtp.port"),
        ({"nntsc.notification_attempts": "0"}, "nntsc.notification_attempts"),
        ({"nntsc.notification_retry": "-1"}, "nntsc.notification_retry"),
        ({"nntsc.notification_period": "often"}, "nntsc.notification_period"),
    ],
)
def test_bad_settings_are_named(settings: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named.replace(".", r"\.")):
        DeliverySettings.from_settings(settings)


def test_the_backoff_doubles_up_to_its_ceiling() -> None:
    settings = DeliverySettings.from_settings(
        {"nntsc.notification_retry": "30", "nntsc.notification_retry_max": "100"}
    )
    assert [settings.backoff(n) for n in (1, 2, 3, 4)] == [30.0, 60.0, 100.0, 100.0]


def test_webhook_bodies_and_their_signature() -> None:
    message = Message("subject", "group 1 grew", {"kind": "grew", "text": "group 1 grew"})
    assert json.loads(webhook_body("slack", message)) == {"text": "group 1 grew"}
    body = webhook_body("json", message)
    assert json.loads(body) == message.document
    # The HMAC-SHA256 test vector of RFC 4231 (test case 2).
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_a_group_message_lists_its_events_and_links_the_dashboard() -> None:
    from nntsc.notifications.messages import EventFacts, GroupFacts, group_message

    group = GroupFacts(
        id=7,
        key="asn:64496",
        key_kind="asn",
        asns="64496",
        direction="up",
        status="merged",
        ts_started=1_796_000_000,
        ts_ended=1_796_000_300,
        severity=45,
        event_count=1,
        source_count=1,
        target_count=1,
        endpoint_count=2,
        merged_into=9,
    )
    event = EventFacts(1, "amp-icmp", 3, "incr", "median", 45, "median 20 ms -> 41 ms", "a", "b", 0)
    message = group_message("ended", group, [event], 12, "ops", "https://nntsc.example.org/")
    assert message.subject.startswith("[nntsc] ended event group 7: AS64496, direction up")
    assert "merged into group 9" in message.text
    assert "a -> b: median 20 ms -> 41 ms (severity 45)" in message.text
    assert message.text.endswith("https://nntsc.example.org/events?start=1796000000&end=1796000001")
    assert (message.document["delivery_id"], message.document["group"]["id"]) == (12, 7)


def test_the_roles_that_may_be_sent_events_are_those_that_may_view_the_data() -> None:
    from pyramid.settings import asbool

    from ampweb.accounts.registry import IMPLIED_ROLES, ROLES
    from nntsc.notifications.delivery import VIEW_ROLES, may_view

    assert {role for role in ROLES if "viewdata" in IMPLIED_ROLES[role]} == VIEW_ROLES
    for text in ("true", "True", " yes ", "on", "1", "t", "y", "false", "no", "0", "", "maybe"):
        settings = DeliverySettings.from_settings({"ampweb.public_data": text})
        assert settings.public_data is asbool(text.strip()), text
    assert DeliverySettings.from_settings({}).public_data is False
    environ = {"AMPWEB_PUBLIC_DATA": "true"}
    resolved = resolve_settings({"ampweb.public_data": "false"}, environ)
    assert DeliverySettings.from_settings(resolved).public_data is True
    assert may_view(True, ["viewdata"], public_data=False)
    assert not may_view(True, [], public_data=False)
    assert may_view(True, [], public_data=True)
    assert not may_view(False, ["admin"], public_data=True)
