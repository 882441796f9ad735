"""Emails waiting to be sent, written in the same transaction as the change behind them.

The worker claims ``pending`` rows by setting ``sending`` with ``next_attempt_at`` in the
future (a lease), sends without holding a lock, then marks them ``sent``, or ``pending``
again with a later ``next_attempt_at``, or ``failed`` after too many attempts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.db import db, utcnow
from donations.enums import OutboxStatus


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    #: template name under templates/email/, rendered as .txt and .html when sent
    template: Mapped[str] = mapped_column(sa.String(100))
    #: JSON object passed to the template
    context: Mapped[str] = mapped_column(sa.Text, default="{}")
    #: at most one email per key, e.g. "receipt:in_123", so replays cannot double-send
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


#: not sent yet: waiting, or leased by a worker (which may have died)
AWAITING_SEND = OutboxEmail.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))

sa.Index(
    "ix_outbox_pending_due",
    OutboxEmail.next_attempt_at,
    postgresql_where=AWAITING_SEND,
    sqlite_where=AWAITING_SEND,
)
