"""Money as the staff area counts it: sums of the ledger's movements, never gift amounts.

Every total in the staff area is a ``Money``: charges (gross), refunds and disputes
(negative, net of reversed refunds and reinstated disputes), Stripe's fees and the net
left after them. A movement whose fee is not known yet (recorded before the ledger read
its balance transaction) adds nothing to the fees and is counted in ``fees_pending``,
so pages can say "fees pending for 3 payments" instead of passing off a gross as a net.

``money_columns`` is the one SQL spelling of those sums; the dashboard, the contributions
list, the monthly summary and the payments export all read movements through it, so their
figures agree to the cent. The payments export's query and the monthly summary are here
too; their CSV text is written by ``csv_export``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from donations.db import db
from donations.enums import PaymentKind
from donations.models import Donor, Gift, Payment

DISPUTE_KINDS = (PaymentKind.DISPUTE, PaymentKind.DISPUTE_REVERSAL)
#: the longest range the export and the summary accept, in years
MAX_RANGE_YEARS = 10


@dataclass
class Money:
    """Sums of movements in one currency, in its minor units."""

    gross: int = 0  #: charges
    refunds: int = 0  #: refunds less refunds reversed (zero or negative)
    disputes: int = 0  #: money withdrawn for disputes less money reinstated
    fees: int = 0  #: Stripe's fees known so far (a returned fee counts negative)
    fees_pending: int = 0  #: movements whose fee is not known yet
    charges: int = 0  #: number of charges

    @property
    def received(self) -> int:
        """What the newsroom kept before fees: the sum of every movement's amount."""
        return self.gross + self.refunds + self.disputes

    @property
    def net(self) -> int:
        """What reached the balance: received less the fees known so far."""
        return self.received - self.fees

    def add(self, other: Money) -> None:
        self.gross += other.gross
        self.refunds += other.refunds
        self.disputes += other.disputes
        self.fees += other.fees
        self.fees_pending += other.fees_pending
        self.charges += other.charges


MONEY_FIELDS = ("gross", "refunds", "disputes", "fees", "fees_pending", "charges")


def money_columns(inside: sa.ColumnElement[bool] | None = None, prefix: str = "") -> list:
    """The aggregates of a ``Money`` over the payment rows matching ``inside`` (all rows
    when None), labelled ``<prefix><field>``; read them back with ``money_from``."""

    def total(value, *conditions):
        where = sa.and_(*conditions, *([inside] if inside is not None else []))
        return sa.func.coalesce(sa.func.sum(sa.case((where, value), else_=0)), 0)

    return [
        total(Payment.amount, Payment.kind == PaymentKind.CHARGE).label(f"{prefix}gross"),
        total(Payment.amount, Payment.kind == PaymentKind.REFUND).label(f"{prefix}refunds"),
        total(Payment.amount, Payment.kind.in_(DISPUTE_KINDS)).label(f"{prefix}disputes"),
        total(Payment.fee, Payment.fee.is_not(None)).label(f"{prefix}fees"),
        total(1, Payment.fee.is_(None)).label(f"{prefix}fees_pending"),
        total(1, Payment.kind == PaymentKind.CHARGE).label(f"{prefix}charges"),
    ]


def money_from(row, prefix: str = "") -> Money:
    """The ``Money`` in a result row of ``money_columns(prefix=prefix)``."""
    return Money(**{name: int(row[f"{prefix}{name}"] or 0) for name in MONEY_FIELDS})


def month_bucket():
    """The UTC calendar month of a payment: a timestamp on PostgreSQL, "YYYY-MM" on SQLite
    (``month_label`` reads either)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("month", Payment.created_at, "UTC")
    return sa.func.strftime("%Y-%m", Payment.created_at)


def month_label(bucket: str | datetime) -> str:
    return bucket if isinstance(bucket, str) else f"{bucket.astimezone(UTC):%Y-%m}"


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the days ``first`` to ``last`` inclusive."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, month=3, day=1)


@dataclass
class MonthlySummary:
    """Per currency: each month's ``Money`` (oldest first) and the range's total."""

    currency: str
    #: (first day of the month, its money)
    months: list[tuple[date, Money]] = field(default_factory=list)
    total: Money = field(default_factory=Money)


def monthly_summary(first: date, last: date) -> list[MonthlySummary]:
    """The movements dated ``first`` to ``last`` (UTC days, inclusive), per currency and
    month; months without a movement are left out."""
    start, end = day_bounds(first, last)
    bucket = month_bucket()
    query = (
        sa.select(Payment.currency, bucket.label("month"), *money_columns())
        .where(Payment.created_at >= start, Payment.created_at < end)
        .group_by(Payment.currency, bucket)
        .order_by(Payment.currency, bucket)
    )
    summaries: dict[str, MonthlySummary] = {}
    for row in db.session.execute(query).mappings():
        summary = summaries.setdefault(row["currency"], MonthlySummary(row["currency"]))
        money = money_from(row)
        label = month_label(row["month"])
        summary.months.append((date(int(label[:4]), int(label[5:7]), 1), money))
        summary.total.add(money)
    return [summaries[currency] for currency in sorted(summaries)]


def movements_query(first: date, last: date, *columns) -> sa.Select:
    """``columns`` of every movement dated ``first`` to ``last`` (UTC days, inclusive),
    with its gift and donor joined, oldest first (the payments CSV)."""
    start, end = day_bounds(first, last)
    return (
        sa.select(*columns)
        .select_from(Payment)
        .join(Gift, Gift.id == Payment.gift_id)
        .join(Donor, Donor.id == Gift.donor_id)
        .where(Payment.created_at >= start, Payment.created_at < end)
        .order_by(Payment.created_at, Payment.id)
    )


def movement_currencies(first: date, last: date) -> list[str]:
    """The currencies of the movements dated ``first`` to ``last`` (an index-only scan on
    PostgreSQL, whose created_at index carries the currency)."""
    start, end = day_bounds(first, last)
    query = (
        sa.select(Payment.currency)
        .where(Payment.created_at >= start, Payment.created_at < end)
        .distinct()
    )
    return sorted(db.session.scalars(query))
