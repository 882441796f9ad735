"""Dispatch one verified Stripe event to its handler.

Every handler is idempotent, so applying an event twice (a replay) changes nothing more.
Event types the platform does not act on are acknowledged and left alone.
"""

from __future__ import annotations

from typing import TypeVar

from donations.ledger.cards import apply_charge_card, apply_setup_session
from donations.ledger.charges import (
    apply_checkout_session,
    apply_failed_invoice,
    apply_invoice,
    apply_payment_intent,
)
from donations.ledger.disputes import apply_dispute
from donations.ledger.fees import apply_charge_fee
from donations.ledger.records import payment_by_stripe_id
from donations.ledger.refunds import apply_charge_refunded, record_refund
from donations.ledger.subscriptions import refresh_subscription
from donations.models import Gift
from donations.payments import gateway
from donations.payments.types import (
    Charge,
    CheckoutMode,
    CheckoutSession,
    Dispute,
    Event,
    EventKind,
    Invoice,
    PaymentIntent,
    Refund,
    Subscription,
)

T = TypeVar("T")


class UnexpectedEvent(Exception):
    """An event whose object is not the kind its type promises."""


def apply_event(event: Event) -> Gift | None:
    """Apply one event to the ledger; return the gift it concerned, if any. Does not commit."""
    match event.kind:
        case EventKind.CHECKOUT_COMPLETED | EventKind.CHECKOUT_EXPIRED:
            session = _data(event, CheckoutSession)
            if session.mode is CheckoutMode.SETUP:
                return apply_setup_session(session, as_of=event.created).gift
            return apply_checkout_session(session, paid_at=event.created)
        case EventKind.PAYMENT_SUCCEEDED:
            return apply_payment_intent(_data(event, PaymentIntent))
        case EventKind.PAYMENT_FAILED:
            return apply_payment_intent(_data(event, PaymentIntent), failed_at=event.created)
        case EventKind.INVOICE_PAID:
            invoice = _data(event, Invoice)
            gift = apply_invoice(invoice)
            if gift is not None and invoice.charge_id:
                # its charge.succeeded may have come while the invoice was still open
                apply_charge_fee(gateway().retrieve_charge(invoice.charge_id))
            return gift
        case EventKind.INVOICE_PAYMENT_FAILED:
            return apply_failed_invoice(_data(event, Invoice), failed_at=event.created)
        case EventKind.SUBSCRIPTION_CHANGED:
            subscription = _data(event, Subscription)
            return refresh_subscription(subscription.id, subscription, as_of=event.created)
        case EventKind.CHARGE_SUCCEEDED:
            charge = _data(event, Charge)
            apply_charge_fee(charge)
            return apply_charge_card(charge)
        case EventKind.CHARGE_REFUNDED:
            return apply_charge_refunded(_data(event, Charge))
        case EventKind.REFUND_CHANGED:
            # the event may be older than the refund's state: read it as it is now
            refund = gateway().retrieve_refund(_data(event, Refund).id)
            record_refund(refund)
            payment = payment_by_stripe_id(refund.id)
            return payment.gift if payment is not None else None
        case EventKind.DISPUTE_OPENED | EventKind.DISPUTE_CHANGED:
            return apply_dispute(_data(event, Dispute))
        case _:
            return None


def _data(event: Event, kind: type[T]) -> T:
    if not isinstance(event.data, kind):
        raise UnexpectedEvent(f"{event.type} event {event.id} does not carry a {kind.__name__}")
    return event.data
