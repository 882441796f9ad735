"""Money in the staff area: totals that are sums of the ledger's movements (gross, refunds,
disputes, fees, net), disputes on the dashboard and the gift page, the accounting export
and monthly summary, and staff confirmations that move money at most once.

``now`` is 2025-06-15 12:00 UTC. The ``ledger`` dataset mixes charges with and without a
known fee, partial refunds, a dispute lost, a dispute won and reinstated, a dispute still
open, pending and abandoned checkouts, in USD and EUR. Fees follow the sandbox's model:
2.9% + 30 (USD), 1.5% + 25 (EUR), 1500 per dispute, returned when it is won.
"""

from __future__ import annotations

import csv
import io
import re
import threading

import pyotp
import pytest
import requests
import sqlalchemy as sa

from donations import ledger
from donations.db import db, utcnow
from donations.enums import DisputeState, PaymentKind
from donations.giving import admin
from donations.models import AuditLog, Gift, OutboxEmail, Payment
from donations.payments import GatewayUnavailable, gateway
from donations.staff import dashboard
from tests.factories import (
    at,
    csrf_token_from,
    form_fields_from,
    make_checkout,
    make_dispute,
    make_donor,
    make_gift,
    make_movement,
    make_staff,
    sign_in,
)

NOW = at("2025-06-15 12:00")
CHARGE, REFUND = PaymentKind.CHARGE, PaymentKind.REFUND
DISPUTE, REINSTATED = PaymentKind.DISPUTE, PaymentKind.DISPUTE_REVERSAL
YEAR_SO_FAR = "date_from=2025-01-01&date_to=2025-06-15"


@pytest.fixture
def ledger_rows(app):
    """The mixed dataset; returns the gifts tests look at by name."""
    ada = make_donor("ada@example.org", "Ada")
    emile = make_donor("emile@example.org", "Émile Zola")
    usd = {}
    usd["one"] = g = make_gift(ada, 5000, created="2025-06-10 09:00")
    make_movement(g, CHARGE, 5000, "2025-06-10 09:00", fee=175)
    usd["refunded"] = g = make_gift(ada, 3000, created="2025-06-01 08:00")
    make_movement(g, CHARGE, 3000, "2025-06-01 08:00", fee=117)
    charge = g.payments[0]
    make_movement(g, REFUND, -1000, "2025-06-05 10:00", fee=0, refunded_payment_id=charge.id)
    make_movement(g, REFUND, -500, "2025-06-12 10:00", fee=0, refunded_payment_id=charge.id)
    usd["monthly"] = g = make_gift(
        emile, 1000, frequency="monthly", status="active", created="2025-04-10 10:00"
    )
    for month in (4, 5, 6):
        make_movement(g, CHARGE, 1000, f"2025-{month:02d}-10 10:00", fee=59)
    usd["lost"] = g = make_gift(emile, 4000, created="2025-05-02 10:00")
    charge = make_movement(g, CHARGE, 4000, "2025-05-02 10:00", fee=146)
    dispute = make_dispute(charge, DisputeState.LOST, "2025-05-20 10:00")
    make_movement(g, DISPUTE, -4000, "2025-05-20 10:00", fee=1500, stripe_id=dispute.stripe_id)
    usd["won"] = g = make_gift(ada, 2000, created="2025-05-03 10:00")
    charge = make_movement(g, CHARGE, 2000, "2025-05-03 10:00", fee=88)
    dispute = make_dispute(charge, DisputeState.WON, "2025-05-21 10:00")
    make_movement(g, DISPUTE, -2000, "2025-05-21 10:00", fee=1500, stripe_id=dispute.stripe_id)
    make_movement(
        g,
        REINSTATED,
        2000,
        "2025-06-03 10:00",
        fee=-1500,
        stripe_id=f"{dispute.stripe_id}:reinstated",
    )
    usd["open"] = g = make_gift(emile, 1500, created="2025-06-01 10:00")
    charge = make_movement(g, CHARGE, 1500, "2025-06-01 10:00", fee=74)
    dispute = make_dispute(
        charge, DisputeState.OPEN, "2025-06-08 10:00", respond_by="2025-06-25 23:59"
    )
    make_movement(g, DISPUTE, -1500, "2025-06-08 10:00", fee=1500, stripe_id=dispute.stripe_id)
    usd["fee unknown"] = g = make_gift(ada, 2500, created="2025-06-14 10:00")
    make_movement(g, CHARGE, 2500, "2025-06-14 10:00", fee=None)
    make_gift(ada, 9999, status="pending", created="2025-06-14 11:00")
    make_gift(emile, 7777, status="abandoned", created="2025-06-02 11:00")

    g = make_gift(emile, 6000, currency="EUR", created="2025-06-02 10:00")
    make_movement(g, CHARGE, 6000, "2025-06-02 10:00", fee=115)
    g = make_gift(
        ada, 800, currency="EUR", frequency="monthly", status="active", created="2025-03-01 10:00"
    )
    for month in (3, 4, 5, 6):
        make_movement(g, CHARGE, 800, f"2025-{month:02d}-01 10:00", fee=37)
    make_movement(g, REFUND, -800, "2025-06-06 10:00", fee=0, refunded_payment_id=g.payments[-1].id)
    make_gift(ada, 4242, currency="EUR", status="pending", created="2025-06-13 10:00")
    db.session.commit()
    return usd


