"""The project's own vocabulary: every column or argument with a fixed set of values.

Defined once here, without imports, so models, the payment boundary and features share
one spelling. Values are what the database stores (the enum type map in ``db.py``).
"""

from __future__ import annotations

import enum


class Frequency(enum.StrEnum):
    ONCE = "once"
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def is_recurring(self) -> bool:
        return self is not Frequency.ONCE


RECURRING_FREQUENCIES = (Frequency.MONTHLY, Frequency.ANNUAL)


class GiftStatus(enum.StrEnum):
    PENDING = "pending"  #: checkout started, not paid yet
    PAID = "paid"  #: one-time gift paid
    ACTIVE = "active"  #: recurring gift paid and renewing
    PAST_DUE = "past_due"  #: a renewal failed; Stripe retries
    CANCELLED = "cancelled"  #: recurring gift ended
    ABANDONED = "abandoned"  #: checkout expired unpaid
    FAILED = "failed"  #: payment failed
    REFUNDED = "refunded"  #: one-time gift fully refunded
    LAPSED = "lapsed"  #: recurring gift ended for non-payment: Stripe stopped retrying


#: recurring gifts still renewing (MRR, cancellable)
RUNNING_STATUSES = (GiftStatus.ACTIVE, GiftStatus.PAST_DUE)
#: the reader gave: paid once, or recurring and running
GAVE_STATUSES = (GiftStatus.PAID, GiftStatus.ACTIVE, GiftStatus.PAST_DUE)
#: recurring gifts that have ended, whoever ended them
ENDED_STATUSES = (GiftStatus.CANCELLED, GiftStatus.LAPSED)
#: no money yet: a first payment moves a gift out of these
UNPAID_STATUSES = (GiftStatus.PENDING, GiftStatus.ABANDONED, GiftStatus.FAILED)


class Collection(enum.StrEnum):
    """How a running recurring gift is being collected (the staff list's filter)."""

    PAST_DUE = "past_due"  #: a renewal failed and Stripe is retrying
    PAUSED = "paused"  #: the donor paused it until a date still ahead


class PaymentKind(enum.StrEnum):
    """A money movement in the ledger; the sign of its amount is the direction."""

    CHARGE = "charge"  #: money in from the donor
    REFUND = "refund"  #: money back to the donor (negative)
    DISPUTE = "dispute"  #: money the bank withdrew for a dispute (negative)
    DISPUTE_REVERSAL = "dispute_reversal"  #: money reinstated after a dispute was won


class TributeKind(enum.StrEnum):
    """A gift dedicated to someone."""

    HONOUR = "honour"  #: in honour of
    MEMORY = "memory"  #: in memory of


class DisputeState(enum.StrEnum):
    """Where a dispute stands, as the ledger keeps it."""

    OPEN = "open"  #: needs a response or is under review
    WON = "won"  #: the money came back
    LOST = "lost"  #: the money stays with the cardholder
    CLOSED = "closed"  #: an inquiry that ended without a dispute: no money moved


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting to be sent (at next_attempt_at)
    SENDING = "sending"  #: claimed by a worker until next_attempt_at (the lease)
    SENT = "sent"
    FAILED = "failed"


class ReminderStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  #: waiting for due_at (or for a retry at next_attempt_at)
    SENDING = "sending"  #: claimed by a worker until next_attempt_at (the lease)
    SENT = "sent"
    CANCELLED = "cancelled"
    CONVERTED = "converted"
    FAILED = "failed"


class StaffRole(enum.StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


class AuditAction(enum.StrEnum):
    """What an audit entry records was done to a gift."""

    REFUND = "refund"
    CANCEL = "cancel"
    CANCEL_AT_PERIOD_END = "cancel_at_period_end"
    RESEND_RECEIPT = "resend_receipt"
    RESUME = "resume"  #: a pause ended early, or a cancellation at period end withdrawn
    PAUSE = "pause"
    CHANGE_AMOUNT = "change_amount"
    UPDATE_CARD = "update_card"
    LAPSE = "lapse"  #: Stripe ended the gift for non-payment
    STATEMENT = "statement"  #: an annual statement was downloaded or sent
    EXPORT = "export"  #: a donor's data was exported (by the donor or staff)
    ERASE = "erase"  #: a donor's personal data was erased (tombstoned)


class ActorKind(enum.StrEnum):
    """Who did what an audit entry records."""

    STAFF = "staff"  #: a signed-in staff user (``staff_user_id``)
    DONOR = "donor"  #: a donor through their own signed link (``donor_id``)
    STRIPE = "stripe"  #: a fact Stripe reported
    SYSTEM = "system"  #: the platform itself (CLI, worker)


class BlockReason(enum.StrEnum):
    """Why starting a gift was refused (card-testing defence), as the dashboard counts it."""

    IP = "ip"  #: too many starts from one address
    NETWORK = "network"  #: too many starts from one /24 (IPv4) or /64 (IPv6)
    EMAIL = "email"  #: too many starts for one email address
    DOMAIN = "domain"  #: too many starts for one email domain
    CEILING = "ceiling"  #: the platform-wide ceiling of Checkout sessions
    CHALLENGE = "challenge"  #: the alarm is on and no valid proof-of-work came with it


class GoalKind(enum.StrEnum):
    """What a campaign's goal counts."""

    AMOUNT = "amount"  #: money raised, in the goal's currency
    DONORS = "donors"  #: new recurring donors


class SubscriberStatus(enum.StrEnum):
    """A newsletter subscriber's state (double opt-in)."""

    PENDING = "pending"  #: signed up, confirmation link not clicked yet
    CONFIRMED = "confirmed"  #: clicked the link: subscribed
    UNSUBSCRIBED = "unsubscribed"


class HandOffEvent(enum.StrEnum):
    """A fact handed to the newsroom's email service by a signed HTTP POST."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
