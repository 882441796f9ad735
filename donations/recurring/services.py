"""Daily jobs for recurring gifts, run by the worker once a day whatever the number of
workers: claiming a job for a day is an ``INSERT … ON CONFLICT DO NOTHING`` of a
``DailyRun`` row in the job's own transaction, so only one worker wins it, and a job that
fails rolls its claim back and is tried again on the next loop."""

from __future__ import annotations

from datetime import date, datetime

from donations.db import db, dialect_insert, utcnow
from donations.ledger import emails
from donations.models import DailyRun
from donations.recurring.queries import cards_expiring_before_renewal

CARD_EXPIRING = "card_expiring"


def claim_daily(job: str, day: date) -> bool:
    """Whether this caller runs ``job`` for ``day`` (nobody has yet); flushes."""
    inserted = db.session.execute(
        dialect_insert(DailyRun.__table__)
        .values(job=job, day=day, started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "day"])
        .returning(DailyRun.id)
    ).first()
    return inserted is not None


def remind_expiring_cards(now: datetime) -> int:
    """Email each donor whose card expires before their next payment, once per card;
    return how many were queued now (a card already told about is not counted)."""
    return sum(emails.queue_card_expiring(gift) for gift in cards_expiring_before_renewal(now))
