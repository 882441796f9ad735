"""Newsletter subscribers (double opt-in, with the consent they gave) and the signed
hand-offs of their confirmations and unsubscriptions to the newsroom's email service."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.db import db, enum_type, utcnow
from donations.enums import HandOffEvent, OutboxStatus, SubscriberStatus


class NewsletterSubscriber(db.Model):
    __tablename__ = "newsletter_subscribers"
    __table_args__ = (sa.Index("ix_newsletter_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: lower-cased
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    status: Mapped[SubscriberStatus] = mapped_column(
        enum_type(SubscriberStatus, length=16), default=SubscriberStatus.PENDING
    )
    locale: Mapped[str] = mapped_column(sa.String(16), default="en")
    #: the consent record: the words shown beside the box, where, and when it was given
    consent_text: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the last confirmation email queued (at most one a day)
    confirmation_sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class HandOff(db.Model):
    """A signed HTTP POST to the newsroom's email service, sent by the worker like an
    email from the outbox: leased, retried with back-off, ``failed`` after too many tries."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[HandOffEvent] = mapped_column(enum_type(HandOffEvent, length=16))
    #: JSON body to POST
    payload: Mapped[str] = mapped_column(sa.Text)
    #: at most one hand-off per fact, e.g. "subscribed:42:<confirmed_at>"
    dedupe_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("newsletter_subscribers.id"), index=True
    )
    status: Mapped[OutboxStatus] = mapped_column(default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


#: not sent yet: waiting, or leased by a worker (which may have died)
AWAITING_SEND = HandOff.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))

sa.Index(
    "ix_handoffs_pending_due",
    HandOff.next_attempt_at,
    postgresql_where=AWAITING_SEND,
    sqlite_where=AWAITING_SEND,
)
