"""Actions on gifts taken by staff (refund, cancel, resend a receipt) or by a donor
through their own link (cancel, change the amount, pause, resume, update the card).

Each action checks what is allowed, asks Stripe through the gateway, applies Stripe's
answer through the ledger (the same idempotent functions the webhooks use, so the
webhook that follows finds nothing left to do) and writes an audit entry naming who
acted. Actions flush, never commit: the calling view wraps the call in
``commit_or_rollback()``, so a ``GatewayError`` (or anything else) leaves nothing behind.

Staff confirmations carry the page's one-time intent (``donations.forms.IntentForm``): it
is the Stripe idempotency key and is named in the audit entry, so a double click or a
repeated confirmation finds the first outcome instead of moving money again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from donations import ledger, outbox
from donations.audit import Actor, record_audit
from donations.db import db, utcnow
from donations.enums import RUNNING_STATUSES, AuditAction, Frequency, GiftStatus, PaymentKind
from donations.ledger import rules
from donations.ledger.records import lock_gift
from donations.models import AuditLog, Gift, Payment
from donations.money import format_money
from donations.payments import gateway
from donations.payments.types import SubscriptionStatus
from donations.templating import GIFT_STATUS_LABELS

#: how many renewals a donor may skip with a pause
PAUSE_CHOICES = (1, 2, 3)
#: gifts a new card can help: running, or ended only because Stripe stopped retrying
CARD_UPDATABLE_STATUSES = (*RUNNING_STATUSES, GiftStatus.LAPSED)
#: Stripe answers a repeated idempotency key as it did the first time for 24 hours; a
#: confirmation whose answer was lost is asked again with its key only well inside that
REPLAY_WINDOW = timedelta(hours=23)
#: how an audit entry begins when Stripe's answer to a refund never came
ANSWER_LOST = "Stripe's answer was lost"


class ActionRefused(ValueError):
    """The action is not allowed in the gift's or payment's current state."""


def _lock(gift: Gift) -> None:
    """Take the gift's lock before calling Stripe, so the webhook Stripe sends meanwhile
    waits for the caller's commit and then finds the change already recorded. It is the
    ledger's own lock (row lock on PostgreSQL, write lock on SQLite), re-reading the gift
    as committed by whoever held it before."""
    lock_gift(Gift.id == gift.id)


def remaining_refundable(payment: Payment) -> int:
    """A charge's amount minus what it already gave back: its refunds and what its
    disputes withdrew and did not reinstate (a disputed charge cannot be refunded)."""
    if payment.kind != PaymentKind.CHARGE or payment.amount <= 0:
        return 0
    return max(payment.amount - ledger.returned_of(payment), 0)


@dataclass(frozen=True)
class RefundOutcome:
    """What a refund confirmation did."""

    amount: int  #: minor units refunded
    #: the refund row; None while Stripe reports the refund pending, or when repeated
    row: Payment | None
    #: the confirmation had been carried out before: nothing more happened now
    repeated: bool = False


def _confirmation(intent: str) -> str:
    """How an audit entry names the confirmation page that asked for it."""
    return f"(confirmation {intent})"


def _confirmed_before(gift: Gift, actions: tuple[AuditAction, ...], intent: str) -> list:
    """The audit entries this confirmation already left on the gift, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(
                AuditLog.gift_id == gift.id,
                AuditLog.action.in_(actions),
                AuditLog.detail.contains(_confirmation(intent), autoescape=True),
            )
            .order_by(AuditLog.id)
        )
    )


def _refundable(payment: Payment, amount: int | None) -> int:
    """``amount`` (None: all that remains) once checked against what remains."""
    remaining = remaining_refundable(payment)
    if remaining <= 0:
        raise ActionRefused(_("This payment has nothing left to refund."))
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise ActionRefused(_("Enter an amount above zero."))
    if amount > remaining:
        limit = format_money(remaining, payment.currency)
        raise ActionRefused(
            _("At most %(amount)s remains to refund on this payment.", amount=limit)
        )
    if not (payment.stripe_charge_id or payment.stripe_payment_intent_id):
        raise ActionRefused(_("This payment has no Stripe charge to refund."))
    return amount


