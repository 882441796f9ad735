"""Actions on gifts taken by staff (refund, cancel, resend a receipt) or by a donor
through their own link (cancel).

Each action checks what is allowed, asks Stripe through the gateway, applies Stripe's
answer through the ledger (the same idempotent functions the webhooks use, so the
webhook that follows finds nothing left to do) and writes an audit entry naming who
acted. Actions flush, never commit: the calling view wraps the call in
``commit_or_rollback()``, so a ``GatewayError`` (or anything else) leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from donations import ledger, outbox
from donations.db import db
from donations.enums import RUNNING_STATUSES, ActorKind, AuditAction, PaymentKind
from donations.ledger.records import lock_gift
from donations.models import AuditLog, Donor, Gift, Payment, StaffUser
from donations.money import format_money
from donations.payments import gateway


class ActionRefused(ValueError):
    """The action is not allowed in the gift's or payment's current state."""


@dataclass(frozen=True)
class Actor:
    """Who takes an action, as its audit entry records it."""

    kind: ActorKind
    staff_user_id: int | None = None
    donor_id: int | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(ActorKind.STAFF, staff_user_id=user.id)

    @classmethod
    def donor(cls, donor: Donor) -> Actor:
        return cls(ActorKind.DONOR, donor_id=donor.id)


def _audit(actor: Actor, action: AuditAction, gift: Gift, **fields) -> AuditLog:
    entry = AuditLog(
        actor_kind=actor.kind,
        staff_user_id=actor.staff_user_id,
        donor_id=actor.donor_id,
        action=action,
        gift_id=gift.id,
        **fields,
    )
    db.session.add(entry)
    return entry


def _lock(gift: Gift) -> None:
    """Take the gift's lock before calling Stripe, so the webhook Stripe sends meanwhile
    waits for the caller's commit and then finds the change already recorded. It is the
    ledger's own lock (row lock on PostgreSQL, write lock on SQLite), re-reading the gift
    as committed by whoever held it before."""
    lock_gift(Gift.id == gift.id)


def remaining_refundable(payment: Payment) -> int:
    """A charge's amount minus the refunds already recorded against it."""
    if payment.kind != PaymentKind.CHARGE or payment.amount <= 0:
        return 0
    refunded = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
            Payment.refunded_payment_id == payment.id
        )
    )
    return max(payment.amount + int(refunded or 0), 0)


def refund_payment(payment: Payment, amount: int | None, *, actor: Actor) -> Payment | None:
    """Refund ``amount`` minor units of a charge (None: all that remains).

    Returns the refund row, or None while Stripe still reports the refund as pending (the
    webhook records it once it succeeds). Raises ``ActionRefused`` or ``GatewayError``;
    flushes.
    """
    _lock(payment.gift)
    remaining = remaining_refundable(payment)
    if remaining <= 0:
        raise ActionRefused("This payment has nothing left to refund.")
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise ActionRefused("Enter an amount above zero.")
    if amount > remaining:
        limit = format_money(remaining, payment.currency)
        raise ActionRefused(f"At most {limit} remains to refund on this payment.")
    if not (payment.stripe_charge_id or payment.stripe_payment_intent_id):
        raise ActionRefused("This payment has no Stripe charge to refund.")
    refund = gateway().create_refund(
        payment_intent_id=payment.stripe_payment_intent_id,
        charge_id=payment.stripe_charge_id,
        amount=amount,
        metadata={"gift_id": str(payment.gift_id), "payment_id": str(payment.id)},
        idempotency_key=f"staff-refund-{payment.id}-{payment.amount - remaining}-{amount}",
    )
    row = _record_refund(refund)
    _audit(
        actor,
        AuditAction.REFUND,
        payment.gift,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        detail=f"refund {refund.id} of payment {payment.stripe_id}"
        + ("" if row is not None else f" (refund {refund.status}, not recorded yet)"),
    )
    db.session.flush()
    return row


def _record_refund(refund) -> Payment | None:
    """Apply the refund through the ledger; if its webhook got there first, use that row."""
    try:
        with db.session.begin_nested():
            row = ledger.record_refund(refund)
    except IntegrityError:
        row = None
    return row or db.session.scalar(sa.select(Payment).where(Payment.stripe_id == refund.id))


def cancel_gift(gift: Gift, *, at_period_end: bool, actor: Actor) -> Gift:
    """Cancel a recurring gift now or at the end of its paid period; flushes."""
    _lock(gift)
    if not gift.is_recurring or not gift.stripe_subscription_id:
        raise ActionRefused("Only recurring gifts with a subscription can be cancelled.")
    if gift.status not in RUNNING_STATUSES:
        raise ActionRefused(f"This gift is {gift.status}; it cannot be cancelled.")
    if at_period_end and gift.cancel_at_period_end:
        raise ActionRefused("This gift already ends at the end of its period.")
    subscription = gateway().cancel_subscription(
        gift.stripe_subscription_id, at_period_end=at_period_end
    )
    ledger.apply_subscription(subscription)
    when = "at period end" if at_period_end else "now"
    _audit(
        actor,
        AuditAction.CANCEL_AT_PERIOD_END if at_period_end else AuditAction.CANCEL,
        gift,
        amount=gift.amount,
        currency=gift.currency,
        detail=f"subscription {subscription.id} cancelled {when}, "
        f"subscription {subscription.status}",
    )
    db.session.flush()
    return gift


def resend_receipt(payment: Payment, *, actor: Actor) -> None:
    """Queue the receipt for a charge again (no dedupe: it always sends); flushes."""
    if payment.kind != PaymentKind.CHARGE:
        raise ActionRefused("Receipts exist for charges only.")
    gift = payment.gift
    outbox.enqueue(
        gift.donor.email,
        "receipt",
        ledger.receipt_context(payment),
        dedupe_key=None,
        gift_id=gift.id,
    )
    _audit(
        actor,
        AuditAction.RESEND_RECEIPT,
        gift,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        detail=f"receipt for {payment.stripe_id} sent again to {gift.donor.email}",
    )
    db.session.flush()
