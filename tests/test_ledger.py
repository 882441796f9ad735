"""The ledger's handlers: what each Stripe event does to gifts, payments and the outbox."""

from __future__ import annotations

import json
import time
import uuid

from donations import ledger
from donations.db import db, utcnow
from donations.enums import GiftStatus, ReminderStatus
from donations.models import Reminder
from donations.payments import gateway
from tests.factories import make_checkout
from tests.helpers_events import (
    checkout_session_of,
    event_for,
    give_and_pay,
    only_event,
    outbox,
    payments_of,
    post_applied,
    replace_card,
    sandbox_events,
    sandbox_get,
)


def test_monthly_checkout_activates_the_gift_with_its_first_invoice(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=750, currency="EUR")
    session = checkout_session_of(sandbox, gift)

    post_applied(client, only_event(sandbox, "checkout.session.completed"))

    assert gift.status == GiftStatus.ACTIVE
    assert gift.stripe_subscription_id == session["subscription"]
    assert gift.current_period_end is not None and gift.paid_at is not None
    [payment] = payments_of(gift)
    assert (payment.stripe_id, payment.amount, payment.currency) == (session["invoice"], 750, "EUR")
    [receipt] = outbox("receipt")
    assert receipt.dedupe_key == f"receipt:{session['invoice']}"


def test_invoice_paid_before_checkout_completed_records_one_payment(client, sandbox):
    gift = give_and_pay(sandbox, "annual", amount=5000)

    post_applied(client, only_event(sandbox, "invoice.paid"))
    assert gift.status == GiftStatus.ACTIVE
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    post_applied(client, only_event(sandbox, "invoice.payment_succeeded"))

    [payment] = payments_of(gift)
    assert payment.amount == 5000 and payment.stripe_charge_id is not None
    assert gift.status == GiftStatus.ACTIVE and gift.frequency == "annual"
    assert len(outbox("receipt")) == 1


