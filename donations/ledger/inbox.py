"""The webhook inbox: each verified event is stored once, then applied exactly once.

``receive`` inserts the event row (unique event id; a concurrent duplicate waits on the
insert until the first transaction ends) and applies it in the same transaction. A
duplicate of an applied event changes nothing. When a handler raises, the caller rolls
everything back and then, in a transaction of its own, ``record_failure`` keeps the
error and the attempt count on the row, so the provider's retry or ``replay`` can apply
it later. Nothing here commits: the webhook view and the CLI own their transactions.
"""

from __future__ import annotations

import enum
import json

import sqlalchemy as sa
from flask import current_app

from donations.db import db, dialect_insert, per_dialect, utcnow
from donations.ledger.events import apply_event
from donations.models import Gift, StripeEvent
from donations.payments import gateway
from donations.payments.types import Event
from donations.privacy.queries import about_erased_donors

_TABLE = StripeEvent.__table__
#: the columns a claimed event's row is stored with (``_values`` and ``processed_at``)
_COLUMNS = (
    "processed_at",
    "stripe_id",
    "type",
    "object_id",
    "livemode",
    "payload",
    "stripe_created",
    "received_at",
    "error",
)


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    FAILED = "failed"  #: the handler raised; the attempt was rolled back and recorded


def receive(event: Event, payload: bytes | None = None) -> Outcome:
    """Store and apply a verified event; ``DUPLICATE`` if it was applied before.

    ``payload`` is the body as received (kept verbatim); without it the event is
    re-encoded. A handler's exception propagates: roll back, then ``record_failure``.
    """
    row = _claim(event, payload)
    if row is None:
        return Outcome.DUPLICATE
    gift = apply_event(event)
    if gift is not None and gift.id != row.gift_id:
        db.session.execute(sa.update(_TABLE).where(_TABLE.c.id == row.id).values(gift_id=gift.id))
    if gift is None or gift.donor.erased_at is not None:
        _forget_if_about_erased_donor(row.id)
    return Outcome.APPLIED


def _forget_if_about_erased_donor(row_id: int) -> None:
    """An event arriving after its donor was erased (the deleted customer, a late invoice)
    keeps no body: it would bring their email and name back."""
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.id == row_id, about_erased_donors())
        .values(payload="{}")
    )


def replay(stripe_id: str) -> Outcome | None:
    """Apply a stored event again (its handlers are idempotent); None if unknown.

    A handler's exception propagates, as in ``receive``.
    """
    row = _locked_row(stripe_id)
    if row is None:
        return None
    gift = apply_event(gateway().load_event(row.payload))
    db.session.execute(
        _MARK_APPLIED,
        {"row_id": row.id, "processed_at": utcnow(), "gift_id": gift.id if gift else None},
    )
    return Outcome.APPLIED


def record_failure(event: Event | str, error: Exception, payload: bytes | None = None) -> None:
    """Keep a failed attempt on the event's row, after the attempt was rolled back.

    ``event`` is the received event (its row is stored if the rollback took it away), or
    the id of a stored one.
    """
    if isinstance(event, str):
        event_id, described = event, event
    else:
        event_id, described = event.id, f"{event.id} ({event.type})"
        _insert(event, payload)
    current_app.logger.error("Stripe event %s failed", described, exc_info=error)
    message = f"{type(error).__name__}: {error}"[:2000]
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.stripe_id == event_id, StripeEvent.processed_at.is_(None))
        .values(attempts=StripeEvent.attempts + 1, error=message)
    )


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


def _claim(event: Event, payload: bytes | None = None) -> sa.Row | None:
    """Store the event as applied, or claim its unapplied row; (id, gift_id) or None.

    One ``INSERT … ON CONFLICT (stripe_id) DO UPDATE … WHERE processed_at IS NULL``: a new
    event or an earlier failure comes back (locked, so a concurrent delivery of the same
    event waits for this transaction), an applied one comes back empty, so a duplicate
    costs one statement. The row is written as applied (``processed_at``, one more
    attempt) before its handler runs: the handler is in the same transaction, so the row
    reads as applied only if it commits; a failure rolls it back and ``record_failure``
    stores it unapplied. A new row names the gift the event's object names, if it exists:
    the reference is checked at commit (a deferred foreign key), so it takes no lock on
    the gift before the handler does, and most events need no second write to link it.
    """
    values = _values(event, payload) | {
        "processed_at": utcnow(),
        "gift_reference": getattr(event.data, "gift_id", None),
    }
    return db.session.connection().execute(_claim_statement(), values).first()


@per_dialect
def _claim_statement() -> sa.Insert:
    insert = dialect_insert(_TABLE)
    row = {name: sa.bindparam(name, type_=_TABLE.c[name].type) for name in _COLUMNS}
    named_gift = sa.select(Gift.id).where(Gift.id == sa.bindparam("gift_reference"))
    row |= {"attempts": 1, "gift_id": named_gift.scalar_subquery()}
    claim = insert.values(row).on_conflict_do_update(
        index_elements=["stripe_id"],
        set_={
            "attempts": _TABLE.c.attempts + 1,
            "processed_at": insert.excluded.processed_at,
            "error": "",
        },
        where=_TABLE.c.processed_at.is_(None),
    )
    return claim.returning(_TABLE.c.id, _TABLE.c.gift_id)


def _insert(event: Event, payload: bytes | None = None) -> None:
    """Insert the inbox row unless it is there already."""
    db.session.connection().execute(_insert_statement(), _values(event, payload))


@per_dialect
def _insert_statement() -> sa.Insert:
    return dialect_insert(_TABLE).on_conflict_do_nothing(index_elements=["stripe_id"])


def _values(event: Event, payload: bytes | None) -> dict:
    if payload is None:
        text = json.dumps(event.raw, separators=(",", ":"))
    else:
        text = payload.decode("utf-8")
    return {
        "stripe_id": event.id,
        "type": event.type[:100],
        "object_id": event.object_id[:255],
        "livemode": event.livemode,
        "payload": text,
        "stripe_created": event.created,
        "received_at": utcnow(),
        "error": "",
    }


_MARK_APPLIED = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("row_id"))
    .values(
        attempts=_TABLE.c.attempts + 1,
        processed_at=sa.bindparam("processed_at"),
        error="",
        gift_id=sa.func.coalesce(sa.bindparam("gift_id", type_=sa.Integer), _TABLE.c.gift_id),
    )
)


def _locked_row(stripe_id: str) -> StripeEvent | None:
    return db.session.scalar(
        sa.select(StripeEvent)
        .where(StripeEvent.stripe_id == stripe_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
