"""Real receivers of notifications for tests: an SMTP server and a webhook HTTP server.

`SmtpReceiver` is aiosmtpd's server on a loopback port, keeping every
message it is handed. `WebhookReceiver` is an `http.server` on a thread
that checks each POST's ``X-Nntsc-Signature`` against its own HMAC of the
body, and can be stopped and started again on the same port: a receiver
that is down refuses connections, as a real one would.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from nntsc.notifications.guard import ALLOW_SETTING, WebhookPolicy

#: These receivers listen on loopback, which webhooks may not reach unless allowed.
LOOPBACK_ALLOW = {ALLOW_SETTING: "127.0.0.0/8"}
LOOPBACK = WebhookPolicy.from_settings(LOOPBACK_ALLOW)


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping what it receives; a context manager."""

    def __init__(self) -> None:
        self.port = free_port()
        self._keeper = _Keeper()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return list(self._keeper.messages)

    @property
    def recipients(self) -> list[list[str]]:
        return list(self._keeper.recipients)

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()


@dataclass
class Received:
    """One POST a webhook receiver took."""

    body: bytes
    headers: dict[str, str]
    signed_correctly: bool

    @property
    def document(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server taking POSTs on a fixed loopback port; `start` and `stop` at will."""

    secret: str = ""
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    #: When set, every POST is answered 500 with this body (what an internal service might say).
    failing_body: bytes = b""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                signed = hmac.compare_digest(self.headers.get("X-Nntsc-Signature", ""), expected)
                receiver.received.append(Received(body, dict(self.headers), signed))
                if receiver.failing_body:
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(receiver.failing_body)))
                    self.end_headers()
                    self.wfile.write(receiver.failing_body)
                    return
                self.send_response(204 if signed or not receiver.secret else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> WebhookReceiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait until `condition()` holds; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.1)
