"""The one module that talks to Stripe.

It pins the API version, points the SDK at the configured API base (the sandbox in
development, Stripe itself when ``STRIPE_API_BASE`` is unset), sends an idempotency key
with every write, and turns Stripe's objects into ``donations.payments.types``.

It also retries, itself: answers Stripe asks us to repeat (429 rate and lock limits, 409
"idempotency key in use", 5xx) and requests that got no answer are sent again after an
exponential back-off with full jitter, a bounded number of times. That is safe because
every write carries an idempotency key, so a repeat returns the first outcome. The SDK's
own retries stay off, so this loop is the only one and its bound is the real bound.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import stripe

from donations.enums import Frequency
from donations.payments import LIVE_KEY_PREFIXES
from donations.payments.types import (
    BalanceTransaction,
    CancellationReason,
    Card,
    Charge,
    CheckoutMode,
    CheckoutSession,
    CheckoutStatus,
    Dispute,
    DisputeStatus,
    Event,
    EventKind,
    GatewayError,
    GatewayUnavailable,
    InvalidWebhook,
    Invoice,
    InvoiceStatus,
    PaymentIntent,
    PaymentIntentStatus,
    ProviderObject,
    Refund,
    RefundStatus,
    SetupIntent,
    SetupIntentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEndpoint,
)

E = TypeVar("E", bound=enum.Enum)

log = logging.getLogger(__name__)

API_VERSION = "2025-02-24.acacia"
TIMEOUT_SECONDS = 20
WEBHOOK_TOLERANCE_SECONDS = 300
#: the longest wait between two attempts: a reader is waiting for the answer
MAX_RETRY_DELAY = 8.0
#: Stripe's answers worth repeating: a concurrent request holds the idempotency key (409),
#: too many requests or a locked object (429); 5xx are retried too
RETRY_STATUSES = (409, 429)

#: the project's frequencies as Stripe's recurring intervals, and back
INTERVALS = {Frequency.MONTHLY: "month", Frequency.ANNUAL: "year"}
FREQUENCIES = {interval: frequency for frequency, interval in INTERVALS.items()}

EVENT_KINDS = {
    "checkout.session.completed": EventKind.CHECKOUT_COMPLETED,
    "checkout.session.async_payment_succeeded": EventKind.CHECKOUT_COMPLETED,
    "checkout.session.expired": EventKind.CHECKOUT_EXPIRED,
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "invoice.paid": EventKind.INVOICE_PAID,
    "invoice.payment_succeeded": EventKind.INVOICE_PAID,
    "invoice.payment_failed": EventKind.INVOICE_PAYMENT_FAILED,
    "customer.subscription.created": EventKind.SUBSCRIPTION_CHANGED,
    "customer.subscription.updated": EventKind.SUBSCRIPTION_CHANGED,
    "customer.subscription.deleted": EventKind.SUBSCRIPTION_CHANGED,
    "charge.succeeded": EventKind.CHARGE_SUCCEEDED,
    "charge.refunded": EventKind.CHARGE_REFUNDED,
    "refund.created": EventKind.REFUND_CHANGED,
    "refund.updated": EventKind.REFUND_CHANGED,
    "charge.refund.updated": EventKind.REFUND_CHANGED,
    "charge.dispute.created": EventKind.DISPUTE_OPENED,
    "charge.dispute.updated": EventKind.DISPUTE_CHANGED,
    "charge.dispute.closed": EventKind.DISPUTE_CHANGED,
    "charge.dispute.funds_withdrawn": EventKind.DISPUTE_CHANGED,
    "charge.dispute.funds_reinstated": EventKind.DISPUTE_CHANGED,
}
SUBSCRIPTION_STATUSES = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "canceled": SubscriptionStatus.CANCELLED,
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.INCOMPLETE_EXPIRED,
    "paused": SubscriptionStatus.PAUSED,
}
PAYMENT_INTENT_STATUSES = {
    "succeeded": PaymentIntentStatus.SUCCEEDED,
    "requires_payment_method": PaymentIntentStatus.FAILED,
    "canceled": PaymentIntentStatus.FAILED,
}
REFUND_STATUSES = {
    "pending": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELLED,
    "requires_action": RefundStatus.REQUIRES_ACTION,
}
SETUP_INTENT_STATUSES = {
    "succeeded": SetupIntentStatus.SUCCEEDED,
    "canceled": SetupIntentStatus.FAILED,
}
CANCELLATION_REASONS = {
    "cancellation_requested": CancellationReason.REQUESTED,
    "payment_failed": CancellationReason.PAYMENT_FAILED,
    "payment_disputed": CancellationReason.PAYMENT_DISPUTED,
}
#: while a gift is paused its renewal invoices are voided: nothing is owed for them
PAUSE_BEHAVIOR = "void"
DISPUTE_STATUSES = {
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
    "warning_needs_response": DisputeStatus.INQUIRY,
    "warning_under_review": DisputeStatus.INQUIRY,
    "warning_closed": DisputeStatus.INQUIRY_CLOSED,
}
#: what Stripe fills in on the success URL: the page the payer returns to learns the session
RETURN_SESSION = "session_id={CHECKOUT_SESSION_ID}"
#: a Checkout Session's ``payment_status`` values that mean the money is in
PAID_SESSION = ("paid", "no_payment_required")


def _id(value: Any) -> str | None:
    """Read an expandable field, which is either an id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def _gift_id(*metadatas: Mapping[str, Any] | None) -> int | None:
    for metadata in metadatas:
        raw = (metadata or {}).get("gift_id")
        if raw is not None and str(raw).isdigit():
            return int(raw)
    return None