def _refund_target(payment: Payment) -> dict[str, str | None]:
    """What Stripe is asked to refund: the PaymentIntent when known (it is recorded with
    the charge, while the charge id may be filled in later), so a confirmation repeated
    with its key asks exactly what it asked the first time, as Stripe requires."""
    if payment.stripe_payment_intent_id:
        return {"payment_intent_id": payment.stripe_payment_intent_id}
    return {"charge_id": payment.stripe_charge_id}


def refund_payment(
    payment: Payment, amount: int | None, *, actor: Actor, intent: str
) -> RefundOutcome:
    """Refund ``amount`` minor units of a charge (None: all that remains), once per
    confirmation page (``intent``, the idempotency key's heart).

    A confirmation already carried out answers its first outcome without asking Stripe; one
    whose answer was lost (``record_lost_refund``) asks again with the same key, so Stripe
    answers what it did the first time instead of refunding again. Raises
    ``ActionRefused`` or ``GatewayError``; flushes.
    """
    _lock(payment.gift)
    earlier = _confirmed_before(payment.gift, (AuditAction.REFUND,), intent)
    done = [entry for entry in earlier if not entry.detail.startswith(ANSWER_LOST)]
    if done:
        return RefundOutcome(done[0].amount or 0, None, repeated=True)
    if earlier:
        if utcnow() - earlier[0].created_at > REPLAY_WINDOW:
            raise ActionRefused(
                _(
                    "This confirmation is too old to repeat safely. Check the payments below "
                    "for the refund, and start a new one if it is not there."
                )
            )
        amount = earlier[0].amount
    else:
        amount = _refundable(payment, amount)
    refund = gateway().create_refund(
        **_refund_target(payment),
        amount=amount,
        metadata={"gift_id": str(payment.gift_id), "payment_id": str(payment.id)},
        idempotency_key=f"refund-{payment.id}-{intent}",
    )
    row = _record_refund(refund)
    record_audit(
        actor,
        AuditAction.REFUND,
        payment.gift,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        detail=f"refund {refund.id} of payment {payment.stripe_id}"
        + ("" if row is not None else f" (refund {refund.status}, not recorded yet)")
        + f" {_confirmation(intent)}",
    )
    db.session.flush()
    return RefundOutcome(amount, row)


def record_lost_refund(payment: Payment, amount: int, *, actor: Actor, intent: str) -> None:
    """Note a refund asked of Stripe whose answer never came: it may have been made (its
    webhook will then record it). Flushes; the caller commits after rolling back the
    attempt."""
    record_audit(
        actor,
        AuditAction.REFUND,
        payment.gift,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        detail=f"{ANSWER_LOST}: a refund of payment {payment.stripe_id} was asked; its "
        f"outcome shows once Stripe's event arrives {_confirmation(intent)}",
    )
    db.session.flush()


def _record_refund(refund) -> Payment | None:
    """Apply the refund through the ledger; if its webhook got there first, use that row."""
    try:
        with db.session.begin_nested():
            row = ledger.record_refund(refund)
    except IntegrityError:
        row = None
    return row or db.session.scalar(sa.select(Payment).where(Payment.stripe_id == refund.id))


