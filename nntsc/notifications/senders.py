"""Sending one message: by SMTP to a channel's addresses, or by HTTP POST to its webhook.

A sender either returns (the message was accepted: the mail server took it,
the webhook answered 2xx) or raises `SendFailed` saying why; the caller
records the attempt and retries later. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import urllib3

from nntsc.errors import ConfigurationError, NntscError
from nntsc.notifications.guard import Refused, WebhookPolicy

log = logging.getLogger(__name__)

#: Seconds to wait for a mail server or a webhook.
SEND_TIMEOUT = 10.0
#: The header carrying a webhook body's signature: ``sha256=<hex HMAC-SHA256 of the body>``.
SIGNATURE_HEADER = "X-Nntsc-Signature"
#: The header naming the delivery, the same on every attempt (receivers may deduplicate on it).
DELIVERY_HEADER = "X-Nntsc-Delivery"
#: How much of a failed webhook's answer the server's log keeps (never the delivery log).
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


def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
    """A connection pool to `address` itself, for `host` (TLS: its name and certificate)."""
    timeout = urllib3.Timeout(connect=SEND_TIMEOUT, read=SEND_TIMEOUT)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=host,
            assert_hostname=host,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)


def send_webhook(
    url: str,
    secret: str,
    body_format: str,
    message: Message,
    delivery_id: int,
    policy: WebhookPolicy | None = None,
) -> None:
    """POST `message` to `url`; `SendFailed` unless it answers 2xx.

    The host is resolved and every address checked against `policy` (by
    default only global addresses) right before sending, and the POST goes
    to a checked address, so a DNS answer changed since is not followed.
    The receiver's answer body is not kept in the delivery log (its owner
    may not be an admin): only the status; the server's log has an excerpt.
    """
    policy = WebhookPolicy() if policy is None else policy
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = policy.check_url(url)
    except Refused as error:
        raise SendFailed(f"webhook refused: {error}") from None
    body = webhook_body(body_format, message)
    headers = {
        "Host": parts.netloc.rpartition("@")[2],
        "Content-Type": "application/json",
        "User-Agent": "nntsc-notifications",
        DELIVERY_HEADER: str(delivery_id),
    }
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.update(urllib3.util.make_headers(basic_auth=auth))
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    where = f"{host}:{parts.port}" if parts.port else host
    answer = None
    excerpt = b""
    for address in addresses:
        pool = _pool(parts.scheme, str(address), port, host)
        try:
            answer = pool.urlopen(
                "POST",
                target,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
            )
            # At most an excerpt of the answer is read, whatever its size.
            excerpt = answer.read(ANSWER_EXCERPT) if not 200 <= answer.status < 300 else b""
            answer.release_conn()
            break
        except urllib3.exceptions.NewConnectionError:
            continue  # refused or unreachable: the host's next address
        except (urllib3.exceptions.TimeoutError, TimeoutError) as error:
            raise SendFailed(f"webhook unreachable: no answer in {SEND_TIMEOUT:g} s") from error
        except urllib3.exceptions.SSLError as error:
            raise SendFailed(f"webhook {where}: TLS failed: {error}") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise SendFailed(f"webhook failed: {error.__class__.__name__}") from error
        finally:
            pool.close()
    if answer is None:
        raise SendFailed(f"webhook unreachable: could not connect to {where}")
    if not 200 <= answer.status < 300:
        try:
            reason = HTTPStatus(answer.status).phrase
        except ValueError:
            reason = "unknown status"
        log.info(
            "webhook %s answered %d: %r",
            where,
            answer.status,
            excerpt.decode("utf-8", "replace"),
        )
        raise SendFailed(f"webhook answered {answer.status} ({reason})")
