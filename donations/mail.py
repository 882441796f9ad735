"""Build emails from templates and send them over SMTP.

Every email is three templates under ``templates/email/``: ``<name>.subject.txt`` (one
line), ``<name>.txt`` (plain text) and ``<name>.html``, rendered with the same context
plus the app's Jinja globals (``organization_name``, ``privacy_policy_url``, ...) and
``public_url``, in the recipient's language: the context's ``locale``, stored when the
email was queued (``outbox.enqueue``), whatever language the sending process is in. The
result is a ``multipart/alternative`` message, so every reader gets a readable version
whatever their mail client; with attachments (an annual statement's PDF) that pair is the
first part of a ``multipart/mixed`` message and each file follows it.

``SmtpSender`` opens one SMTP connection and reuses it for a whole batch: connecting (and
TLS) costs far more than a message, and mail servers throttle clients that reconnect often.
"""

from __future__ import annotations

import functools
import re
import secrets
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from donations.config import public_url
from donations.i18n import language_or_default

#: UTF-8 bodies as quoted-printable: readable in raw form, unlike base64
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


class WirePolicy(Compat32):
    """compat32 with CRLF line ends that writes plain ASCII headers as they are.

    Refolding every header is a large share of the cost of serialising a message; our
    headers are ASCII (non-ASCII subjects and names are already encoded words) and under
    RFC 5322's 998-character limit, so a long List-Unsubscribe URL stays on its line.
    """

    def fold_binary(self, name: str, value) -> bytes:
        if isinstance(value, str) and value.isascii() and len(value) < 990 and "\n" not in value:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = WirePolicy(linesep="\r\n", max_line_length=998)

#: the spaces and line breaks a subject template may have (not the no-break space)
LINE_SPACE = re.compile(r"[ \t\r\n]+")

#: errors that mean the connection itself is unusable (server down, dropped, TLS failure)
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: ``Attachment("statement-2025.pdf", pdf, "application/pdf")``."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def render_email(
    name: str,
    context: dict[str, Any],
    *,
    to: str,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """Render ``templates/email/<name>.*`` with ``context`` into a message to ``to``.

    ``headers`` are added as given (e.g. ``List-Unsubscribe``); ``message_id`` (without
    angle brackets) makes the Message-ID stable across retries so receivers can de-duplicate.
    ``attachments`` are sent after the text and HTML versions. The email is in the
    language ``context["locale"]`` names (an offered one; else the default language).
    Raises ``jinja2.TemplateNotFound`` if one of the three templates is missing.

    The message is built with the ``email.mime`` classes (compat32 policy): the modern
    ``EmailMessage`` API parses and refolds every header, a cost the worker would pay for
    every email it sends (bench/reminders.py measures the send rate).
    """
    values = {"public_url": public_url(), "to": to, **context}
    language = language_or_default(context.get("locale"))
    with force_locale(language):
        subject = _one_line(render_template(f"email/{name}.subject.txt", **values))
        text = render_template(f"email/{name}.txt", **values)
        html = render_template(f"email/{name}.html", **values)

    display_name, address = _parse_sender(current_app.config["MAIL_FROM"])
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", UTF8_QP))
    body.attach(MIMEText(html, "html", UTF8_QP))
    message = _with_attachments(body, attachments) if attachments else body
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["From"] = formataddr((display_name, address), charset="utf-8")
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{message_id or secrets.token_hex(12)}@{_domain_of(address)}>"
    message["Content-Language"] = language
    unsubscribe = context.get("list_unsubscribe_url")
    if unsubscribe:  # RFC 8058 one-click unsubscribe, for any email whose context has one
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for header, value in (headers or {}).items():
        message[header] = value
    return message


def _one_line(text: str) -> str:
    """A subject on one line; no-break spaces stay (so "10,50 €" is never split)."""
    return LINE_SPACE.sub(" ", text).strip(" ")


def _with_attachments(body: Message, attachments: Sequence[Attachment]) -> Message:
    """``multipart/mixed``: the readable body first, then each file (base64)."""
    message = MIMEMultipart("mixed")
    message.attach(body)
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        part = MIMEBase(maintype, subtype)
        part.set_payload(attachment.content)
        encoders.encode_base64(part)
        filename = attachment.filename
        part.add_header(
            "Content-Disposition",
            "attachment",
            filename=filename if filename.isascii() else ("utf-8", "", filename),
        )
        message.attach(part)
    return message


def is_permanent(error: BaseException) -> bool:
    """True for SMTP 5xx answers (retrying will not help); False for 4xx and network errors."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def describe(error: BaseException) -> str:
    """A short one-line description of a sending error, for ``last_error`` columns."""
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        return f"SMTP {error.smtp_code}: {text}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]


def smtp_address(address: str) -> str:
    """An address as SMTP needs it: an internationalised domain in its ASCII (IDNA) form.

    A non-ASCII local part stays as it is and is sent with SMTPUTF8; a server without
    that extension refuses it, and the worker marks that email failed.
    """
    local, _, domain = address.rpartition("@")
    if domain and not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}" if local else address


class SmtpSender:
    """One SMTP connection for a batch of messages.

    ::

        with SmtpSender() as sender:
            for message in messages:
                sender.send(message)

    Settings: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME``/``SMTP_PASSWORD`` (login when
    set), ``SMTP_SSL`` (implicit TLS) or ``SMTP_STARTTLS``, ``SMTP_TIMEOUT`` (seconds).
    Connecting raises one of ``CONNECTION_ERRORS`` (or ``smtplib.SMTPException``) if the
    server cannot be reached. If the connection drops mid-batch, ``send`` raises and the
    next ``send`` reconnects.
    """

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection (and TLS, and login) if it is not open."""
        if self._smtp is not None:
            return
        config = current_app.config
        host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
        if config["SMTP_SSL"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp

    def send(self, message: Message) -> None:
        """Send one message to its To/Cc addresses; raises ``smtplib.SMTPException`` or
        ``OSError`` on failure."""
        self.connect()
        assert self._smtp is not None
        sender = _parse_sender(str(message["From"]))[1]
        recipients = [
            smtp_address(address)
            for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
        ]
        options = [] if all(r.isascii() for r in recipients) else ["SMTPUTF8"]
        try:
            self._smtp.sendmail(
                sender, recipients, message.as_bytes(policy=WIRE), mail_options=options
            )
        except CONNECTION_ERRORS:
            self._drop()
            raise

    def close(self) -> None:
        """Say QUIT and close; never raises."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None


@functools.lru_cache(maxsize=16)
def _parse_sender(value: str) -> tuple[str, str]:
    return parseaddr(value)


@functools.lru_cache(maxsize=16)
def _domain_of(address: str) -> str:
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"
