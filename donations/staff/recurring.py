"""What staff see of recurring gifts' lives: the month's renewals that failed, were won
back, were lost or are failing now, and the upsells accepted (the dashboard); one gift's
card, pause, upsell links and dunning story (the gift page).

The month's figures are five small aggregates, each over an indexed slice (this month's
renewal failures, this month's payments, lapsed gifts by ``cancelled_at``, past-due gifts
by status, upsold gifts), cached until a gift changes, a renewal fails or a recovered
payment is recorded. Functions take ``now`` so tests can pin the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from donations.db import db
from donations.enums import GiftStatus
from donations.ledger.rules import receipt_key
from donations.models import Gift, OutboxEmail, Payment, RenewalFailure
from donations.staff.queries import cached, gifts_stamp, is_paused

#: the emails of a renewal that fails, and of a gift that ends, as the gift page names them
DUNNING_EMAILS = {
    "renewal_failed": "“Renewal failed” email",
    "renewal_failed_again": "“Renewal failed again” email",
    "card_expiring": "“Card expiring” email",
    "support_stopped": "“Support stopped” email (Stripe gave up)",
    "gift_cancelled": "“Gift cancelled” email",
}
RECOVERY_RECEIPT = "Receipt for the recovered payment"

#: Stripe's card brands, as a donor would write them
CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "Eftpos Australia",
    "jcb": "JCB",
    "link": "Link",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@dataclass
class Tally:
    count: int = 0
    amount: int = 0  #: minor units


@dataclass
class RecurringMonth:
    """One currency's recurring gifts this month."""

    currency: str
    #: renewals whose first failure is this month, and the amount they were due
    failed: Tally = field(default_factory=Tally)
    #: renewals paid this month after failing (money dunning won back)
    recovered: Tally = field(default_factory=Tally)
    #: gifts Stripe ended for non-payment this month, and their amount per period
    lapsed: Tally = field(default_factory=Tally)
    #: gifts whose renewal is failing now, and their amount per period
    past_due: Tally = field(default_factory=Tally)
    #: recurring gifts started from a one-time gift's thank-you offer, first paid this month
    upsells: Tally = field(default_factory=Tally)


def _failed_renewals(start: datetime, now: datetime) -> sa.Select:
    """Per currency: invoices whose earliest failure falls in [start, now], counted once
    each with the amount due at that failure."""
    earlier = aliased(RenewalFailure)
    first = ~sa.exists().where(
        earlier.stripe_invoice_id == RenewalFailure.stripe_invoice_id,
        sa.tuple_(earlier.failed_at, earlier.attempt)
        < sa.tuple_(RenewalFailure.failed_at, RenewalFailure.attempt),
    )
    return (
        sa.select(RenewalFailure.currency, sa.func.count(), sa.func.sum(RenewalFailure.amount))
        .where(RenewalFailure.failed_at >= start, RenewalFailure.failed_at <= now, first)
        .group_by(RenewalFailure.currency)
    )


def _recovered(start: datetime, now: datetime) -> sa.Select:
    return (
        sa.select(Payment.currency, sa.func.count(), sa.func.sum(Payment.amount))
        .where(Payment.created_at >= start, Payment.created_at <= now, Payment.recovered)
        .group_by(Payment.currency)
    )


def _gifts(*conditions) -> sa.Select:
    return (
        sa.select(Gift.currency, sa.func.count(), sa.func.sum(Gift.amount))
        .where(*conditions)
        .group_by(Gift.currency)
    )


def month_figures(start: datetime, now: datetime) -> list[RecurringMonth]:
    """Per currency, the recurring figures from ``start`` (the month's first) to ``now``."""
    queries = {
        "failed": _failed_renewals(start, now),
        "recovered": _recovered(start, now),
        "lapsed": _gifts(
            Gift.status == GiftStatus.LAPSED, Gift.cancelled_at >= start, Gift.cancelled_at <= now
        ),
        "past_due": _gifts(Gift.status == GiftStatus.PAST_DUE),
        # "> 0" (ids are positive) rather than IS NOT NULL: a range every database's
        # planner serves from ix_gifts_upsell_of_gift_id, so only upsold gifts are read
        "upsells": _gifts(Gift.upsell_of_gift_id > 0, Gift.paid_at >= start, Gift.paid_at <= now),
    }
    result: dict[str, RecurringMonth] = {}
    for name, query in queries.items():
        for currency, count, amount in db.session.execute(query):
            item = result.setdefault(currency, RecurringMonth(currency))
            setattr(item, name, Tally(count, int(amount or 0)))
    return [result[currency] for currency in sorted(result)]