def _ledger_sums(currency: str) -> dict[str, int]:
    """What the payment rows of a currency add up to, computed in Python from the rows."""
    rows = list(db.session.scalars(sa.select(Payment).where(Payment.currency == currency)))
    return {
        "gross": sum(p.amount for p in rows if p.kind == CHARGE),
        "refunds": sum(p.amount for p in rows if p.kind == REFUND),
        "disputes": sum(p.amount for p in rows if p.kind in (DISPUTE, REINSTATED)),
        "received": sum(p.amount for p in rows),
        "fees": sum(p.fee for p in rows if p.fee is not None),
        "net": sum(p.net if p.net is not None else p.amount for p in rows),
        "fees_pending": sum(1 for p in rows if p.fee is None),
        "charges": sum(1 for p in rows if p.kind == CHARGE),
    }


FIGURES = ("gross", "refunds", "disputes", "received", "fees", "net", "fees_pending", "charges")


def _figures(money) -> dict[str, int]:
    return {name: getattr(money, name) for name in FIGURES}


def test_the_dashboards_totals_are_the_sums_of_the_ledgers_rows(ledger_rows):
    by_currency = dashboard.payment_totals(NOW)
    for currency in ("USD", "EUR"):
        assert _figures(by_currency[currency].periods["year"]) == _ledger_sums(currency)
    usd = by_currency["USD"].periods["year"]
    assert usd.refunds == -1500  # two partial refunds of one charge
    assert usd.disputes == -5500  # lost −4000; won −2000 +2000; open −1500
    assert usd.fees == 175 + 117 + 3 * 59 + 146 + 1500 + 88 + 1500 - 1500 + 74 + 1500
    assert usd.fees_pending == 1  # the charge whose fee is not known yet
    assert usd.received == 5000 + 1500 + 3000 + 4000 - 4000 + 2000 + 1500 - 1500 + 2500
    assert 9999 not in {usd.gross, usd.received}  # the pending gift is not money


def test_the_months_add_up_to_the_year(ledger_rows):
    item = dashboard.payment_totals(NOW)["USD"]
    may = dict((f"{start:%Y-%m}", money) for start, money in item.months)["2025-05"]
    # charges 1000 + 4000 + 2000; disputes −4000 −2000; fees 59 + 146 + 88 + 1500 + 1500
    assert (may.gross, may.disputes, may.fees, may.charges) == (7000, -6000, 3293, 3)
    assert may.net == 7000 - 6000 - 3293


def test_the_dashboard_counts_open_disputes_and_unpaid_checkouts_apart(ledger_rows):
    data = dashboard.figures(NOW)
    assert data.open_disputes.count == 1
    assert data.open_disputes.respond_by == at("2025-06-25 23:59")
    assert [d.gift_id for d in data.open_disputes.nearest] == [ledger_rows["open"].id]
    assert data.unpaid == {"pending": 2, "abandoned": 1, "failed": 0}


