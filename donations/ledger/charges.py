"""Money in: Checkout Sessions, one-time PaymentIntents and subscription invoices.

One-time gifts are recorded under their PaymentIntent id, recurring ones under each
invoice id, whichever event reports them first; the rest only fill in missing ids.
Recurring money is recorded from invoices only, never from their PaymentIntents.

A card declined on a gift's Checkout page (its PaymentIntent failing, or a subscription's
first invoice) is kept as ``Gift.declined_at``, the first decline whatever order the
reports come in, for the card-testing alarm. The gift stays pending: its page stays open
for another card, which still makes the gift paid whichever event comes first, and only
the page's expiry marks it abandoned (so the thank-you page never tells a reader who paid
with a second card that nothing was charged).
"""

from __future__ import annotations

import sqlalchemy as sa

from donations.db import db, dialect_insert, utcnow
from donations.enums import GiftStatus
from donations.ledger import emails, rules
from donations.ledger.changes import from_timestamp, note, update
from donations.ledger.records import lock_gift_by, payment_by_stripe_id, record_charge
from donations.ledger.subscriptions import refresh_subscription
from donations.models import Gift, RenewalFailure
from donations.payments import gateway
from donations.payments.types import (
    CheckoutMode,
    CheckoutSession,
    CheckoutStatus,
    Invoice,
    InvoiceStatus,
    PaymentIntent,
    PaymentIntentStatus,
)

#: invoices Stripe will not collect any more: no "renewal failed" email for them
CLOSED_UNPAID = (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE)


def apply_checkout_session(session: CheckoutSession, *, paid_at: int | None = None) -> Gift | None:
    """Record what a Checkout Session says about its gift; idempotent, does not commit.

    Completed and paid: the gift is paid (one-time) or active (recurring) with its first
    payment recorded, dated ``paid_at`` (the completion event's time; a session carries
    only when it was opened, which may be the day or month before). Expired: a gift
    still pending is abandoned.
    """
    gift = lock_gift_by(session.gift_id, checkout_session_id=session.id)
    if gift is None:
        return None
    label = f"gift {gift.id}"
    if session.mode is CheckoutMode.SETUP:
        return gift  # saving a card moves no money: ``cards.apply_setup_session``
    if session.status is CheckoutStatus.EXPIRED:
        if gift.status == GiftStatus.PENDING:
            update(gift, label, status=GiftStatus.ABANDONED)
        return gift
    if not session.is_paid:
        return gift
    if session.mode is CheckoutMode.SUBSCRIPTION and session.subscription_id:
        return _apply_subscription_checkout(gift, session, paid_at or session.created)
    if session.payment_intent_id:
        if gift.stripe_payment_intent_id is None:
            update(gift, label, stripe_payment_intent_id=session.payment_intent_id)
        record_charge(
            gift,
            stripe_id=session.payment_intent_id,
            amount=session.amount_total if session.amount_total is not None else gift.amount,
            currency=session.currency,
            created=paid_at or session.created,
            payment_intent_id=session.payment_intent_id,
        )
    return gift


def _apply_subscription_checkout(gift: Gift, session: CheckoutSession, paid_at: int) -> Gift:
    if gift.stripe_subscription_id is None:
        update(gift, f"gift {gift.id}", stripe_subscription_id=session.subscription_id)
    if session.invoice_id:
        record_charge(
            gift,
            stripe_id=session.invoice_id,
            amount=session.amount_total if session.amount_total is not None else gift.amount,
            currency=session.currency,
            created=paid_at,
            invoice_id=session.invoice_id,
        )
    else:
        subscription = gateway().retrieve_subscription(session.subscription_id)
        if subscription.latest_invoice_id:
            apply_invoice(gateway().retrieve_invoice(subscription.latest_invoice_id))
    refresh_subscription(session.subscription_id)
    return gift


def apply_payment_intent(intent: PaymentIntent, *, failed_at: int | None = None) -> Gift | None:
    """Record a succeeded one-time PaymentIntent, or keep a declined card (``failed_at``, the
    failure event's Stripe time) on its gift, which stays as it was."""
    if intent.invoice_id:
        return None
    gift = lock_gift_by(intent.gift_id, payment_intent_id=intent.id)
    if gift is None or gift.is_recurring:
        return gift
    label = f"gift {gift.id}"
    if intent.status is PaymentIntentStatus.SUCCEEDED:
        if gift.stripe_payment_intent_id is None:
            update(gift, label, stripe_payment_intent_id=intent.id)
        record_charge(
            gift,
            stripe_id=intent.id,
            amount=intent.amount_received or intent.amount,
            currency=intent.currency,
            created=intent.created,
            payment_intent_id=intent.id,
            charge_id=intent.latest_charge_id,
        )
    elif intent.status is PaymentIntentStatus.FAILED and intent.declined:
        record_decline(gift, failed_at)
    return gift


