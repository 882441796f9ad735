"""Reminder figures for the staff dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from donations.db import db
from donations.enums import ReminderStatus
from donations.models import Reminder
from donations.remind.services import PENDING


def reminder_figures(now: datetime) -> dict[str, int | float]:
    """Counts for the staff dashboard.

    ``scheduled`` (not sent yet), ``due_next_7_days``, ``sent``, ``converted`` (gave from
    the email or before it was due), ``cancelled``, ``failed``, and ``conversion_rate`` =
    converted / (sent + converted), 0.0 when nothing has been sent or converted.
    """
    counts = dict(
        db.session.execute(
            sa.select(Reminder.status, sa.func.count()).group_by(Reminder.status)
        ).all()
    )
    due_soon = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Reminder)
        .where(Reminder.status.in_(PENDING), Reminder.due_at < now + timedelta(days=7))
    )
    scheduled = counts.get(ReminderStatus.SCHEDULED, 0) + counts.get(ReminderStatus.SENDING, 0)
    sent = counts.get(ReminderStatus.SENT, 0)
    converted = counts.get(ReminderStatus.CONVERTED, 0)
    decided = sent + converted
    return {
        "scheduled": scheduled,
        "due_next_7_days": due_soon or 0,
        "sent": sent,
        "converted": converted,
        "cancelled": counts.get(ReminderStatus.CANCELLED, 0),
        "failed": counts.get(ReminderStatus.FAILED, 0),
        "conversion_rate": round(converted / decided, 4) if decided else 0.0,
    }
