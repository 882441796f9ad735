"""Disputes: a cardholder's bank takes a charge's money back, and gives it back if the
newsroom wins.

Each dispute is a ``Dispute`` row (its state and deadline) and up to two money movements
in ``payments``: the withdrawal (negative, under the dispute's id) and, if won, the
reinstatement (positive, ``<id>:reinstated``), each with Stripe's fee and net. Every
dispute event re-reads the dispute, so events in any order, late or repeated, leave the
state Stripe holds now; the movements are keyed by their ids, so each is recorded once.
"""

from __future__ import annotations

import sqlalchemy as sa

from donations.db import db, utcnow
from donations.enums import DisputeState, PaymentKind
from donations.ledger import emails, rules
from donations.ledger.changes import from_timestamp, note, update
from donations.ledger.records import balance_fields, lock_gift_by, payment_by_stripe_id
from donations.ledger.refunds import ensure_charge_recorded
from donations.models import Dispute, Gift, Payment
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.types import Dispute as ReportedDispute


def apply_dispute(reported: ReportedDispute) -> Gift | None:
    """Bring a dispute and its money in line with Stripe; idempotent, does not commit."""
    try:
        current = gateway().retrieve_dispute(reported.id)
    except GatewayUnavailable:
        raise
    except GatewayError:
        current = reported
    charge = ensure_charge_recorded(current.charge_id, current.payment_intent_id)
    if charge is None:
        return None
    gift = lock_gift_by(charge.gift_id)
    if gift is None:
        return None
    row = db.session.scalar(sa.select(Dispute).where(Dispute.stripe_id == current.id))
    state = rules.dispute_state(current.status, row.state if row else None)
    if row is None:
        row = Dispute(
            stripe_id=current.id,
            gift_id=gift.id,
            payment_id=charge.id,
            state=state,
            amount=current.amount,
            currency=current.currency or charge.currency,
            reason=(current.reason or "")[:64],
            respond_by=from_timestamp(current.respond_by),
            opened_at=from_timestamp(current.created) or utcnow(),
        )
        db.session.add(row)
        db.session.flush()
        note(f"gift {gift.id}: dispute {current.id} of {current.amount} {row.currency} opened")
        if state is DisputeState.OPEN:
            emails.queue_dispute_opened(row, gift)
    else:
        update(
            row,
            f"dispute {row.stripe_id}",
            state=state,
            respond_by=from_timestamp(current.respond_by),
        )
    if state in rules.CLOSED_DISPUTE_STATES and row.closed_at is None:
        row.closed_at = utcnow()
    update(charge, f"payment {charge.stripe_id}", disputed=True)
    update(gift, f"gift {gift.id}", disputed=True)
    for movement in rules.dispute_movements(
        current.id, current.amount, current.status, current.balance_transactions
    ):
        _record(gift, charge, movement, current.created)
    return gift


def _record(gift: Gift, charge: Payment, movement: rules.DisputeMovement, opened: int) -> None:
    """Record one movement once; a movement first recorded without its balance
    transaction gets its fee and net when a later event brings it."""
    fields = balance_fields(movement.balance, charge.currency)
    existing = payment_by_stripe_id(movement.stripe_id)
    if existing is not None:
        missing = {name: value for name, value in fields.items() if getattr(existing, name) is None}
        update(existing, f"payment {existing.stripe_id}", **missing)
        return
    moved_at = movement.balance.created if movement.balance else opened
    db.session.add(
        Payment(
            gift=gift,
            kind=movement.kind,
            amount=movement.amount,
            currency=charge.currency,
            stripe_id=movement.stripe_id,
            stripe_invoice_id=charge.stripe_invoice_id,
            stripe_payment_intent_id=charge.stripe_payment_intent_id,
            stripe_charge_id=charge.stripe_charge_id,
            reason="dispute" if movement.kind is PaymentKind.DISPUTE else "dispute won",
            created_at=from_timestamp(moved_at) or utcnow(),
            **fields,
        )
    )
    db.session.flush()
    note(f"gift {gift.id}: {movement.kind} {movement.stripe_id} of {movement.amount} recorded")
