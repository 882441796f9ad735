"""A donor's data, everything held about their address, as one JSON document: what they
download from ``/manage`` and what an admin downloads for them from the donor page.

It holds the donor, their gifts (with dedications and the card on file, as much as a
donor recognises), the money moved for them (integer minor units beside the currency,
with receipt numbers), disputes and failed renewals, reminders and the newsletter consent
given with the address, the emails written to it (which, when, whether sent; not their
contents), the messages Stripe sent about their gifts (which, when) and the audit trail
of what was done to their gifts. Rows are found by the donor's id, their gifts' ids or
their exact address, never by a likeness, so nothing about another donor comes along.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from donations.audit import Actor
from donations.db import db
from donations.enums import AuditAction
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
    RenewalFailure,
    StripeEvent,
)

#: a version for the document's shape, so a reader of an old file knows what it holds
FORMAT = 1


def filename(now: datetime) -> str:
    return f"donor-data-{now.date().isoformat()}.json"


def donor_data(donor: Donor, now: datetime) -> dict[str, Any]:
    """Everything held about ``donor``, as plain JSON values."""
    gifts = list(db.session.scalars(sa.select(Gift).where(Gift.donor_id == donor.id)))
    gift_ids = [gift.id for gift in gifts]
    return {
        "format": FORMAT,
        "exported_at": _when(now),
        "donor": {
            "email": donor.email,
            "name": donor.name,
            "language": donor.locale,
            "since": _when(donor.created_at),
        },
        "gifts": [_gift(gift) for gift in gifts],
        "payments": _rows(
            sa.select(Payment).where(Payment.gift_id.in_(gift_ids)).order_by(Payment.created_at),
            _payment,
        ),
        "disputes": _rows(sa.select(Dispute).where(Dispute.gift_id.in_(gift_ids)), _dispute),
        "failed_renewals": _rows(
            sa.select(RenewalFailure).where(RenewalFailure.gift_id.in_(gift_ids)), _failure
        ),
        "reminders": _rows(sa.select(Reminder).where(Reminder.email == donor.email), _reminder),
        "newsletter": _newsletter(donor.email),
        "emails": _rows(
            sa.select(OutboxEmail)
            .where(OutboxEmail.to == donor.email)
            .order_by(OutboxEmail.created_at),
            _email,
        ),
        "payment_processor_messages": _rows(
            sa.select(StripeEvent)
            .where(StripeEvent.gift_id.in_(gift_ids))
            .order_by(StripeEvent.received_at),
            _event,
        ),
        "audit_trail": _rows(
            sa.select(AuditLog)
            .where(sa.or_(AuditLog.gift_id.in_(gift_ids), AuditLog.donor_id == donor.id))
            .order_by(AuditLog.created_at, AuditLog.id),
            _audit,
        ),
    }


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def record_export(donor: Donor, *, actor: Actor) -> None:
    """Write the download to the audit trail; flushed with the caller's transaction."""
    db.session.add(
        AuditLog(
            actor_kind=actor.kind,
            staff_user_id=actor.staff_user_id,
            donor_id=donor.id,
            action=AuditAction.EXPORT,
            detail="data downloaded as JSON",
        )
    )
    db.session.flush()


def _rows(query, shape) -> list[dict[str, Any]]:
    return [shape(row) for row in db.session.scalars(query)]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _gift(gift: Gift) -> dict[str, Any]:
    return {
        "id": gift.id,
        "amount": gift.amount,
        "currency": gift.currency,
        "frequency": str(gift.frequency),
        "status": str(gift.status),
        "started": _when(gift.created_at),
        "paid": _when(gift.paid_at),
        "cancelled": _when(gift.cancelled_at),
        "current_period_end": _when(gift.current_period_end),
        "ends_at_period_end": gift.cancel_at_period_end,
        "paused_until": _when(gift.paused_until),
        "covered_fee": gift.covered_fee,
        "keep_my_name_private": gift.anonymous,
        "language": gift.locale,
        "came_from": gift.source_url or gift.source,
        "card": {
            "brand": gift.card_brand,
            "last4": gift.card_last4,
            "exp_month": gift.card_exp_month,
            "exp_year": gift.card_exp_year,
        }
        if gift.has_card
        else None,
        "dedication": {
            "kind": str(gift.tribute_kind) if gift.tribute_kind else None,
            "name": gift.tribute_name,
            "message": gift.tribute_message,
            "notify_email": gift.tribute_notify_email,
        }
        if gift.tribute_kind or gift.tribute_name
        else None,
    }


def _payment(payment: Payment) -> dict[str, Any]:
    return {
        "gift_id": payment.gift_id,
        "kind": str(payment.kind),
        "amount": payment.amount,
        "currency": payment.currency,
        "receipt_number": payment.receipt_number,
        "date": _when(payment.created_at),
        "reason": payment.reason,
    }


def _dispute(dispute: Dispute) -> dict[str, Any]:
    return {
        "gift_id": dispute.gift_id,
        "state": str(dispute.state),
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "opened": _when(dispute.opened_at),
        "closed": _when(dispute.closed_at),
    }


def _failure(failure: RenewalFailure) -> dict[str, Any]:
    return {
        "gift_id": failure.gift_id,
        "attempt": failure.attempt,
        "amount": failure.amount,
        "currency": failure.currency,
        "failed": _when(failure.failed_at),
    }


def _reminder(reminder: Reminder) -> dict[str, Any]:
    return {
        "due": _when(reminder.due_at),
        "status": str(reminder.status),
        "frequency": str(reminder.frequency),
        "amount": reminder.amount,
        "currency": reminder.currency,
        "came_from": reminder.source,
        "language": reminder.locale,
        "asked": _when(reminder.created_at),
        "sent": _when(reminder.sent_at),
        "cancelled": _when(reminder.cancelled_at),
        "led_to_a_gift": _when(reminder.converted_at),
    }


def _newsletter(email: str) -> dict[str, Any] | None:
    subscriber = db.session.scalar(
        sa.select(NewsletterSubscriber).where(NewsletterSubscriber.email == email)
    )
    if subscriber is None:
        return None
    handoffs = db.session.scalars(
        sa.select(HandOff).where(HandOff.subscriber_id == subscriber.id).order_by(HandOff.id)
    )
    return {
        "status": str(subscriber.status),
        "language": subscriber.locale,
        "consent_text": subscriber.consent_text,
        "where": subscriber.source,
        "signed_up": _when(subscriber.created_at),
        "confirmed": _when(subscriber.confirmed_at),
        "unsubscribed": _when(subscriber.unsubscribed_at),
        "told_our_email_service": [
            {"event": str(h.event), "status": str(h.status), "sent": _when(h.sent_at)}
            for h in handoffs
        ],
    }


def _email(email: OutboxEmail) -> dict[str, Any]:
    return {
        "email": email.template,
        "status": str(email.status),
        "queued": _when(email.created_at),
        "sent": _when(email.sent_at),
    }


def _event(event: StripeEvent) -> dict[str, Any]:
    return {"type": event.type, "received": _when(event.received_at)}


def _audit(entry: AuditLog) -> dict[str, Any]:
    return {
        "date": _when(entry.created_at),
        "action": str(entry.action),
        "by": str(entry.actor_kind),
        "gift_id": entry.gift_id,
        "amount": entry.amount,
        "currency": entry.currency or None,
        "detail": entry.detail,
    }
