""" "Remind me later" sign-ups."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.db import db, utcnow
from donations.enums import Frequency, ReminderStatus


class Reminder(db.Model):
    __tablename__ = "reminders"
    __table_args__ = (
        sa.Index("ix_reminders_email", "email"),
        #: the partial indexes follow the class: their predicate names the status column
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: lower-cased
    email: Mapped[str] = mapped_column(sa.String(320))
    due_at: Mapped[datetime]
    #: "YYYY-MM" of due_at, for the one-per-month rule
    due_month: Mapped[str] = mapped_column(sa.String(7))
    status: Mapped[ReminderStatus] = mapped_column(default=ReminderStatus.SCHEDULED)
    #: unguessable reference carried in the reminder's links
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    frequency: Mapped[Frequency] = mapped_column(default=Frequency.ONCE)
    #: minor units, or None when the reader had not chosen one
    amount: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    source: Mapped[str] = mapped_column(sa.String(1000), default="")
    locale: Mapped[str] = mapped_column(sa.String(16), default="en")
    #: sending attempts that failed or are in flight
    attempts: Mapped[int] = mapped_column(default=0)
    #: when a worker may (re)try: due_at at first, later a retry time or a lease's end
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]


#: not sent yet: waiting, or leased by a worker (which may have died)
AWAITING_SEND = Reminder.status.in_((ReminderStatus.SCHEDULED, ReminderStatus.SENDING))

sa.Index(
    "ix_reminders_scheduled_due",
    Reminder.next_attempt_at,
    postgresql_where=AWAITING_SEND,
    sqlite_where=AWAITING_SEND,
)
#: one pending reminder per email and due month
sa.Index(
    "uq_reminders_pending_email_month",
    Reminder.email,
    Reminder.due_month,
    unique=True,
    postgresql_where=AWAITING_SEND,
    sqlite_where=AWAITING_SEND,
)