def test_the_dashboard_page_shows_money_disputes_and_pending_fees(ledger_rows, client, monkeypatch):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    monkeypatch.setattr("donations.staff.views.utcnow", lambda: NOW)
    page = client.get("/staff/").text
    for heading in ("Gross", "Refunds", "Disputes", "Fees", "Net"):
        assert f'<th class="num">{heading}</th>' in page
    assert "Open disputes" in page and "respond by Jun 25, 2025" in page
    assert "2 pending · 1 abandoned" in page
    assert "Fees pending for 1 payment this year" in page
    assert "$99.99" not in page and "$42.42" not in page  # pending gifts' amounts


def test_the_contributions_totals_are_money_and_the_dispute_filter_works(ledger_rows, client):
    make_staff()
    sign_in(client)
    page = client.get("/staff/gifts?currency=USD").text
    assert "<strong>9</strong> USD gifts" in page and "1 pending · 1 abandoned" in page
    assert "$99.99" not in page.split("<tbody>")[1]  # not in the money table
    usd = _ledger_sums("USD")
    assert f">{_money(usd['net'])}<" in page
    open_only = client.get("/staff/gifts?dispute=open").text
    assert f'/staff/gifts/{ledger_rows["open"].id}"' in open_only
    assert f'/staff/gifts/{ledger_rows["won"].id}"' not in open_only
    disputed = client.get("/staff/gifts?dispute=any").text
    for name in ("open", "won", "lost"):
        assert f'/staff/gifts/{ledger_rows[name].id}"' in disputed
    assert f'/staff/gifts/{ledger_rows["one"].id}"' not in disputed


def _money(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount) / 100:,.2f}"


def test_the_gift_page_shows_each_movement_and_the_disputes_state(ledger_rows, client):
    make_staff()
    sign_in(client)
    won = client.get(f"/staff/gifts/{ledger_rows['won'].id}").text
    assert "dispute: money withdrawn" in won and "dispute won: money reinstated" in won
    assert "won" in won.split('id="disputes-h"')[1]
    assert "-$15.00" in won  # the dispute fee returned with the money
    still_open = client.get(f"/staff/gifts/{ledger_rows['open'].id}").text
    table = still_open.split('id="disputes-h"')[1]
    assert "open: awaiting the bank" in table and "Jun 25, 2025" in table
    unknown = client.get(f"/staff/gifts/{ledger_rows['fee unknown'].id}").text
    assert "fees pending for 1 payment" in unknown


def test_the_gift_page_shows_covered_fees_a_dedication_and_a_private_name(app, client):
    gift = make_gift(
        make_donor("quiet@example.org", "Quiet Reader"),
        2545,
        covered_fee=45,
        tribute_kind="memory",
        tribute_name="Grandma Rose",
        tribute_message="She read every issue.",
        anonymous=True,
    )
    make_movement(gift, CHARGE, 2545, "2025-06-01 10:00", fee=104)
    db.session.commit()
    make_staff()
    sign_in(client)
    page = client.get(f"/staff/gifts/{gift.id}").text
    assert "$0.45 of each payment" in page
    assert "In memory of <strong>Grandma Rose</strong>" in page and "She read every issue." in page
    assert "keep private" in page
    assert "$1.04 · <strong>$24.41</strong>" in page  # fees · net


# --- the accounting export and monthly summary ----------------------------------------------


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _minor(text: str) -> int:
    return round(float(text) * 100) if text else 0


