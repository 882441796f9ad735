"""Emails waiting to be sent, written in the same transaction as the change behind them.

The worker claims ``pending`` rows by setting ``sending`` with ``next_attempt_at`` in the
future (a lease), sends without holding a lock, then marks them ``sent``, or ``pending``
again with a later ``next_attempt_at``, or ``failed`` after too many attempts.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.extensions import db
from donations.models.core import utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting to be sent (at next_attempt_at)
    SENDING = "sending"  #: claimed by a worker until next_attempt_at (the lease)
    SENT = "sent"
    FAILED = "failed"


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (
        sa.Index(
            "ix_outbox_pending_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    #: template name under templates/email/, rendered as .txt and .html when sent
    template: Mapped[str] = mapped_column(sa.String(100))
    #: JSON object passed to the template
    context: Mapped[str] = mapped_column(sa.Text, default="{}")
    #: at most one email per key, e.g. "receipt:in_123", so replays cannot double-send
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
