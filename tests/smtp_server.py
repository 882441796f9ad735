"""A real SMTP server for the tests (aiosmtpd, in-process, on a free port).

Mail is sent over a real socket, so the code under test exercises ``smtplib`` exactly as
in production. Use it by pointing the app at the fixture's port, either per test::

    def test_receipt_is_sent(app, smtp_server):
        app.config["SMTP_PORT"] = smtp_server.port
        ...
        assert smtp_server.messages[0]["Subject"] == "Thank you"

or for a whole module, before the app is built::

    @pytest.fixture
    def app_config(app_config, smtp_server):
        return {**app_config, "SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}

``smtp_server.refuse(True)`` makes every MAIL FROM and DATA answer 451, so sending fails
as with a mail server that is down or throttling; ``refuse(False)`` recovers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

REFUSAL = "451 4.3.0 Temporarily refusing mail (test server)"


class RecordingHandler:
    """aiosmtpd handler keeping every accepted message, or refusing on demand."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.connections = 0
        self.refusing = False
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refusing:
            return REFUSAL
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            return REFUSAL
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """What the ``smtp_server`` fixture returns."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = _free_port(host)
        self._handler = RecordingHandler()
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed with the default (modern) email policy."""
        return self._handler.messages

    @property
    def recipients(self) -> list[list[str]]:
        """Envelope recipients of each accepted message, in the same order."""
        return self._handler.recipients

    @property
    def connections(self) -> int:
        """How many SMTP sessions (EHLO greetings) the server has seen."""
        return self._handler.connections

    def refuse(self, on: bool = True) -> None:
        """Answer 451 to every MAIL FROM and DATA while ``on``."""
        self._handler.refusing = on

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._handler._lock:
            self._handler.messages.clear()
            self._handler.recipients.clear()
            self._handler.connections = 0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived (for senders in other threads)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A fresh SMTP server for one test; see the module docstring for how to use it."""
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