def _upper(currency: str | None) -> str:
    return (currency or "").upper()


def _enum(kind: type[E], value: str | None, default: E) -> E:
    """Stripe's string as the project's enum member of the same value, else ``default``."""
    try:
        return kind(value)
    except ValueError:
        return default


def to_card(card: Mapping[str, Any] | None) -> Card | None:
    """A card's brand, last four digits and expiry: all the platform keeps of it."""
    if not card or not card.get("last4"):
        return None
    return Card(
        brand=card.get("brand") or "card",
        last4=card["last4"],
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )


def to_checkout_session(obj: Mapping[str, Any]) -> CheckoutSession:
    details = obj.get("customer_details") or {}
    reference = obj.get("client_reference_id")
    return CheckoutSession(
        id=obj["id"],
        url=obj.get("url"),
        status=_enum(CheckoutStatus, obj.get("status"), CheckoutStatus.OPEN),
        paid=obj.get("payment_status") in PAID_SESSION,
        mode=_enum(CheckoutMode, obj.get("mode"), CheckoutMode.PAYMENT),
        amount_total=obj.get("amount_total"),
        currency=_upper(obj.get("currency")),
        customer_id=_id(obj.get("customer")),
        customer_email=details.get("email") or obj.get("customer_email"),
        payment_intent_id=_id(obj.get("payment_intent")),
        subscription_id=_id(obj.get("subscription")),
        invoice_id=_id(obj.get("invoice")),
        gift_id=_gift_id(obj.get("metadata"), {"gift_id": reference}),
        created=obj.get("created") or 0,
        livemode=bool(obj.get("livemode")),
        setup_intent_id=_id(obj.get("setup_intent")),
    )


def to_subscription(obj: Mapping[str, Any]) -> Subscription:
    items = (obj.get("items") or {}).get("data") or []
    price = (items[0].get("price") or items[0].get("plan") or {}) if items else {}
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or price.get("interval")
    pause = obj.get("pause_collection") or {}
    reason = (obj.get("cancellation_details") or {}).get("reason")
    return Subscription(
        id=obj["id"],
        status=SUBSCRIPTION_STATUSES.get(obj.get("status") or "", SubscriptionStatus.OTHER),
        customer_id=_id(obj.get("customer")),
        amount=price.get("unit_amount", price.get("amount")),
        currency=_upper(price.get("currency") or obj.get("currency")),
        frequency=FREQUENCIES.get(interval),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        canceled_at=obj.get("canceled_at"),
        ended_at=obj.get("ended_at"),
        current_period_end=obj.get("current_period_end"),
        latest_invoice_id=_id(obj.get("latest_invoice")),
        gift_id=_gift_id(obj.get("metadata")),
        created=obj.get("created") or 0,
        default_payment_method_id=_id(obj.get("default_payment_method")),
        item_id=items[0].get("id") if items else None,
        product_id=_id(price.get("product")),
        paused=bool(pause),
        resumes_at=pause.get("resumes_at"),
        cancellation_reason=(
            CANCELLATION_REASONS.get(reason, CancellationReason.OTHER) if reason else None
        ),
    )


