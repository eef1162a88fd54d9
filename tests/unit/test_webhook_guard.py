"""Webhooks reach only global addresses unless allowed: at saving and again at sending.

The sending tests POST to a real receiver on loopback; where a host name
must resolve to chosen addresses (several, or differently the second time:
a DNS rebind) the resolver is replaced for the test.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

import ampweb
from nntsc.config import resolve_settings
from nntsc.errors import BadValue, ConfigurationError
from nntsc.notifications.channels import check_channel, check_url
from nntsc.notifications.guard import ALLOW_SETTING, Refused, WebhookPolicy
from nntsc.notifications.senders import Message, SendFailed, send_webhook
from tests.notify_receivers import LOOPBACK, WebhookReceiver

MESSAGE = Message("subject", "text", {"kind": "test"})
INTERNAL = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "224.0.0.1",
    "239.1.2.3",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    assert not WebhookPolicy().permits(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(BadValue, match="internal address"):
        check_url(f"http://{host}:8080/hook", WebhookPolicy())


def test_global_addresses_pass_and_allowed_networks_pass_despite_being_internal() -> None:
    strict = WebhookPolicy()
    for address in ("8.8.8.8", "2001:4860:4860::8888"):
        assert strict.permits(ipaddress.ip_address(address))
    policy = WebhookPolicy.from_settings({ALLOW_SETTING: "127.0.0.0/8, 10.1.2.0/24 fd00::/8"})
    for address in ("127.0.0.1", "::ffff:127.0.0.2", "10.1.2.3", "fd00::5"):
        assert policy.permits(ipaddress.ip_address(address)), address
    for address in ("10.1.3.1", "192.168.1.1", "::1"):
        assert not policy.permits(ipaddress.ip_address(address)), address
    assert check_url("http://10.1.2.3/hook", policy) == "http://10.1.2.3/hook"


def test_the_setting_has_an_environment_override_and_bad_networks_are_refused() -> None:
    resolved = resolve_settings(
        {ALLOW_SETTING: "10.0.0.0/8"}, {"NNTSC_NOTIFICATION_WEBHOOK_ALLOW": "192.168.5.0/24"}
    )
    policy = WebhookPolicy.from_settings(resolved)
    assert policy.allow == (ipaddress.ip_network("192.168.5.0/24"),)
    with pytest.raises(ConfigurationError, match=ALLOW_SETTING):
        WebhookPolicy.from_settings({ALLOW_SETTING: "10.0.0.0/8 intranet"})
    # The web app refuses to start with it, rather than fail at the first webhook.
    with pytest.raises(ConfigurationError, match="intranet"):
        ampweb.main({}, **{"nntsc.sql_url": "sqlite://", ALLOW_SETTING: "intranet"})


def test_a_name_is_refused_when_any_of_its_addresses_is_internal(monkeypatch) -> None:
    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "hooks.example.org"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(Refused, match=r"hooks.example.org resolves to 10\.0\.0\.7"):
        WebhookPolicy().check_url("https://hooks.example.org/x")
    with pytest.raises(BadValue, match="url"):
        check_url("https://hooks.example.org/x", WebhookPolicy())


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(BadValue, match="does not resolve"):
        check_url("http://no-such-host.invalid/hook", WebhookPolicy())


def test_sending_to_an_internal_receiver_is_refused_unless_allowed() -> None:
    with WebhookReceiver() as receiver:
        receiver.start()
        with pytest.raises(SendFailed, match=r"webhook refused: 127\.0\.0\.1, an internal address"):
            send_webhook(receiver.url, "", "json", MESSAGE, 1)
        assert receiver.received == []
        send_webhook(receiver.url, "", "json", MESSAGE, 2, LOOPBACK)
        assert [r.document for r in receiver.received] == [{"kind": "test"}]


def test_the_post_goes_to_the_address_checked_not_to_a_rebound_one(monkeypatch) -> None:
    answers = iter(["127.0.0.1", "10.66.0.1"])
    asked: list[str] = []
    real = socket.getaddrinfo

    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "hooks.test":  # the connection's own lookup of the address checked
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    with WebhookReceiver() as receiver:
        receiver.start()
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        send_webhook(
            f"http://hooks.test:{receiver.port}/hook?a=1", "", "json", MESSAGE, 3, LOOPBACK
        )
        # Resolved once, checked, and connected to: a second answer is never asked for.
        assert asked == ["hooks.test"]
        (received,) = receiver.received
        assert received.headers["Host"] == f"hooks.test:{receiver.port}"
        # The next send resolves again, and the new (internal) answer is refused.
        with pytest.raises(SendFailed, match=r"10\.66\.0\.1, an internal address"):
            send_webhook(
                f"http://hooks.test:{receiver.port}/hook", "", "json", MESSAGE, 4, LOOPBACK
            )
        assert len(receiver.received) == 1


def test_a_failed_answer_is_logged_by_status_never_by_its_body() -> None:
    with WebhookReceiver(failing_body=b"db password: hunter2") as receiver:
        receiver.start()
        with pytest.raises(SendFailed) as failed:
            send_webhook(receiver.url, "", "json", MESSAGE, 5, LOOPBACK)
    assert str(failed.value) == "webhook answered 500 (Internal Server Error)"
    assert "hunter2" not in str(failed.value)


def test_a_channel_whose_url_is_no_longer_allowed_can_still_be_renamed_or_disabled() -> None:
    current = {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": ""}
    changed = check_channel({"enabled": False, "name": "old"}, current, WebhookPolicy())
    assert (changed["enabled"], changed["name"]) == (False, "old")
    with pytest.raises(BadValue, match="internal address"):
        check_channel({"url": "http://127.0.0.1:10/hook"}, current, WebhookPolicy())
