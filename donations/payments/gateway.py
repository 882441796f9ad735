"""What the product needs from a payment provider, as a ``Protocol``.

``donations.payments.stripe_gateway.StripeGateway`` is the implementation; the
``PAYMENT_GATEWAY`` setting names which one ``gateway()`` builds. Tests run the Stripe
implementation against the sandbox over HTTP: this protocol is for readers and for a
second provider, not for mocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from donations.enums import Frequency
from donations.payments.types import (
    BalanceTransaction,
    Charge,
    CheckoutSession,
    Dispute,
    Event,
    Invoice,
    PaymentIntent,
    Refund,
    SetupIntent,
    Subscription,
    WebhookEndpoint,
)


class PaymentGateway(Protocol):
    """Every call returns the project's own types and raises ``GatewayError`` (refused)
    or ``GatewayUnavailable`` (not reached; nothing happened). Every write takes an
    idempotency key derived from what the person meant, so a retry cannot repeat it."""

    #: whether the configured credentials move real money
    livemode: bool
    #: the provider's API version the gateway reads; events in another are refused
    api_version: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PaymentGateway:
        """Built from the app's settings by ``payments.gateway()``."""
        ...

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
        """Open a hosted payment page for a gift. The payer comes back to ``success_url``
        with ``session_id=<the session's id>`` added, or to ``cancel_url``; unpaid, the
        page expires at ``expires_at`` (Unix time; Stripe's default is 24 hours)."""
        ...

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
        """Open a hosted page where the donor saves a new card (no money moves); the
        donor comes back to ``success_url`` with ``session_id`` added."""
        ...

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent: ...

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession: ...

    def expire_checkout_session(self, session_id: str) -> CheckoutSession: ...

    def retrieve_subscription(self, subscription_id: str) -> Subscription: ...

    def retrieve_invoice(self, invoice_id: str) -> Invoice: ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent: ...

    def retrieve_charge(self, charge_id: str) -> Charge: ...

    def retrieve_refund(self, refund_id: str) -> Refund: ...

    def retrieve_dispute(self, dispute_id: str) -> Dispute: ...

    def retrieve_balance_transaction(self, balance_transaction_id: str) -> BalanceTransaction:
        """A movement's fee and net, as the provider booked it."""
        ...

    def list_checkout_sessions(self, since: int) -> Iterator[CheckoutSession]: ...

    def list_invoices(self, since: int) -> Iterator[Invoice]: ...

    def list_charges(self, since: int) -> Iterator[Charge]: ...

    def list_refunds(self, since: int) -> Iterator[Refund]: ...

    def list_disputes(self, since: int) -> Iterator[Dispute]: ...

    def list_charge_refunds(self, charge_id: str) -> list[Refund]: ...

    def create_refund(
        self,
        *,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
        amount: int | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str,
    ) -> Refund: ...

    def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str | None = None
    ) -> Subscription: ...

    def delete_customer(self, customer_id: str, *, idempotency_key: str) -> bool:
        """Delete a customer and what the provider holds about them for good (their
        subscriptions end with it); False when it was gone already, so erasing twice is
        erasing once."""
        ...

    def set_default_payment_method(
        self, subscription_id: str, payment_method_id: str, *, idempotency_key: str
    ) -> Subscription: ...

    def change_subscription_amount(
        self, subscription: Subscription, *, amount: int, idempotency_key: str
    ) -> Subscription:
        """The new amount applies from the next renewal, with no proration."""
        ...

    def pause_subscription(
        self, subscription_id: str, *, resumes_at: int, idempotency_key: str
    ) -> Subscription: ...

    def resume_subscription(self, subscription_id: str, *, idempotency_key: str) -> Subscription:
        """End a pause and withdraw a cancellation at period end."""
        ...

    def pay_invoice(
        self, invoice_id: str, *, payment_method_id: str, idempotency_key: str
    ) -> Invoice:
        """Collect an open invoice now with this card; a decline raises ``GatewayError``
        with the provider's message for the payer."""
        ...

    def create_webhook_endpoint(self, url: str, idempotency_key: str) -> WebhookEndpoint: ...

    def parse_event(self, payload: bytes, signature: str | None, secret: str) -> Event:
        """Verify a webhook delivery and read its event; ``InvalidWebhook`` if untrusted."""
        ...

    def load_event(self, payload: str) -> Event:
        """Read an event stored in the inbox after it was verified (for replays)."""
        ...
