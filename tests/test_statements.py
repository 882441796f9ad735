"""Annual statements: the PDF a donor files with their taxes, its download links, the
``flask statements send`` command and the worker that sends each one with its PDF."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from datetime import date

import pypdf
import pytest
import sqlalchemy as sa

from donations import links, worker
from donations.db import db, utcnow
from donations.enums import DisputeState, Frequency, OutboxStatus, PaymentKind, TributeKind
from donations.models import Dispute, Gift, OutboxEmail, Payment
from donations.statements import services
from donations.statements.services import NoStatement, build_statement, render_statement
from tests.factories import at, make_donor, make_gift, make_payment

ISSUED = date(2026, 2, 3)
ORGANISATION = {
    "ORGANIZATION_LEGAL_NAME": "Daily Example Media Foundation",
    "ORGANIZATION_ADDRESS": "12 Press Row\nSpringfield, IL 62701",
    "ORGANIZATION_TAX_ID": "EIN 12-3456789",
    "RECEIPT_STATEMENT": "No goods or services were provided in exchange for these gifts.",
}


@pytest.fixture
def app_config(app_config, smtp_server):
    return {
        **app_config,
        **ORGANISATION,
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
        "PUBLIC_URL": "https://news.example.org",
    }


def text_of(content: bytes) -> str:
    """The words of a PDF, as a reader copying them would get them."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def charge(gift: Gift, when: str, amount: int | None = None, number: str = "") -> Payment:
    return make_payment(gift, amount, when, receipt_number=number or None)


def dispute(charge: Payment, state: DisputeState) -> Dispute:
    """A dispute of the whole charge: its money withdrawn, and given back if it was won."""
    row = Dispute(
        stripe_id=f"du_{charge.id}",
        gift_id=charge.gift_id,
        payment_id=charge.id,
        state=state,
        amount=charge.amount,
        currency=charge.currency,
        opened_at=charge.created_at,
    )
    db.session.add(row)
    movements = [(PaymentKind.DISPUTE, -charge.amount, row.stripe_id)]
    if state is DisputeState.WON:
        movements.append(
            (PaymentKind.DISPUTE_REVERSAL, charge.amount, f"{row.stripe_id}:reinstated")
        )
    for kind, amount, stripe_id in movements:
        db.session.add(
            Payment(
                gift_id=charge.gift_id,
                kind=kind,
                amount=amount,
                currency=charge.currency,
                stripe_id=stripe_id,
                created_at=charge.created_at,
            )
        )
    db.session.flush()
    return row


@pytest.fixture
def emile(app):
    """A monthly donor in dollars who also gave once in euros, with payments in 2024,
    2025 and 2026; one 2025 payment was partly refunded."""
    donor = make_donor("emile@example.org", "Émile Zola")
    monthly = make_gift(donor, 2500, frequency=Frequency.MONTHLY, created="2024-12-05 09:00")
    charge(monthly, "2024-12-05 09:00", number="2024-000310")
    january = charge(monthly, "2025-01-05 09:00", number="2025-000001")
    charge(monthly, "2025-02-05 09:00", number="2025-000042")
    charge(monthly, "2026-01-05 09:00", number="2026-000001")
    make_payment(monthly, -1000, "2025-01-20 10:00", refund_of=january)
    once = make_gift(donor, 5000, currency="EUR", created="2025-06-01 12:00")
    charge(once, "2025-06-01 12:00", number="2025-000107")
    return donor


def test_the_statement_lists_the_years_payments_with_refunds_and_totals_per_currency(emile):
    text = text_of(render_statement(emile, 2025, today=ISSUED))

    assert "Annual statement of contributions 2025" in text
    assert "1 January 2025 – 31 December 2025" in text
    assert "Émile Zola" in text and "emile@example.org" in text
    for number in ("2025-000001", "2025-000042", "2025-000107"):
        assert number in text
    assert "2024-000310" not in text and "2026-000001" not in text
    assert "5 Jan 2025 2025-000001 Monthly, gift" in text
    assert "$25.00 $10.00 – $15.00" in text
    assert "1 Jun 2025 2025-000107 One-time, gift" in text
    assert "EUR · 1 payment €50.00 – – €50.00" in text
    assert "USD · 2 payments $50.00 $10.00 – $40.00" in text


