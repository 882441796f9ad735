"""Emails are rendered from the three templates and sent over one SMTP connection."""

from __future__ import annotations

import smtplib
from email.header import decode_header, make_header

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


# Every email in one layout, and receipts a tax office accepts

PUBLIC_URL = "https://news.example.org"
GIFT = {
    "donor_name": "Ann Example",
    "donor_email": "ann@example.org",
    "gift_id": 42,
    "frequency": "once",
    "gift_amount": 1061,
    "gift_currency": "USD",
    "next_payment_date": None,
    "card_brand": "visa",
    "card_last4": "4242",
}
#: a receipt's context before issue 12 (queued then, sent after the upgrade)
OLD_RECEIPT = GIFT | {
    "amount": 1061,
    "currency": "USD",
    "date": "2027-03-05",
    "payment_reference": "pi_3Receipt",
    "renewal": False,
}
RECEIPT = OLD_RECEIPT | {
    "receipt_number": "2027-000042",
    "covered_fee": 61,
    "refunded": 0,
    "retained": 1061,
    "tribute_kind": "memory",
    "tribute_name": "Ada Byron",
}
TRIBUTE = {
    "tribute_kind": "honour",
    "tribute_name": "Grace Hopper",
    "tribute_message": "For teaching me to read the news.\nWith love.",
    "donor_name": "Ann Example",
    "organization_name": "Le Quotidien Éxemplaire",
}
#: one realistic context per email that is not a recurring donor's (see test_recurring_emails)
EMAILS = {
    "receipt": RECEIPT,
    "refund_notice": GIFT
    | {
        "amount": 500,
        "currency": "USD",
        "date": "2027-03-10",
        "original_amount": 1061,
        "original_date": "2027-03-05",
        "partial": True,
    },
    "reminder": CONTEXT,
    "manage_link": {"name": "Ann", "manage_url": f"{PUBLIC_URL}/manage/token"},
    "tribute_notice": TRIBUTE,
    "dispute_opened": {
        "gift_id": 42,
        "amount": 1061,
        "currency": "USD",
        "reason": "fraudulent",
        "respond_by": "2027-03-20",
        "staff_url": f"{PUBLIC_URL}/staff/gifts/42",
    },
}


@pytest.fixture
def receipt_settings(app):
    app.config["PUBLIC_URL"] = PUBLIC_URL
    app.jinja_env.globals.update(
        organization_legal_name="Quotidien Éxemplaire SAS",
        organization_address="1 rue de la Presse\n75002 Paris",
        organization_tax_id="FR 12 345678901",
        receipt_statement="No goods or services were provided in exchange for this contribution.",
    )


def rendered(name: str, context: dict) -> tuple[str, str, str]:
    message = render_email(name, context, to="ann@example.org")
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    return str(make_header(decode_header(message["Subject"]))), text, html


@pytest.mark.parametrize("name", EMAILS)
def test_every_email_has_the_one_layout_readable_on_a_phone(app, receipt_settings, name):
    subject, text, html = rendered(name, EMAILS[name])

    assert html.count('<meta name="viewport" content="width=device-width, initial-scale=1">') == 1
    assert "max-width:560px" in html
    assert html.count("border-bottom:3px solid #b3261e") == 1  # one brand header
    assert f'<a href="{PUBLIC_URL}" style="color:#1c1b1a;' in html
    assert text.rstrip().endswith(f"Le Quotidien Éxemplaire\n{PUBLIC_URL}")
    for part in (subject, text, html):
        assert "None" not in part and "{" not in part


def test_a_receipt_gives_its_number_date_amount_fee_dedication_and_the_organisation(
    app, receipt_settings
):
    subject, text, html = rendered("receipt", RECEIPT)

    assert subject == "Thank you for your gift of $10.61 to Le Quotidien Éxemplaire"
    for body in (text, html):
        assert "2027-000042" in body and "5 March 2027" in body
        assert "$10.61 (includes $0.61 you added to cover card fees)" in body
        assert "In memory of Ada Byron" in body
        assert "Quotidien Éxemplaire SAS" in body and "75002 Paris" in body
        assert "Tax number: FR 12 345678901" in body
        assert "No goods or services were provided in exchange for this contribution." in body
        assert "Refunded" not in body and "retained" not in body
    assert "1 rue de la Presse<br>75002 Paris" in html


def test_a_receipt_resent_after_a_partial_refund_shows_what_was_retained(app, receipt_settings):
    subject, text, html = rendered("receipt", RECEIPT | {"refunded": 500, "retained": 561})

    assert subject.startswith("Updated receipt: your gift of $10.61")
    assert "Refunded:         $5.00" in text and "Amount retained:  $5.61" in text
    assert ">Refunded</th>" in html and ">$5.00</td>" in html and ">$5.61</td>" in html
    for body in (text, html):
        assert "$5.00 of this payment has been returned to your card" in body
        assert "2027-000042" in body


def test_a_receipt_resent_after_a_full_refund_says_nothing_is_left(app, receipt_settings):
    _, text, html = rendered("receipt", RECEIPT | {"refunded": 1061, "retained": 0})

    for body in (text, html):
        assert "returned to your card in full" in body and "$0.00" in body


def test_a_receipt_queued_before_receipt_numbers_still_renders(app, receipt_settings):
    subject, text, html = rendered("receipt", OLD_RECEIPT)

    assert subject == "Thank you for your gift of $10.61 to Le Quotidien Éxemplaire"
    for body in (text, html):
        assert "$10.61" in body and "5 March 2027" in body
        assert "Receipt number" not in body and "cover card fees" not in body
        assert "Dedication" not in body and "Refunded" not in body
        assert "No goods or services were provided" in body


def test_a_dedication_name_is_escaped_in_the_html_receipt(app, receipt_settings):
    _, text, html = rendered("receipt", RECEIPT | {"tribute_name": "Ann & <Bob>"})

    assert "In memory of Ann & <Bob>" in text
    assert "In memory of Ann &amp; &lt;Bob&gt;" in html and "<Bob>" not in html


def test_a_tribute_notice_tells_the_dedication_and_message_never_the_amount(app, receipt_settings):
    subject, text, html = rendered("tribute_notice", TRIBUTE)

    assert subject == "A gift to Le Quotidien Éxemplaire in honour of Grace Hopper"
    for body in (text, html):
        assert "Ann Example has made a gift to Le Quotidien Éxemplaire in honour of" in body
        assert "Grace Hopper" in body and "For teaching me to read the news." in body
        assert "$" not in body and "€" not in body
    assert "news.<br>With love." in html


def test_a_tribute_notice_of_a_private_donor_names_nobody(app, receipt_settings):
    context = TRIBUTE | {"donor_name": "", "tribute_kind": "memory", "tribute_message": ""}
    subject, text, html = rendered("tribute_notice", context)

    assert subject == "A gift to Le Quotidien Éxemplaire in memory of Grace Hopper"
    for body in (text, html):
        assert "A reader has made a gift" in body and "in memory of" in body
        assert "Ann" not in body and "message" not in body
