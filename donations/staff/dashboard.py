"""The dashboard's figures: money received per period, MRR/ARR, churn, open disputes,
unpaid checkouts, recent gifts, reminders, and the 12-month chart drawn as inline SVG on
the server (no script, no CDN); the month's failed, recovered and lost renewals and
upsells are in ``recurring``.

Money is always sums of the ledger's movements (``accounting.Money``: gross, refunds,
disputes, fees, net), never the amount of a gift: a pending or abandoned checkout is
counted apart, as a number of gifts. Speed with a million payments comes from asking
small questions: the periods up to 30 days and the current month are one range scan over
recent payments; the eleven completed months of the chart (and of "this year") are one
scan that is cached per app and thrown away as soon as a payment dated in one of those
months is recorded (a cheap look at the rows newer than the cache), so a late refund for
an old month is never missed. Recurring figures (MRR, donors, churn) and the unpaid
checkouts read the gifts table and are cached until any gift changes; open disputes are
read each time through their state index (there are few), and so are the card-testing
alarm and the starts it refused in the last 24 hours (``donations.defence.queries``: two
range scans of small indexes). Every function takes ``now`` so tests can pin the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from donations.db import db
from donations.defence import queries as defence
from donations.enums import (
    ENDED_STATUSES,
    RECURRING_FREQUENCIES,
    RUNNING_STATUSES,
    UNPAID_STATUSES,
    BlockReason,
    DisputeState,
    Frequency,
)
from donations.models import RUNNING_RECURRING, Dispute, Donor, Gift, Payment
from donations.money import format_money
from donations.remind.queries import reminder_figures
from donations.staff.accounting import Money, money_columns, money_from, month_bucket, month_label
from donations.staff.queries import cached, cached_by_gifts
from donations.staff.recurring import RecurringMonth, cached_month_figures
from donations.webhooks.refused import RefusedVersions, recent_refusals

#: recurring gifts that got going: running, or ended since (cancelled or lapsed)
STARTED = (*RUNNING_STATUSES, *ENDED_STATUSES)
PERIODS = ("today", "7d", "30d", "month", "year")
PERIOD_LABELS = {
    "today": "Today",
    "7d": "7 days",
    "30d": "30 days",
    "month": "This month",
    "year": "This year",
}
#: how many open disputes the dashboard names, nearest deadline first
OPEN_DISPUTES_SHOWN = 5


@dataclass
class CurrencyFigures:
    currency: str
    periods: dict[str, Money] = field(default_factory=lambda: {p: Money() for p in PERIODS})
    #: (first day of month, money) for the last 12 months, oldest first
    months: list[tuple[datetime, Money]] = field(default_factory=list)
    mrr: int = 0
    arr: int = 0
    recurring_gifts: int = 0


@dataclass
class OpenDisputes:
    """Disputes waiting for the bank's decision: how many, and the nearest ones."""

    count: int = 0
    nearest: list[Dispute] = field(default_factory=list)

    @property
    def respond_by(self) -> datetime | None:
        """The nearest response deadline, if Stripe gave one."""
        deadlines = [d.respond_by for d in self.nearest if d.respond_by is not None]
        return min(deadlines, default=None)


@dataclass
class Dashboard:
    now: datetime
    currencies: list[CurrencyFigures]
    active_recurring_donors: int
    new_recurring: int
    cancelled_recurring: int
    active_at_month_start: int
    recent_gifts: list
    reminders: dict
    #: failed, recovered, lost and upsold recurring gifts this month, per currency
    recurring_month: list[RecurringMonth]
    open_disputes: OpenDisputes = field(default_factory=OpenDisputes)
    #: checkouts started this month and not paid, by status (never in the money)
    unpaid: dict[str, int] = field(default_factory=dict)
    #: webhook events refused for their API version in the last 7 days (a warning)
    refused_events: RefusedVersions = field(default_factory=RefusedVersions)
    #: the card-testing alarm now, and the starts refused in the last 24 hours by reason
    alarm: defence.Alarm | None = None
    blocked: dict[BlockReason, int] = field(default_factory=dict)

    @property
    def churn_rate(self) -> float | None:
        """Recurring gifts cancelled this month / those running when it began."""
        if not self.active_at_month_start:
            return None
        return self.cancelled_recurring / self.active_at_month_start


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    """Midnight on the first of the month ``months_back`` before ``moment``'s month."""
    index = moment.year * 12 + moment.month - 1 - months_back
    return moment.replace(
        year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )


