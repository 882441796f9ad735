"""CSV export of the contributions list, for the current filter.

Columns, in order (one header row, then one row per gift, newest first):

- ``gift_id``: our gift number (the gift page is /staff/gifts/<gift_id>)
- ``created_at``: when the donor started the gift, ISO 8601 UTC
- ``donor_email``, ``donor_name``
- ``frequency``: once, monthly or annual
- ``status``: pending, paid, active, past_due, cancelled, abandoned, failed, refunded
- ``amount``: the gift amount per period, in major units (``12.50``)
- ``currency``: ISO 4217 code
- ``net_received``: charges minus refunds so far, in major units
- ``source``: where the gift started (support, appeal, reminder)
- ``stripe_subscription_id``, ``stripe_payment_intent_id``
- ``cancelled_at``: ISO 8601 UTC, empty if still running

Rows are streamed from a server-side cursor, so memory stays flat however many gifts
match. Any cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Response, stream_with_context

from donations.extensions import db
from donations.models import Donor, Gift, Payment
from donations.money import precision
from donations.staff import bp
from donations.staff.listing import GiftFilter, gift_conditions
from donations.staff.views import currencies, filter_from_request

COLUMNS = [
    "gift_id",
    "created_at",
    "donor_email",
    "donor_name",
    "frequency",
    "status",
    "amount",
    "currency",
    "net_received",
    "source",
    "stripe_subscription_id",
    "stripe_payment_intent_id",
    "cancelled_at",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def neutralise(value: str) -> str:
    """Make a cell inert in spreadsheets: formula-like text gets a leading quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def export_query(spec: GiftFilter, currency_list: list[str]) -> sa.Select:
    """Gifts matching ``spec``, newest first, with each gift's net received."""
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
        .where(*gift_conditions(spec, currency_list))
        .order_by(Gift.created_at.desc(), Gift.id.desc())
    )


def rows(spec: GiftFilter, currency_list: list[str]) -> Iterator[str]:
    """The CSV text in chunks of ``BATCH`` rows, read through a server-side cursor."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    # yield_per implies stream_results: a server-side cursor on PostgreSQL
    result = db.session.execute(
        export_query(spec, currency_list),
        execution_options={"yield_per": BATCH, "stream_results": True},
    )
    places: dict[str, int] = {}
    try:
        for partition in result.partitions():
            for row in partition:
                (gift_id, created, email, name, frequency, status, amount, currency, net) = row[:9]
                source, subscription, intent, cancelled = row[9:]
                if currency not in places:
                    places[currency] = -precision(currency)
                writer.writerow(
                    [
                        gift_id,
                        _iso(created),
                        neutralise(email or ""),
                        neutralise(name or ""),
                        frequency,
                        status,
                        Decimal(amount).scaleb(places[currency]),
                        currency,
                        Decimal(int(net or 0)).scaleb(places[currency]),
                        neutralise(source or ""),
                        subscription or "",
                        intent or "",
                        _iso(cancelled),
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    finally:
        result.close()
        db.session.rollback()


@bp.route("/gifts.csv")
def export_csv():
    form, spec = filter_from_request()
    if spec is None:
        return Response("Invalid filter: " + str(form.errors), status=400, mimetype="text/plain")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(rows(spec, currencies())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="gifts-{stamp}.csv"'},
    )