def to_invoice(obj: Mapping[str, Any]) -> Invoice:
    details = obj.get("subscription_details") or {}
    transitions = obj.get("status_transitions") or {}
    status = obj.get("status")
    return Invoice(
        id=obj["id"],
        status=None if status is None else _enum(InvoiceStatus, status, InvoiceStatus.OTHER),
        subscription_id=_id(obj.get("subscription")),
        customer_id=_id(obj.get("customer")),
        customer_email=obj.get("customer_email"),
        payment_intent_id=_id(obj.get("payment_intent")),
        charge_id=_id(obj.get("charge")),
        amount_paid=obj.get("amount_paid") or 0,
        amount_due=obj.get("amount_due") or 0,
        currency=_upper(obj.get("currency")),
        paid_at=transitions.get("paid_at"),
        gift_id=_gift_id(details.get("metadata"), obj.get("metadata")),
        created=obj.get("created") or 0,
        hosted_invoice_url=obj.get("hosted_invoice_url"),
        attempt_count=obj.get("attempt_count") or 0,
        next_payment_attempt=obj.get("next_payment_attempt"),
        opens_subscription=obj.get("billing_reason") == "subscription_create",
    )


def to_payment_intent(obj: Mapping[str, Any]) -> PaymentIntent:
    return PaymentIntent(
        id=obj["id"],
        status=PAYMENT_INTENT_STATUSES.get(obj.get("status") or "", PaymentIntentStatus.PENDING),
        amount=obj.get("amount") or 0,
        amount_received=obj.get("amount_received") or 0,
        currency=_upper(obj.get("currency")),
        customer_id=_id(obj.get("customer")),
        latest_charge_id=_id(obj.get("latest_charge")),
        invoice_id=_id(obj.get("invoice")),
        gift_id=_gift_id(obj.get("metadata")),
        created=obj.get("created") or 0,
        declined=obj.get("last_payment_error") is not None,
    )


def to_charge(obj: Mapping[str, Any]) -> Charge:
    return Charge(
        id=obj["id"],
        succeeded=bool(obj.get("paid")) and obj.get("status") == "succeeded",
        amount=obj.get("amount") or 0,
        amount_refunded=obj.get("amount_refunded") or 0,
        currency=_upper(obj.get("currency")),
        payment_intent_id=_id(obj.get("payment_intent")),
        invoice_id=_id(obj.get("invoice")),
        customer_id=_id(obj.get("customer")),
        created=obj.get("created") or 0,
        disputed=bool(obj.get("disputed")),
        card=to_card((obj.get("payment_method_details") or {}).get("card")),
        gift_id=_gift_id(obj.get("metadata")),
        balance_transaction_id=_id(obj.get("balance_transaction")),
    )


def to_balance_transaction(obj: Mapping[str, Any]) -> BalanceTransaction:
    return BalanceTransaction(
        id=obj["id"],
        amount=obj.get("amount") or 0,
        fee=obj.get("fee") or 0,
        net=obj.get("net") or 0,
        currency=_upper(obj.get("currency")),
        created=obj.get("created") or 0,
    )


def to_setup_intent(obj: Mapping[str, Any]) -> SetupIntent:
    method = obj.get("payment_method")
    card = to_card(method.get("card")) if isinstance(method, Mapping) else None
    error = obj.get("last_setup_error") or {}
    return SetupIntent(
        id=obj["id"],
        status=SETUP_INTENT_STATUSES.get(obj.get("status") or "", SetupIntentStatus.PENDING),
        customer_id=_id(obj.get("customer")),
        payment_method_id=_id(method),
        card=card,
        gift_id=_gift_id(obj.get("metadata")),
        created=obj.get("created") or 0,
        error_message=error.get("message"),
    )


