"""Repair what the webhooks missed, by listing Stripe's objects through the gateway.

Checkout Sessions, invoices, charges (with their fees), refunds and disputes created
since a date are run through the
same idempotent handlers the webhooks use, and every recurring gift still running is
brought in line with its subscription. What changed is returned as sentences; a second
run returns none.
"""

from __future__ import annotations

import sqlalchemy as sa

from donations.db import db
from donations.enums import GiftStatus
from donations.ledger.cards import apply_charge_card, apply_setup_session
from donations.ledger.changes import collecting
from donations.ledger.charges import apply_checkout_session, apply_invoice
from donations.ledger.disputes import apply_dispute
from donations.ledger.fees import apply_charge_fee
from donations.ledger.records import find_charge
from donations.ledger.refunds import ensure_charge_recorded, record_refund
from donations.ledger.subscriptions import refresh_subscription
from donations.models import Gift
from donations.payments import gateway
from donations.payments.types import CheckoutMode, CheckoutStatus, InvoiceStatus

RUNNING = (GiftStatus.PENDING, GiftStatus.ACTIVE, GiftStatus.PAST_DUE, GiftStatus.LAPSED)


def reconcile(since: int) -> list[str]:
    """Apply Stripe's objects created since ``since`` (unix time); return what changed.

    Does not commit: the caller commits (or rolls back for a dry run).
    """
    stripe = gateway()
    subscription_ids: set[str] = set()
    with collecting() as changes:
        for session in stripe.list_checkout_sessions(since):
            if session.mode is CheckoutMode.SETUP:
                apply_setup_session(session, as_of=session.created)
            elif session.status is not CheckoutStatus.OPEN:
                apply_checkout_session(session)
            if session.subscription_id:
                subscription_ids.add(session.subscription_id)
        for invoice in stripe.list_invoices(since):
            if invoice.status is InvoiceStatus.PAID:
                apply_invoice(invoice)
            if invoice.subscription_id:
                subscription_ids.add(invoice.subscription_id)
        for charge in stripe.list_charges(since):
            if not charge.succeeded:
                continue
            payment = find_charge(charge.id, charge.payment_intent_id)
            if payment is None or payment.stripe_charge_id != charge.id:
                ensure_charge_recorded(charge.id, charge.payment_intent_id)
            apply_charge_fee(charge)
            apply_charge_card(charge)
        for refund in stripe.list_refunds(since):
            record_refund(refund)
        for dispute in stripe.list_disputes(since):
            apply_dispute(dispute)
        subscription_ids.update(
            db.session.scalars(
                sa.select(Gift.stripe_subscription_id).where(
                    Gift.stripe_subscription_id.is_not(None), Gift.status.in_(RUNNING)
                )
            )
        )
        for subscription_id in sorted(subscription_ids):
            refresh_subscription(subscription_id)
    return changes
