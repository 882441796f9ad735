"""The project's own view of payment-provider objects: frozen dataclasses and enums.

Only the fields the platform acts on are kept, and every status or event type is one of
the enums below: the gateway maps the provider's strings to them, so nothing outside
``donations.payments`` knows those strings and an API upgrade touches one package.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from donations.enums import Frequency


class GatewayError(Exception):
    """The provider refused the request; ``message`` is safe to show to staff."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayUnavailable(GatewayError):
    """The provider could not be reached, did not answer in time, or failed on its side.

    Whether it acted is unknown: a write may have happened (its answer lost), so it is
    retried only with the same idempotency key, which returns the first outcome."""


class InvalidWebhook(Exception):
    """A webhook whose signature or body cannot be trusted."""


class EventKind(enum.StrEnum):
    """What an event reports, as far as the ledger acts on it."""

    CHECKOUT_COMPLETED = "checkout_completed"  #: completed, or its delayed payment succeeded
    CHECKOUT_EXPIRED = "checkout_expired"
    PAYMENT_SUCCEEDED = "payment_succeeded"  #: a PaymentIntent
    PAYMENT_FAILED = "payment_failed"  #: a PaymentIntent
    INVOICE_PAID = "invoice_paid"
    INVOICE_PAYMENT_FAILED = "invoice_payment_failed"
    SUBSCRIPTION_CHANGED = "subscription_changed"  #: created, updated or deleted
    CHARGE_SUCCEEDED = "charge_succeeded"  #: carries the card that paid
    CHARGE_REFUNDED = "charge_refunded"
    REFUND_CHANGED = "refund_changed"  #: a refund created or updated
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CHANGED = "dispute_changed"  #: updated, funds withdrawn or reinstated, closed
    OTHER = "other"  #: acknowledged and left alone


class CheckoutStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class CheckoutMode(enum.StrEnum):
    PAYMENT = "payment"  #: a one-time gift
    SUBSCRIPTION = "subscription"  #: a recurring gift
    SETUP = "setup"  #: saving a card, no money


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"  #: paid, or in a free trial
    PAST_DUE = "past_due"  #: a renewal failed and is being retried
    UNPAID = "unpaid"  #: retries ended, the subscription is kept but not paid
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"  #: first payment not made yet
    INCOMPLETE_EXPIRED = "incomplete_expired"  #: first payment never made
    PAUSED = "paused"
    OTHER = "other"


class CancellationReason(enum.StrEnum):
    """Why the provider ended a subscription."""

    REQUESTED = "requested"  #: someone asked (through the API or the provider's dashboard)
    PAYMENT_FAILED = "payment_failed"  #: retries ended without payment
    PAYMENT_DISPUTED = "payment_disputed"
    OTHER = "other"


class SetupIntentStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"  #: the card is saved
    FAILED = "failed"  #: cancelled, or the card was refused
    PENDING = "pending"  #: waiting for the payer or the bank


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"
    OTHER = "other"


class PaymentIntentStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  #: the attempt failed or was cancelled; no money moved
    PENDING = "pending"  #: processing, or waiting for the payer


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REQUIRES_ACTION = "requires_action"

    @property
    def undone(self) -> bool:
        """The refund did not (or no longer does) return money."""
        return self in (RefundStatus.FAILED, RefundStatus.CANCELLED)


class DisputeStatus(enum.StrEnum):
    OPEN = "open"  #: needs a response or is under review: the money is withdrawn
    WON = "won"
    LOST = "lost"
    INQUIRY = "inquiry"  #: the bank asks questions first: no money has moved
    INQUIRY_CLOSED = "inquiry_closed"  #: the inquiry ended without a dispute


@dataclass(frozen=True)
class BalanceTransaction:
    """What a movement did to the newsroom's balance: ``net`` = ``amount`` − ``fee``."""

    id: str
    amount: int  #: signed: money in is positive
    fee: int  #: the provider's fee; negative when a fee is returned
    net: int
    currency: str  #: the currency the balance moved in (the account's settlement currency)
    created: int = 0


