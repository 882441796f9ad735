""" "Remind me later" sign-ups."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.extensions import db
from donations.models.core import utcnow


class ReminderStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  #: waiting for due_at (or for a retry at next_attempt_at)
    SENDING = "sending"  #: claimed by a worker until next_attempt_at (the lease)
    SENT = "sent"
    CANCELLED = "cancelled"
    CONVERTED = "converted"
    FAILED = "failed"


class Reminder(db.Model):
    __tablename__ = "reminders"
    __table_args__ = (
        sa.Index(
            "ix_reminders_scheduled_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('scheduled', 'sending')"),
            sqlite_where=sa.text("status IN ('scheduled', 'sending')"),
        ),
        #: one pending reminder per email and due month
        sa.Index(
            "uq_reminders_pending_email_month",
            "email",
            "due_month",
            unique=True,
            postgresql_where=sa.text("status IN ('scheduled', 'sending')"),
            sqlite_where=sa.text("status IN ('scheduled', 'sending')"),
        ),
        sa.Index("ix_reminders_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: lower-cased
    email: Mapped[str] = mapped_column(sa.String(320))
    due_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    #: "YYYY-MM" of due_at, for the one-per-month rule
    due_month: Mapped[str] = mapped_column(sa.String(7))
    status: Mapped[str] = mapped_column(sa.String(10), default=ReminderStatus.SCHEDULED)
    #: unguessable reference carried in the reminder's links
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    frequency: Mapped[str] = mapped_column(sa.String(10), default="once")
    #: minor units, or None when the reader had not chosen one
    amount: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    source: Mapped[str] = mapped_column(sa.String(1000), default="")
    locale: Mapped[str] = mapped_column(sa.String(16), default="en")
    #: sending attempts that failed or are in flight
    attempts: Mapped[int] = mapped_column(default=0)
    #: when a worker may (re)try: due_at at first, later a retry time or a lease's end
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
