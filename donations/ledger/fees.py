"""Stripe's fee and the net of each charge and refund, from their balance transactions.

A charge's balance transaction is named on the charge, which the ``charge.succeeded``
event carries; the payment it belongs to may not be recorded yet (the events race), so
it is recorded first, through the same path a refund of it would take. Refunds read
theirs when they are recorded; disputes carry theirs.
"""

from __future__ import annotations

from donations.ledger.changes import update
from donations.ledger.records import balance_fields, find_charge, lock_gift_by, payment_by_stripe_id
from donations.ledger.refunds import ensure_charge_recorded
from donations.models import Gift, Payment
from donations.payments import gateway
from donations.payments.types import Charge


def apply_charge_fee(charge: Charge) -> Gift | None:
    """Record a successful charge's fee and net on its payment; idempotent."""
    if not charge.succeeded or not charge.balance_transaction_id:
        return None
    payment = _payment_of(charge) or ensure_charge_recorded(charge.id, charge.payment_intent_id)
    if payment is None:
        return None
    gift = lock_gift_by(payment.gift_id)
    if payment.fee is not None and payment.stripe_charge_id == charge.id:
        return gift
    balance = gateway().retrieve_balance_transaction(charge.balance_transaction_id)
    fields = {"stripe_charge_id": charge.id, **balance_fields(balance, payment.currency)}
    update(payment, f"payment {payment.stripe_id}", **fields)
    return gift


def _payment_of(charge: Charge) -> Payment | None:
    found = find_charge(charge.id, charge.payment_intent_id)
    if found is None and charge.invoice_id:
        found = payment_by_stripe_id(charge.invoice_id)
    return found
