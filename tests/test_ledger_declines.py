"""A card declined on the Checkout page: the gift keeps the decline (``declined_at``) for the
card-testing alarm, and another card on the same page still pays the gift, whatever order
Stripe's events arrive in and however often they are delivered.

The reader pays on the sandbox's hosted page; the sandbox sends what Stripe sends for a
decline (``charge.failed``, ``payment_intent.payment_failed``, and for a monthly gift an
incomplete subscription and ``invoice.payment_failed``) to the live app, or the tests post
those events themselves in chosen orders.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from donations.db import db, utcnow
from donations.defence import queries
from donations.enums import GiftStatus, PaymentKind
from donations.ledger.changes import from_timestamp
from donations.ledger.charges import apply_payment_intent
from donations.models import Gift, Payment, RenewalFailure
from donations.payments import gateway
from tests.factories import make_checkout
from tests.helpers_events import (
    checkout_session_of,
    gift_events,
    only_event,
    outbox,
    post_event,
    reset_ledger,
    saved_gifts,
)

DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
GOOD = "4242424242424242"


@pytest.fixture
def app_config(app_config):
    return app_config | {"ALARM_MIN_STARTS": 1}


def page_url(gift: Gift) -> str:
    return gateway().retrieve_checkout_session(gift.stripe_checkout_session_id).url


def current(gift: Gift) -> Gift:
    db.session.expire_all()
    return db.session.get(Gift, gift.id)


def settled(sandbox, gift: Gift) -> Gift:
    sandbox.settle()
    return current(gift)


def charges_of(gift: Gift) -> list[Payment]:
    query = sa.select(Payment).where(Payment.gift_id == gift.id, Payment.kind == PaymentKind.CHARGE)
    return list(db.session.scalars(query))


def test_a_declined_card_then_a_good_one_pays_the_gift_and_keeps_the_decline(
    app, sandbox, registered_webhook
):
    gift = make_checkout("once", 2500, email="reader@example.org")
    url = page_url(gift)
    before = utcnow()

    assert sandbox.pay_via_form(url, card=DECLINED, email="reader@example.org").status_code == 402
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.PENDING
    declined_at = gift.declined_at
    failed = only_event(sandbox, "payment_intent.payment_failed")
    assert declined_at == from_timestamp(failed["created"])
    assert before - timedelta(seconds=5) <= declined_at <= utcnow()
    assert charges_of(gift) == [] and outbox("receipt") == []

    assert sandbox.pay_via_form(url, card=INSUFFICIENT_FUNDS).status_code == 402
    assert settled(sandbox, gift).declined_at == declined_at
    assert sandbox.pay_via_form(url, card=GOOD, email="reader@example.org").status_code == 303
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.PAID and gift.paid_at is not None
    assert gift.declined_at == declined_at
    session = checkout_session_of(sandbox, gift)
    [charge] = charges_of(gift)
    assert (charge.stripe_id, charge.amount) == (session["payment_intent"], 2500)
    assert gift.stripe_payment_intent_id == session["payment_intent"]
    assert len(outbox("receipt")) == 1


def test_a_monthly_gift_declined_then_paid_is_active_with_no_failed_renewal(
    app, sandbox, registered_webhook
):
    gift = make_checkout("monthly", 1000, email="monthly@example.org")
    url = page_url(gift)

    assert sandbox.pay_via_form(url, card=DECLINED, email="monthly@example.org").status_code == 402
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.PENDING and gift.declined_at is not None
    failed = only_event(sandbox, "invoice.payment_failed")
    assert gift.declined_at == from_timestamp(failed["created"])
    assert gift.stripe_subscription_id == failed["data"]["object"]["subscription"]

    assert sandbox.pay_via_form(url, card=GOOD, email="monthly@example.org").status_code == 303
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.ACTIVE and gift.paid_at is not None
    assert gift.declined_at == from_timestamp(failed["created"])
    [charge] = charges_of(gift)
    assert charge.stripe_id == checkout_session_of(sandbox, gift)["invoice"]
    assert db.session.scalars(sa.select(RenewalFailure)).all() == []
    assert outbox("renewal_failed") == [] and len(outbox("receipt")) == 1


def test_the_card_testing_alarm_counts_a_gift_declined_before_it_was_paid(
    app, sandbox, registered_webhook
):
    gift = make_checkout("once", 500)
    assert sandbox.pay(gift.stripe_checkout_session_id, card=DECLINED).status_code == 402
    assert sandbox.pay(gift.stripe_checkout_session_id, card=GOOD).status_code == 200
    assert settled(sandbox, gift).status == GiftStatus.PAID

    alarm = queries.alarm(utcnow())

    assert (alarm.started, alarm.went_nowhere, alarm.on) == (1, 1, True)


def test_the_first_decline_is_kept_in_stripe_time_whatever_order_the_reports_come_in(app, sandbox):
    gift = make_checkout("once", 500)
    sandbox.pay(gift.stripe_checkout_session_id, card=DECLINED)
    session = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
    intent = gateway().retrieve_payment_intent(session.payment_intent_id)
    assert intent.declined and intent.gift_id == gift.id
    first, later = 1_750_000_000, 1_750_000_600

    apply_payment_intent(intent, failed_at=later)
    apply_payment_intent(intent, failed_at=first)
    apply_payment_intent(intent, failed_at=later)

    gift = current(gift)
    assert gift.declined_at == from_timestamp(first)
    assert gift.status == GiftStatus.PENDING


def _one_time_history(sandbox) -> tuple[Gift, list[dict]]:
    """A one-time gift declined twice on its page, then paid with a good card."""
    gift = make_checkout("once", 2500, email="once@example.org")
    for card in (DECLINED, INSUFFICIENT_FUNDS, GOOD):
        sandbox.pay(gift.stripe_checkout_session_id, card=card)
    return gift, gift_events(sandbox)


def _monthly_history(sandbox) -> tuple[Gift, list[dict]]:
    """A monthly gift whose first payment was declined, then paid with a good card."""
    gift = make_checkout("monthly", 1000, email="monthly@example.org")
    for card in (DECLINED, GOOD):
        sandbox.pay(gift.stripe_checkout_session_id, card=card)
    return gift, gift_events(sandbox)


def _orders(events: list[dict]) -> list[list[dict]]:
    """The events forwards, backwards and shuffled, each delivered twice: once again as
    sent (a redelivery) and once as a copy under a new id (a replayed event)."""
    orders = [list(events), list(reversed(events))]
    for seed in range(3):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        orders.append(shuffled)
    return [
        order + order[::-1] + [event | {"id": event["id"] + "_copy"} for event in order]
        for order in orders
    ]


@pytest.mark.parametrize(
    ("history", "paid_status", "types"),
    [
        (
            _one_time_history,
            GiftStatus.PAID,
            {"payment_intent.payment_failed", "payment_intent.succeeded"},
        ),
        (
            _monthly_history,
            GiftStatus.ACTIVE,
            {"invoice.payment_failed", "invoice.paid", "customer.subscription.created"},
        ),
    ],
)
def test_declines_and_the_payment_in_any_order_and_repeated_give_one_paid_gift(
    app, client, sandbox, history, paid_status, types
):
    gift, events = history(sandbox)
    assert types <= {event["type"] for event in events}
    assert "checkout.session.completed" in {event["type"] for event in events}
    before = saved_gifts()

    outcomes = set()
    for order in _orders(events):
        reset_ledger(before)
        for event in order:
            response = post_event(client, event)
            assert response.status_code == 200, (event["type"], response.json)
        gift = current(gift)
        charges = charges_of(gift)
        outcomes.add(
            (
                gift.status,
                gift.declined_at is not None,
                gift.paid_at is not None,
                tuple((c.stripe_id, c.amount) for c in charges),
                len(outbox("receipt")),
            )
        )

    [(status, declined, paid, charges, receipts)] = outcomes
    assert (status, declined, paid, receipts) == (paid_status, True, True, 1)
    assert len(charges) == 1
