"""CSV exports: the contributions list (one row per gift, for the current filter), the
payments export (one row per money movement, for a date range) and the monthly summary.

The contributions CSV's columns, in order (one header row, then one row per gift, newest
first):

- ``gift_id``: our gift number (the gift page is /staff/gifts/<gift_id>)
- ``created_at``: when the donor started the gift, ISO 8601 UTC
- ``donor_email``, ``donor_name``
- ``frequency``: once, monthly or annual
- ``status``: pending, paid, active, past_due, cancelled, abandoned, failed, refunded,
  lapsed (ended for non-payment: Stripe stopped retrying)
- ``amount``: the gift amount per period, in major units (``12.50``)
- ``currency``: ISO 4217 code
- ``net_received``: charges minus refunds and disputes so far, in major units
- ``source``: where the gift started (support, appeal, reminder)
- ``stripe_subscription_id``, ``stripe_payment_intent_id``
- ``cancelled_at``: ISO 8601 UTC when it ended (cancelled or lapsed), empty if still running

The payments CSV's columns (one row per movement, oldest first; its sums per currency are
the dashboard's and the monthly summary's):

- ``payment_id``: our row number; ``paid_at``: when the money moved, ISO 8601 UTC to the
  second
- ``kind``: charge, refund, dispute (money withdrawn) or dispute_reversal (reinstated); a
  refund Stripe later reported failed is offset by a positive ``refund`` row
- ``gift_id``, ``donor_email``, ``donor_name`` (empty when the gift is anonymous),
  ``anonymous`` (yes: "keep my name private"), ``frequency``, ``currency``
- ``gross``: the movement's amount, negative for money out; ``fee``: Stripe's fee (a
  returned fee is negative); ``net`` = gross − fee. ``fee`` and ``net`` are empty while
  the fee is not known yet: never read an empty fee as zero
- ``receipt_number`` (charges), ``stripe_id`` (the charge's PaymentIntent or invoice, the
  refund, or the dispute), ``stripe_charge_id``, ``stripe_invoice_id``,
  ``stripe_payment_intent_id``, ``stripe_balance_transaction_id``

Amounts are in major units (``12.50``). Rows are streamed from a server-side cursor, so
memory stays flat however many match. The payments CSV is a million rows a month for a
large newsroom: the database writes each of its lines (``movement_line``), as fast as
it reads them, and Python only passes them on; its text cells (email, name) are always
quoted. Any text cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with ``'`` so a spreadsheet shows it as text
instead of running it as a formula. With ``bom`` the text starts with a UTF-8 byte-order
mark, so a spreadsheet that guesses encodings reads "Émile" right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from donations.db import db
from donations.models import Donor, Gift, Payment
from donations.money import precision
from donations.staff.accounting import monthly_summary, movement_currencies, movements_query
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


def major(amount: int | None, places: int) -> str:
    """Minor units in major units, as text: (1250, 2) → "12.50", (-5, 2) → "-0.05";
    None → "" (not known)."""
    if amount is None:
        return ""
    if not places:
        return str(amount)
    whole, part = divmod(abs(amount), 10**places)
    return f"{'-' if amount < 0 else ''}{whole}.{part:0{places}d}"


def _stream(
    query: sa.Select, header: Sequence[str], cells: Callable, *, bom: bool = False
) -> Iterator[str]:
    """The CSV text of ``query``'s rows (each turned into cells by ``cells``), in chunks of
    ``BATCH`` rows read through a server-side cursor."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    # yield_per implies stream_results: a server-side cursor on PostgreSQL
    result = db.session.execute(
        query, execution_options={"yield_per": BATCH, "stream_results": True}
    )
    try:
        for partition in result.partitions():
            writer.writerows(map(cells, partition))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    finally:
        result.close()
        db.session.rollback()  # end the read transaction that held the cursor


