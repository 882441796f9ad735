"""What annual statements read: a donor's charges of a year with what each gave back, and
the donors who gave in a year, a batch at a time.

A charge's refunds point to it (``refunded_payment_id``); its disputes name it
(``Dispute.payment_id``) and their money movements carry the dispute's id (withdrawal) or
that id with ``:reinstated`` (reversal), so a won dispute adds up to nothing. Both sums
are correlated subqueries, read with the charge in one statement.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from donations.db import db
from donations.enums import PaymentKind
from donations.ledger.rules import REINSTATED
from donations.models import Dispute, Donor, Gift, Payment

_refund = orm.aliased(Payment, name="refund")
_movement = orm.aliased(Payment, name="movement")


def _refunded(charge) -> sa.ScalarSelect:
    """What the charge's refunds returned, as a positive amount."""
    return (
        sa.select(-sa.func.coalesce(sa.func.sum(_refund.amount), 0))
        .where(_refund.refunded_payment_id == charge.id, _refund.kind == PaymentKind.REFUND)
        .scalar_subquery()
    )


def _disputed(charge) -> sa.ScalarSelect:
    """What the charge's disputes withdrew and did not reinstate, as a positive amount."""
    return (
        sa.select(-sa.func.coalesce(sa.func.sum(_movement.amount), 0))
        .select_from(Dispute)
        .join(
            _movement,
            (_movement.stripe_id == Dispute.stripe_id)
            | (_movement.stripe_id == Dispute.stripe_id + REINSTATED),
        )
        .where(
            Dispute.payment_id == charge.id,
            _movement.kind.in_((PaymentKind.DISPUTE, PaymentKind.DISPUTE_REVERSAL)),
        )
        .scalar_subquery()
    )


def charges(donor_id: int, start: datetime, end: datetime) -> list[sa.Row]:
    """The donor's charges paid from ``start`` until before ``end``, oldest first: when,
    receipt number, amount, currency, ``refunded`` and ``disputed`` (positive), and the
    gift's id, frequency and dedication."""
    statement = (
        sa.select(
            Payment.created_at.label("paid_at"),
            Payment.receipt_number,
            Payment.amount,
            Payment.currency,
            _refunded(Payment).label("refunded"),
            _disputed(Payment).label("disputed"),
            Gift.id.label("gift_id"),
            Gift.frequency,
            Gift.tribute_kind,
            Gift.tribute_name,
        )
        .join(Gift, Gift.id == Payment.gift_id)
        .where(
            Gift.donor_id == donor_id,
            Payment.kind == PaymentKind.CHARGE,
            Payment.created_at >= start,
            Payment.created_at < end,
        )
        .order_by(Payment.created_at, Payment.id)
    )
    return list(db.session.execute(statement))


def charge_times(donor_id: int) -> list[datetime]:
    """When each of the donor's charges was paid."""
    statement = (
        sa.select(Payment.created_at)
        .join(Gift, Gift.id == Payment.gift_id)
        .where(Gift.donor_id == donor_id, Payment.kind == PaymentKind.CHARGE)
    )
    return list(db.session.scalars(statement))


def _gave(start: datetime, end: datetime) -> sa.Exists:
    """The donor has a charge in the period that its refunds and disputes did not undo."""
    charge = orm.aliased(Payment, name="charge")
    return (
        sa.select(charge.id)
        .join(Gift, Gift.id == charge.gift_id)
        .where(
            Gift.donor_id == Donor.id,
            Donor.erased_at.is_(None),
            charge.kind == PaymentKind.CHARGE,
            charge.created_at >= start,
            charge.created_at < end,
            charge.amount - _refunded(charge) - _disputed(charge) > 0,
        )
        .exists()
    )


def count_donors_who_gave(start: datetime, end: datetime) -> int:
    statement = sa.select(sa.func.count()).select_from(Donor).where(_gave(start, end))
    return db.session.scalar(statement) or 0


def donors_who_gave(
    start: datetime, end: datetime, *, after_id: int, limit: int
) -> list[tuple[int, str, str, str]]:
    """The next ``limit`` donors (id, email, name, language) by id after ``after_id`` who
    gave in the period: a keyset page, so each batch reads only its own donors."""
    statement = (
        sa.select(Donor.id, Donor.email, Donor.name, Donor.locale)
        .where(Donor.id > after_id, _gave(start, end))
        .order_by(Donor.id)
        .limit(limit)
    )
    return [tuple(row) for row in db.session.execute(statement)]
