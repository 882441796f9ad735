"""The staff list of subscribers, its counts and CSV export, and the hand-offs in trouble.

The CSV has one row per subscriber, newest sign-up first, in these columns:

- ``id``, ``email``, ``status`` (pending: link not clicked yet; confirmed; unsubscribed)
- ``language``: the reader's language at sign-up (emails go out in it)
- ``source``: where they signed up (newsletter page, appeal box, support page …)
- ``consent_text``: the words shown beside the button they pressed
- ``signed_up_at``: first sign-up; ``confirmation_sent_at``: the last confirmation email;
  ``confirmed_at``: when they clicked the link and confirmed (the moment of consent);
  ``unsubscribed_at``: when they last unsubscribed. Times are ISO 8601 UTC, empty if never.

Text cells that a spreadsheet would run as a formula are made inert (``neutralise``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from donations.db import db
from donations.enums import OutboxStatus, SubscriberStatus
from donations.models import HandOff, NewsletterSubscriber
from donations.staff.csv_export import neutralise
from donations.staff.queries import PAGE_SIZE, Page, decode_cursor, encode_cursor

CSV_COLUMNS = [
    "id",
    "email",
    "status",
    "language",
    "source",
    "consent_text",
    "signed_up_at",
    "confirmation_sent_at",
    "confirmed_at",
    "unsubscribed_at",
]
BATCH = 2000
#: how many troubled hand-offs the staff page lists
TROUBLE_LIMIT = 50


@dataclass(frozen=True)
class SubscriberFilter:
    q: str = ""
    status: SubscriberStatus | None = None


def _filtered(query: sa.Select, spec: SubscriberFilter) -> sa.Select:
    if spec.status is not None:
        query = query.where(NewsletterSubscriber.status == spec.status)
    if spec.q.strip():
        needle = (
            spec.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        query = query.where(NewsletterSubscriber.email.like(f"%{needle}%", escape="\\"))
    return query


def status_counts() -> dict[str, int]:
    """Subscribers per status (every status present, 0 if none) and ``total``."""
    counts = dict(
        db.session.execute(
            sa.select(NewsletterSubscriber.status, sa.func.count()).group_by(
                NewsletterSubscriber.status
            )
        ).all()
    )
    figures = {str(status): counts.get(status, 0) for status in SubscriberStatus}
    return figures | {"total": sum(figures.values())}


def subscriber_page(spec: SubscriberFilter, cursor: str | None = None) -> Page:
    """One page of subscribers, newest sign-up first, by keyset on (sign-up time, id)."""
    table = NewsletterSubscriber
    query = _filtered(sa.select(table), spec)
    after = decode_cursor(cursor, as_datetime=True)
    if after is not None:
        query = query.where(sa.tuple_(table.created_at, table.id) < after)
    query = query.order_by(table.created_at.desc(), table.id.desc()).limit(PAGE_SIZE + 1)
    rows = list(db.session.scalars(query))
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return Page(rows, next_cursor)


def handoff_counts() -> dict[str, int]:
    """Hand-offs per status (``pending`` includes those being sent)."""
    counts = dict(
        db.session.execute(
            sa.select(HandOff.status, sa.func.count()).group_by(HandOff.status)
        ).all()
    )
    return {
        "pending": counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
        "sent": counts.get(OutboxStatus.SENT, 0),
        "failed": counts.get(OutboxStatus.FAILED, 0),
    }


def troubled_handoffs() -> list:
    """Failed hand-offs and those being retried after an error, newest first, with the
    subscriber's address."""
    query = (
        sa.select(HandOff, NewsletterSubscriber.email)
        .outerjoin(NewsletterSubscriber, HandOff.subscriber_id == NewsletterSubscriber.id)
        .where(
            sa.or_(
                HandOff.status == OutboxStatus.FAILED,
                sa.and_(
                    HandOff.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                    HandOff.last_error != "",
                ),
            )
        )
        .order_by(HandOff.id.desc())
        .limit(TROUBLE_LIMIT)
    )
    return list(db.session.execute(query))


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def csv_chunks(spec: SubscriberFilter) -> Iterator[str]:
    """The CSV of the subscribers ``spec`` matches, ``BATCH`` rows a chunk, read through a
    server-side cursor so memory stays flat."""
    table = NewsletterSubscriber
    query = _filtered(
        sa.select(
            table.id,
            table.email,
            table.status,
            table.locale,
            table.source,
            table.consent_text,
            table.created_at,
            table.confirmation_sent_at,
            table.confirmed_at,
            table.unsubscribed_at,
        ),
        spec,
    ).order_by(table.created_at.desc(), table.id.desc())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    result = db.session.execute(
        query, execution_options={"yield_per": BATCH, "stream_results": True}
    )
    try:
        for partition in result.partitions():
            for row in partition:
                identifier, email, status, locale, source, consent = row[:6]
                times = [_iso(value) for value in row[6:]]
                texts = [
                    neutralise(text or "") for text in (email, status, locale, source, consent)
                ]
                writer.writerow([identifier, *texts, *times])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    finally:
        result.close()
        db.session.rollback()  # end the read transaction that held the cursor