def _range_sums(starts: dict[str, datetime], end: datetime, low: datetime) -> dict:
    """``Money`` per currency for each named [start, end) slice of payments, in one scan
    of the payments dated from ``low``."""
    columns = [Payment.currency]
    for name, start in starts.items():
        inside = sa.and_(Payment.created_at >= start, Payment.created_at < end)
        columns += money_columns(inside, prefix=f"{name}_")
    query = (
        sa.select(*columns)
        .where(Payment.created_at >= low, Payment.created_at < end)
        .group_by(Payment.currency)
    )
    return {
        row["currency"]: {name: money_from(row, f"{name}_") for name in starts}
        for row in db.session.execute(query).mappings()
    }


def _month_sums(months: dict[str, datetime], end: datetime) -> dict:
    """``Money`` per currency and calendar month (UTC), from the first of ``months`` up to
    ``end``: one GROUP BY, keyed like ``months``."""
    bucket = month_bucket()
    query = (
        sa.select(Payment.currency, bucket.label("month"), *money_columns())
        .where(Payment.created_at >= min(months.values()), Payment.created_at < end)
        .group_by(Payment.currency, bucket)
    )
    names = {f"{start:%Y-%m}": name for name, start in months.items()}
    result: dict[str, dict[str, Money]] = {}
    for row in db.session.execute(query).mappings():
        label = month_label(row["month"])
        if label in names:
            result.setdefault(row["currency"], {})[names[label]] = money_from(row)
    return result


def _payments_before(moment: datetime, *, after_id: int) -> bool:
    """Whether a payment dated before ``moment`` was recorded after row ``after_id``.

    Payment rows are never edited (refunds are new rows), so this is the only way a
    completed month's totals can change; it reads just the rows newer than the cache.
    """
    newer = sa.select(Payment.id).where(Payment.id > after_id, Payment.created_at < moment)
    return db.session.scalar(newer.limit(1)) is not None


def payment_totals(now: datetime) -> dict[str, CurrencyFigures]:
    """Per currency: the five period totals and the 12-month series, up to ``now``."""
    this_month = month_start(now)
    end = now + timedelta(microseconds=1)
    live = {
        "today": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "7d": now - timedelta(days=7),
        "30d": now - timedelta(days=30),
        "month": this_month,
    }
    recent = _range_sums(live, end, min(live.values()))

    months = {f"m{back}": month_start(now, back) for back in range(11, 0, -1)}
    past = cached(
        ("months", this_month),
        lambda newest: not _payments_before(this_month, after_id=newest),
        lambda: (
            _month_sums(months, this_month),
            db.session.scalar(sa.select(sa.func.max(Payment.id))) or 0,
        ),
    )

    figures: dict[str, CurrencyFigures] = {}
    for currency in sorted(set(recent) | set(past)):
        item = figures[currency] = CurrencyFigures(currency)
        item.periods.update(recent.get(currency, {}))
        item.periods["year"] = Money()
        item.periods["year"].add(item.periods["month"])
        for key, start in months.items():
            total = past.get(currency, {}).get(key, Money())
            item.months.append((start, total))
            if start.year == now.year:
                item.periods["year"].add(total)
        item.months.append((this_month, item.periods["month"]))
    return figures


def recurring_revenue(figures: dict[str, CurrencyFigures]) -> int:
    """Fill MRR/ARR per currency from running recurring gifts; return their donor count.

    MRR = monthly amounts + annual amounts / 12; ARR = 12 × monthly + annual.
    """
    running = RUNNING_RECURRING
    monthly = sa.func.sum(sa.case((Gift.frequency == Frequency.MONTHLY, Gift.amount), else_=0))
    annual = sa.func.sum(sa.case((Gift.frequency == Frequency.ANNUAL, Gift.amount), else_=0))
    query = (
        sa.select(Gift.currency, monthly, annual, sa.func.count())
        .where(running)
        .group_by(Gift.currency)
    )
    for currency, month_sum, year_sum, count in db.session.execute(query):
        item = figures.setdefault(currency, CurrencyFigures(currency))
        # annual/12 rounded half up, in integers: money never goes through a float
        item.mrr = int(month_sum or 0) + (int(year_sum or 0) * 2 + 12) // 24
        item.arr = int(month_sum or 0) * 12 + int(year_sum or 0)
        item.recurring_gifts = count
    donors = sa.select(sa.func.count(sa.distinct(Gift.donor_id))).where(running)
    return db.session.scalar(donors) or 0


def churn(now: datetime) -> tuple[int, int, int]:
    """(new, cancelled, running at the start) recurring gifts for the current month."""
    start = month_start(now)
    recurring = Gift.frequency.in_(RECURRING_FREQUENCIES)
    new = sa.select(sa.func.count()).where(
        recurring, Gift.status.in_(STARTED), Gift.created_at >= start, Gift.created_at <= now
    )
    cancelled = sa.select(sa.func.count()).where(
        recurring, Gift.cancelled_at >= start, Gift.cancelled_at <= now
    )
    at_start = sa.select(sa.func.count()).where(
        recurring,
        Gift.status.in_(STARTED),
        Gift.created_at < start,
        sa.or_(Gift.cancelled_at.is_(None), Gift.cancelled_at >= start),
    )
    return (
        db.session.scalar(new) or 0,
        db.session.scalar(cancelled) or 0,
        db.session.scalar(at_start) or 0,
    )


