"""What the staff lists read: the contributions and donors lists and their totals, the
gifts the CSV export streams, and the per-app cache of expensive figures.

Lists are paged by keyset (``WHERE (sort_key, id) < cursor``), never OFFSET, so page
1,000 costs what page 1 costs. The cursor handed to the browser is opaque (URL-safe
base64 of the last row's sort key and id) and a tampered one simply restarts the list.
The dashboard's figures are in ``dashboard``, one gift's or donor's page in ``details``,
money sums in ``accounting``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from time import monotonic
from typing import Any

import sqlalchemy as sa
from flask import current_app

from donations.db import db, utcnow
from donations.enums import (
    RUNNING_STATUSES,
    UNPAID_STATUSES,
    Collection,
    DisputeState,
    Frequency,
    GiftStatus,
)
from donations.models import Dispute, Donor, Gift, Payment
from donations.money import precision
from donations.staff.accounting import Money, money_columns, money_from

#: how long a cached figure may live whatever its freshness test says
CACHE_SECONDS = 600


def cached(key: tuple, is_fresh: Callable[[Any], bool], compute: Callable[[], tuple]):
    """Remembered per app: ``compute()`` returns (value, stamp); the value is reused while
    ``is_fresh(stamp)`` holds and it is younger than ``CACHE_SECONDS``.

    Entries live in ``app.extensions`` (one app per process in production, one per test)
    and are dropped wholesale past 256.
    """
    store: dict = current_app.extensions.setdefault("staff_figures", {})
    hit = store.get(key)
    if hit is not None and monotonic() - hit[0] < CACHE_SECONDS and is_fresh(hit[1]):
        return hit[2]
    value, stamp = compute()
    if len(store) > 256:
        store.clear()
    store[key] = (monotonic(), stamp, value)
    return value


def gifts_stamp() -> tuple:
    """Changes whenever a gift is added or updated (two index lookups)."""
    return (
        db.session.scalar(sa.select(sa.func.max(Gift.id))),
        db.session.scalar(sa.select(sa.func.max(Gift.updated_at))),
    )


def cached_by_gifts(key: tuple, compute: Callable[[], Any]):
    """``compute()`` remembered until any gift changes."""
    stamp = gifts_stamp()
    return cached(key, lambda old: old == stamp, lambda: (compute(), stamp))


def cached_by_movements(key: tuple, compute: Callable[[], Any]):
    """``compute()`` remembered until any gift changes or a payment is recorded (a fee
    filled in later on a recorded payment shows within ``CACHE_SECONDS``)."""
    stamp = (gifts_stamp(), db.session.scalar(sa.select(sa.func.max(Payment.id))))
    return cached(key, lambda old: old == stamp, lambda: (compute(), stamp))


def paused_at(now: datetime):
    """Gifts whose collection is paused at ``now``: running, with a pause still ahead."""
    return sa.and_(Gift.status.in_(RUNNING_STATUSES), Gift.paused_until > now)


def is_paused(status: str, paused_until: datetime | None, now: datetime) -> bool:
    """``paused_at`` for one gift already read."""
    return status in RUNNING_STATUSES and paused_until is not None and paused_until > now


PAGE_SIZE = 50
#: values a cursor may carry into a query (PostgreSQL's bigint range)
BIGINT_LIMIT = 2**63


@dataclass(frozen=True)
class GiftFilter:
    """What the staff member asked for; every field optional."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None  #: inclusive
    frequency: Frequency | None = None
    status: GiftStatus | None = None
    collection: Collection | None = None  #: "paused" is judged at query time
    currency: str = ""
    amount_min: Decimal | None = None  #: major units
    amount_max: Decimal | None = None
    dispute: str = ""  #: "any" (ever disputed) or "open" (a dispute still open)
    sort: str = "date_desc"  #: date_desc, date_asc, amount_desc, amount_asc


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def encode_cursor(value, row_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, as_datetime: bool) -> tuple | None:
    """The (sort value, id) inside ``cursor``, or None when absent or not ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if as_datetime:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:  # ours always carry their UTC offset
                return None
        elif not isinstance(value, int) or abs(value) >= BIGINT_LIMIT:
            return None
        if not isinstance(row_id, int) or abs(row_id) >= BIGINT_LIMIT:
            return None
    except (ValueError, TypeError, binascii.Error):
        return None
    return value, row_id


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _amount_bound(value: Decimal, currency: str, *, lower: bool) -> int:
    scaled = value.scaleb(precision(currency))
    return int(scaled.to_integral_value(ROUND_CEILING if lower else ROUND_FLOOR))


def _amount_condition(value: Decimal, currencies: list[str], *, lower: bool):
    """``amount >= value`` (or <=) in each currency's own minor units."""

    def compare(bound: int):
        return Gift.amount >= bound if lower else Gift.amount <= bound

    places = {precision(c) for c in currencies}
    if places <= {2}:
        return compare(_amount_bound(value, "USD", lower=lower))
    conditions = [
        sa.and_(Gift.currency == c, compare(_amount_bound(value, c, lower=lower)))
        for c in currencies
    ]
    if len(currencies) > 1:
        others = compare(_amount_bound(value, "USD", lower=lower))
        conditions.append(sa.and_(Gift.currency.not_in(currencies), others))
    return sa.or_(*conditions)