def test_the_statement_carries_the_organisations_details(emile):
    text = text_of(render_statement(emile, 2025, today=ISSUED))

    assert "Daily Example Media Foundation" in text
    assert "12 Press Row" in text and "Springfield, IL 62701" in text
    assert "Registration / tax number: EIN 12-3456789" in text
    assert ORGANISATION["RECEIPT_STATEMENT"] in text
    assert "Issued 3 February 2026" in text


def test_a_partial_refund_and_a_lost_dispute_reduce_what_was_retained_and_a_won_one_does_not(
    app,
):
    donor = make_donor()
    gift = make_gift(donor, 2000, frequency=Frequency.MONTHLY, created="2025-03-01 08:00")
    refunded = charge(gift, "2025-03-01 08:00")
    lost = charge(gift, "2025-04-01 08:00")
    won = charge(gift, "2025-05-01 08:00")
    make_payment(gift, -500, "2025-03-09 08:00", refund_of=refunded)
    dispute(lost, DisputeState.LOST)
    dispute(won, DisputeState.WON)

    statement = build_statement(donor, 2025, today=ISSUED)

    assert [(line.refunded, line.disputed, line.retained) for line in statement.lines] == [
        (500, 0, 1500),
        (0, 2000, 0),
        (0, 0, 2000),
    ]
    [total] = statement.totals
    assert (total.amount, total.refunded, total.disputed, total.retained) == (6000, 500, 2000, 3500)
    assert "USD · 3 payments $60.00 $5.00 $20.00 $35.00" in text_of(
        render_statement(donor, 2025, today=ISSUED)
    )


def test_a_dedicated_gift_is_named_on_the_statement(app):
    gift = make_gift(
        tribute_kind=TributeKind.MEMORY, tribute_name="Ada Lovelace", created="2025-09-09 09:00"
    )
    charge(gift, "2025-09-09 09:00")

    text = text_of(render_statement(gift.donor, 2025, today=ISSUED))

    assert f"Gift {gift.id} was given in memory of Ada Lovelace." in text


@pytest.mark.parametrize(
    "name",
    [
        "Émile Zola",
        unicodedata.normalize("NFD", "Émile Zola"),
        "Émile Зола",
        unicodedata.normalize("NFD", "Émile Зола"),
        "Αθηνά Ōtsuka-Nguyễn",
    ],
    ids=["latin", "latin-decomposed", "cyrillic", "cyrillic-decomposed", "greek-and-vietnamese"],
)
def test_a_name_in_latin_greek_or_cyrillic_letters_prints_as_typed(app, name, caplog):
    gift = make_gift(make_donor(name=name), created="2025-02-02 10:00")
    charge(gift, "2025-02-02 10:00")

    with caplog.at_level(logging.WARNING, logger="fpdf"):
        text = text_of(render_statement(gift.donor, 2025, today=ISSUED))

    assert unicodedata.normalize("NFC", name) in text
    assert not [record for record in caplog.records if "missing" in record.getMessage()]


def fonts_of(content: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }


def test_western_names_use_a_standard_font_and_others_embed_dejavu_sans(app):
    western = _donor_with_a_gift("Zoë Brontë-Ñúñez", currency="EUR")
    cyrillic = _donor_with_a_gift("Зоя")
    rupees = _donor_with_a_gift("Asha", currency="INR")

    assert fonts_of(render_statement(western, 2025, today=ISSUED)) == {
        "/Helvetica",
        "/Helvetica-Bold",
    }
    for donor in (cyrillic, rupees):
        fonts = fonts_of(render_statement(donor, 2025, today=ISSUED))
        assert {name.split("+")[-1] for name in fonts} == {"DejaVuSansBook", "DejaVuSansBold"}


