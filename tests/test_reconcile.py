"""``flask stripe reconcile``: after missed webhooks, the ledger is repaired from Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from donations.db import db
from donations.enums import GiftStatus, PaymentKind
from donations.models import Gift, Payment
from donations.payments import gateway
from tests.factories import make_checkout
from tests.helpers_events import give_and_pay, outbox, sandbox_get

TODAY = datetime.now(UTC).date().isoformat()


def _sandbox_ledger(sandbox) -> list[tuple]:
    """Every money movement the sandbox holds, as (stripe id, kind, amount, currency)."""
    rows = []
    for intent in sandbox_get(sandbox, "/v1/payment_intents", limit=100)["data"]:
        if intent["status"] == "succeeded" and not intent.get("invoice"):
            rows.append((intent["id"], "charge", intent["amount_received"], intent["currency"]))
    for invoice in sandbox_get(sandbox, "/v1/invoices", limit=100)["data"]:
        if invoice["status"] == "paid":
            rows.append((invoice["id"], "charge", invoice["amount_paid"], invoice["currency"]))
    for refund in sandbox_get(sandbox, "/v1/refunds", limit=100)["data"]:
        rows.append((refund["id"], "refund", -refund["amount"], refund["currency"]))
    return sorted((sid, kind, amount, currency.upper()) for sid, kind, amount, currency in rows)


def _our_ledger() -> list[tuple]:
    db.session.expire_all()
    payments = db.session.scalars(sa.select(Payment))
    return sorted((p.stripe_id, p.kind, p.amount, p.currency) for p in payments)


def test_reconcile_repairs_everything_the_webhooks_missed_and_a_second_run_fixes_nothing(
    runner, sandbox
):
    once = give_and_pay(sandbox, amount=2500, email="once@example.org")
    monthly = give_and_pay(sandbox, "monthly", amount=800, currency="EUR")
    abandoned = make_checkout(amount=1000, email="later@example.org")
    gateway().expire_checkout_session(abandoned.stripe_checkout_session_id)
    subscription_id = sandbox_get(
        sandbox, f"/v1/checkout/sessions/{monthly.stripe_checkout_session_id}"
    )["subscription"]
    sandbox.renew(subscription_id)
    once_intent = sandbox_get(sandbox, f"/v1/checkout/sessions/{once.stripe_checkout_session_id}")[
        "payment_intent"
    ]
    gateway().create_refund(payment_intent_id=once_intent, amount=500, idempotency_key="rec")

    first = runner.invoke(args=["stripe", "reconcile", "--since", TODAY])

    assert first.exit_code == 0, first.output
    assert _our_ledger() == _sandbox_ledger(sandbox)
    assert len(_our_ledger()) == 4
    gifts = {g.id: g for g in db.session.scalars(sa.select(Gift))}
    assert gifts[once.id].status == GiftStatus.PAID
    assert gifts[monthly.id].status == GiftStatus.ACTIVE
    assert gifts[monthly.id].stripe_subscription_id == subscription_id
    assert gifts[abandoned.id].status == GiftStatus.ABANDONED
    assert f"gift {once.id}: status pending → paid" in first.output
    assert "change(s) made to match Stripe" in first.output
    assert len(outbox("receipt")) == 3 and len(outbox("refund_notice")) == 1

    second = runner.invoke(args=["stripe", "reconcile", "--since", TODAY])

    assert second.exit_code == 0, second.output
    assert second.output.strip() == f"Nothing to fix since {TODAY}: the ledger matches Stripe."
    assert len(_our_ledger()) == 4


def test_reconcile_catches_a_cancellation_and_a_dispute_it_never_heard_of(runner, sandbox):
    monthly = give_and_pay(sandbox, "monthly", amount=1200)
    assert runner.invoke(args=["stripe", "reconcile", "--since", TODAY]).exit_code == 0
    db.session.expire_all()
    gift = db.session.get(Gift, monthly.id)
    invoice = sandbox_get(sandbox, f"/v1/invoices/{gift.payments[0].stripe_id}")
    sandbox.dispute(invoice["charge"])
    gateway().cancel_subscription(gift.stripe_subscription_id, at_period_end=False)

    result = runner.invoke(args=["stripe", "reconcile", "--since", TODAY])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    gift = db.session.get(Gift, monthly.id)
    assert gift.status == GiftStatus.CANCELLED and gift.disputed
    [payment] = db.session.scalars(sa.select(Payment).where(Payment.kind == PaymentKind.CHARGE))
    assert payment.disputed
    again = runner.invoke(args=["stripe", "reconcile", "--since", TODAY])
    assert again.output.strip() == f"Nothing to fix since {TODAY}: the ledger matches Stripe."


def test_reconcile_only_looks_as_far_back_as_asked(runner, sandbox):
    give_and_pay(sandbox, amount=700)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()

    result = runner.invoke(args=["stripe", "reconcile", "--since", tomorrow])

    assert result.exit_code == 0
    assert _our_ledger() == []


def test_reconcile_refuses_a_date_it_cannot_read(runner, app):
    for bad in ("yesterday", "2026-13-01", "01/11/2026", ""):
        result = runner.invoke(args=["stripe", "reconcile", "--since", bad])
        assert result.exit_code == 2
        assert "YYYY-MM-DD" in result.output


def test_reconcile_says_so_when_stripe_is_unreachable(app, runner, sandbox):
    from donations.payments.stripe_gateway import StripeGateway

    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", "http://127.0.0.1:9")

    result = runner.invoke(args=["stripe", "reconcile", "--since", TODAY])

    assert result.exit_code == 1
    assert "could not be reached" in result.output
