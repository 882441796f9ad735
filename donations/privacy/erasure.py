"""Erasure: a donor's personal data replaced by tombstones wherever it is held, at their
own request (``/manage``, confirmed from an email) or an admin's (the staff donor page).

Stripe comes first, because only it can refuse: each running recurring gift is cancelled
now (keyed by the gift and the confirmation's intent, then applied as Stripe holds the
subscription afterwards, as staff cancellations are), a Checkout page still open is
closed, and every Stripe customer behind the donor's gifts is deleted. Each step reads
what Stripe holds first or accepts "gone already", so an erasure retried after a failure
finishes the job instead of stumbling on its own earlier half.

Then every row of ours: the donor's email becomes ``erased-<id>@invalid`` and their name
goes (the form the retention purge gives abandoned donors), and so do their copies in
gifts (dedications, the page they came from, the card), reminders, emails (address and
contents; any still waiting are not sent), webhook bodies, the newsletter consent and its
hand-offs, and audit texts. Amounts, currencies, dates, statuses and receipt numbers stay,
so the books add up as before. A later gift from the same address starts a new donor.

The audit trail records the erasure (``AuditAction.ERASE``) with who asked and which
Stripe customers were deleted, never the data itself; the retention purge drops the body
of any webhook about the donor that Stripe sends afterwards. Erasing twice is erasing
once. Flushes, never commits: the view owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from donations import ledger
from donations.audit import Actor, record_audit
from donations.db import db, utcnow
from donations.enums import (
    RUNNING_STATUSES,
    AuditAction,
    OutboxStatus,
    ReminderStatus,
    SubscriberStatus,
)
from donations.ledger import rules
from donations.ledger.records import lock_gift
from donations.models import (
    AuditLog,
    Dispute,
    Donor,
    Gift,
    HandOff,
    NewsletterSubscriber,
    OutboxEmail,
    Payment,
    Reminder,
    StripeEvent,
)
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.types import CheckoutStatus, SubscriptionStatus
from donations.privacy.queries import EMPTY_JSON, TOMBSTONE_DOMAIN, tombstone
from donations.privacy.services import drop_dedications, tombstone_donors

#: why an email or hand-off waiting to go out was stopped
STOPPED = "not sent: the recipient's data was erased"
#: what a name is replaced by in free text
ERASED_NAME = "[erased]"
#: shorter names are not searched for in free text: they would match inside other words
MIN_NAME_MATCH = 3
AWAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)
#: the card on file: the books do not need it
NO_CARD = {"card_brand": None, "card_last4": None, "card_exp_month": None, "card_exp_year": None}


@dataclass(frozen=True)
class Erasure:
    """What an erasure did."""

    donor_id: int
    cancelled: list[int] = field(default_factory=list)  #: recurring gifts ended now
    customers: list[str] = field(default_factory=list)  #: Stripe customers deleted
    #: the donor had been erased before: nothing was done now
    repeated: bool = False


def erase_donor(donor: Donor, *, actor: Actor, intent: str) -> Erasure:
    """Erase ``donor``'s personal data, once per donor; ``intent`` is the confirmation
    page's one-time value (the idempotency keys' heart). Raises ``GatewayError`` (Stripe
    refused, or was not reached) before any row is tombstoned: the caller rolls back, and
    confirming again finishes what Stripe started. Flushes."""
    donor = _lock_donor(donor.id)
    if donor.erased_at is not None:
        return Erasure(donor.id, repeated=True)
    gifts = list(donor.gifts)
    cancelled = [gift.id for gift in gifts if _cancel_now(gift, actor=actor, intent=intent)]
    customers = sorted(_close_checkouts(gifts))
    for customer_id in customers:
        gateway().delete_customer(customer_id, idempotency_key=f"erase-{customer_id}-{intent}")
    db.session.flush()
    _forget(donor, [gift.id for gift in gifts], customers)
    db.session.add(
        AuditLog(
            actor_kind=actor.kind,
            staff_user_id=actor.staff_user_id,
            donor_id=donor.id,
            action=AuditAction.ERASE,
            detail=f"personal data erased; {len(cancelled)} recurring gift(s) cancelled; "
            f"Stripe customers deleted: {', '.join(customers) or 'none'} "
            f"(confirmation {intent})",
        )
    )
    db.session.flush()
    db.session.expire_all()
    return Erasure(donor.id, cancelled, customers)


def _lock_donor(donor_id: int) -> Donor:
    """The donor, locked and freshly read, so two erasures run one after the other (on
    SQLite a no-op update takes the write lock, as ``lock_gift`` does)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.update(Donor).where(Donor.id == donor_id).values(erased_at=Donor.erased_at),
            execution_options={"synchronize_session": False},
        )
    return db.session.scalar(
        sa.select(Donor)
        .where(Donor.id == donor_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def ends_now(donor: Donor) -> list[Gift]:
    """The donor's recurring gifts an erasure cancels: those still renewing."""
    return [gift for gift in donor.gifts if _running(gift)]


def _running(gift: Gift) -> bool:
    return bool(gift.is_recurring and gift.stripe_subscription_id) and (
        gift.status in RUNNING_STATUSES
    )


def _cancel_now(gift: Gift, *, actor: Actor, intent: str) -> bool:
    """End a running recurring gift now; whether it was running."""
    if not _running(gift):
        return False
    gift = lock_gift(Gift.id == gift.id)
    subscription_id = gift.stripe_subscription_id
    if gateway().retrieve_subscription(subscription_id).status is not SubscriptionStatus.CANCELLED:
        gateway().cancel_subscription(
            subscription_id, at_period_end=False, idempotency_key=f"erase-{gift.id}-{intent}"
        )
    # a key repeated within a day answers what it answered first: read the state after it
    ledger.apply_subscription(gateway().retrieve_subscription(subscription_id), actor=actor)
    record_audit(
        actor,
        AuditAction.CANCEL,
        gift,
        amount=gift.amount,
        currency=gift.currency,
        detail=f"subscription {subscription_id} cancelled now, to erase the donor's data "
        f"(confirmation {intent})",
    )
    return True


def _close_checkouts(gifts: list[Gift]) -> set[str]:
    """Close any Checkout page still open (so nobody can pay it after the erasure); return
    the Stripe customers the donor's Checkout pages created."""
    customers: set[str] = set()
    for gift in gifts:
        if not gift.stripe_checkout_session_id:
            continue
        try:
            session = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
        except GatewayUnavailable:
            raise
        except GatewayError:
            continue  # a page Stripe does not know has nothing left there to erase
        if session.status is CheckoutStatus.OPEN:
            ledger.apply_checkout_session(gateway().expire_checkout_session(session.id))
        if session.customer_id:
            customers.add(session.customer_id)
    return customers


def _forget(donor: Donor, gift_ids: list[int], customers: list[str]) -> None:
    """Replace the donor's email and name in every table, by set-based updates."""
    email, name, now = donor.email, donor.name, utcnow()
    erased = tombstone(donor.id)
    _update(Gift, Gift.id.in_(gift_ids), source_url="", **NO_CARD)
    drop_dedications(gift_ids)
    _update(Gift, Gift.tribute_notify_email == email, tribute_notify_email="")
    _forget_reminders(email, erased, now)
    _forget_emails(gift_ids, email, erased)
    _forget_events(gift_ids, customers, email)
    _forget_subscriber(email, now)
    _forget_audit_texts(donor.id, gift_ids, email, erased, name)
    _replace_everywhere(email, erased)
    tombstone_donors([donor.id])
    _update(Donor, Donor.id == donor.id, erased_at=now)


def _update(model, condition: sa.ColumnElement[bool], **values) -> None:
    db.session.execute(
        sa.update(model)
        .where(condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _forget_reminders(email: str, erased: str, now) -> None:
    """Reminders to the address: tombstoned, and any still to be sent cancelled."""
    waiting = Reminder.email == email
    waiting &= Reminder.status.in_((ReminderStatus.SCHEDULED, ReminderStatus.SENDING))
    _update(Reminder, waiting, status=ReminderStatus.CANCELLED, cancelled_at=now)
    _update(Reminder, Reminder.email == email, email=erased, source="")


def _forget_emails(gift_ids: list[int], email: str, erased: str) -> None:
    """Emails to the donor, or to someone their dedications named (the tribute notices of
    their gifts), or holding their address: contents emptied, address tombstoned, those
    still waiting not sent."""
    to_them = sa.or_(
        OutboxEmail.to == email,
        OutboxEmail.dedupe_key.in_([rules.tribute_key(gift_id) for gift_id in gift_ids]),
    )
    about = to_them | OutboxEmail.context.contains(email, autoescape=True)
    _update(
        OutboxEmail,
        about & OutboxEmail.status.in_(AWAITING),
        status=OutboxStatus.FAILED,
        last_error=STOPPED,
    )
    _update(OutboxEmail, about, context=EMPTY_JSON)
    _update(OutboxEmail, to_them, to=erased)


def _forget_events(gift_ids: list[int], customers: list[str], email: str) -> None:
    """Webhook bodies about the donor's gifts, their money, disputes or Stripe customers,
    or naming their address."""
    ids = set(customers)
    for references in (
        sa.select(
            Gift.stripe_checkout_session_id,
            Gift.stripe_payment_intent_id,
            Gift.stripe_subscription_id,
        ).where(Gift.id.in_(gift_ids)),
        sa.select(
            Payment.stripe_id,
            Payment.stripe_payment_intent_id,
            Payment.stripe_charge_id,
            Payment.stripe_invoice_id,
        ).where(Payment.gift_id.in_(gift_ids)),
        sa.select(Dispute.stripe_id).where(Dispute.gift_id.in_(gift_ids)),
    ):
        for row in db.session.execute(references):
            ids.update(row)
    ids.discard(None)
    mentions = [sa.func.lower(StripeEvent.payload).contains(email, autoescape=True)]
    mentions += [StripeEvent.payload.contains(item, autoescape=True) for item in customers]
    about = sa.or_(
        StripeEvent.gift_id.in_(gift_ids), StripeEvent.object_id.in_(sorted(ids)), *mentions
    )
    _update(StripeEvent, about & (StripeEvent.payload != EMPTY_JSON), payload=EMPTY_JSON)


def _forget_subscriber(email: str, now) -> None:
    """The newsletter consent given with the address: tombstoned and ended, with no
    hand-off (one would carry the address); hand-offs about it emptied and not sent."""
    subscriber = db.session.scalar(
        sa.select(NewsletterSubscriber).where(NewsletterSubscriber.email == email)
    )
    about = HandOff.payload.contains(email, autoescape=True)
    if subscriber is not None:
        about = sa.or_(about, HandOff.subscriber_id == subscriber.id)
        _update(
            NewsletterSubscriber,
            NewsletterSubscriber.id == subscriber.id,
            email=f"erased-subscriber-{subscriber.id}{TOMBSTONE_DOMAIN}",
            status=SubscriberStatus.UNSUBSCRIBED,
            unsubscribed_at=sa.func.coalesce(NewsletterSubscriber.unsubscribed_at, now),
        )
    waiting = about & HandOff.status.in_(AWAITING)
    _update(HandOff, waiting, status=OutboxStatus.FAILED, last_error=STOPPED)
    _update(HandOff, about, payload=EMPTY_JSON)


def _forget_audit_texts(donor_id: int, gift_ids: list[int], email: str, erased: str, name: str):
    """The address in any audit text; the name in those about the donor's gifts."""
    _update(
        AuditLog,
        AuditLog.detail.contains(email, autoescape=True),
        detail=sa.func.replace(AuditLog.detail, email, erased),
    )
    if len(name) >= MIN_NAME_MATCH:
        theirs = sa.or_(AuditLog.donor_id == donor_id, AuditLog.gift_id.in_(gift_ids))
        _update(
            AuditLog,
            theirs & AuditLog.detail.contains(name, autoescape=True),
            detail=sa.func.replace(AuditLog.detail, name, ERASED_NAME),
        )


#: free-text columns where an address may have been written in passing (an SMTP error
#: naming the recipient, a dedupe key)
FREE_TEXT = (
    OutboxEmail.last_error,
    OutboxEmail.dedupe_key,
    Reminder.last_error,
    HandOff.last_error,
    HandOff.dedupe_key,
    StripeEvent.error,
)


def _replace_everywhere(email: str, erased: str) -> None:
    for column in FREE_TEXT:
        _update(
            column.class_,
            column.contains(email, autoescape=True),
            **{column.key: sa.func.replace(column, email, erased)},
        )