def _donor_with_a_gift(name: str, currency: str = "USD"):
    gift = make_gift(make_donor(name=name), currency=currency, created="2025-02-02 10:00")
    charge(gift, "2025-02-02 10:00")
    return gift.donor


def test_the_year_in_progress_has_a_statement_so_far(app):
    this_year = utcnow().year
    gift = make_gift(created=f"{this_year}-01-01 00:00")
    charge(gift, f"{this_year}-01-01 00:00")

    statement = build_statement(gift.donor, this_year)

    assert not statement.complete
    assert "(the year so far)" in text_of(render_statement(gift.donor, this_year))


@pytest.mark.parametrize(
    ("year", "reason"),
    [
        (utcnow().year + 1, "that year has not begun"),
        (2023, "the first payment was made in 2024"),
    ],
    ids=["future", "before-the-first-gift"],
)
def test_a_year_in_the_future_or_before_the_first_gift_has_no_statement(emile, year, reason):
    with pytest.raises(NoStatement, match=reason):
        build_statement(emile, year, today=utcnow().date())


def test_a_year_between_gifts_without_payments_has_no_statement(app):
    gift = make_gift(created="2023-05-05 10:00")
    charge(gift, "2023-05-05 10:00")
    charge(gift, "2025-05-05 10:00")

    with pytest.raises(NoStatement, match="no payment was made that year"):
        build_statement(gift.donor, 2024, today=ISSUED)
    assert services.statement_years(gift.donor) == [2025, 2023]


def test_a_donor_who_never_paid_has_no_statement(app):
    donor = make_donor()
    make_gift(donor, created="2025-01-01 10:00")

    with pytest.raises(NoStatement, match="no payment has been made yet"):
        build_statement(donor, 2025, today=ISSUED)


# --- downloads --------------------------------------------------------------------------


def manage_token(donor) -> str:
    return links.token(links.MANAGE, donor)


def test_the_gifts_page_links_a_statement_for_each_year_with_payments(client, emile):
    token = manage_token(emile)
    html = client.get(f"/manage/{token}").get_data(as_text=True)

    for year in (2024, 2025, 2026):
        assert f"/manage/{token}/statements/{year}.pdf" in html
    assert "/statements/2023.pdf" not in html


def test_the_donor_downloads_their_statement_from_their_link(client, emile):
    response = client.get(f"/manage/{manage_token(emile)}/statements/2025.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="statement-2025.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    text = text_of(response.get_data())
    assert "Émile Zola" in text and "2025-000042" in text


def test_another_donors_link_only_ever_gives_their_own_statement(client, emile):
    other = make_donor("other@example.org", "Olive Other")
    charge(make_gift(other, 700, created="2024-03-03 10:00"), "2024-03-03 10:00")

    missing = client.get(f"/manage/{manage_token(other)}/statements/2025.pdf")
    own = client.get(f"/manage/{manage_token(other)}/statements/2024.pdf")

    assert missing.status_code == 404
    assert "no payment was made that year" in missing.get_data(as_text=True)
    text = text_of(own.get_data())
    assert "Olive Other" in text and "$7.00" in text
    assert "Émile" not in text and "2024-000310" not in text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        (f"{utcnow().year + 1}.pdf", 404, "that year has not begun"),
        ("2019.pdf", 404, "the first payment was made in 2024"),
        ("last-year.pdf", 404, ""),
    ],
)
def test_a_bad_year_downloads_nothing(client, emile, path, status, says):
    response = client.get(f"/manage/{manage_token(emile)}/statements/{path}")

    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert says in response.get_data(as_text=True)


def test_a_tampered_link_downloads_nothing(client, emile):
    token = manage_token(emile)
    response = client.get(f"/manage/{token[:-2]}xx/statements/2025.pdf")

    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


# --- flask statements send, and the worker ---------------------------------------------