def test_each_renewal_is_its_own_payment_with_its_own_receipt(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    renewal = sandbox.renew(gift.stripe_subscription_id)

    post_applied(client, only_event(sandbox, "invoice.paid", renewal["id"]))

    assert [p.stripe_id for p in payments_of(gift)][1] == renewal["id"]
    assert sum(p.amount for p in payments_of(gift)) == 2000
    receipts = [json.loads(r.context) for r in outbox("receipt")]
    assert [r["renewal"] for r in receipts] == [False, True]


def test_a_failed_renewal_makes_the_gift_past_due_and_tells_the_donor(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000, email="late@example.org")
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    sandbox.fail_next_renewal(gift.stripe_subscription_id)
    failed = sandbox.renew(gift.stripe_subscription_id)

    post_applied(client, only_event(sandbox, "invoice.payment_failed", failed["id"]))

    assert gift.status == GiftStatus.PAST_DUE
    [email] = outbox("renewal_failed")
    assert email.to == "late@example.org"
    assert email.dedupe_key == f"renewal_failed:{failed['id']}"
    assert json.loads(email.context)["next_attempt_date"] is not None
    context = json.loads(email.context)
    assert (context["amount"], context["currency"]) == (1000, "USD")
    assert len(payments_of(gift)) == 1

    replace_card(sandbox, gift)
    sandbox.retry_invoice(failed["id"])
    post_applied(client, only_event(sandbox, "invoice.paid", failed["id"]))

    assert gift.status == GiftStatus.ACTIVE
    first, recovered = payments_of(gift)
    assert (recovered.stripe_id, recovered.recovered, first.recovered) == (
        failed["id"],
        True,
        False,
    )


def test_a_late_failure_for_an_invoice_paid_since_changes_nothing(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    invoice = sandbox_get(sandbox, f"/v1/invoices/{payments_of(gift)[0].stripe_id}")

    post_applied(client, event_for(invoice | {"status": "open"}, "invoice.payment_failed"))

    assert gift.status == GiftStatus.ACTIVE
    assert outbox("renewal_failed") == []


def test_subscription_updated_after_deleted_leaves_the_gift_cancelled(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    sandbox.renew(gift.stripe_subscription_id)
    gateway().cancel_subscription(gift.stripe_subscription_id, at_period_end=False)

    post_applied(client, only_event(sandbox, "customer.subscription.deleted"))
    for event in sandbox_events(
        sandbox, "customer.subscription.updated", "customer.subscription.created"
    ):
        post_applied(client, event)

    assert gift.status == GiftStatus.CANCELLED and gift.cancelled_at is not None


def test_without_the_subscription_at_hand_the_newest_stripe_state_wins(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    gone = sandbox_get(sandbox, f"/v1/subscriptions/{gift.stripe_subscription_id}")
    sandbox.reset()
    now = int(time.time()) + 100
    yearly = _with_price(gone, 12000, "year")

    post_applied(client, event_for(yearly, "customer.subscription.updated", created=now + 2))
    post_applied(client, event_for(gone, "customer.subscription.updated", created=now + 1))

    assert (gift.amount, gift.frequency) == (12000, "annual")
    ended = gone | {"status": "canceled", "canceled_at": now + 3, "ended_at": now + 3}
    post_applied(client, event_for(ended, "customer.subscription.deleted", created=now + 3))
    post_applied(client, event_for(yearly, "customer.subscription.updated", created=now + 4))
    assert gift.status == GiftStatus.CANCELLED


def _with_price(sub: dict, amount: int, interval: str) -> dict:
    item = json.loads(json.dumps(sub["items"]["data"][0]))
    for key in ("price", "plan"):
        if item.get(key):
            item[key]["unit_amount"] = item[key]["amount"] = amount
            item[key].setdefault("recurring", {})
            if item[key]["recurring"] is not None:
                item[key]["recurring"]["interval"] = interval
            item[key]["interval"] = interval
    return sub | {"items": sub["items"] | {"data": [item]}}


def test_payment_intent_succeeded_alone_marks_a_one_time_gift_paid(client, sandbox):
    gift = give_and_pay(sandbox, amount=1500)

    post_applied(client, only_event(sandbox, "payment_intent.succeeded"))

    assert gift.status == GiftStatus.PAID
    [payment] = payments_of(gift)
    assert payment.stripe_id == gift.stripe_payment_intent_id and payment.stripe_charge_id
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    assert len(payments_of(gift)) == 1 and len(outbox("receipt")) == 1


def test_a_declined_payment_attempt_leaves_the_gift_pending_and_never_unpays_it(client, sandbox):
    gift = make_checkout(amount=500)
    declined = sandbox.http.post(
        f"{sandbox.url}/v1/payment_intents",
        auth=(sandbox.api_key, ""),
        data={
            "amount": 500,
            "currency": "usd",
            "payment_method": "pm_card_chargeCustomerFail",
            "confirm": "true",
            "metadata[gift_id]": str(gift.id),
        },
    )
    assert declined.status_code == 402
    failure = only_event(sandbox, "payment_intent.payment_failed")

    post_applied(client, failure)
    assert gift.status == GiftStatus.PENDING and gift.declined_at is not None

    sandbox.pay(gift.stripe_checkout_session_id, email=gift.donor.email)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))
    post_applied(client, failure | {"id": f"evt_again_{uuid.uuid4().hex[:8]}"})
    assert gift.status == GiftStatus.PAID


def test_an_expired_checkout_abandons_the_pending_gift(client, sandbox):
    gift = make_checkout(amount=500)
    gateway().expire_checkout_session(gift.stripe_checkout_session_id)

    post_applied(client, only_event(sandbox, "checkout.session.expired"))

    assert gift.status == GiftStatus.ABANDONED
    assert payments_of(gift) == [] and outbox() == []


def test_the_first_payment_converts_the_reminder_that_led_to_the_gift(client, sandbox):
    reminder = Reminder(
        email="reader@example.org",
        due_at=utcnow(),
        due_month="2026-11",
        token=uuid.uuid4().hex,
        next_attempt_at=utcnow(),
        status=ReminderStatus.SENT,
    )
    db.session.add(reminder)
    db.session.commit()
    gift = give_and_pay(sandbox, amount=500)
    gift.reminder_id = reminder.id
    db.session.commit()

    post_applied(client, only_event(sandbox, "checkout.session.completed"))

    reminder = db.session.get(Reminder, reminder.id)
    assert reminder.status == ReminderStatus.CONVERTED and reminder.converted_at is not None


def test_staff_cancel_through_apply_subscription_is_recorded_at_once(client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=1000)
    post_applied(client, only_event(sandbox, "checkout.session.completed"))

    sub = gateway().cancel_subscription(gift.stripe_subscription_id, at_period_end=True)
    assert ledger.apply_subscription(sub).id == gift.id
    db.session.commit()
    assert gift.cancel_at_period_end and gift.status == GiftStatus.ACTIVE

    sub = gateway().cancel_subscription(gift.stripe_subscription_id, at_period_end=False)
    ledger.apply_subscription(sub)
    db.session.commit()
    assert gift.status == GiftStatus.CANCELLED


def test_a_paid_checkout_is_recorded_alike_by_the_webhook_and_the_thank_you_page(client, sandbox):
    by_webhook = give_and_pay(sandbox, amount=1200, email="a@example.org", name="Ann")
    by_page = give_and_pay(sandbox, amount=1200, email="b@example.org", name="Ann")

    event = only_event(sandbox, "checkout.session.completed", by_webhook.stripe_checkout_session_id)
    post_applied(client, event)
    session = gateway().retrieve_checkout_session(by_page.stripe_checkout_session_id)
    ledger.apply_checkout_session(session)
    db.session.commit()

    def recorded(gift):
        db.session.refresh(gift)
        [payment] = payments_of(gift)
        [receipt] = [email for email in outbox("receipt") if email.gift_id == gift.id]
        context = json.loads(receipt.context)
        return (
            gift.status,
            gift.paid_at == payment.created_at,
            gift.stripe_payment_intent_id == payment.stripe_id == payment.stripe_payment_intent_id,
            (payment.kind, payment.amount, payment.currency, payment.stripe_charge_id),
            (payment.stripe_invoice_id, payment.reason, payment.disputed),
            (receipt.to == gift.donor.email, receipt.status, receipt.dedupe_key.split(":")[0]),
            {
                key: value
                for key, value in context.items()
                if key not in ("gift_id", "payment_reference", "receipt_number")
            }
            | {"donor_email": None},
        )

    assert recorded(by_webhook) == recorded(by_page)
    assert recorded(by_webhook)[0] == GiftStatus.PAID


def test_a_payment_is_dated_when_the_checkout_completed_not_when_it_opened(client, sandbox):
    gift = give_and_pay(sandbox, amount=900)
    session = checkout_session_of(sandbox, gift)
    completed = session["created"] + 3 * 86400  # opened on the 29th, paid on the 1st
    post_applied(client, event_for(session, "checkout.session.completed", created=completed))

    [payment] = payments_of(gift)
    assert int(payment.created_at.timestamp()) == completed
    assert int(gift.paid_at.timestamp()) == completed