def to_refund(obj: Mapping[str, Any]) -> Refund:
    return Refund(
        id=obj["id"],
        status=REFUND_STATUSES.get(obj.get("status") or "", RefundStatus.PENDING),
        amount=obj.get("amount") or 0,
        currency=_upper(obj.get("currency")),
        charge_id=_id(obj.get("charge")),
        payment_intent_id=_id(obj.get("payment_intent")),
        reason=obj.get("reason"),
        created=obj.get("created") or 0,
        balance_transaction_id=_id(obj.get("balance_transaction")),
    )


def to_dispute(obj: Mapping[str, Any]) -> Dispute:
    return Dispute(
        id=obj["id"],
        status=DISPUTE_STATUSES.get(obj.get("status") or "", DisputeStatus.OPEN),
        amount=obj.get("amount") or 0,
        currency=_upper(obj.get("currency")),
        charge_id=_id(obj.get("charge")),
        payment_intent_id=_id(obj.get("payment_intent")),
        reason=obj.get("reason"),
        created=obj.get("created") or 0,
        respond_by=(obj.get("evidence_details") or {}).get("due_by"),
        balance_transactions=tuple(
            to_balance_transaction(item)
            for item in obj.get("balance_transactions") or ()
            if isinstance(item, Mapping)
        ),
    )


CONVERTERS = {
    "checkout.session": to_checkout_session,
    "subscription": to_subscription,
    "invoice": to_invoice,
    "payment_intent": to_payment_intent,
    "charge": to_charge,
    "refund": to_refund,
    "dispute": to_dispute,
    "setup_intent": to_setup_intent,
}


def to_event(body: Mapping[str, Any]) -> Event:
    obj = (body.get("data") or {}).get("object") or {}
    converter = CONVERTERS.get(obj.get("object", ""))
    event_type = body.get("type") or ""
    return Event(
        id=body["id"],
        type=event_type,
        kind=EVENT_KINDS.get(event_type, EventKind.OTHER),
        created=body.get("created") or 0,
        livemode=bool(body.get("livemode")),
        object_id=obj.get("id") or "",
        data=converter(obj) if converter else None,
        raw=dict(body),
        api_version=body.get("api_version") or "",
    )


def _retryable(error: stripe.StripeError) -> bool:
    """Whether repeating the request may succeed: no answer at all, 409, 429 or 5xx,
    unless Stripe said ``Stripe-Should-Retry: false``."""
    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)):
        return True
    if _header(error, "stripe-should-retry") == "false":
        return False
    status = getattr(error, "http_status", None) or 0
    return status in RETRY_STATUSES or status >= 500