def csv_chunks(spec: GiftFilter, currencies: list[str]) -> Iterator[str]:
    """The contributions CSV of the gifts ``spec`` matches."""
    places: dict[str, int] = {}

    def cells(row) -> list:
        (gift_id, created, email, name, frequency, status, amount, currency, net) = row[:9]
        source, subscription, intent, cancelled = row[9:]
        if currency not in places:
            places[currency] = -precision(currency)
        return [
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

    return _stream(export_query(spec, currencies), COLUMNS, cells)


PAYMENT_COLUMNS = [
    "payment_id",
    "paid_at",
    "kind",
    "gift_id",
    "donor_email",
    "donor_name",
    "anonymous",
    "frequency",
    "currency",
    "gross",
    "fee",
    "net",
    "receipt_number",
    "stripe_id",
    "stripe_charge_id",
    "stripe_invoice_id",
    "stripe_payment_intent_id",
    "stripe_balance_transaction_id",
]


def _plain(column) -> sa.ColumnElement[str]:
    """A cell that never needs quoting: numbers, codes and Stripe ids; NULL is empty."""
    return sa.func.coalesce(sa.cast(column, sa.String), "")


def _quoted(column) -> sa.ColumnElement[str]:
    """A free-text cell: neutralised like ``neutralise``, then quoted as CSV quotes."""
    value = sa.func.coalesce(column, "")
    value = sa.case((sa.func.substr(value, 1, 1).in_(FORMULA_STARTS), "'" + value), else_=value)
    return '"' + sa.func.replace(value, '"', '""') + '"'


def _major(column, places: int) -> sa.ColumnElement[str]:
    """Minor units as text in major units (``major`` in SQL), in integers only."""
    magnitude = sa.func.abs(column)
    text = sa.cast(magnitude, sa.String)
    if places:
        scale = 10**places
        whole = sa.cast(magnitude.op("/")(scale), sa.String)  # integer division
        text = whole + "." + sa.func.substr(sa.cast(magnitude % scale + scale, sa.String), 2)
    return sa.case((column.is_(None), ""), (column < 0, "-" + text), else_=text)


def _amount(column, currencies: list[str]) -> sa.ColumnElement[str]:
    """An amount column of ``payments`` in major units of each row's currency, for rows
    in these ``currencies`` (a case per currency whose minor unit is not a hundredth)."""
    branches = [
        (Payment.currency == code, _major(column, precision(code)))
        for code in currencies
        if precision(code) != 2
    ]
    return sa.case(*branches, else_=_major(column, 2)) if branches else _major(column, 2)


def _paid_at() -> sa.ColumnElement[str]:
    """``Payment.created_at`` as ISO 8601 UTC, to the second."""
    if db.session.get_bind().dialect.name == "postgresql":
        local = sa.func.timezone("UTC", Payment.created_at)
        return sa.func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS') + "+00:00"
    return sa.func.strftime("%Y-%m-%dT%H:%M:%S", Payment.created_at) + "+00:00"


def movement_line(currencies: list[str]) -> sa.ColumnElement[str]:
    """One payments CSV line (without its line break), in ``PAYMENT_COLUMNS`` order, for
    movements in these ``currencies``."""
    cells = [
        _plain(Payment.id),
        _paid_at(),
        _plain(Payment.kind),
        _plain(Payment.gift_id),
        _quoted(Donor.email),
        sa.case((Gift.anonymous, '""'), else_=_quoted(Donor.name)),
        sa.case((Gift.anonymous, "yes"), else_="no"),
        _plain(Gift.frequency),
        _plain(Payment.currency),
        _amount(Payment.amount, currencies),
        _amount(Payment.fee, currencies),
        _amount(Payment.net, currencies),
        _plain(Payment.receipt_number),
        _plain(Payment.stripe_id),
        _plain(Payment.stripe_charge_id),
        _plain(Payment.stripe_invoice_id),
        _plain(Payment.stripe_payment_intent_id),
        _plain(Payment.stripe_balance_transaction_id),
    ]
    line = cells[0]
    for cell in cells[1:]:
        line = line + "," + cell
    return line


def movement_chunks(first: date, last: date, *, bom: bool = False) -> Iterator[str]:
    """The payments CSV of every movement dated ``first`` to ``last`` (UTC, inclusive),
    in chunks of ``BATCH`` lines read through a server-side cursor."""
    yield ("\ufeff" if bom else "") + ",".join(PAYMENT_COLUMNS) + "\r\n"
    currencies = movement_currencies(first, last)
    query = movements_query(first, last, movement_line(currencies))
    result = db.session.connection().execute(
        query, execution_options={"yield_per": BATCH, "stream_results": True}
    )
    try:
        for partition in result.partitions():
            yield "".join([line + "\r\n" for (line,) in partition])
    finally:
        result.close()
        db.session.rollback()  # end the read transaction that held the cursor


SUMMARY_COLUMNS = [
    "month",
    "currency",
    "charges",
    "gross",
    "refunds",
    "disputes",
    "received",
    "fees",
    "net",
    "fees_pending",
]


def summary_chunks(first: date, last: date, *, bom: bool = False) -> Iterator[str]:
    """The monthly summary of ``first`` to ``last`` as CSV, one row per month and currency
    (``charges`` and ``fees_pending`` are counts, the rest amounts)."""
    rows = []
    for summary in monthly_summary(first, last):
        digits = precision(summary.currency)
        for month, money in summary.months:
            amounts = (money.gross, money.refunds, money.disputes, money.received)
            rows.append(
                [
                    f"{month:%Y-%m}",
                    summary.currency,
                    money.charges,
                    *(major(value, digits) for value in amounts),
                    major(money.fees, digits),
                    major(money.net, digits),
                    money.fees_pending,
                ]
            )
    rows.sort(key=lambda row: (row[0], row[1]))
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(rows)
    yield buffer.getvalue()