def cancel_gift(
    gift: Gift, *, at_period_end: bool, actor: Actor, intent: str | None = None
) -> Gift:
    """Cancel a recurring gift now or at the end of its paid period; flushes.

    With the confirmation page's ``intent`` (staff), a confirmation already carried out
    changes nothing more, and Stripe gets the idempotency key ``cancel-<gift>-<intent>``.
    """
    _lock(gift)
    actions = (AuditAction.CANCEL, AuditAction.CANCEL_AT_PERIOD_END)
    if intent is not None and _confirmed_before(gift, actions, intent):
        return gift
    if not gift.is_recurring or not gift.stripe_subscription_id:
        raise ActionRefused(_("Only recurring gifts with a subscription can be cancelled."))
    if gift.status not in RUNNING_STATUSES:
        raise ActionRefused(
            _(
                "This gift cannot be cancelled (its status: %(status)s).",
                status=GIFT_STATUS_LABELS[gift.status],
            )
        )
    if at_period_end and gift.cancel_at_period_end:
        raise ActionRefused(_("This gift already ends at the end of its period."))
    subscription = gateway().cancel_subscription(
        gift.stripe_subscription_id,
        at_period_end=at_period_end,
        idempotency_key=f"cancel-{gift.id}-{intent}" if intent is not None else None,
    )
    ledger.apply_subscription(subscription, actor=actor)
    when = "at period end" if at_period_end else "now"
    record_audit(
        actor,
        AuditAction.CANCEL_AT_PERIOD_END if at_period_end else AuditAction.CANCEL,
        gift,
        amount=gift.amount,
        currency=gift.currency,
        detail=f"subscription {subscription.id} cancelled {when}, "
        f"subscription {subscription.status}"
        + (f" {_confirmation(intent)}" if intent is not None else ""),
    )
    db.session.flush()
    return gift


def resend_receipt(payment: Payment, *, actor: Actor, intent: str) -> bool:
    """Queue the receipt for a charge again, once per confirmation page (the outbox key
    ``resend:<payment>:<intent>``); False when this confirmation had queued it already.
    Flushes."""
    if payment.kind != PaymentKind.CHARGE:
        raise ActionRefused(_("Receipts exist for charges only."))
    gift = payment.gift
    queued = outbox.enqueue(
        gift.donor.email,
        "receipt",
        ledger.receipt_context(payment),
        dedupe_key=f"resend:{payment.id}:{intent}",
        gift_id=gift.id,
    )
    if queued is None:
        return False
    record_audit(
        actor,
        AuditAction.RESEND_RECEIPT,
        gift,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        detail=f"receipt for {payment.stripe_id} sent again to {gift.donor.email}",
    )
    db.session.flush()
    return True


def _apply_fresh(gift: Gift, actor: Actor) -> None:
    """Apply the subscription as Stripe holds it after our change: a call repeated with
    its idempotency key answers what it answered the first time, which may be older."""
    ledger.apply_subscription(
        gateway().retrieve_subscription(gift.stripe_subscription_id), actor=actor
    )


def _running_recurring(gift: Gift, *, not_recurring: str, ended: str) -> None:
    """Refuse, with the action's own words, a gift that is not recurring or has ended."""
    if not gift.is_recurring or not gift.stripe_subscription_id:
        raise ActionRefused(not_recurring)
    if gift.status not in RUNNING_STATUSES:
        raise ActionRefused(ended)


def change_amount(gift: Gift, amount: int, *, actor: Actor, intent: str) -> Gift:
    """Charge ``amount`` (same currency) per period from the next renewal on; flushes.

    The caller checks the amount against the page's limits; no proration is made.
    ``intent`` is the one-time value of the page the donor submitted (``IntentForm``).
    """
    _lock(gift)
    _running_recurring(
        gift,
        not_recurring=_("You can only change a monthly or annual gift."),
        ended=_("This gift has ended; you cannot change it."),
    )
    if gift.cancel_at_period_end:
        raise ActionRefused(_("This gift is set to end; resume it before changing its amount."))
    if amount == gift.amount:
        raise ActionRefused(
            _("Your gift is already %(amount)s.", amount=format_money(amount, gift.currency))
        )
    old = gift.amount
    current = gateway().retrieve_subscription(gift.stripe_subscription_id)
    gateway().change_subscription_amount(
        current, amount=amount, idempotency_key=f"amount-{gift.id}-{intent}-{amount}"
    )
    _apply_fresh(gift, actor)
    gift.covered_fee = 0  # the donor chose a new total; it no longer splits into gift and fee
    record_audit(
        actor,
        AuditAction.CHANGE_AMOUNT,
        gift,
        amount=amount,
        currency=gift.currency,
        detail=f"amount {format_money(old, gift.currency)} → "
        f"{format_money(amount, gift.currency)} from the next renewal",
    )
    db.session.flush()
    return gift