def test_send_queues_each_donor_who_gave_once_across_two_runs_and_shows_progress(
    app, runner, emile
):
    giver = make_donor("giver@example.org", "Gia Ver")
    charge(make_gift(giver, created="2025-07-07 10:00"), "2025-07-07 10:00")
    refunded = make_gift(make_donor("refunded@example.org"), created="2025-08-08 10:00")
    make_payment(refunded, -2500, "2025-08-09 10:00", refund_of=charge(refunded, "2025-08-08"))
    lost = make_gift(make_donor("lost@example.org"), created="2025-09-09 10:00")
    dispute(charge(lost, "2025-09-09 10:00"), DisputeState.LOST)
    charge(make_gift(make_donor("last-year@example.org"), created="2024-01-01"), "2024-01-01")
    db.session.commit()

    first = runner.invoke(args=["statements", "send", "--year", "2025", "--batch-size", "1"])
    second = runner.invoke(args=["statements", "send", "--year", "2025"])

    assert first.exit_code == 0, first.output
    assert "queued 1 of 2 donors…" in first.output
    assert "queued 2 of 2 donors…" in first.output
    assert "2 statements for 2025 queued; 0 donors had theirs queued already." in first.output
    assert second.exit_code == 0, second.output
    assert "0 statements for 2025 queued; 2 donors had theirs queued already." in second.output
    emails = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [(email.to, email.template, email.dedupe_key) for email in emails] == [
        ("emile@example.org", "annual_statement", f"statement:{emile.id}:2025"),
        ("giver@example.org", "annual_statement", f"statement:{giver.id}:2025"),
    ]
    assert json.loads(emails[0].context) == {
        "donor_id": emile.id,
        "year": 2025,
        "donor_name": "Émile Zola",
        "locale": "en",
    }


@pytest.mark.parametrize(
    ("year", "says"),
    [(utcnow().year, "has not ended yet"), (utcnow().year + 3, "has not begun yet")],
)
def test_send_refuses_a_year_that_has_not_ended(app, runner, emile, year, says):
    result = runner.invoke(args=["statements", "send", "--year", str(year)])

    assert result.exit_code == 2
    assert says in result.output
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0


def test_send_for_a_year_nobody_gave_in_says_so(app, runner, emile):
    result = runner.invoke(args=["statements", "send", "--year", "2019"])

    assert result.exit_code == 0
    assert "No donor gave in 2019: nothing to send." in result.output


def test_the_worker_sends_the_statement_with_its_pdf_attached(app, runner, emile, smtp_server):
    db.session.commit()
    runner.invoke(args=["statements", "send", "--year", "2025"])

    result = worker.run_pending()

    assert result.sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "emile@example.org"
    assert message["Subject"] == "Your 2025 giving statement from The Daily Example"
    assert message.get_content_type() == "multipart/mixed"
    assert "Dear Émile Zola" in message.get_body(("plain",)).get_content()
    assert "statement-2025.pdf" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "statement-2025.pdf"
    text = text_of(attachment.get_content())
    assert "Annual statement of contributions 2025" in text and "2025-000042" in text


def test_a_statement_that_cannot_be_drawn_fails_its_email_for_good(app, emile, smtp_server):
    services.queue_statements(2019, [(emile.id, emile.email, emile.name, emile.locale)])
    db.session.commit()

    result = worker.run_pending()

    email = db.session.scalar(sa.select(OutboxEmail))
    assert (result.sent, result.failed) == (0, 1)
    assert email.status == OutboxStatus.FAILED
    assert "NoStatement: There is no statement for 2019" in email.last_error
    assert smtp_server.messages == []


def test_statement_dates_are_utc_calendar_years(app):
    gift = make_gift(created="2024-12-31 23:59")
    charge(gift, "2024-12-31 23:59:59")
    charge(gift, "2025-01-01 00:00:00")

    statement = build_statement(gift.donor, 2025, today=ISSUED)

    assert [line.paid_at for line in statement.lines] == [at("2025-01-01 00:00")]