def record_decline(gift: Gift, declined_at: int | None) -> None:
    """A card was refused on the locked gift's Checkout page: keep the first time (Stripe's,
    else now), whatever order and however often the declines are reported."""
    moment = from_timestamp(declined_at) or utcnow()
    update(gift, f"gift {gift.id}", declined_at=rules.earliest(gift.declined_at, moment))


def invoice_gift(invoice: Invoice) -> Gift | None:
    """The locked gift an invoice pays for, asking Stripe for the subscription if needed."""
    gift = lock_gift_by(invoice.gift_id, subscription_id=invoice.subscription_id)
    if gift is None and invoice.subscription_id:
        subscription = gateway().retrieve_subscription(invoice.subscription_id)
        gift = lock_gift_by(subscription.gift_id)
    return gift


def apply_invoice(invoice: Invoice) -> Gift | None:
    """Record a paid invoice (first payment or renewal) as one payment row."""
    if invoice.status is not InvoiceStatus.PAID:
        return None
    gift = invoice_gift(invoice)
    if gift is None:
        return None
    if gift.stripe_subscription_id is None and invoice.subscription_id:
        update(gift, f"gift {gift.id}", stripe_subscription_id=invoice.subscription_id)
    recovered = invoice.attempt_count > 1 or failure_recorded(invoice.id)
    payment = record_charge(
        gift,
        stripe_id=invoice.id,
        amount=invoice.amount_paid,
        currency=invoice.currency,
        created=invoice.paid_at or invoice.created,
        invoice_id=invoice.id,
        payment_intent_id=invoice.payment_intent_id,
        charge_id=invoice.charge_id,
        recovered=recovered,
    )
    if payment is not None and invoice.subscription_id and gift.status != GiftStatus.ACTIVE:
        refresh_subscription(invoice.subscription_id)
    return gift


def apply_failed_invoice(invoice: Invoice, *, failed_at: int | None = None) -> Gift | None:
    """A renewal failed: record the attempt, follow the subscription, and tell the donor.

    The invoice and the subscription are re-read first, because the event may be late: if
    the invoice has been paid since (a retry succeeded, its event still on the way) it is
    recorded as paid; the gift's status follows the subscription as Stripe holds it now,
    so a late failure cannot make an active gift past due; and the donor is emailed only
    while the gift is past due, about the newest attempt, with Stripe's next retry date.
    A subscription's first invoice failing is no renewal: a card declined on the Checkout
    page, kept as the gift's ``declined_at``.
    """
    current = gateway().retrieve_invoice(invoice.id)
    paid = current.status is InvoiceStatus.PAID
    gift = apply_invoice(current) if paid else invoice_gift(current)
    if gift is not None and current.opens_subscription:
        record_decline(gift, failed_at)
    if paid or gift is None or gift.paid_at is None:
        return gift
    if payment_by_stripe_id(current.id) is not None:
        return gift
    record_failure(gift, invoice, current, failed_at)
    if current.subscription_id:
        refresh_subscription(current.subscription_id)
    if current.status in CLOSED_UNPAID or gift.status != GiftStatus.PAST_DUE:
        return gift
    if invoice.attempt_count and invoice.attempt_count < current.attempt_count:
        return gift  # a newer attempt's event tells the donor
    emails.queue_renewal_failed(gift, current, max(current.attempt_count, 1))
    return gift


def record_failure(gift: Gift, reported: Invoice, current: Invoice, failed_at: int | None) -> None:
    """One row per failed attempt (the event's own attempt number), whatever replays."""
    attempt = max(reported.attempt_count, 1)
    next_attempt = current.next_payment_attempt if attempt >= current.attempt_count else None
    values = {
        "gift_id": gift.id,
        "stripe_invoice_id": reported.id,
        "attempt": attempt,
        "amount": reported.amount_due or current.amount_due,
        "currency": reported.currency or gift.currency,
        "failed_at": from_timestamp(failed_at) or utcnow(),
        "next_attempt_at": from_timestamp(next_attempt),
    }
    inserted = db.session.execute(
        dialect_insert(RenewalFailure.__table__)
        .on_conflict_do_nothing(index_elements=["stripe_invoice_id", "attempt"])
        .returning(RenewalFailure.id),
        values,
    ).first()
    if inserted is not None:
        note(f"gift {gift.id}: renewal {reported.id} failed (attempt {attempt})")


def failure_recorded(invoice_id: str) -> bool:
    return (
        db.session.scalar(
            sa.select(RenewalFailure.id)
            .where(RenewalFailure.stripe_invoice_id == invoice_id)
            .limit(1)
        )
        is not None
    )
