"""Fees and net from Stripe's balance transactions, and disputes as money movements: in
any order, with duplicates, the ledger ends where Stripe is."""

from __future__ import annotations

import json
import random

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.enums import DisputeState, PaymentKind
from donations.models import Dispute, OutboxEmail, Payment
from donations.payments import gateway
from tests.factories import make_staff
from tests.helpers_events import (
    give_and_pay,
    only_event,
    outbox,
    payments_of,
    post_applied,
    post_event,
    reset_ledger,
    sandbox_events,
    sandbox_get,
    sandbox_post,
    saved_gifts,
)


def charge_of(sandbox, gift) -> dict:
    intent = sandbox_get(sandbox, f"/v1/payment_intents/{gift.stripe_payment_intent_id}")
    latest = intent["latest_charge"]
    return sandbox_get(
        sandbox, f"/v1/charges/{latest if isinstance(latest, str) else latest['id']}"
    )


def fee(amount: int, percent: str, fixed: int) -> int:
    from decimal import ROUND_HALF_UP, Decimal

    cut = (Decimal(amount) * Decimal(percent) / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return int(cut) + fixed


def post_all(client, sandbox, *types: str) -> None:
    for event in sandbox_events(sandbox, *types):
        post_applied(client, event)


@pytest.mark.parametrize(
    ("currency", "amount", "expected_fee"),
    [
        ("USD", 2500, fee(2500, "2.9", 30)),
        ("EUR", 1000, fee(1000, "1.5", 25)),
        ("GBP", 700, fee(700, "1.5", 20)),
    ],
)
def test_a_one_time_charge_keeps_stripes_fee_and_net(
    client, sandbox, currency, amount, expected_fee
):
    gift = give_and_pay(sandbox, amount=amount, currency=currency)

    post_all(client, sandbox, "charge.succeeded", "checkout.session.completed")

    [payment] = payments_of(gift)
    assert (payment.amount, payment.fee, payment.net) == (
        amount,
        expected_fee,
        amount - expected_fee,
    )
    assert payment.stripe_balance_transaction_id.startswith("txn_")


def test_a_renewal_and_a_refund_keep_their_fees_whichever_event_comes_first(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000, email="fees@example.org")
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    renewal = sandbox.renew(gift.stripe_subscription_id)
    events = sandbox_events(sandbox, "charge.succeeded", "invoice.paid")
    for event in reversed(events):  # the charge's event before its invoice's
        post_applied(client, event)
    refund = gateway().create_refund(charge_id=renewal["charge"], amount=400, idempotency_key="r1")
    post_applied(client, only_event(sandbox, "refund.created", refund.id))

    first, renewed, refunded = payments_of(gift)
    assert [p.fee for p in (first, renewed)] == [fee(1000, "2.9", 30)] * 2
    assert (renewed.stripe_id, renewed.net) == (renewal["id"], 1000 - fee(1000, "2.9", 30))
    assert (refunded.amount, refunded.fee, refunded.net) == (-400, 0, -400)


def dispute(sandbox, client, gift) -> dict:
    post_all(client, sandbox, "charge.succeeded", "checkout.session.completed")
    return sandbox.dispute(charge_of(sandbox, gift)["id"])


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_dispute_withdraws_the_money_and_gives_it_back_only_if_won(client, sandbox, outcome):
    make_staff("boss@example.org")
    db.session.flush()
    gift = give_and_pay(sandbox, amount=5000)
    opened = dispute(sandbox, client, gift)
    post_applied(client, only_event(sandbox, "charge.dispute.created"))
    sandbox_post(sandbox, f"/_sandbox/disputes/{opened['id']}/close", outcome=outcome)
    events = sandbox_events(sandbox, *DISPUTE_EVENTS)

    for event in events + events[::-1]:
        post_applied(client, event)

    [row] = db.session.scalars(sa.select(Dispute))
    movements = [(p.kind, p.amount, p.fee) for p in payments_of(gift)]
    expected = [
        (PaymentKind.CHARGE, 5000, fee(5000, "2.9", 30)),
        (PaymentKind.DISPUTE, -5000, 1500),
    ]
    if outcome == "won":
        expected.append((PaymentKind.DISPUTE_REVERSAL, 5000, -1500))
    assert movements == expected
    assert row.state == (DisputeState.WON if outcome == "won" else DisputeState.LOST)
    assert row.closed_at is not None and row.respond_by is not None
    [alert] = outbox("dispute_opened")
    assert alert.to == "boss@example.org"
    assert json.loads(alert.context)["respond_by"] == row.respond_by.date().isoformat()


DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_reinstated",
)


def test_dispute_events_in_any_order_give_the_same_ledger(client, sandbox):
    gift = give_and_pay(sandbox, amount=4000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    before = saved_gifts()
    opened = sandbox.dispute(charge_of(sandbox, gift)["id"])
    sandbox_post(sandbox, f"/_sandbox/disputes/{opened['id']}/close", outcome="won")
    events = sandbox_events(sandbox, "checkout.session.completed", *DISPUTE_EVENTS)

    outcomes = []
    for seed in range(4):
        reset_ledger(before)
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        for event in shuffled:
            assert post_event(client, event).status_code == 200
        db.session.expire_all()
        outcomes.append(
            sorted((p.kind, p.amount, p.net) for p in db.session.scalars(sa.select(Payment)))
        )
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert sum(amount for _, amount, _ in outcomes[0]) == 4000


def test_reconcile_records_a_dispute_and_fees_the_webhooks_never_brought(
    app, client, runner, sandbox
):
    gift = give_and_pay(sandbox, amount=3000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    opened = sandbox.dispute(charge_of(sandbox, gift)["id"])

    result = runner.invoke(args=["stripe", "reconcile", "--since", "2026-01-01"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    charge, withdrawal = payments_of(gift)
    assert charge.fee == fee(3000, "2.9", 30)
    assert (withdrawal.stripe_id, withdrawal.amount) == (opened["id"], -3000)
    again = runner.invoke(args=["stripe", "reconcile", "--since", "2026-01-01"])
    assert again.output.startswith("Nothing to fix since")


def test_a_receipt_resent_after_a_partial_refund_shows_what_was_kept(app, client, sandbox):
    from donations import ledger

    gift = give_and_pay(sandbox, amount=5000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    refund = gateway().create_refund(
        payment_intent_id=gift.stripe_payment_intent_id, amount=1500, idempotency_key="part"
    )
    post_applied(client, only_event(sandbox, "refund.created", refund.id))
    charge = payments_of(gift)[0]

    context = ledger.receipt_context(charge)

    assert (context["amount"], context["refunded"], context["retained"]) == (5000, 1500, 3500)
    assert context["receipt_number"] == charge.receipt_number


def test_a_tribute_is_told_once_when_the_gift_is_first_paid(client, sandbox):
    gift = give_and_pay(sandbox, amount=2000, email="giver@example.org")
    gift.tribute_kind, gift.tribute_name = "memory", "Ada Byron"
    gift.tribute_message, gift.tribute_notify_email = "She loved the paper.", "kin@example.org"
    db.session.commit()

    for event in sandbox_events(sandbox) * 2:
        post_event(client, event)

    db.session.expire_all()
    [notice] = db.session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.template == "tribute_notice")
    )
    context = json.loads(notice.context)
    assert notice.to == "kin@example.org"
    assert (context["tribute_kind"], context["tribute_name"]) == ("memory", "Ada Byron")
    assert "2000" not in notice.context and "20.00" not in notice.context