def _recurring_figures(now: datetime) -> tuple[dict, int, tuple[int, int, int]]:
    scratch: dict[str, CurrencyFigures] = {}
    donors = recurring_revenue(scratch)
    per_currency = {c: (f.mrr, f.arr, f.recurring_gifts) for c, f in scratch.items()}
    return per_currency, donors, churn(now)


def recent_gifts(limit: int = 10) -> list:
    """The newest gifts that got past checkout, with their donor."""
    query = (
        sa.select(Gift, Donor.email, Donor.name)
        .join(Donor, Donor.id == Gift.donor_id)
        .where(Gift.status.not_in(UNPAID_STATUSES))
        .order_by(Gift.created_at.desc(), Gift.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query))


def open_disputes(limit: int = OPEN_DISPUTES_SHOWN) -> OpenDisputes:
    """Disputes still open, the nearest response deadlines first."""
    is_open = Dispute.state == DisputeState.OPEN
    count = db.session.scalar(sa.select(sa.func.count()).where(is_open)) or 0
    if not count:
        return OpenDisputes()
    nearest = db.session.scalars(
        sa.select(Dispute)
        .where(is_open)
        .order_by(Dispute.respond_by.is_(None), Dispute.respond_by, Dispute.id)
        .limit(limit)
    )
    return OpenDisputes(count, list(nearest))


def unpaid_checkouts(now: datetime) -> dict[str, int]:
    """Gifts started this month and not paid (pending, abandoned, failed), by status."""
    query = (
        sa.select(Gift.status, sa.func.count())
        .where(
            Gift.status.in_(UNPAID_STATUSES),
            Gift.created_at >= month_start(now),
            Gift.created_at <= now,
        )
        .group_by(Gift.status)
    )
    counts = dict(db.session.execute(query).all())
    return {str(status): counts.get(status, 0) for status in UNPAID_STATUSES}


def figures(now: datetime) -> Dashboard:
    """Everything the dashboard shows, as of ``now``."""
    by_currency = payment_totals(now)
    recurring, donors, (new, cancelled, at_start) = cached_by_gifts(
        ("recurring", month_start(now)), lambda: _recurring_figures(now)
    )
    for currency, (mrr, arr, count) in recurring.items():
        item = by_currency.setdefault(currency, CurrencyFigures(currency))
        item.mrr, item.arr, item.recurring_gifts = mrr, arr, count
    for item in by_currency.values():
        if not item.months:
            item.months = [(month_start(now, back), Money()) for back in range(11, -1, -1)]
    return Dashboard(
        now=now,
        currencies=[by_currency[c] for c in sorted(by_currency)],
        active_recurring_donors=donors,
        new_recurring=new,
        cancelled_recurring=cancelled,
        active_at_month_start=at_start,
        recent_gifts=recent_gifts(),
        reminders=reminder_figures(now),
        recurring_month=cached_month_figures(month_start(now), now),
        open_disputes=open_disputes(),
        unpaid=cached_by_gifts(
            ("unpaid-checkouts", month_start(now)), lambda: unpaid_checkouts(now)
        ),
        refused_events=recent_refusals(now),
        alarm=defence.alarm(now),
        blocked=defence.blocked_counts(now),
    )


#: the chart's SVG viewBox and bar spacing
CHART_WIDTH = 480
CHART_HEIGHT = 160
LABEL_SPACE = 18
GAP = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  #: month abbreviation under the bar
    title: str  #: hover text with the exact figure
    negative: bool


def chart_bars(months: list[tuple[datetime, Money]], currency: str) -> list[Bar]:
    """Bar geometry for each month's net, scaled to the largest absolute value."""
    if not months:
        return []
    plot = CHART_HEIGHT - LABEL_SPACE
    peak = max((abs(total.net) for _, total in months), default=0) or 1
    width = CHART_WIDTH / len(months)
    result = []
    for index, (start, total) in enumerate(months):
        height = max(plot * abs(total.net) / peak, 1 if total.net else 0)
        result.append(
            Bar(
                x=round(index * width + GAP / 2, 1),
                y=round(plot - height, 1),
                width=round(width - GAP, 1),
                height=round(height, 1),
                label=start.strftime("%b"),
                title=f"{start:%B %Y}: {format_money(total.net, currency)} net, "
                f"{total.charges} charge{'' if total.charges == 1 else 's'}",
                negative=total.net < 0,
            )
        )
    return result
