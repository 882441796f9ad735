"""The project's own view of Stripe objects: small frozen dataclasses.

Only the fields the platform acts on are kept; everything outside ``donations.payments``
reads these instead of Stripe's shapes, so an API upgrade touches one package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GatewayError(Exception):
    """Stripe refused the request; ``message`` is safe to show to staff."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed on its side; nothing was charged."""


class InvalidWebhook(Exception):
    """A webhook whose signature or body cannot be trusted."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str  #: open, complete, expired
    payment_status: str  #: paid, unpaid, no_payment_required
    mode: str  #: payment, subscription
    amount_total: int | None
    currency: str  #: upper-case ISO code
    customer_id: str | None
    customer_email: str | None
    payment_intent_id: str | None
    subscription_id: str | None
    invoice_id: str | None
    gift_id: int | None
    created: int
    livemode: bool = False

    @property
    def is_paid(self) -> bool:
        """Completed, with the money received (or none needed)."""
        return self.status == "complete" and self.payment_status in ("paid", "no_payment_required")


@dataclass(frozen=True)
class Subscription:
    id: str
    status: str  #: active, past_due, canceled, incomplete, unpaid, ...
    customer_id: str | None
    amount: int | None  #: per period, minor units
    currency: str
    interval: str | None  #: month, year
    cancel_at_period_end: bool
    canceled_at: int | None
    ended_at: int | None
    current_period_end: int | None
    latest_invoice_id: str | None
    gift_id: int | None
    created: int


@dataclass(frozen=True)
class Invoice:
    id: str
    status: str | None  #: draft, open, paid, uncollectible, void
    subscription_id: str | None
    customer_id: str | None
    customer_email: str | None
    payment_intent_id: str | None
    charge_id: str | None
    amount_paid: int
    amount_due: int
    currency: str
    billing_reason: str | None
    paid_at: int | None
    gift_id: int | None
    created: int
    #: Stripe's page where the donor can pay this invoice (with another card)
    hosted_invoice_url: str | None = None


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    amount_received: int
    currency: str
    customer_id: str | None
    latest_charge_id: str | None
    invoice_id: str | None
    gift_id: int | None
    created: int


@dataclass(frozen=True)
class Charge:
    id: str
    status: str
    paid: bool
    amount: int
    amount_refunded: int
    currency: str
    payment_intent_id: str | None
    invoice_id: str | None
    customer_id: str | None
    created: int
    disputed: bool = False


@dataclass(frozen=True)
class Refund:
    id: str
    status: str | None
    amount: int
    currency: str
    charge_id: str | None
    payment_intent_id: str | None
    reason: str | None
    created: int


@dataclass(frozen=True)
class Dispute:
    id: str
    status: str
    amount: int
    currency: str
    charge_id: str | None
    payment_intent_id: str | None
    reason: str | None
    created: int


StripeObject = CheckoutSession | Subscription | Invoice | PaymentIntent | Charge | Refund | Dispute


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created: int
    livemode: bool
    object_id: str
    #: the event's object as one of the dataclasses above; None for kinds we do not model
    data: StripeObject | None
    #: the verified JSON body, kept in the inbox as received
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str | None