def test_the_payments_csv_has_one_row_per_movement_summing_to_the_dashboard(ledger_rows, client):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    rows = _csv_rows(client.get(f"/staff/accounting/payments.csv?{YEAR_SO_FAR}"))
    movements = list(
        db.session.scalars(sa.select(Payment).order_by(Payment.created_at, Payment.id))
    )
    assert [(int(r["payment_id"]), r["kind"], _minor(r["gross"])) for r in rows] == [
        (p.id, p.kind, p.amount) for p in movements
    ]
    year = dashboard.payment_totals(NOW)
    for currency in ("USD", "EUR"):
        mine = [r for r in rows if r["currency"] == currency]
        money = year[currency].periods["year"]
        assert sum(_minor(r["gross"]) for r in mine) == money.received
        assert sum(_minor(r["fee"]) for r in mine) == money.fees
        known = sum(_minor(r["net"]) for r in mine if r["fee"])
        assert known + sum(_minor(r["gross"]) for r in mine if not r["fee"]) == money.net
        assert sum(1 for r in mine if not r["fee"]) == money.fees_pending
    unknown = next(r for r in rows if r["fee"] == "")
    assert unknown["net"] == ""  # not known is empty, never 0
    charge = next(r for r in rows if r["gift_id"] == str(ledger_rows["one"].id))
    assert charge["receipt_number"].startswith("2025-") and charge["paid_at"].endswith("+00:00")
    assert (charge["gross"], charge["fee"], charge["net"]) == ("50.00", "1.75", "48.25")
    assert charge["stripe_payment_intent_id"] and charge["stripe_balance_transaction_id"]
    reinstated = next(r for r in rows if r["kind"] == "dispute_reversal")
    assert (reinstated["gross"], reinstated["fee"], reinstated["net"]) == (
        "20.00",
        "-15.00",
        "35.00",
    )


def test_the_payments_csv_covers_only_the_days_asked(ledger_rows, client):
    make_staff()
    sign_in(client)
    rows = _csv_rows(
        client.get("/staff/accounting/payments.csv?date_from=2025-05-01&date_to=2025-05-31")
    )
    assert {r["paid_at"][:7] for r in rows} == {"2025-05"}
    assert len(rows) == db.session.scalar(
        sa.select(sa.func.count()).where(
            Payment.created_at >= at("2025-05-01 00:00"),
            Payment.created_at < at("2025-06-01 00:00"),
        )
    )


def test_a_byte_order_mark_only_when_asked(ledger_rows, client):
    make_staff()
    sign_in(client)
    plain = client.get(f"/staff/accounting/payments.csv?{YEAR_SO_FAR}").get_data()
    marked = client.get(f"/staff/accounting/payments.csv?{YEAR_SO_FAR}&bom=y").get_data()
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert marked.startswith(b"\xef\xbb\xbfpayment_id,")
    assert "Émile Zola" in marked.decode("utf-8-sig")
    summary = client.get(f"/staff/accounting/summary.csv?{YEAR_SO_FAR}&bom=y").get_data()
    assert summary.startswith(b"\xef\xbb\xbfmonth,")


def test_the_payments_csv_neutralises_formulas_and_honours_anonymity(app, client):
    evil = make_donor("+cmd@example.org", '=HYPERLINK("http://x")')
    make_movement(make_gift(evil, 1000), CHARGE, 1000, "2025-03-01 10:00", fee=59)
    private = make_donor("quiet@example.org", "Private Person")
    make_movement(make_gift(private, 2000, anonymous=True), CHARGE, 2000, "2025-03-02 10:00")
    db.session.commit()
    make_staff()
    sign_in(client)
    rows = _csv_rows(
        client.get("/staff/accounting/payments.csv?date_from=2025-03-01&date_to=2025-03-31")
    )
    assert (rows[0]["donor_email"], rows[0]["donor_name"]) == (
        "'+cmd@example.org",
        '\'=HYPERLINK("http://x")',
    )
    assert (rows[0]["anonymous"], rows[1]["anonymous"]) == ("no", "yes")
    assert (rows[1]["donor_email"], rows[1]["donor_name"]) == ("quiet@example.org", "")
    assert rows[1]["fee"] == "" and rows[0]["fee"] == "0.59"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2025-02-01&date_to=2025-01-31", "The last day is before the first day."),
        ("date_from=2015-01-01&date_to=2025-01-01", "Choose at most 10 years."),
        ("date_to=2025-01-01", "Enter the first day."),
        ("", "Enter the first day."),
        ("date_from=2025-13-01&date_to=2025-12-31", "Not a valid date value."),
    ],
)
def test_a_bad_range_is_a_form_error(app, client, query, message):
    make_staff()
    sign_in(client)
    for path in ("payments.csv", "summary.csv"):
        response = client.get(f"/staff/accounting/{path}?{query}")
        assert response.status_code == 400
        assert response.mimetype == "text/html" and message in response.text
    if query:
        assert client.get(f"/staff/accounting?{query}").status_code == 400


