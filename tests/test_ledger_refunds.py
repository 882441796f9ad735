"""Refunds, disputes and the donor emails the ledger queues."""

from __future__ import annotations

import email
import email.policy
import json
from dataclasses import replace
from datetime import date

from donations import ledger
from donations.db import db
from donations.enums import GiftStatus, PaymentKind
from donations.mail import render_email
from donations.payments import gateway
from donations.payments.types import RefundStatus
from tests.helpers_events import (
    checkout_session_of,
    give_and_pay,
    only_event,
    outbox,
    payments_of,
    post_applied,
    sandbox_events,
    sandbox_get,
)


def _rendered(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an email as a mail client would read them."""
    message = render_email(template, context, to="reader@example.org")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    return str(parsed["Subject"]), text, html


def test_full_and_partial_refunds_are_negative_rows_and_the_net_is_right(client, sandbox):
    gift = give_and_pay(sandbox, amount=5000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    pi = gift.stripe_payment_intent_id

    first = gateway().create_refund(payment_intent_id=pi, amount=1000, idempotency_key="r1")
    for event in sandbox_events(sandbox, "refund.created", "charge.refunded"):
        post_applied(client, event)
    assert gift.status == GiftStatus.PAID
    assert sum(p.amount for p in payments_of(gift)) == 4000

    second = gateway().create_refund(payment_intent_id=pi, idempotency_key="r2")
    for event in sandbox_events(sandbox, "refund.created", "charge.refunded"):
        post_applied(client, event)

    charge, *refunds = payments_of(gift)
    assert [(r.kind, r.amount, r.stripe_id) for r in refunds] == [
        ("refund", -1000, first.id),
        ("refund", -4000, second.id),
    ]
    assert all(r.refunded_payment_id == charge.id for r in refunds)
    assert gift.status == GiftStatus.REFUNDED
    notices = [json.loads(n.context) for n in outbox("refund_notice")]
    assert [(n["amount"], n["partial"]) for n in notices] == [(1000, True), (4000, True)]


def test_a_refund_before_its_payment_records_the_payment_first(client, sandbox):
    gift = give_and_pay(sandbox, amount=2000)
    session = checkout_session_of(sandbox, gift)
    refund = gateway().create_refund(
        payment_intent_id=session["payment_intent"], idempotency_key="early"
    )

    post_applied(client, only_event(sandbox, "refund.created"))

    charge, refund_row = payments_of(gift)
    assert (charge.stripe_id, charge.amount) == (session["payment_intent"], 2000)
    assert (refund_row.stripe_id, refund_row.amount) == (refund.id, -2000)
    assert gift.status == GiftStatus.REFUNDED
    assert len(outbox("receipt")) == 1 and len(outbox("refund_notice")) == 1
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    assert len(payments_of(gift)) == 2 and gift.status == GiftStatus.REFUNDED


def test_a_refunded_renewal_arriving_first_records_its_invoice_then_the_refund(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=800)
    invoice = sandbox_get(sandbox, f"/v1/invoices/{checkout_session_of(sandbox, gift)['invoice']}")
    gateway().create_refund(charge_id=invoice["charge"], amount=300, idempotency_key="inv")

    post_applied(client, only_event(sandbox, "charge.refunded"))

    charge, refund = payments_of(gift)
    assert (charge.stripe_id, charge.amount, refund.amount) == (invoice["id"], 800, -300)
    assert gift.status == GiftStatus.ACTIVE


def test_a_dispute_flags_the_payment_and_the_gift_and_withdraws_its_money(client, sandbox):
    gift = give_and_pay(sandbox, amount=2500)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    pi = sandbox_get(sandbox, f"/v1/payment_intents/{gift.stripe_payment_intent_id}")
    charge_id = (
        pi["latest_charge"] if isinstance(pi["latest_charge"], str) else pi["latest_charge"]["id"]
    )
    sandbox.dispute(charge_id)

    post_applied(client, only_event(sandbox, "charge.dispute.created"))

    payment, withdrawal = payments_of(gift)
    assert payment.disputed and gift.disputed and payment.stripe_charge_id == charge_id
    assert (withdrawal.kind, withdrawal.amount) == (PaymentKind.DISPUTE, -2500)


def test_public_functions_and_webhooks_together_record_each_fact_once(client, sandbox):
    gift = give_and_pay(sandbox, amount=3000)
    session = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
    assert ledger.apply_checkout_session(session).id == gift.id
    refund = gateway().create_refund(
        payment_intent_id=session.payment_intent_id, amount=500, idempotency_key="staff"
    )
    assert ledger.record_refund(refund) is not None
    db.session.commit()

    for event in sandbox_events(sandbox):
        post_applied(client, event)

    assert [p.amount for p in payments_of(gift)] == [3000, -500]
    assert ledger.record_refund(refund) is None
    assert len(outbox("receipt")) == 1 and len(outbox("refund_notice")) == 1


def human_date(iso: str) -> str:
    """How emails write a date: "5 March 2027"."""
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def test_receipts_render_with_what_the_donor_needs(app, client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=750, currency="EUR", name="Ann Example")
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    [receipt] = outbox("receipt")
    context = json.loads(receipt.context)
    assert {"donor_name", "amount", "currency", "frequency", "date", "gift_id"} <= set(context)

    subject, text, html = _rendered("receipt", context)

    assert "€7.50" in subject
    for body in (text, html):
        assert "Ann Example" in body and "€7.50" in body and "Monthly" in body
        assert human_date(context["date"]) in body and "reply to this email" in body
    assert context["gift_id"] == gift.id


def test_refund_and_renewal_failed_emails_render(app, client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    sandbox.fail_next_renewal(gift.stripe_subscription_id)
    failed = sandbox.renew(gift.stripe_subscription_id)
    post_applied(client, only_event(sandbox, "invoice.payment_failed", failed["id"]))
    invoice = sandbox_get(sandbox, f"/v1/invoices/{payments_of(gift)[0].stripe_id}")
    gateway().create_refund(charge_id=invoice["charge"], amount=400, idempotency_key="render")
    post_applied(client, only_event(sandbox, "refund.created"))
    [failed_email] = outbox("renewal_failed")
    [refund_email] = outbox("refund_notice")

    failed_subject, failed_text, _ = _rendered("renewal_failed", json.loads(failed_email.context))
    refund_subject, refund_text, _ = _rendered("refund_notice", json.loads(refund_email.context))

    assert "could not be renewed" in failed_subject and "$10.00" in failed_text
    assert "$4.00" in refund_subject and "$4.00 of your $10.00 gift" in refund_text


def test_a_pending_refund_counts_once_it_succeeds_and_a_failed_one_is_reversed(client, sandbox):
    gift = give_and_pay(sandbox, amount=2000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    refund = gateway().create_refund(
        payment_intent_id=gift.stripe_payment_intent_id, idempotency_key="pending"
    )

    assert ledger.record_refund(replace(refund, status=RefundStatus.PENDING)) is None
    assert sum(p.amount for p in payments_of(gift)) == 2000

    assert ledger.record_refund(refund) is not None  # succeeded
    db.session.flush()
    assert sum(p.amount for p in payments_of(gift)) == 0 and gift.status == GiftStatus.REFUNDED

    for _ in range(2):  # Stripe reports the refund failed, twice
        ledger.record_refund(replace(refund, status=RefundStatus.FAILED))
    db.session.commit()
    rows = [(p.kind, p.amount, p.stripe_id) for p in payments_of(gift)]
    assert rows[1:] == [("refund", -2000, refund.id), ("refund", 2000, f"{refund.id}:reversed")]
    assert sum(p.amount for p in payments_of(gift)) == 2000 and gift.status == GiftStatus.PAID
