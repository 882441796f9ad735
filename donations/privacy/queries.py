"""The rows each retention setting lets go: conditions that no longer hold once a row
has been purged, so a second purge finds nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from donations.enums import UNPAID_STATUSES, OutboxStatus, ReminderStatus
from donations.models import Donor, Gift, OutboxEmail, Payment, Reminder, StripeEvent

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
    """Applied webhook events received before ``cutoff`` that still carry their body;
    those not applied keep it, since replaying them needs it."""
    return [
        StripeEvent.processed_at.is_not(None),
        StripeEvent.received_at < cutoff,
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
