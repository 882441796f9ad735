"""CSV export of the contributions list, for the current filter.

Columns, in order (one header row, then one row per gift, newest first):

- ``gift_id``: our gift number (the gift page is /staff/gifts/<gift_id>)
- ``created_at``: when the donor started the gift, ISO 8601 UTC
- ``donor_email``, ``donor_name``
- ``frequency``: once, monthly or annual
- ``status``: pending, paid, active, past_due, cancelled, abandoned, failed, refunded,
  lapsed (ended for non-payment: Stripe stopped retrying)
- ``amount``: the gift amount per period, in major units (``12.50``)
- ``currency``: ISO 4217 code
- ``net_received``: charges minus refunds so far, in major units
- ``source``: where the gift started (support, appeal, reminder)
- ``stripe_subscription_id``, ``stripe_payment_intent_id``
- ``cancelled_at``: ISO 8601 UTC when it ended (cancelled or lapsed), empty if still running

Rows are streamed from a server-side cursor, so memory stays flat however many gifts
match. Any cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` so a spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from donations.db import db
from donations.money import precision
from donations.staff.queries import GiftFilter, export_query

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
    return value.isoformat() if value is not None else ""


def csv_chunks(spec: GiftFilter, currencies: list[str]) -> Iterator[str]:
    """The CSV text in chunks of ``BATCH`` rows, read through a server-side cursor."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    # yield_per implies stream_results: a server-side cursor on PostgreSQL
    result = db.session.execute(
        export_query(spec, currencies),
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
        db.session.rollback()  # end the read transaction that held the cursor
