"""The webhook inbox: each verified event is stored once, then applied exactly once.

``receive`` inserts the event row (unique Stripe id; a concurrent duplicate waits on the
insert until the first transaction ends) and applies it in the same transaction. A
duplicate of an applied event changes nothing. A failure rolls everything back, then
keeps the error and the attempt count on the row, so Stripe's retry or ``replay`` can
apply it later.
"""

from __future__ import annotations

import enum
import json

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from donations.extensions import db
from donations.ledger.events import apply_event
from donations.models import StripeEvent, utcnow
from donations.payments import gateway
from donations.payments.types import Event


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    FAILED = "failed"


def receive(event: Event, payload: bytes | None = None) -> Outcome:
    """Store and apply a verified event in one transaction, and commit.

    ``payload`` is the body as received (kept verbatim); without it the event is re-encoded.
    """
    try:
        row_id = _insert(event, payload)
        if row_id is None:
            row = _locked_row(event.id)
            if row.processed_at is not None:
                db.session.rollback()
                return Outcome.DUPLICATE
            row_id = row.id
        _apply(row_id, event)
        db.session.commit()
        return Outcome.APPLIED
    except Exception as error:
        db.session.rollback()
        _keep_failure(event, error, payload)
        return Outcome.FAILED


def replay(stripe_id: str) -> Outcome | None:
    """Apply a stored event again (its handlers are idempotent) and commit; None if unknown."""
    row = _locked_row(stripe_id)
    if row is None:
        db.session.rollback()
        return None
    event = gateway().load_event(row.payload)
    try:
        _apply(row.id, event)
        db.session.commit()
        return Outcome.APPLIED
    except Exception as error:
        db.session.rollback()
        _keep_failure(event, error)
        return Outcome.FAILED


def failed_event_ids() -> list[str]:
    """Stored events not applied yet, oldest first."""
    return list(
        db.session.scalars(
            sa.select(StripeEvent.stripe_id)
            .where(StripeEvent.processed_at.is_(None))
            .order_by(StripeEvent.stripe_created, StripeEvent.id)
        )
    )


def recent_events(*, failed: bool = False, limit: int = 20) -> list[StripeEvent]:
    """The newest stored events, or only those not applied yet."""
    query = sa.select(StripeEvent).order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
    if failed:
        query = query.where(StripeEvent.processed_at.is_(None))
    return list(db.session.scalars(query.limit(limit)))


def _insert(event: Event, payload: bytes | None = None) -> int | None:
    """Insert the inbox row; its id, or None if it was there already."""
    if payload is None:
        text = json.dumps(event.raw, separators=(",", ":"))
    else:
        text = payload.decode("utf-8")
    values = {
        "stripe_id": event.id,
        "type": event.type[:100],
        "object_id": event.object_id[:255],
        "livemode": event.livemode,
        "payload": text,
        "stripe_created": event.created,
        "received_at": utcnow(),
        "attempts": 0,
        "error": "",
    }
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(StripeEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["stripe_id"])
        .returning(StripeEvent.id)
    )
    return db.session.scalar(statement)


def _locked_row(stripe_id: str) -> StripeEvent | None:
    return db.session.scalar(
        sa.select(StripeEvent)
        .where(StripeEvent.stripe_id == stripe_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _apply(row_id: int, event: Event) -> None:
    gift = apply_event(event)
    values = {
        "attempts": StripeEvent.attempts + 1,
        "processed_at": utcnow(),
        "error": "",
    }
    if gift is not None:
        values["gift_id"] = gift.id
    db.session.execute(sa.update(StripeEvent).where(StripeEvent.id == row_id).values(values))


def _keep_failure(event: Event, error: Exception, payload: bytes | None = None) -> None:
    """Record a failed attempt on the event's row, in a transaction of its own."""
    current_app.logger.exception("Stripe event %s (%s) failed", event.id, event.type)
    message = f"{type(error).__name__}: {error}"[:2000]
    _insert(event, payload)
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.stripe_id == event.id, StripeEvent.processed_at.is_(None))
        .values(attempts=StripeEvent.attempts + 1, error=message)
    )
    db.session.commit()
