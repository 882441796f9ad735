"""The rows each retention setting lets go: conditions that no longer hold once a row
has been purged, so a second purge finds nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from donations.enums import UNPAID_STATUSES, AuditAction, OutboxStatus, ReminderStatus
from donations.models import AuditLog, Donor, Gift, OutboxEmail, Payment, Reminder, StripeEvent

#: ``.invalid`` is reserved (RFC 2606): no real address ends so, only a tombstone
TOMBSTONE_DOMAIN = "@invalid"
#: reminders whose life is over: sent, cancelled, turned into a gift, or given up on
FINISHED_REMINDERS = (
    ReminderStatus.SENT,
    ReminderStatus.CANCELLED,
    ReminderStatus.CONVERTED,
    ReminderStatus.FAILED,
)
EMPTY_JSON = "{}"


def tombstone(donor_id: int) -> str:
    """The address an erased donor's rows carry instead of theirs: ``erased-<id>@invalid``."""
    return f"erased-{donor_id}{TOMBSTONE_DOMAIN}"


def _stale_unpaid(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Gift.status.in_(UNPAID_STATUSES), Gift.created_at < cutoff)


def abandoned_donors(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Donors with an unpaid gift older than ``cutoff`` and nothing else: no gift that
    gave money (or might still), no payment, and not a tombstone already."""
    other_gift = sa.exists().where(Gift.donor_id == Donor.id, ~_stale_unpaid(cutoff))
    any_payment = (
        sa.select(Payment.id)
        .join(Gift, Payment.gift_id == Gift.id)
        .where(Gift.donor_id == Donor.id)
        .exists()
    )
    return [
        sa.exists().where(Gift.donor_id == Donor.id, _stale_unpaid(cutoff)),
        ~other_gift,
        ~any_payment,
        Donor.email.not_like(f"%{TOMBSTONE_DOMAIN}"),
    ]


def abandoned_dedications(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Unpaid gifts older than ``cutoff`` still holding a dedication (a name, a message,
    an address to notify): the gift never happened, so nobody will be told."""
    return [
        _stale_unpaid(cutoff),
        sa.or_(
            Gift.tribute_name != "", Gift.tribute_message != "", Gift.tribute_notify_email != ""
        ),
    ]


def finished_reminders(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Reminders finished before ``cutoff`` (by their last event: converted, cancelled,
    sent, or the day they were due)."""
    finished_at = sa.func.coalesce(
        Reminder.converted_at, Reminder.cancelled_at, Reminder.sent_at, Reminder.due_at
    )
    return [Reminder.status.in_(FINISHED_REMINDERS), finished_at < cutoff]


def old_webhook_payloads(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Applied webhook events received before ``cutoff``, or about an erased donor
    whenever received (those Stripe sent after the erasure), that still carry their body;
    those not applied keep it, since replaying them needs it."""
    return [
        StripeEvent.processed_at.is_not(None),
        sa.or_(StripeEvent.received_at < cutoff, about_erased_donors()),
        StripeEvent.payload != EMPTY_JSON,
    ]


def old_email_bodies(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Emails sent (or failed for good, if queued) before ``cutoff`` that still carry the
    contents they were rendered from."""
    return [
        sa.or_(
            sa.and_(OutboxEmail.status == OutboxStatus.SENT, OutboxEmail.sent_at < cutoff),
            sa.and_(OutboxEmail.status == OutboxStatus.FAILED, OutboxEmail.created_at < cutoff),
        ),
        OutboxEmail.context != EMPTY_JSON,
    ]


def about_erased_donors() -> sa.ColumnElement[bool]:
    """Webhook events about a donor whose data was erased: about one of their gifts, or
    about a Stripe object their erasure's audit entry names (the customers it deleted,
    whose ``customer.deleted`` arrives after the erasure, carrying the customer as it was)."""
    erased_gifts = (
        sa.select(Gift.id)
        .join(Donor, Gift.donor_id == Donor.id)
        .where(Donor.erased_at.is_not(None))
    )
    named_by_an_erasure = sa.exists().where(
        AuditLog.action == AuditAction.ERASE,
        AuditLog.detail.contains(StripeEvent.object_id),
    )
    return sa.or_(
        StripeEvent.gift_id.in_(erased_gifts),
        sa.and_(StripeEvent.gift_id.is_(None), StripeEvent.object_id != "", named_by_an_erasure),
    )
