"""Sending one message: by SMTP to a channel's addresses, or by HTTP POST to its webhook.

A sender either returns (the message was accepted: the mail server took it,
the webhook answered 2xx) or raises `SendFailed` saying why; the caller
records the attempt and retries later. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

import requests

from nntsc.errors import ConfigurationError, NntscError

#: Seconds to wait for a mail server or a webhook.
SEND_TIMEOUT = 10.0
#: The header carrying a webhook body's signature: ``sha256=<hex HMAC-SHA256 of the body>``.
SIGNATURE_HEADER = "X-Nntsc-Signature"
#: The header naming the delivery, the same on every attempt (receivers may deduplicate on it).
DELIVERY_HEADER = "X-Nntsc-Delivery"
#: How much of a failed webhook's answer the delivery log keeps.
ANSWER_EXCERPT = 200


class SendFailed(NntscError):
    """A message was not accepted; the message says why (kept in the delivery log)."""


@dataclass(frozen=True)
class Message:
    """What is sent: a subject and text for people, and a JSON document for programs."""

    subject: str
    text: str
    document: dict[str, Any]


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server, from ``nntsc.smtp.*`` (each with an ``NNTSC_SMTP_*`` override)."""

    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = "nntsc@localhost"
    starttls: bool = False
    ssl: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> SmtpSettings:
        port_text = str(settings.get("nntsc.smtp.port", "")).strip()
        secure = _flag(str(settings.get("nntsc.smtp.ssl", "")))
        try:
            port = int(port_text) if port_text else (465 if secure else 25)
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise ConfigurationError(f"nntsc.smtp.port {port_text!r}: expected a port number")
        return cls(
            host=str(settings.get("nntsc.smtp.host", "")).strip(),
            port=port,
            user=str(settings.get("nntsc.smtp.user", "")).strip(),
            password=str(settings.get("nntsc.smtp.password", "")),
            sender=str(settings.get("nntsc.smtp.from", "")).strip() or cls.sender,
            starttls=_flag(str(settings.get("nntsc.smtp.starttls", ""))),
            ssl=secure,
        )


def send_email(smtp: SmtpSettings, addresses: Sequence[str], message: Message) -> None:
    """Hand `message` to the mail server for `addresses`; `SendFailed` if it is not taken."""
    if not smtp.host:
        raise SendFailed("no mail server: set nntsc.smtp.host (or NNTSC_SMTP_HOST)")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(addresses)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    mail.set_content(message.text)
    try:
        client: smtplib.SMTP
        if smtp.ssl:
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SEND_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SEND_TIMEOUT)
        with client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            refused = client.send_message(mail, to_addrs=list(addresses))
    except (OSError, smtplib.SMTPException) as error:
        raise SendFailed(f"mail server {smtp.host}:{smtp.port}: {error}") from error
    if refused:
        # Some recipients were taken: sending again would repeat it to them.
        # The log names the ones refused.
        raise SendFailed(f"recipients refused: {', '.join(sorted(refused))}")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Nntsc-Signature`` value of `body`: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(body_format: str, message: Message) -> bytes:
    """The POST body: the JSON document, or ``{"text": ...}`` (Slack and Mattermost)."""
    if body_format == "slack":
        document: dict[str, Any] = {"text": message.text}
    else:
        document = message.document
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def send_webhook(
    url: str, secret: str, body_format: str, message: Message, delivery_id: int
) -> None:
    """POST `message` to `url`; `SendFailed` unless it answers 2xx."""
    body = webhook_body(body_format, message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "nntsc-notifications",
        DELIVERY_HEADER: str(delivery_id),
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    try:
        answer = requests.post(
            url, data=body, headers=headers, timeout=SEND_TIMEOUT, allow_redirects=False
        )
    except requests.Timeout as error:
        raise SendFailed(f"webhook unreachable: no answer in {SEND_TIMEOUT:g} s") from error
    except requests.ConnectionError as error:
        where = urlsplit(url)
        host = f"{where.hostname}:{where.port}" if where.port else where.hostname
        raise SendFailed(f"webhook unreachable: could not connect to {host}") from error
    except requests.RequestException as error:
        raise SendFailed(f"webhook failed: {error.__class__.__name__}: {error}") from error
    if not 200 <= answer.status_code < 300:
        excerpt = answer.text[:ANSWER_EXCERPT]
        raise SendFailed(f"webhook answered {answer.status_code}: {excerpt}")
