"""The card on file: read from each successful charge and from each card a donor saves,
newest first; and a saved card put to work (made the subscription's default, and any
renewal left unpaid collected with it).

The card fields carry the Stripe time of the charge or SetupIntent they come from
(``Gift.card_as_of``), so a late event about an older charge cannot bring back a card the
donor has replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

from donations.audit import Actor, record_audit
from donations.enums import RUNNING_STATUSES, AuditAction, GiftStatus
from donations.ledger import rules
from donations.ledger.changes import update
from donations.ledger.charges import apply_invoice, invoice_gift
from donations.ledger.records import find_charge, lock_gift_by, payment_by_stripe_id
from donations.ledger.subscriptions import apply_subscription
from donations.models import Gift
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.types import (
    Card,
    Charge,
    CheckoutSession,
    CheckoutStatus,
    InvoiceStatus,
    SetupIntent,
    SetupIntentStatus,
    SubscriptionStatus,
)

#: gifts whose subscription can still be charged with a new card
CHARGEABLE_STATUSES = (*RUNNING_STATUSES, GiftStatus.LAPSED)


@dataclass(frozen=True)
class CardUpdate:
    """What saving a card did, for the page the donor returns to."""

    gift: Gift | None
    card: Card | None = None
    #: an unpaid renewal was collected with the new card
    paid_amount: int | None = None
    #: why collecting it failed, in Stripe's words for the payer
    payment_error: str | None = None
    #: the card was not saved (the page was left before it completed)
    not_saved: bool = False
    #: Stripe had already ended the gift's subscription: only starting again helps
    ended: bool = False


def apply_card(gift: Gift, card: Card | None, as_of: int) -> bool:
    """Keep ``card`` as the gift's card on file unless a newer one is; return if it changed."""
    if card is None or not rules.is_newer(as_of, gift.card_as_of):
        return False
    if rules.card_fields(card) == rules.card_fields_of(gift):
        return False  # the same card charged again: its time on file stays when it was saved
    update(gift, f"gift {gift.id}", **rules.card_fields(card))
    gift.card_as_of = as_of
    return True


def apply_charge_card(charge: Charge) -> Gift | None:
    """A successful charge shows which card pays for its gift."""
    if not charge.succeeded or charge.card is None:
        return None
    gift = _charge_gift(charge)
    if gift is not None:
        apply_card(gift, charge.card, charge.created)
    return gift


def _charge_gift(charge: Charge) -> Gift | None:
    """The locked gift a charge paid for, asking Stripe only when nothing here knows it."""
    payment = find_charge(charge.id, charge.payment_intent_id)
    gift = lock_gift_by(
        payment.gift_id if payment else charge.gift_id, payment_intent_id=charge.payment_intent_id
    )
    if gift is None and charge.invoice_id:
        gift = invoice_gift(gateway().retrieve_invoice(charge.invoice_id))
    if gift is None and charge.payment_intent_id:
        intent = gateway().retrieve_payment_intent(charge.payment_intent_id)
        gift = lock_gift_by(intent.gift_id)
    return gift


def apply_setup_session(session: CheckoutSession, *, as_of: int) -> CardUpdate:
    """A donor saved a card on a setup-mode Checkout page: it becomes the card on file
    and the subscription's default, and an unpaid renewal is collected with it at once.

    Idempotent: the webhook and the page the donor returns to both call this (and
    reconcile may, days later). A card older than the one on file changes nothing; the
    subscription is read first and its default changed only if it is not this card yet,
    and its state is applied from that fresh read, never from a replayed answer; paying
    the open invoice carries a key derived from the SetupIntent, so the renewal is
    collected at most once whichever comes first, or if both run.
    """
    gift = lock_gift_by(session.gift_id)
    if gift is None or session.status is not CheckoutStatus.COMPLETE:
        return CardUpdate(gift, not_saved=True)
    if not session.setup_intent_id:
        return CardUpdate(gift, not_saved=True)
    intent = gateway().retrieve_setup_intent(session.setup_intent_id)
    if intent.status is not SetupIntentStatus.SUCCEEDED or not intent.payment_method_id:
        return CardUpdate(gift, not_saved=True)
    saved_at = max(as_of, intent.created)
    if not rules.is_newer(saved_at, gift.card_as_of):
        return CardUpdate(gift, intent.card)  # a newer card is on file already
    apply_card(gift, intent.card, saved_at)
    if gift.status not in CHARGEABLE_STATUSES or not gift.stripe_subscription_id:
        return CardUpdate(gift, intent.card)
    subscription = gateway().retrieve_subscription(gift.stripe_subscription_id)
    if subscription.status is SubscriptionStatus.CANCELLED:
        apply_subscription(subscription)
        return CardUpdate(gift, intent.card, ended=True)
    if subscription.default_payment_method_id != intent.payment_method_id:
        subscription = gateway().set_default_payment_method(
            subscription.id, intent.payment_method_id, idempotency_key=f"default-card-{intent.id}"
        )
        record_audit(
            Actor.donor(gift.donor),
            AuditAction.UPDATE_CARD,
            gift,
            detail=f"card saved: {intent.card.brand} ending {intent.card.last4}"
            if intent.card
            else "card saved",
        )
    apply_subscription(subscription, actor=Actor.donor(gift.donor))
    return _collect_unpaid(gift, subscription.latest_invoice_id, intent)


def _collect_unpaid(gift: Gift, invoice_id: str | None, intent: SetupIntent) -> CardUpdate:
    if not invoice_id:
        return CardUpdate(gift, intent.card)
    invoice = gateway().retrieve_invoice(invoice_id)
    if invoice.status is InvoiceStatus.PAID:
        recovered = payment_by_stripe_id(invoice.id)
        paid_amount = invoice.amount_paid if recovered and recovered.recovered else None
        return CardUpdate(gift, intent.card, paid_amount=paid_amount)
    if invoice.status is not InvoiceStatus.OPEN or invoice.amount_due <= 0:
        return CardUpdate(gift, intent.card)
    try:
        paid = gateway().pay_invoice(
            invoice.id,
            payment_method_id=intent.payment_method_id,
            idempotency_key=f"pay-{invoice.id}-{intent.id}",
        )
    except GatewayUnavailable:
        raise
    except GatewayError as error:
        return CardUpdate(gift, intent.card, payment_error=error.message)
    apply_invoice(paid)
    return CardUpdate(gift, intent.card, paid_amount=paid.amount_paid)
