"""Refund, cancel and resend through the staff pages, against the Stripe sandbox.

Each action goes through the gateway and the ledger at once; the webhooks the sandbox
sends afterwards must find nothing left to do.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from donations import ledger
from donations.db import db
from donations.enums import ActorKind
from donations.models import AuditLog, Gift, OutboxEmail, Payment
from donations.payments import gateway
from tests.factories import (
    csrf_token_from,
    make_checkout,
    make_donor,
    make_gift,
    make_payment,
    make_staff,
    sign_in,
)


def _paid_gift(sandbox, frequency="once", amount=2500, currency="USD", webhook=True) -> Gift:
    """Start a gift, pay it on the sandbox, and let the webhook (or the ledger) record it."""
    gift = make_checkout(frequency, amount, currency)
    assert sandbox.pay(gift.stripe_checkout_session_id, email="reader@example.org").ok
    if webhook:
        sandbox.wait_for_deliveries(
            lambda attempts: any(
                a["type"] == "checkout.session.completed" and a["ok"] for a in attempts
            )
        )
    else:
        session = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
        ledger.apply_checkout_session(session)
        db.session.commit()
    db.session.expire_all()
    gift = db.session.get(Gift, gift.id)
    assert gift.status in ("paid", "active")
    return gift


def _settled(sandbox):
    """Wait until every delivery so far has been answered 2xx."""
    sandbox.wait_for_deliveries(lambda attempts: attempts and all(a["ok"] for a in attempts))
    db.session.expire_all()


def _rows(model, **where):
    query = sa.select(model).filter_by(**where).order_by(model.id)
    return list(db.session.scalars(query))


def _post_form(client, url, data):
    """GET the form, then POST it with its CSRF token."""
    token = csrf_token_from(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **data})


def test_partial_then_full_refund_reach_the_ledger_and_audit_once(
    app, client, sandbox, registered_webhook
):
    gift = _paid_gift(sandbox)
    [charge] = _rows(Payment, gift_id=gift.id)
    admin = make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/refund"

    review = _post_form(client, url, {"amount": "10.00"})
    assert "Yes, refund $10.00" in review.text
    assert _rows(Payment, gift_id=gift.id, kind="refund") == []  # nothing before confirming
    token = csrf_token_from(review.text)
    done = client.post(url, data={"csrf_token": token, "amount": "10.00", "confirmed": "yes"})
    assert done.status_code == 302

    [refund] = _rows(Payment, gift_id=gift.id, kind="refund")
    assert (refund.amount, refund.refunded_payment_id) == (-1000, charge.id)
    [entry] = _rows(AuditLog, gift_id=gift.id)
    assert (entry.action, entry.amount, entry.staff_user_id) == ("refund", 1000, admin.id)
    assert (entry.actor_kind, entry.donor_id) == (ActorKind.STAFF, None)
    page = client.get(f"/staff/gifts/{gift.id}").text
    assert "admin@example.org" in page and "$15.00" in page  # net after the refund

    _settled(sandbox)
    assert len(_rows(Payment, gift_id=gift.id, kind="refund")) == 1
    assert len(_rows(AuditLog)) == 1
    assert len(_rows(OutboxEmail, template="refund_notice")) == 1

    too_much = _post_form(client, url, {"amount": "15.01"})
    assert too_much.status_code == 400
    assert "at most $15.00" in too_much.text
    review = _post_form(client, url, {"amount": ""})
    assert "Yes, refund $15.00" in review.text
    token = csrf_token_from(review.text)
    client.post(url, data={"csrf_token": token, "amount": "15.00", "confirmed": "yes"})
    _settled(sandbox)
    assert sum(p.amount for p in _rows(Payment, gift_id=gift.id)) == 0
    assert db.session.get(Gift, gift.id).status == "refunded"
    assert len(_rows(AuditLog)) == 2
    assert "Refund…" not in client.get(f"/staff/gifts/{gift.id}").text


@pytest.mark.parametrize("when", ["now", "period_end"])
def test_cancel_a_monthly_gift_through_the_sandbox(app, client, sandbox, registered_webhook, when):
    gift = _paid_gift(sandbox, frequency="monthly", amount=1000)
    admin = make_staff()
    sign_in(client)
    url = f"/staff/gifts/{gift.id}/cancel"
    review = _post_form(client, url, {"when": when})
    assert "Yes, cancel the gift" in review.text
    token = csrf_token_from(review.text)
    assert (
        client.post(url, data={"csrf_token": token, "when": when, "confirmed": "yes"}).status_code
        == 302
    )

    db.session.expire_all()
    gift = db.session.get(Gift, gift.id)
    if when == "now":
        assert gift.status == "cancelled" and gift.cancelled_at is not None
    else:
        assert gift.status == "active" and gift.cancel_at_period_end
    [entry] = _rows(AuditLog, gift_id=gift.id)
    assert entry.action == ("cancel" if when == "now" else "cancel_at_period_end")
    assert (entry.actor_kind, entry.staff_user_id) == (ActorKind.STAFF, admin.id)
    state = (gift.status, gift.cancel_at_period_end, gift.cancelled_at)

    _settled(sandbox)
    gift = db.session.get(Gift, gift.id)
    assert (gift.status, gift.cancel_at_period_end, gift.cancelled_at) == state
    assert len(_rows(AuditLog)) == 1
    assert len(_rows(Payment, gift_id=gift.id)) == 1


def test_stripe_refusal_is_shown_and_nothing_is_recorded(app, client, sandbox):
    gift = make_gift(make_donor("x@example.org"), 2000)
    charge = make_payment(gift, 2000, "2025-01-01 10:00")  # unknown to the sandbox
    db.session.commit()
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/refund"
    token = csrf_token_from(client.get(url).text)
    response = client.post(
        url, data={"csrf_token": token, "amount": "5", "confirmed": "yes"}, follow_redirects=True
    )
    assert "Stripe refused" in response.text and "Nothing was changed" in response.text
    assert _rows(Payment, kind="refund") == []
    assert _rows(AuditLog) == []


def test_cancelling_a_one_time_gift_is_refused_without_calling_stripe(app, client, sandbox):
    gift = make_gift(make_donor("x@example.org"), 2000)
    db.session.commit()
    make_staff()
    sign_in(client)
    url = f"/staff/gifts/{gift.id}/cancel"
    token = csrf_token_from(client.get(url).text)
    response = client.post(
        url, data={"csrf_token": token, "when": "now", "confirmed": "yes"}, follow_redirects=True
    )
    assert "Only recurring gifts" in response.text
    assert _rows(AuditLog) == []


def test_resend_receipt_queues_another_receipt_and_audits_it(app, client, sandbox):
    gift = _paid_gift(sandbox, webhook=False)
    [charge] = _rows(Payment, gift_id=gift.id)
    receipts = len(_rows(OutboxEmail, template="receipt"))
    make_staff()
    sign_in(client)
    url = f"/staff/payments/{charge.id}/resend-receipt"
    response = _post_form(client, url, {"confirmed": "yes"})
    assert response.status_code == 302
    emails = _rows(OutboxEmail, template="receipt")
    assert len(emails) == receipts + 1
    assert emails[-1].to == "reader@example.org"
    assert emails[-1].dedupe_key.startswith(f"resend:{charge.id}:")  # one per confirmation
    [entry] = _rows(AuditLog)
    assert entry.action == "resend_receipt"
    page = client.get(f"/staff/gifts/{gift.id}").text
    assert "resend receipt" in page
    assert re.search(r"dashboard\.stripe\.com/test/payments/pi_", page)


def test_the_gift_page_names_who_took_each_action(app, client):
    donor = make_donor("x@example.org")
    gift = make_gift(donor, 2000)
    admin = make_staff()
    actors = [
        (ActorKind.STAFF, {"staff_user_id": admin.id}, "admin@example.org"),
        (ActorKind.DONOR, {"donor_id": donor.id}, "donor (their own link)"),
        (ActorKind.STRIPE, {}, "Stripe"),
        (ActorKind.SYSTEM, {}, "system"),
    ]
    for kind, who, _ in actors:
        db.session.add(AuditLog(actor_kind=kind, action="cancel", gift_id=gift.id, **who))
    db.session.commit()
    sign_in(client)
    page = client.get(f"/staff/gifts/{gift.id}").text
    trail = page[page.index('id="audit-h"') :]
    row = r'<tr><th scope="row" data-label="When">[^<]*</th>\s*<td data-label="Who">([^<]*)</td>'
    cells = re.findall(row, trail)
    assert cells == [shown for _, _, shown in actors]