def pause_gift(gift: Gift, renewals: int, *, actor: Actor, intent: str) -> Gift:
    """Skip the next ``renewals`` renewals (1–3); collection resumes on its own; flushes."""
    _lock(gift)
    _running_recurring(
        gift,
        not_recurring=_("You can only pause a monthly or annual gift."),
        ended=_("This gift has ended; you cannot pause it."),
    )
    if renewals not in PAUSE_CHOICES:
        raise ActionRefused(_("Choose to pause for 1, 2 or 3 payments."))
    if gift.paused_until is not None:
        raise ActionRefused(_("This gift is already paused."))
    if gift.cancel_at_period_end:
        raise ActionRefused(_("This gift is set to end; it cannot be paused."))
    if gift.status != GiftStatus.ACTIVE or gift.current_period_end is None:
        raise ActionRefused(_("A gift with a payment due cannot be paused; update the card first."))
    resumes_at = rules.pause_resumes_at(
        gift.current_period_end, Frequency(gift.frequency), renewals
    )
    gateway().pause_subscription(
        gift.stripe_subscription_id,
        resumes_at=int(resumes_at.timestamp()),
        idempotency_key=f"pause-{gift.id}-{intent}-{renewals}",
    )
    _apply_fresh(gift, actor)
    record_audit(
        actor,
        AuditAction.PAUSE,
        gift,
        amount=gift.amount,
        currency=gift.currency,
        detail=f"paused for {renewals} renewal(s), until {resumes_at.date().isoformat()}",
    )
    db.session.flush()
    return gift


def resume_gift(gift: Gift, *, actor: Actor, intent: str) -> Gift:
    """End a pause early, or withdraw a cancellation at period end; flushes."""
    _lock(gift)
    _running_recurring(
        gift,
        not_recurring=_("You can only resume a monthly or annual gift."),
        ended=_("This gift has ended; you cannot resume it."),
    )
    if gift.paused_until is None and not gift.cancel_at_period_end:
        raise ActionRefused(_("This gift is neither paused nor set to end."))
    was = "a pause" if gift.paused_until is not None else "a cancellation at period end"
    gateway().resume_subscription(
        gift.stripe_subscription_id, idempotency_key=f"resume-{gift.id}-{intent}"
    )
    _apply_fresh(gift, actor)
    record_audit(
        actor,
        AuditAction.RESUME,
        gift,
        amount=gift.amount,
        currency=gift.currency,
        detail=f"resumed: ended {was}",
    )
    db.session.flush()
    return gift


def open_card_update(gift: Gift, *, success_url: str, cancel_url: str) -> str:
    """Open the hosted page where the donor saves a new card; return its address.

    Nothing changes here until the card is saved (``ledger.apply_setup_session``), and
    no money moves. The idempotency key is derived from the return addresses, whose signed
    token changes each second: a double click opens one page, a later click a new one.
    """
    if not gift.is_recurring or not gift.stripe_subscription_id:
        raise ActionRefused(_("Only a monthly or annual gift has a card on file to update."))
    if gift.status not in CARD_UPDATABLE_STATUSES:
        raise ActionRefused(
            _(
                "This gift has ended (%(status)s); its card cannot be updated.",
                status=GIFT_STATUS_LABELS[gift.status],
            )
        )
    subscription = gateway().retrieve_subscription(gift.stripe_subscription_id)
    if subscription.status is SubscriptionStatus.CANCELLED:
        raise ActionRefused(_("This gift has ended, so a new card cannot restart it."))
    if not subscription.customer_id:
        raise ActionRefused(_("This gift has no customer at Stripe to save a card for."))
    addresses = hashlib.sha256(f"{success_url} {cancel_url}".encode()).hexdigest()[:24]
    session = gateway().create_setup_session(
        gift_id=gift.id,
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"card-{gift.id}-{addresses}",
    )
    return session.url or ""