def donor_search(q: str):
    """Donors matching ``q``: the exact address when it has an @, else email prefix or name."""
    q = q.strip()
    if "@" in q:
        return Donor.email == q.lower()
    return sa.or_(
        Donor.email.startswith(q.lower(), autoescape=True),
        Donor.name.icontains(q, autoescape=True),
    )


def gift_conditions(spec: GiftFilter, currencies: list[str]) -> list:
    """WHERE clauses on ``Gift`` for a filter."""
    where = []
    if spec.q.strip():
        where.append(Gift.donor_id.in_(sa.select(Donor.id).where(donor_search(spec.q))))
    if spec.date_from:
        where.append(Gift.created_at >= _day_start(spec.date_from))
    if spec.date_to:
        where.append(Gift.created_at < _day_start(spec.date_to + timedelta(days=1)))
    if spec.frequency:
        where.append(Gift.frequency == spec.frequency)
    if spec.status:
        where.append(Gift.status == spec.status)
    if spec.collection is Collection.PAST_DUE:
        where.append(Gift.status == GiftStatus.PAST_DUE)
    elif spec.collection is Collection.PAUSED:
        where.append(paused_at(utcnow()))
    if spec.currency:
        where.append(Gift.currency == spec.currency)
    if spec.dispute == "any":
        where.append(Gift.disputed.is_(True))
    elif spec.dispute == "open":
        still_open = sa.select(Dispute.gift_id).where(Dispute.state == DisputeState.OPEN)
        where.append(Gift.id.in_(still_open))
    scope = [spec.currency] if spec.currency else currencies
    if spec.amount_min is not None:
        where.append(_amount_condition(spec.amount_min, scope, lower=True))
    if spec.amount_max is not None:
        where.append(_amount_condition(spec.amount_max, scope, lower=False))
    return where


def _sort_key(spec: GiftFilter):
    column = Gift.amount if spec.sort.startswith("amount") else Gift.created_at
    return column, spec.sort.endswith("_asc")


GIFT_COLUMNS = (
    Gift.id,
    Gift.created_at,
    Gift.amount,
    Gift.currency,
    Gift.frequency,
    Gift.status,
    Gift.paused_until,
    Gift.donor_id,
    Donor.email,
    Donor.name,
)


def gift_page(spec: GiftFilter, currencies: list[str], cursor: str | None = None) -> Page:
    """One page of gifts for ``spec`` after ``cursor``, with each gift's net received and
    whether it is paused now."""
    column, ascending = _sort_key(spec)
    query = (
        sa.select(*GIFT_COLUMNS)
        .join(Donor, Donor.id == Gift.donor_id)
        .where(*gift_conditions(spec, currencies))
    )
    after = decode_cursor(cursor, as_datetime=column is Gift.created_at)
    if after is not None:
        key = sa.tuple_(column, Gift.id)
        query = query.where(key > after if ascending else key < after)
    order = (column.asc(), Gift.id.asc()) if ascending else (column.desc(), Gift.id.desc())
    rows = list(db.session.execute(query.order_by(*order).limit(PAGE_SIZE + 1)).mappings())
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_cursor = encode_cursor(last[column.key], last["id"])
    nets = net_by_gift([row["id"] for row in rows])
    now = utcnow()
    return Page(
        [
            dict(
                row,
                net=nets.get(row["id"], 0),
                paused=is_paused(row["status"], row["paused_until"], now),
            )
            for row in rows
        ],
        next_cursor,
    )