@dataclass(frozen=True)
class Card:
    """What the platform keeps of a card: enough for a donor to recognise it."""

    brand: str  #: "visa", "mastercard" …
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: CheckoutStatus
    paid: bool  #: the money was received (or none was needed)
    mode: CheckoutMode
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
    #: setup mode: the SetupIntent that saves the card
    setup_intent_id: str | None = None

    @property
    def is_paid(self) -> bool:
        """Completed, with the money received (or none needed)."""
        return self.status is CheckoutStatus.COMPLETE and self.paid


@dataclass(frozen=True)
class Subscription:
    id: str
    status: SubscriptionStatus
    customer_id: str | None
    amount: int | None  #: per period, minor units
    currency: str
    frequency: Frequency | None  #: monthly or annual; None for another interval
    cancel_at_period_end: bool
    canceled_at: int | None
    ended_at: int | None
    current_period_end: int | None
    latest_invoice_id: str | None
    gift_id: int | None
    created: int
    default_payment_method_id: str | None = None
    #: the one item (a gift is one price) and its product, for changing the amount
    item_id: str | None = None
    product_id: str | None = None
    #: collection is paused: renewals until ``resumes_at`` are skipped, not charged
    paused: bool = False
    resumes_at: int | None = None
    cancellation_reason: CancellationReason | None = None


@dataclass(frozen=True)
class Invoice:
    id: str
    status: InvoiceStatus | None
    subscription_id: str | None
    customer_id: str | None
    customer_email: str | None
    payment_intent_id: str | None
    charge_id: str | None
    amount_paid: int
    amount_due: int
    currency: str
    paid_at: int | None
    gift_id: int | None
    created: int
    #: the provider's page where the donor can pay this invoice (with another card)
    hosted_invoice_url: str | None = None
    #: attempts to collect so far: 1 after the first failure, 2 after one retry …
    attempt_count: int = 0
    #: when the provider retries next; None when it will not
    next_payment_attempt: int | None = None
    #: the subscription's first invoice (paid on the Checkout page), not a renewal
    opens_subscription: bool = False


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: PaymentIntentStatus
    amount: int
    amount_received: int
    currency: str
    customer_id: str | None
    latest_charge_id: str | None
    invoice_id: str | None
    gift_id: int | None
    created: int
    #: an attempt to pay was refused (a card declined); the payer may try another card
    declined: bool = False


@dataclass(frozen=True)
class Charge:
    id: str
    succeeded: bool  #: the money was taken
    amount: int
    amount_refunded: int
    currency: str
    payment_intent_id: str | None
    invoice_id: str | None
    customer_id: str | None
    created: int
    disputed: bool = False
    card: Card | None = None
    gift_id: int | None = None
    balance_transaction_id: str | None = None


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: SetupIntentStatus
    customer_id: str | None
    payment_method_id: str | None
    card: Card | None
    gift_id: int | None
    created: int
    #: the provider's words for why the card was refused, safe to show the payer
    error_message: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    status: RefundStatus
    amount: int
    currency: str
    charge_id: str | None
    payment_intent_id: str | None
    reason: str | None
    created: int
    balance_transaction_id: str | None = None


@dataclass(frozen=True)
class Dispute:
    id: str
    status: DisputeStatus
    amount: int
    currency: str
    charge_id: str | None
    payment_intent_id: str | None
    reason: str | None
    created: int
    #: when the evidence must be in
    respond_by: int | None = None
    #: the money it moved: a withdrawal (negative), then a reinstatement if won
    balance_transactions: tuple[BalanceTransaction, ...] = ()


ProviderObject = (
    CheckoutSession | Subscription | Invoice | PaymentIntent | Charge | Refund | Dispute
)


@dataclass(frozen=True)
class Event:
    id: str
    #: the provider's own name for the event, kept for people reading the inbox
    type: str
    kind: EventKind
    created: int
    livemode: bool
    object_id: str
    #: the event's object as one of the dataclasses above; None for kinds we do not model
    data: ProviderObject | None
    #: the verified JSON body, kept in the inbox as received
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    #: the API version the provider wrote the event in ("" if it did not say)
    api_version: str = ""


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str | None