def _newest_id(column) -> int:
    return db.session.scalar(sa.select(sa.func.max(column))) or 0


def _recovered_after(payment_id: int) -> bool:
    """Whether a recovered payment was recorded after row ``payment_id`` (reads only the
    newer rows)."""
    newer = sa.select(Payment.id).where(Payment.id > payment_id, Payment.recovered)
    return db.session.scalar(newer.limit(1)) is not None


def cached_month_figures(start: datetime, now: datetime) -> list[RecurringMonth]:
    """``month_figures``, remembered until a gift changes, a renewal fails or a recovered
    payment is recorded (payments are only ever inserted, recovered or not)."""
    gifts, failures = gifts_stamp(), _newest_id(RenewalFailure.id)

    def is_fresh(stamp: tuple) -> bool:
        old_gifts, old_failures, old_payment = stamp
        return old_gifts == gifts and old_failures == failures and not _recovered_after(old_payment)

    def compute() -> tuple:
        newest_payment = _newest_id(Payment.id)  # before reading, so nothing slips between
        return month_figures(start, now), (gifts, failures, newest_payment)

    return cached(("recurring_month", start), is_fresh, compute)


# --- one gift ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One moment of a gift's dunning story; exactly one of the optional rows is set,
    or none for the end for non-payment."""

    at: datetime
    kind: str  #: "failure", "email", "recovery" or "lapse"
    failure: RenewalFailure | None = None
    email: OutboxEmail | None = None
    title: str = ""  #: for emails: which one
    payment: Payment | None = None


@dataclass
class GiftLife:
    card: str  #: "Visa •••• 4242, expires 04/2027", or "No card on file"
    paused_until: datetime | None  #: set only while the gift is paused
    upsell_of_gift_id: int | None  #: the one-time gift whose offer started this one
    upsold_gift_ids: list[int]  #: gifts started from this gift's offer
    timeline: list[Step]  #: oldest first


def card_label(gift: Gift) -> str:
    """The card on file as a donor would recognise it."""
    if not gift.has_card:
        return "No card on file"
    brand = gift.card_brand or "card"
    label = f"{CARD_BRANDS.get(brand.lower(), brand.replace('_', ' ').capitalize())} •••• "
    label += gift.card_last4 or ""
    if gift.card_exp_month and gift.card_exp_year:
        label += f", expires {gift.card_exp_month:02d}/{gift.card_exp_year}"
    return label


def dunning_timeline(gift: Gift) -> list[Step]:
    """Failures, dunning emails (queued and sent), recoveries and the end for non-payment,
    oldest first."""
    steps = [
        Step(failure.failed_at, "failure", failure=failure)
        for failure in db.session.scalars(
            sa.select(RenewalFailure).where(RenewalFailure.gift_id == gift.id)
        )
    ]
    recovered = list(
        db.session.scalars(sa.select(Payment).where(Payment.gift_id == gift.id, Payment.recovered))
    )
    steps += [Step(payment.created_at, "recovery", payment=payment) for payment in recovered]
    receipts = {receipt_key(payment.stripe_id) for payment in recovered}
    emails = db.session.scalars(
        sa.select(OutboxEmail).where(
            OutboxEmail.gift_id == gift.id,
            sa.or_(OutboxEmail.template.in_(DUNNING_EMAILS), OutboxEmail.dedupe_key.in_(receipts)),
        )
    )
    steps += [
        Step(
            email.created_at,
            "email",
            email=email,
            title=DUNNING_EMAILS.get(email.template, RECOVERY_RECEIPT),
        )
        for email in emails
    ]
    if gift.status == GiftStatus.LAPSED and gift.cancelled_at is not None:
        steps.append(Step(gift.cancelled_at, "lapse"))
    order = {"failure": 0, "recovery": 1, "lapse": 2, "email": 3}
    return sorted(steps, key=lambda step: (step.at, order[step.kind]))


def gift_life(gift: Gift, now: datetime) -> GiftLife:
    """What the gift page shows about a gift's card, pause, upsell and dunning."""
    upsold = db.session.scalars(
        sa.select(Gift.id).where(Gift.upsell_of_gift_id == gift.id).order_by(Gift.id)
    )
    paused = is_paused(gift.status, gift.paused_until, now)
    return GiftLife(
        card=card_label(gift),
        paused_until=gift.paused_until if paused else None,
        upsell_of_gift_id=gift.upsell_of_gift_id,
        upsold_gift_ids=list(upsold),
        timeline=dunning_timeline(gift),
    )