def net_by_gift(gift_ids: list[int]) -> dict[int, int]:
    """Money received (charges less refunds and disputes) for each of these gifts."""
    if not gift_ids:
        return {}
    query = (
        sa.select(Payment.gift_id, sa.func.sum(Payment.amount))
        .where(Payment.gift_id.in_(gift_ids))
        .group_by(Payment.gift_id)
    )
    return {gift_id: int(total or 0) for gift_id, total in db.session.execute(query)}


@dataclass
class CurrencyTotals:
    """What a filter matches in one currency: its gifts, counted (unpaid ones apart), and
    the money their payments moved."""

    currency: str
    gifts: int = 0
    #: pending, abandoned and failed checkouts among them, by status: never in the money
    unpaid: dict[str, int] = field(default_factory=dict)
    money: Money = field(default_factory=Money)


def gift_totals(spec: GiftFilter, currencies: list[str]) -> list[CurrencyTotals]:
    """Per currency, for everything the filter matches: the number of gifts (and of unpaid
    ones) and the ``Money`` of their payments."""
    where = gift_conditions(spec, currencies)
    counts = sa.select(Gift.currency, Gift.status, sa.func.count())
    totals: dict[str, CurrencyTotals] = {}
    for currency, status, count in db.session.execute(
        counts.where(*where).group_by(Gift.currency, Gift.status)
    ):
        item = totals.setdefault(currency, CurrencyTotals(currency))
        item.gifts += count
        if status in UNPAID_STATUSES:
            item.unpaid[str(status)] = count
    for item in totals.values():
        item.unpaid = {str(s): item.unpaid[s] for s in UNPAID_STATUSES if s in item.unpaid}
    money = sa.select(Payment.currency, *money_columns())
    if where:
        money = money.join(Gift, Gift.id == Payment.gift_id).where(*where)
    for row in db.session.execute(money.group_by(Payment.currency)).mappings():
        totals.setdefault(row["currency"], CurrencyTotals(row["currency"])).money = money_from(row)
    return [totals[currency] for currency in sorted(totals)]


def donor_page(q: str, cursor: str | None = None) -> Page:
    """Donors, newest first, optionally searched, by keyset on id."""
    query = sa.select(Donor.id, Donor.email, Donor.name, Donor.created_at)
    if q.strip():
        query = query.where(donor_search(q))
    after = decode_cursor(cursor, as_datetime=False)
    if after is not None:
        query = query.where(Donor.id < after[1])
    rows = list(db.session.execute(query.order_by(Donor.id.desc()).limit(PAGE_SIZE + 1)).mappings())
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = encode_cursor(rows[-1]["id"], rows[-1]["id"])
    return Page([dict(row) for row in rows], next_cursor)


def export_query(spec: GiftFilter, currencies: list[str]) -> sa.Select:
    """Gifts matching ``spec`` with each gift's net received, newest first, in the CSV's
    column order (see ``csv_export``)."""
    nets = (
        sa.select(Payment.gift_id, sa.func.sum(Payment.amount).label("net"))
        .group_by(Payment.gift_id)
        .subquery()
    )
    return (
        sa.select(
            Gift.id,
            Gift.created_at,
            Donor.email,
            Donor.name,
            Gift.frequency,
            Gift.status,
            Gift.amount,
            Gift.currency,
            nets.c.net,
            Gift.source,
            Gift.stripe_subscription_id,
            Gift.stripe_payment_intent_id,
            Gift.cancelled_at,
        )
        .join(Donor, Donor.id == Gift.donor_id)
        .outerjoin(nets, nets.c.gift_id == Gift.id)
        .where(*gift_conditions(spec, currencies))
        .order_by(Gift.created_at.desc(), Gift.id.desc())
    )