def test_ten_years_less_a_day_is_allowed(app, client):
    make_staff()
    sign_in(client)
    response = client.get("/staff/accounting/payments.csv?date_from=2015-01-01&date_to=2024-12-31")
    assert _csv_rows(response) == []


def test_the_monthly_summary_adds_up_to_the_export(ledger_rows, client):
    make_staff()
    sign_in(client)
    summary = _csv_rows(client.get(f"/staff/accounting/summary.csv?{YEAR_SO_FAR}"))
    may = next(r for r in summary if (r["month"], r["currency"]) == ("2025-05", "USD"))
    assert (may["charges"], may["gross"], may["disputes"], may["fees"], may["net"]) == (
        "3",
        "70.00",
        "-60.00",
        "32.93",
        "-22.93",
    )
    assert [(r["month"], r["currency"]) for r in summary] == sorted(
        (r["month"], r["currency"]) for r in summary
    )
    movements = _csv_rows(client.get(f"/staff/accounting/payments.csv?{YEAR_SO_FAR}"))
    for currency in ("USD", "EUR"):
        months = [r for r in summary if r["currency"] == currency]
        rows = [r for r in movements if r["currency"] == currency]
        assert sum(_minor(r["received"]) for r in months) == sum(_minor(r["gross"]) for r in rows)
        assert sum(_minor(r["fees"]) for r in months) == sum(_minor(r["fee"]) for r in rows)
        assert sum(int(r["charges"]) for r in months) == sum(r["kind"] == "charge" for r in rows)
        assert sum(_minor(r["net"]) for r in months) == _ledger_sums(currency)["net"]


def test_the_accounting_page_shows_the_summary_with_totals(ledger_rows, client):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    page = client.get(f"/staff/accounting?{YEAR_SO_FAR}").text
    assert "May 2025" in page and "<caption>EUR</caption>" in page
    usd = _ledger_sums("USD")
    total = page.split("<caption>USD</caption>")[1].split("<tfoot>")[1]
    assert _money(usd["net"]) in total and _money(usd["gross"]) in total
    assert "Fees pending for 1 payment in this range" in page
    assert 'formaction="/staff/accounting/payments.csv"' in page
    assert client.get("/staff/accounting").status_code == 200  # this year by default


# --- each confirmation moves money at most once ------------------------------------------


def _paid_gift(sandbox, amount=2500, frequency="once") -> Gift:
    """A gift paid on the sandbox and recorded through the ledger (no webhook needed)."""
    gift = make_checkout(frequency, amount)
    assert sandbox.pay(gift.stripe_checkout_session_id, email="reader@example.org").ok
    ledger.apply_checkout_session(
        gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
    )
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Gift, gift.id)


def _rows(model, **where):
    return list(db.session.scalars(sa.select(model).filter_by(**where).order_by(model.id)))


def _review_refund(client, charge: Payment, amount: str) -> dict:
    """Open the refund page and review ``amount``: the confirmation's fields."""
    url = f"/staff/payments/{charge.id}/refund"
    review = client.post(url, data=form_fields_from(client.get(url).text) | {"amount": amount})
    assert f"Yes, refund ${amount}" in review.text
    return form_fields_from(review.text) | {"amount": amount, "confirmed": "yes"}


def _stripe_refunds(charge: Payment) -> list:
    """The refunds Stripe holds for a charge."""
    return gateway().list_charge_refunds(charge.stripe_charge_id)


def test_a_double_clicked_refund_of_half_refunds_once(app, client, sandbox):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/refund"
    confirm = _review_refund(client, charge, "12.50")
    first = client.post(url, data=confirm, follow_redirects=True)
    second = client.post(url, data=confirm, follow_redirects=True)
    assert "Refunded $12.50." in first.text
    assert "This refund was already made: $12.50 refunded. Nothing more was done." in second.text
    assert [r.amount for r in _rows(Payment, gift_id=gift.id, kind="refund")] == [-1250]
    assert len(_stripe_refunds(charge)) == 1
    assert len(_rows(AuditLog, gift_id=gift.id)) == 1


