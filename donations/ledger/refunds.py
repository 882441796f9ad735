"""Money out: refunds (full or partial, each its own negative row, with its fee and net).

A refund (or a dispute, ``disputes.py``) can arrive before the payment it concerns; the
payment is then read from Stripe through the gateway and recorded first.
"""

from __future__ import annotations

from donations.db import db, utcnow
from donations.enums import GiftStatus, PaymentKind
from donations.ledger import emails
from donations.ledger.changes import from_timestamp, note, update
from donations.ledger.charges import apply_invoice, apply_payment_intent
from donations.ledger.records import (
    balance_fields,
    find_charge,
    lock_gift_by,
    net_amount,
    payment_by_stripe_id,
)
from donations.models import Gift, Payment
from donations.payments import gateway
from donations.payments.types import Charge, Refund, RefundStatus

REVERSAL_SUFFIX = ":reversed"


def record_refund(refund: Refund) -> Payment | None:
    """Record a succeeded refund as a negative row, once per refund id; idempotent, does
    not commit.

    A refund still pending is recorded when Stripe reports it succeeded; one that fails
    after it was recorded is offset by a reversal row (see ``reverse_refund``). Returns
    the new row, or None if it was recorded before, is not (or no longer) succeeded, or is
    not ours.
    """
    if refund.status.undone:
        reverse_refund(refund)
        return None
    if refund.status is not RefundStatus.SUCCEEDED or payment_by_stripe_id(refund.id) is not None:
        return None
    charge = ensure_charge_recorded(refund.charge_id, refund.payment_intent_id)
    if charge is None:
        return None
    gift = lock_gift_by(charge.gift_id)
    if gift is None or payment_by_stripe_id(refund.id) is not None:
        return None
    balance = (
        gateway().retrieve_balance_transaction(refund.balance_transaction_id)
        if refund.balance_transaction_id
        else None
    )
    row = Payment(
        gift=gift,
        kind=PaymentKind.REFUND,
        amount=-refund.amount,
        currency=refund.currency or charge.currency,
        **balance_fields(balance, refund.currency or charge.currency),
        stripe_id=refund.id,
        stripe_invoice_id=charge.stripe_invoice_id,
        stripe_payment_intent_id=refund.payment_intent_id or charge.stripe_payment_intent_id,
        stripe_charge_id=refund.charge_id or charge.stripe_charge_id,
        refunded_payment_id=charge.id,
        reason=(refund.reason or "")[:64],
        created_at=from_timestamp(refund.created) or utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    note(f"gift {gift.id}: refund {refund.id} of {refund.amount} {row.currency} recorded")
    if not gift.is_recurring and net_amount(gift) <= 0:
        update(gift, f"gift {gift.id}", status=GiftStatus.REFUNDED)
    emails.queue_refund_notice(row, charge)
    return row


def reverse_refund(refund: Refund) -> Payment | None:
    """Offset a recorded refund that Stripe now reports failed or canceled; idempotent.

    The ledger keeps both rows (the refund and its positive reversal), so the net is right
    and the history shows what happened; a fully refunded one-time gift is paid again.
    """
    recorded = payment_by_stripe_id(refund.id)
    reversal_id = refund.id + REVERSAL_SUFFIX
    if recorded is None or payment_by_stripe_id(reversal_id) is not None:
        return None
    gift = lock_gift_by(recorded.gift_id)
    if gift is None or payment_by_stripe_id(reversal_id) is not None:
        return None
    row = Payment(
        gift=gift,
        kind=PaymentKind.REFUND,
        amount=-recorded.amount,
        currency=recorded.currency,
        stripe_id=reversal_id,
        stripe_invoice_id=recorded.stripe_invoice_id,
        stripe_payment_intent_id=recorded.stripe_payment_intent_id,
        stripe_charge_id=recorded.stripe_charge_id,
        refunded_payment_id=recorded.refunded_payment_id,
        fee=-recorded.fee if recorded.fee is not None else None,
        net=-recorded.net if recorded.net is not None else None,
        reason=f"refund {refund.status}"[:64],
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    note(f"gift {gift.id}: refund {refund.id} {refund.status}, reversed")
    if gift.status == GiftStatus.REFUNDED and net_amount(gift) > 0:
        update(gift, f"gift {gift.id}", status=GiftStatus.PAID)
    return row


def apply_charge_refunded(charge: Charge) -> Gift | None:
    """``charge.refunded`` names no refund: record each refund Stripe lists for the charge."""
    payment = ensure_charge_recorded(charge.id, charge.payment_intent_id)
    if payment is None:
        return None
    for refund in gateway().list_charge_refunds(charge.id):
        record_refund(refund)
    return payment.gift


def ensure_charge_recorded(charge_id: str | None, payment_intent_id: str | None) -> Payment | None:
    """The charge row for this charge / PaymentIntent, read from Stripe and recorded if new.

    Also fills in the charge id on a row first recorded without it (from a Checkout
    Session), so later refunds find it directly.
    """
    payment = find_charge(charge_id, payment_intent_id)
    if payment is not None and (charge_id is None or payment.stripe_charge_id == charge_id):
        return payment
    charge = gateway().retrieve_charge(charge_id) if charge_id else None
    payment_intent_id = payment_intent_id or (charge.payment_intent_id if charge else None)
    intent = gateway().retrieve_payment_intent(payment_intent_id) if payment_intent_id else None
    invoice_id = (charge.invoice_id if charge else None) or (intent.invoice_id if intent else None)
    if invoice_id:
        apply_invoice(gateway().retrieve_invoice(invoice_id))
    elif intent is not None:
        apply_payment_intent(intent)
    return find_charge(charge_id, payment_intent_id) or payment