def _header(error: stripe.StripeError, name: str) -> str | None:
    headers = getattr(error, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _retry_after(error: stripe.StripeError) -> float:
    """The seconds a ``Retry-After`` header asks for (0 without one)."""
    try:
        return max(0.0, float(_header(error, "retry-after") or 0))
    except ValueError:
        return 0.0


def _translated(error: stripe.StripeError) -> GatewayError:
    """Stripe's error as the gateway's: unavailable (nothing known to have happened), or a
    refusal with a message for staff."""
    status = getattr(error, "http_status", None) or 0
    if isinstance(error, stripe.APIConnectionError):
        return GatewayUnavailable("The payment service could not be reached.")
    if isinstance(error, stripe.RateLimitError) or status in RETRY_STATUSES or status >= 500:
        return GatewayUnavailable("The payment service is unavailable.")
    message = getattr(error, "user_message", None) or str(error) or "Stripe error"
    return GatewayError(message, code=getattr(error, "code", "") or "")


class StripeGateway:
    """The ``PaymentGateway`` on Stripe: each call returns the project's own types."""

    #: the API version every request asks for and every webhook event must be in
    api_version = API_VERSION

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StripeGateway:
        return cls(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_API_BASE"],
            max_retries=config["STRIPE_MAX_RETRIES"],
            retry_base=config["STRIPE_RETRY_BASE"],
        )

    def __init__(
        self,
        secret_key: str,
        api_base: str | None = None,
        *,
        max_retries: int = 3,
        retry_base: float = 0.5,
    ) -> None:
        base_addresses = {"api": api_base.rstrip("/")} if api_base else {}
        self.livemode = secret_key.startswith(LIVE_KEY_PREFIXES)
        self.max_retries = max(0, max_retries)
        self.retry_base = max(0.0, retry_base)
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=API_VERSION,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )

    def _call(self, method, *args, **kwargs):
        """Run one SDK call, retrying what Stripe asks us to repeat, and translate Stripe's
        errors into the gateway's."""
        retries = 0
        while True:
            try:
                return method(*args, **kwargs)
            except stripe.StripeError as error:
                if retries >= self.max_retries or not _retryable(error):
                    raise _translated(error) from error
                delay = self._retry_delay(retries, error)
                log.warning(
                    "Stripe answered %s; retry %d of %d in %.2f s",
                    getattr(error, "http_status", None) or "nothing",
                    retries + 1,
                    self.max_retries,
                    delay,
                )
                time.sleep(delay)
                retries += 1

    def _retry_delay(self, retries: int, error: stripe.StripeError) -> float:
        """Full jitter: anywhere up to the doubled back-off, but never sooner than a short
        ``Retry-After`` Stripe asked for, and never longer than ``MAX_RETRY_DELAY``."""
        ceiling = min(MAX_RETRY_DELAY, self.retry_base * 2**retries)
        delay = random.uniform(0, ceiling)
        return min(MAX_RETRY_DELAY, max(delay, _retry_after(error)))

    def create_checkout_session(
        self,
        *,
        gift_id: int,
        frequency: Frequency,
        amount: int,
        currency: str,
        product_name: str,
        customer_email: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        locale: str = "auto",
        expires_at: int | None = None,
    ) -> CheckoutSession:
        """Open a hosted Checkout page for one gift (payment or subscription mode)."""
        metadata = {"gift_id": str(gift_id)}
        price_data: dict[str, Any] = {
            "currency": currency.lower(),
            "unit_amount": amount,
            "product_data": {"name": product_name},
        }
        params: dict[str, Any] = {
            "line_items": [{"quantity": 1, "price_data": price_data}],
            "customer_email": customer_email,
            "success_url": f"{success_url}{'&' if '?' in success_url else '?'}{RETURN_SESSION}",
            "cancel_url": cancel_url,
            "metadata": metadata,
            "client_reference_id": str(gift_id),
            "locale": locale,
        }
        if expires_at is not None:
            params["expires_at"] = expires_at
        if frequency in INTERVALS:
            price_data["recurring"] = {"interval": INTERVALS[frequency]}
            params |= {"mode": "subscription", "subscription_data": {"metadata": metadata}}
        else:
            params |= {
                "mode": "payment",
                "submit_type": "donate",
                "payment_intent_data": {"metadata": metadata},
            }
        session = self._call(
            self._client.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return to_checkout_session(session)

    def create_setup_session(
        self,
        *,
        gift_id: int,
        customer_id: str,
        subscription_id: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        locale: str = "auto",
    ) -> CheckoutSession:
        """Open a hosted page where the donor saves a new card for a recurring gift."""
        metadata = {"gift_id": str(gift_id), "purpose": "update_card"}
        params: dict[str, Any] = {
            "mode": "setup",
            "customer": customer_id,
            "payment_method_types": ["card"],
            "success_url": f"{success_url}{'&' if '?' in success_url else '?'}{RETURN_SESSION}",
            "cancel_url": cancel_url,
            "metadata": metadata,
            "client_reference_id": str(gift_id),
            "locale": locale,
            "setup_intent_data": {
                "metadata": {"gift_id": str(gift_id), "subscription_id": subscription_id}
            },
        }
        session = self._call(
            self._client.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return to_checkout_session(session)

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """A SetupIntent with its payment method's card, to show which card was saved."""
        return to_setup_intent(
            self._call(
                self._client.setup_intents.retrieve,
                setup_intent_id,
                params={"expand": ["payment_method"]},
            )
        )

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        return to_checkout_session(self._call(self._client.checkout.sessions.retrieve, session_id))

    def expire_checkout_session(self, session_id: str) -> CheckoutSession:
        """Close an open Checkout page (a retry with the same key cannot fail on "already
        expired")."""
        return to_checkout_session(
            self._call(
                self._client.checkout.sessions.expire,
                session_id,
                options={"idempotency_key": f"expire-{session_id}"},
            )
        )

    def retrieve_subscription(self, subscription_id: str) -> Subscription:
        return to_subscription(self._call(self._client.subscriptions.retrieve, subscription_id))

    def retrieve_invoice(self, invoice_id: str) -> Invoice:
        return to_invoice(self._call(self._client.invoices.retrieve, invoice_id))

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        return to_payment_intent(
            self._call(self._client.payment_intents.retrieve, payment_intent_id)
        )

    def retrieve_charge(self, charge_id: str) -> Charge:
        return to_charge(self._call(self._client.charges.retrieve, charge_id))

    def retrieve_refund(self, refund_id: str) -> Refund:
        return to_refund(self._call(self._client.refunds.retrieve, refund_id))

    def retrieve_dispute(self, dispute_id: str) -> Dispute:
        return to_dispute(self._call(self._client.disputes.retrieve, dispute_id))

    def retrieve_balance_transaction(self, balance_transaction_id: str) -> BalanceTransaction:
        return to_balance_transaction(
            self._call(self._client.balance_transactions.retrieve, balance_transaction_id)
        )

    def _list(self, service, converter, since: int) -> Iterator[ProviderObject]:
        page = self._call(service.list, params={"created": {"gte": since}, "limit": 100})
        for obj in self._call(page.auto_paging_iter):
            yield converter(obj)

    def list_checkout_sessions(self, since: int) -> Iterator[CheckoutSession]:
        return self._list(self._client.checkout.sessions, to_checkout_session, since)

    def list_invoices(self, since: int) -> Iterator[Invoice]:
        return self._list(self._client.invoices, to_invoice, since)

    def list_charges(self, since: int) -> Iterator[Charge]:
        return self._list(self._client.charges, to_charge, since)

    def list_refunds(self, since: int) -> Iterator[Refund]:
        return self._list(self._client.refunds, to_refund, since)

    def list_disputes(self, since: int) -> Iterator[Dispute]:
        return self._list(self._client.disputes, to_dispute, since)

    def list_charge_refunds(self, charge_id: str) -> list[Refund]:
        """Every refund of one charge (``charge.refunded`` does not list them)."""
        page = self._call(self._client.refunds.list, params={"charge": charge_id, "limit": 100})
        return [to_refund(obj) for obj in self._call(page.auto_paging_iter)]

    def create_refund(
        self,
        *,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
        amount: int | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str,
    ) -> Refund:
        """Refund a charge in full (``amount=None``) or in part, at the donor's request."""
        params: dict[str, Any] = {
            "reason": "requested_by_customer",
            "metadata": dict(metadata or {}),
        }
        if charge_id:
            params["charge"] = charge_id
        else:
            params["payment_intent"] = payment_intent_id
        if amount is not None:
            params["amount"] = amount
        refund = self._call(
            self._client.refunds.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return to_refund(refund)

    def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str | None = None
    ) -> Subscription:
        """Stop a recurring gift now, or let it run to the end of the paid period."""
        # without the caller's key, one of our own makes this call's retries safe
        options = {"idempotency_key": idempotency_key or f"cancel-{uuid.uuid4()}"}
        if at_period_end:
            subscription = self._call(
                self._client.subscriptions.update,
                subscription_id,
                params={"cancel_at_period_end": True},
                options=options,
            )
        else:
            subscription = self._call(
                self._client.subscriptions.cancel, subscription_id, options=options
            )
        return to_subscription(subscription)

    def delete_customer(self, customer_id: str, *, idempotency_key: str) -> bool:
        """Delete a customer at Stripe, which also cancels their subscriptions at once.

        Stripe answers a customer deleted before (or never known) with 404
        ``resource_missing``: the customer is gone either way, so that is False, not an
        error. Stripe ignores idempotency keys on DELETE; the key is sent all the same, as
        with every write.
        """
        try:
            self._call(
                self._client.customers.delete,
                customer_id,
                options={"idempotency_key": idempotency_key},
            )
        except GatewayError as error:
            if error.code == "resource_missing":
                return False
            raise
        return True

    def _update_subscription(
        self, subscription_id: str, params: dict[str, Any], idempotency_key: str
    ) -> Subscription:
        subscription = self._call(
            self._client.subscriptions.update,
            subscription_id,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return to_subscription(subscription)

    def set_default_payment_method(
        self, subscription_id: str, payment_method_id: str, *, idempotency_key: str
    ) -> Subscription:
        """Charge this card for the subscription's renewals and retries from now on."""
        return self._update_subscription(
            subscription_id, {"default_payment_method": payment_method_id}, idempotency_key
        )

    def change_subscription_amount(
        self,
        subscription: Subscription,
        *,
        amount: int,
        idempotency_key: str,
    ) -> Subscription:
        """Bill ``amount`` per period from the next renewal on, with no proration."""
        if subscription.frequency is None or not subscription.item_id:
            raise GatewayError("This subscription's amount cannot be changed here.")
        price_data = {
            "currency": subscription.currency.lower(),
            "product": subscription.product_id,
            "unit_amount": amount,
            "recurring": {"interval": INTERVALS[subscription.frequency]},
        }
        params = {
            "items": [{"id": subscription.item_id, "price_data": price_data}],
            "proration_behavior": "none",
        }
        return self._update_subscription(subscription.id, params, idempotency_key)

    def pause_subscription(
        self, subscription_id: str, *, resumes_at: int, idempotency_key: str
    ) -> Subscription:
        """Skip renewals (their invoices are voided) until ``resumes_at``."""
        params = {"pause_collection": {"behavior": PAUSE_BEHAVIOR, "resumes_at": resumes_at}}
        return self._update_subscription(subscription_id, params, idempotency_key)

    def resume_subscription(self, subscription_id: str, *, idempotency_key: str) -> Subscription:
        """End a pause early and withdraw a cancellation at period end: renew as before."""
        params = {"pause_collection": "", "cancel_at_period_end": False}
        return self._update_subscription(subscription_id, params, idempotency_key)

    def pay_invoice(
        self, invoice_id: str, *, payment_method_id: str, idempotency_key: str
    ) -> Invoice:
        """Try to collect an open invoice now, with this card."""
        invoice = self._call(
            self._client.invoices.pay,
            invoice_id,
            params={"payment_method": payment_method_id},
            options={"idempotency_key": idempotency_key},
        )
        return to_invoice(invoice)

    def create_webhook_endpoint(self, url: str, idempotency_key: str) -> WebhookEndpoint:
        """Register our webhook URL for every event, on the pinned API version."""
        endpoint = self._call(
            self._client.webhook_endpoints.create,
            params={"url": url, "enabled_events": ["*"], "api_version": API_VERSION},
            options={"idempotency_key": idempotency_key},
        )
        return WebhookEndpoint(
            id=endpoint["id"], url=endpoint["url"], secret=endpoint.get("secret")
        )

    def parse_event(self, payload: bytes, signature: str | None, secret: str) -> Event:
        """Verify a webhook's signature and timestamp, then read its event."""
        if not signature or not secret:
            raise InvalidWebhook("missing Stripe-Signature header or webhook secret")
        try:
            text = payload.decode("utf-8")
            stripe.WebhookSignature.verify_header(
                text, signature, secret, WEBHOOK_TOLERANCE_SECONDS
            )
            body = json.loads(text)
        except (UnicodeDecodeError, ValueError, stripe.SignatureVerificationError) as error:
            raise InvalidWebhook(str(error)) from error
        if not isinstance(body, dict) or body.get("object") != "event" or "id" not in body:
            raise InvalidWebhook("the body is not a Stripe event")
        return to_event(body)

    def load_event(self, payload: str) -> Event:
        """Read an event stored in the inbox after it was verified (for replays)."""
        return to_event(json.loads(payload))