@pytest.mark.committing
def test_two_simultaneous_confirmations_refund_once(app, live_server, sandbox):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    secret = pyotp.random_base32()
    make_staff(totp_secret=secret, totp_enabled_at=utcnow())
    db.session.commit()
    browser = requests.Session()
    login = browser.get(f"{live_server}/staff/login")
    browser.post(
        f"{live_server}/staff/login",
        data={"email": "admin@example.org", "password": "correct horse battery staple"}
        | {"csrf_token": csrf_token_from(login.text)},
    )
    code_page = browser.get(f"{live_server}/staff/login/code")
    browser.post(
        f"{live_server}/staff/login/code",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token_from(code_page.text)},
    )
    url = f"{live_server}/staff/payments/{charge.id}/refund"
    review = browser.post(url, data=form_fields_from(browser.get(url).text) | {"amount": "12.50"})
    confirm = form_fields_from(review.text) | {"amount": "12.50", "confirmed": "yes"}
    answers = []
    clicks = [
        threading.Thread(target=lambda: answers.append(browser.post(url, data=confirm)))
        for _ in range(2)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(timeout=30)
    assert [answer.status_code for answer in answers] == [200, 200]
    db.session.expire_all()
    assert [r.amount for r in _rows(Payment, gift_id=gift.id, kind="refund")] == [-1250]
    assert len(_stripe_refunds(charge)) == 1
    assert len(_rows(AuditLog, gift_id=gift.id)) == 1


class _AnswerLost:
    """The real gateway, except that Stripe's answer to a refund never comes back: the
    refund is made at the sandbox, then the call fails as a timeout would."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def create_refund(self, **arguments):
        self.real.create_refund(**arguments)
        raise GatewayUnavailable("The payment service could not be reached.")


@pytest.mark.parametrize("amount", ["12.50", "20.00"])
def test_a_lost_answer_says_the_outcome_is_unknown_and_confirming_again_refunds_once(
    app, client, sandbox, monkeypatch, amount
):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/refund"
    confirm = _review_refund(client, charge, amount)
    monkeypatch.setattr(admin, "gateway", lambda: _AnswerLost(gateway()))
    lost = client.post(url, data=confirm)
    assert lost.status_code == 504
    assert f"we do not know yet whether ${amount} was refunded" in lost.text
    assert "will show on the gift page once Stripe" in lost.text
    assert "Nothing was changed" not in lost.text
    assert confirm["intent"] in lost.text  # the page can be confirmed again as it is
    assert _rows(Payment, gift_id=gift.id, kind="refund") == []
    [noted] = _rows(AuditLog, gift_id=gift.id)
    assert noted.detail.startswith("Stripe's answer was lost")
    monkeypatch.undo()

    [made] = _stripe_refunds(charge)
    ledger.record_refund(made)  # Stripe's event arrives before the second confirmation
    db.session.commit()
    again = client.post(url, data=confirm, follow_redirects=True)
    assert f"Refunded ${amount}." in again.text
    assert [r.stripe_id for r in _rows(Payment, gift_id=gift.id, kind="refund")] == [made.id]
    assert len(_stripe_refunds(charge)) == 1
    client.post(url, data=confirm)
    assert len(_stripe_refunds(charge)) == 1
    assert len(_rows(AuditLog, gift_id=gift.id)) == 2  # the lost answer, then the refund


def test_a_lost_answer_is_not_asked_again_once_stripe_has_forgotten_the_key(
    app, client, sandbox, monkeypatch
):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/refund"
    confirm = _review_refund(client, charge, "12.50")
    monkeypatch.setattr(admin, "gateway", lambda: _AnswerLost(gateway()))
    assert client.post(url, data=confirm).status_code == 504
    monkeypatch.undo()
    [noted] = _rows(AuditLog, gift_id=gift.id)
    noted.created_at = at("2020-01-01 00:00")  # Stripe keeps a key's answer for 24 hours
    db.session.commit()
    late = client.post(url, data=confirm, follow_redirects=True)
    assert "too old to repeat safely" in late.text
    assert len(_stripe_refunds(charge)) == 1


def test_a_repeated_cancellation_is_carried_out_once_with_the_intent_as_key(
    app, client, sandbox, monkeypatch
):
    gift = _paid_gift(sandbox, 1000, "monthly")
    make_staff()
    sign_in(client)
    keys = []
    real_gateway = gateway

    class Spy(_AnswerLost):
        def cancel_subscription(self, subscription_id, **options):
            keys.append(options.get("idempotency_key"))
            return self.real.cancel_subscription(subscription_id, **options)

    monkeypatch.setattr(admin, "gateway", lambda: Spy(real_gateway()))
    url = f"/staff/gifts/{gift.id}/cancel"
    review = client.post(url, data=form_fields_from(client.get(url).text) | {"when": "now"})
    confirm = form_fields_from(review.text) | {"when": "now", "confirmed": "yes"}
    first = client.post(url, data=confirm, follow_redirects=True)
    second = client.post(url, data=confirm, follow_redirects=True)
    for answer in (first, second):
        assert "The gift is cancelled." in answer.text and "Nothing was changed" not in answer.text
    assert keys == [f"cancel-{gift.id}-{confirm['intent']}"]
    assert len(_rows(AuditLog, gift_id=gift.id)) == 1


def test_a_repeated_resend_queues_one_receipt(app, client, sandbox):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    before = len(_rows(OutboxEmail, template="receipt"))
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/resend-receipt"
    confirm = form_fields_from(client.get(url).text) | {"confirmed": "yes"}
    assert "Receipt queued" in client.post(url, data=confirm, follow_redirects=True).text
    repeat = client.post(url, data=confirm, follow_redirects=True).text
    assert "This receipt was already queued" in repeat
    receipts = _rows(OutboxEmail, template="receipt")
    assert len(receipts) == before + 1
    assert receipts[-1].dedupe_key == f"resend:{charge.id}:{confirm['intent']}"
    assert len(_rows(AuditLog, gift_id=gift.id)) == 1
    fresh = form_fields_from(client.get(url).text) | {"confirmed": "yes"}
    assert fresh["intent"] != confirm["intent"]  # a new visit is a new confirmation
    client.post(url, data=fresh)
    assert len(_rows(OutboxEmail, template="receipt")) == before + 2


def test_confirmation_pages_carry_a_one_time_intent(app, client, sandbox):
    gift = _paid_gift(sandbox, 1000, "monthly")
    [charge] = _rows(Payment, gift_id=gift.id)
    make_staff()
    sign_in(client)
    for url in (
        f"/staff/payments/{charge.id}/refund",
        f"/staff/gifts/{gift.id}/cancel",
        f"/staff/payments/{charge.id}/resend-receipt",
    ):
        first, second = (form_fields_from(client.get(url).text) for _ in range(2))
        assert re.fullmatch(r"[0-9a-f]{32}", first["intent"])
        assert first["intent"] != second["intent"]


# --- annual statements from the donor page -----------------------------------------------


def test_staff_download_a_donors_statement_from_the_donor_page(ledger_rows, client):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    ada = ledger_rows["one"].donor
    page = client.get(f"/staff/donors/{ada.id}").text
    link = f"/staff/donors/{ada.id}/statements/2025.pdf"
    assert f'href="{link}"' in page
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="statement-2025.pdf"'


@pytest.mark.parametrize(("year", "reason"), [(2099, "has not begun"), (2010, "first payment")])
def test_a_year_without_a_statement_is_explained_on_the_donor_page(
    ledger_rows, client, year, reason
):
    make_staff()
    sign_in(client)
    ada = ledger_rows["one"].donor
    response = client.get(f"/staff/donors/{ada.id}/statements/{year}.pdf", follow_redirects=True)
    assert response.request.path == f"/staff/donors/{ada.id}"
    assert f"There is no statement for {year}" in response.text and reason in response.text
