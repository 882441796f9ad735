"""Money in: Checkout Sessions, one-time PaymentIntents and subscription invoices.

One-time gifts are recorded under their PaymentIntent id, recurring ones under each
invoice id, whichever event reports them first; the rest only fill in missing ids.
Recurring money is recorded from invoices only, never from their PaymentIntents.
"""

from __future__ import annotations

from donations.enums import GiftStatus
from donations.ledger import emails
from donations.ledger.changes import update
from donations.ledger.records import lock_gift_by, payment_by_stripe_id, record_charge
from donations.ledger.subscriptions import refresh_subscription
from donations.models import Gift
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


def apply_payment_intent(intent: PaymentIntent) -> Gift | None:
    """Record a succeeded one-time PaymentIntent, or note a failed attempt on a pending gift."""
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
    elif gift.status == GiftStatus.PENDING and intent.status is PaymentIntentStatus.FAILED:
        update(gift, label, status=GiftStatus.FAILED)
    return gift


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
    payment = record_charge(
        gift,
        stripe_id=invoice.id,
        amount=invoice.amount_paid,
        currency=invoice.currency,
        created=invoice.paid_at or invoice.created,
        invoice_id=invoice.id,
        payment_intent_id=invoice.payment_intent_id,
        charge_id=invoice.charge_id,
    )
    if payment is not None and invoice.subscription_id and gift.status != GiftStatus.ACTIVE:
        refresh_subscription(invoice.subscription_id)
    return gift


def apply_failed_invoice(invoice: Invoice) -> Gift | None:
    """A renewal failed: the gift is past due and the donor is told how to fix it.

    The invoice is re-read first: if it has been paid since (a retry succeeded and its
    event is still on the way), it is recorded as paid instead.
    """
    current = gateway().retrieve_invoice(invoice.id)
    if current.status is InvoiceStatus.PAID:
        return apply_invoice(current)
    gift = invoice_gift(current)
    if gift is None or gift.paid_at is None or payment_by_stripe_id(current.id) is not None:
        return gift
    if current.status in CLOSED_UNPAID or gift.status == GiftStatus.CANCELLED:
        return gift
    update(gift, f"gift {gift.id}", status=GiftStatus.PAST_DUE)
    emails.queue_renewal_failed(
        gift,
        current.id,
        current.amount_due,
        current.currency or gift.currency,
        current.hosted_invoice_url or "",
    )
    return gift
