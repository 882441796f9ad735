"""The retention purge: what each ``RETAIN_*`` setting lets go, applied in batches.

Each category finds its rows by a condition a purged row no longer meets (a tombstone
address, an emptied body, a deleted row), so running the purge twice is running it once,
and a dry run counts exactly what a real run would change. Rows are taken in keyset
batches of ids and changed with one set-based statement per batch, the same on SQLite and
PostgreSQL. Amounts, dates, statuses and receipt numbers are never touched, so the books
add up the same after a purge. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import limits
import sqlalchemy as sa
from flask import current_app

from donations.db import db
from donations.models import Donor, Gift, OutboxEmail, Reminder, StripeEvent
from donations.privacy import queries

BATCH_SIZE = 500
PRIVACY_PURGE = "privacy_purge"


@dataclass(frozen=True)
class Category:
    """One kind of personal data the purge lets go after ``setting`` days."""

    name: str
    description: str  #: what goes, in words for the command's output
    setting: str
    model: type
    where: Callable[[datetime], list[sa.ColumnElement[bool]]]
    apply: Callable[[list[int]], None]


def tombstone_donors(ids: list[int]) -> None:
    """Replace the donors' email by ``erased-<id>@invalid`` and drop their name."""
    tombstone = sa.literal("erased-") + sa.cast(Donor.id, sa.String) + queries.TOMBSTONE_DOMAIN
    db.session.execute(
        sa.update(Donor)
        .where(Donor.id.in_(ids))
        .values(email=tombstone, name="")
        .execution_options(synchronize_session=False)
    )


def drop_dedications(ids: list[int]) -> None:
    db.session.execute(
        sa.update(Gift)
        .where(Gift.id.in_(ids))
        .values(tribute_name="", tribute_message="", tribute_notify_email="")
        .execution_options(synchronize_session=False)
    )


def _delete_reminders(ids: list[int]) -> None:
    """Delete the reminders, first unlinking the gifts they led to (which stay)."""
    db.session.execute(
        sa.update(Gift)
        .where(Gift.reminder_id.in_(ids))
        .values(reminder_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(Reminder).where(Reminder.id.in_(ids)).execution_options(synchronize_session=False)
    )


def _drop_payloads(ids: list[int]) -> None:
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.id.in_(ids))
        .values(payload=queries.EMPTY_JSON)
        .execution_options(synchronize_session=False)
    )


def _drop_email_bodies(ids: list[int]) -> None:
    db.session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.id.in_(ids))
        .values(context=queries.EMPTY_JSON)
        .execution_options(synchronize_session=False)
    )


CATEGORIES = (
    Category(
        "abandoned_donors",
        "email and name of donors whose only gifts were never paid",
        "RETAIN_ABANDONED_DAYS",
        Donor,
        queries.abandoned_donors,
        tombstone_donors,
    ),
    Category(
        "abandoned_dedications",
        "dedications on gifts that were never paid",
        "RETAIN_ABANDONED_DAYS",
        Gift,
        queries.abandoned_dedications,
        drop_dedications,
    ),
    Category(
        "finished_reminders",
        "reminders sent, cancelled, converted or failed",
        "RETAIN_SENT_REMINDERS_DAYS",
        Reminder,
        queries.finished_reminders,
        _delete_reminders,
    ),
    Category(
        "webhook_payloads",
        "bodies of applied webhook events (about erased donors: at any age)",
        "RETAIN_WEBHOOK_PAYLOADS_DAYS",
        StripeEvent,
        queries.old_webhook_payloads,
        _drop_payloads,
    ),
    Category(
        "email_bodies",
        "contents of sent or failed emails",
        "RETAIN_EMAIL_BODIES_DAYS",
        OutboxEmail,
        queries.old_email_bodies,
        _drop_email_bodies,
    ),
)


def retention_days() -> dict[str, int]:
    """Each ``RETAIN_*`` setting's days, by setting name (the privacy page shows them)."""
    return {category.setting: current_app.config[category.setting] for category in CATEGORIES}


def cutoff(category: Category, now: datetime) -> datetime:
    return now - timedelta(days=current_app.config[category.setting])


def purge(
    now: datetime, *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> dict[Category, int]:
    """Let go of what each category's setting says is kept no longer; return how many
    rows each category changed (or, with ``dry_run``, would change: nothing is written)."""
    return {
        category: (_count if dry_run else _apply)(category, cutoff(category, now), batch_size)
        for category in CATEGORIES
    }


def _count(category: Category, cutoff_at: datetime, _batch_size: int) -> int:
    query = sa.select(sa.func.count()).select_from(category.model).where(*category.where(cutoff_at))
    return db.session.scalar(query)


def _apply(category: Category, cutoff_at: datetime, batch_size: int) -> int:
    key = category.model.id
    candidates = sa.select(key).where(*category.where(cutoff_at)).order_by(key).limit(batch_size)
    done, last = 0, 0
    while ids := list(db.session.scalars(candidates.where(key > last))):
        category.apply(ids)
        done, last = done + len(ids), ids[-1]
        if len(ids) < batch_size:
            break
    db.session.flush()
    return done


def describe(counts: dict[Category, int]) -> str:
    """``abandoned_donors 2, …``: the counts on one line, for the worker's log."""
    return ", ".join(f"{category.name} {count}" for category, count in counts.items())


def longest_rate_limit_window() -> timedelta:
    """The longest window among the configured rate limits (``*RATE_LIMIT*`` settings):
    how long the limiter may keep a counter keyed by an address, in its own storage."""
    seconds = [0]
    for key, value in current_app.config.items():
        if "RATE_LIMIT" not in key or not isinstance(value, str):
            continue
        try:
            seconds += [item.get_expiry() for item in limits.parse_many(value)]
        except ValueError:
            continue
    return timedelta(seconds=max(seconds))
