"""Donors, gifts, the payment ledger and the webhook inbox.

Money is always an integer amount in the currency's minor units beside an ISO 4217 code.
Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from donations.db import db, enum_type, utcnow
from donations.enums import (
    RECURRING_FREQUENCIES,
    RUNNING_STATUSES,
    DisputeState,
    Frequency,
    GiftStatus,
    PaymentKind,
    TributeKind,
)


class Donor(db.Model):
    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness is case-insensitive
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    locale: Mapped[str] = mapped_column(sa.String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when the donor's personal data was replaced by a tombstone (erasure)
    erased_at: Mapped[datetime | None]

    gifts: Mapped[list[Gift]] = relationship(back_populates="donor", order_by="Gift.id")


class Gift(db.Model):
    """What a reader chose to give, and where it stands now."""

    __tablename__ = "gifts"
    __table_args__ = (
        sa.Index("ix_gifts_created_id", "created_at", "id"),
        sa.Index("ix_gifts_status_frequency", "status", "frequency"),
        #: staff list pages sorted by amount (keyset)
        sa.Index("ix_gifts_amount_id", "amount", "id"),
        #: churn: recurring gifts cancelled this month
        sa.Index("ix_gifts_cancelled_at", "cancelled_at"),
        #: the staff caches' freshness stamp, max(updated_at), in one index lookup
        sa.Index("ix_gifts_updated_at", "updated_at"),
        #: ix_gifts_recurring_running follows the class: its predicate names the columns
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(sa.ForeignKey("donors.id"), index=True)
    amount: Mapped[int]  #: minor units per period
    currency: Mapped[str] = mapped_column(sa.String(3))
    frequency: Mapped[Frequency]
    status: Mapped[GiftStatus] = mapped_column(
        enum_type(GiftStatus, length=16), default=GiftStatus.PENDING
    )
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    #: where the reader came from: "support", "appeal", "reminder"
    source: Mapped[str] = mapped_column(sa.String(32), default="support")
    source_url: Mapped[str] = mapped_column(sa.String(1000), default="")
    reminder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reminders.id"), index=True)
    disputed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None]
    #: Stripe's timestamp of the newest subscription state applied, so late events lose
    stripe_state_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: collection paused until then (Stripe's ``pause_collection.resumes_at``)
    paused_until: Mapped[datetime | None]
    #: the card on file, as much as a donor needs to recognise it and nothing more
    card_brand: Mapped[str | None] = mapped_column(sa.String(20))
    card_last4: Mapped[str | None] = mapped_column(sa.String(4))
    card_exp_month: Mapped[int | None]
    card_exp_year: Mapped[int | None]
    #: Stripe's time of the charge or saved card the card fields come from, so older lose
    card_as_of: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: the one-time gift whose thank-you page offered this monthly gift
    upsell_of_gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    #: the part of ``amount`` the donor added to cover card fees (``amount`` is the total)
    covered_fee: Mapped[int] = mapped_column(default=0, server_default="0")
    #: a dedication: "in honour of" or "in memory of" a name, maybe told by email
    tribute_kind: Mapped[TributeKind | None] = mapped_column(enum_type(TributeKind, length=10))
    tribute_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    tribute_message: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    tribute_notify_email: Mapped[str] = mapped_column(sa.String(320), default="", server_default="")
    #: "keep my name private": never named in a published list of supporters
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: the reader's language when they gave: every later email about the gift uses it
    locale: Mapped[str] = mapped_column(sa.String(16), default="en", server_default="en")
    #: the appeal the reader answered, and the A/B variant they were shown
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaign_variants.id"), index=True
    )
    #: when a card was declined in this gift's Checkout (the card-testing alarm counts these)
    declined_at: Mapped[datetime | None]

    donor: Mapped[Donor] = relationship(back_populates="gifts")
    payments: Mapped[list[Payment]] = relationship(back_populates="gift", order_by="Payment.id")
    renewal_failures: Mapped[list[RenewalFailure]] = relationship(
        back_populates="gift", order_by="RenewalFailure.id"
    )

    @property
    def is_recurring(self) -> bool:
        return Frequency(self.frequency).is_recurring

    @property
    def has_card(self) -> bool:
        return self.card_last4 is not None


#: recurring gifts still renewing: what MRR, ARR and active recurring donors count
RUNNING_RECURRING = Gift.status.in_(RUNNING_STATUSES) & Gift.frequency.in_(RECURRING_FREQUENCIES)

#: MRR/ARR and active recurring donors as an index-only scan
sa.Index(
    "ix_gifts_recurring_running",
    Gift.frequency,
    Gift.currency,
    Gift.amount,
    Gift.donor_id,
    postgresql_where=RUNNING_RECURRING,
    sqlite_where=RUNNING_RECURRING,
)

#: the staff list's "paused" filter: the few gifts with a pause, not every gift
PAUSED = Gift.paused_until.is_not(None)
sa.Index("ix_gifts_paused_until", Gift.paused_until, postgresql_where=PAUSED, sqlite_where=PAUSED)


class Payment(db.Model):
    """One money movement Stripe reported: a charge (positive) or a refund (negative).

    ``stripe_id`` is unique (the PaymentIntent or invoice for charges, the refund for
    refunds), so a replayed event can never count twice; ``SUM(amount)`` is the net.
    """

    __tablename__ = "payments"
    __table_args__ = (
        #: the dashboard's period sums (per currency and kind, with fees) from the index alone
        sa.Index(
            "ix_payments_created_cover",
            "created_at",
            postgresql_include=["currency", "amount", "kind", "fee"],
        ),
        sa.Index("ix_payments_gift", "gift_id"),
        #: refunds of a charge: what remains refundable
        sa.Index("ix_payments_refunded", "refunded_payment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_id: Mapped[int] = mapped_column(sa.ForeignKey("gifts.id"))
    kind: Mapped[PaymentKind] = mapped_column(
        enum_type(PaymentKind, length=20), default=PaymentKind.CHARGE
    )
    amount: Mapped[int]  #: minor units; negative for refunds
    currency: Mapped[str] = mapped_column(sa.String(3))
    stripe_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(sa.String(255))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    #: for refunds: the charge row this refund reduces
    refunded_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    reason: Mapped[str] = mapped_column(sa.String(64), default="")
    disputed: Mapped[bool] = mapped_column(default=False)
    #: a renewal paid after it had failed: money dunning won back
    recovered: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Stripe's fee for this movement (positive, minor units; a refund's or dispute's own
    #: fee, or a fee returned as negative) and the net effect on the balance; None until
    #: the balance transaction is read
    fee: Mapped[int | None]
    net: Mapped[int | None]
    stripe_balance_transaction_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: charges only: "<year>-<number>", unique and gap-free per calendar year
    receipt_number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    #: when the money moved, per Stripe
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    gift: Mapped[Gift] = relationship(back_populates="payments")


class Dispute(db.Model):
    """A cardholder's dispute of a charge, as it stands now; its money movements (the
    withdrawal and, if won, the reinstatement) are ``Payment`` rows of their own."""

    __tablename__ = "disputes"
    __table_args__ = (sa.Index("ix_disputes_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    gift_id: Mapped[int] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    state: Mapped[DisputeState] = mapped_column(enum_type(DisputeState, length=10))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3))
    reason: Mapped[str] = mapped_column(sa.String(64), default="")
    #: when the newsroom must have answered the bank
    respond_by: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    #: Stripe's time of the newest dispute state applied, so a late event loses
    stripe_state_at: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ReceiptCounter(db.Model):
    """The last receipt number given in a year. Taking the next one updates this row in
    the payment's own transaction, so numbers are gap-free: a rolled-back payment gives
    its number back, and concurrent payments queue on the row lock."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class RenewalFailure(db.Model):
    """One failed attempt to collect a renewal invoice, as Stripe reported it.

    Unique per invoice and attempt, so a repeated event records nothing more; the staff
    gift page's dunning timeline and the month's failed-renewal figures read these.
    """

    __tablename__ = "renewal_failures"
    __table_args__ = (
        sa.UniqueConstraint("stripe_invoice_id", "attempt"),
        sa.Index("ix_renewal_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_id: Mapped[int] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    stripe_invoice_id: Mapped[str] = mapped_column(sa.String(255))
    #: Stripe's attempt count for the invoice: 1 for the renewal, more for retries
    attempt: Mapped[int]
    amount: Mapped[int]  #: minor units due
    currency: Mapped[str] = mapped_column(sa.String(3))
    failed_at: Mapped[datetime]
    #: when Stripe will try again; None when it will not
    next_attempt_at: Mapped[datetime | None]

    gift: Mapped[Gift] = relationship(back_populates="renewal_failures")


class DailyRun(db.Model):
    """A daily job that has run (or is running) for a day: the insert is the claim, so
    however many workers start, each job runs once a day."""

    __tablename__ = "daily_runs"
    __table_args__ = (sa.UniqueConstraint("job", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    day: Mapped[date]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefusedEvent(db.Model):
    """A webhook refused because Stripe sent it in an API version the gateway does not
    read: kept (without its body) so the staff dashboard can warn and say how to fix it."""

    __tablename__ = "refused_events"
    __table_args__ = (sa.Index("ix_refused_events_received", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    api_version: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(db.Model):
    """The webhook inbox: each event stored once, before it is applied."""

    __tablename__ = "stripe_events"
    __table_args__ = (sa.Index("ix_stripe_events_received", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    object_id: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    livemode: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str] = mapped_column(sa.Text)
    stripe_created: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    #: the gift the event is about; written when the event is stored and checked at commit
    #: (deferred), so storing it takes no lock on the gift before the handler locks it
    gift_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("gifts.id", deferrable=True, initially="DEFERRED"), index=True
    )
