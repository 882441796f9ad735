"""Emails are rendered from the three templates and sent over one SMTP connection."""

from __future__ import annotations

import smtplib

import pytest

from donations.mail import SmtpSender, describe, is_permanent, render_email

CONTEXT = {
    "reminder": {"frequency": "monthly", "amount": 1250, "currency": "EUR"},
    "support_url": "https://news.example.org/?frequency=monthly",
    "cancel_url": "https://news.example.org/remind/cancel/" + "t" * 150,
}


@pytest.fixture
def app_config(app_config, smtp_server):
    return {
        **app_config,
        "SMTP_PORT": smtp_server.port,
        "MAIL_FROM": "Le Quotidien Éxemplaire <soutien@example.org>",
        "ORGANIZATION_NAME": "Le Quotidien Éxemplaire",
    }


def test_a_message_has_text_and_html_and_survives_non_ascii(app, smtp_server):
    unsubscribe = f"<{CONTEXT['cancel_url']}>"
    message = render_email(
        "reminder", CONTEXT, to="reader@example.org", headers={"List-Unsubscribe": unsubscribe}
    )
    with SmtpSender() as sender:
        sender.send(message)
        sender.send(message)

    assert smtp_server.connections == 1 and len(smtp_server.messages) == 2
    received = smtp_server.messages[0]
    assert received["From"].addresses[0].display_name == "Le Quotidien Éxemplaire"
    assert received["Subject"] == "Your reminder: support Le Quotidien Éxemplaire"
    assert received["List-Unsubscribe"] == unsubscribe
    assert received["Message-ID"].endswith("@example.org>")
    assert "€12.50 per month" in received.get_body(("plain",)).get_content()
    assert "€12.50 per month" in received.get_body(("html",)).get_content()
    assert smtp_server.recipients[0] == ["reader@example.org"]


def test_a_refusing_server_raises_a_temporary_error(app, smtp_server):
    smtp_server.refuse(True)
    message = render_email("reminder", CONTEXT, to="reader@example.org")
    with SmtpSender() as sender, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        sender.send(message)
    assert not is_permanent(refused.value)
    assert describe(refused.value).startswith("SMTP 451")


def test_5xx_answers_are_permanent_and_network_errors_are_not():
    assert is_permanent(smtplib.SMTPDataError(554, b"rejected"))
    assert is_permanent(smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}))
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"busy")}))
    assert not is_permanent(ConnectionRefusedError())
