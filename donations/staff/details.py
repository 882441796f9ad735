"""What the gift and donor pages read: everything recorded about one gift (its movements
and what they add up to, disputes, webhook events, reminders, audit trail) and one donor
(lifetime money per currency, gifts, reminders)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from donations.db import db
from donations.enums import PaymentKind
from donations.models import AuditLog, Dispute, Donor, Gift, Payment, Reminder, StripeEvent
from donations.staff.accounting import DISPUTE_KINDS, Money


@dataclass
class GiftDetail:
    gift: Gift
    payments: list[Payment]
    remaining: dict[int, int]  #: charge id → refundable minor units
    money: Money  #: what the gift's movements add up to
    disputes: list[Dispute]
    events: list[StripeEvent]
    reminders: list[Reminder]
    audit: list[AuditLog]


def _provider_ids(gift: Gift, payments: list[Payment]) -> set[str]:
    """Every payment-provider object id recorded on the gift and its payments."""
    ids = {
        gift.stripe_checkout_session_id,
        gift.stripe_payment_intent_id,
        gift.stripe_subscription_id,
    }
    for payment in payments:
        ids |= {
            payment.stripe_id,
            payment.stripe_invoice_id,
            payment.stripe_payment_intent_id,
            payment.stripe_charge_id,
        }
    ids.discard(None)
    ids.discard("")
    return ids


def gift_detail(gift: Gift) -> GiftDetail:
    """Everything recorded about one gift, oldest first."""
    payments = list(
        db.session.scalars(
            sa.select(Payment)
            .where(Payment.gift_id == gift.id)
            .order_by(Payment.created_at, Payment.id)
        )
    )
    refunded: dict[int, int] = {}
    for payment in payments:
        if payment.refunded_payment_id is not None:
            refunded[payment.refunded_payment_id] = (
                refunded.get(payment.refunded_payment_id, 0) - payment.amount
            )
    remaining = {
        p.id: max(p.amount - refunded.get(p.id, 0), 0)
        for p in payments
        if p.kind == PaymentKind.CHARGE and p.amount > 0
    }
    ids = _provider_ids(gift, payments)
    linked = StripeEvent.gift_id == gift.id
    if ids:
        linked = sa.or_(linked, StripeEvent.object_id.in_(ids))
    events = list(
        db.session.scalars(
            sa.select(StripeEvent)
            .where(linked)
            .order_by(StripeEvent.stripe_created, StripeEvent.id)
            .limit(500)
        )
    )
    reminder_match = Reminder.email == gift.donor.email
    if gift.reminder_id is not None:
        reminder_match = sa.or_(reminder_match, Reminder.id == gift.reminder_id)
    reminders = list(
        db.session.scalars(sa.select(Reminder).where(reminder_match).order_by(Reminder.id))
    )
    audit = list(
        db.session.scalars(
            sa.select(AuditLog)
            .options(selectinload(AuditLog.staff_user))
            .where(AuditLog.gift_id == gift.id)
            .order_by(AuditLog.created_at, AuditLog.id)
        )
    )
    money = Money()
    for payment in payments:
        money.add(_movement_money(payment))
    disputes = db.session.scalars(
        sa.select(Dispute).where(Dispute.gift_id == gift.id).order_by(Dispute.opened_at)
    )
    return GiftDetail(
        gift=gift,
        payments=payments,
        remaining=remaining,
        money=money,
        disputes=list(disputes),
        events=events,
        reminders=reminders,
        audit=audit,
    )


def _movement_money(payment: Payment) -> Money:
    """One movement as a ``Money``, classified as ``money_columns`` does in SQL."""
    amount = payment.amount
    return Money(
        gross=amount if payment.kind == PaymentKind.CHARGE else 0,
        refunds=amount if payment.kind == PaymentKind.REFUND else 0,
        disputes=amount if payment.kind in DISPUTE_KINDS else 0,
        fees=payment.fee or 0,
        fees_pending=int(payment.fee is None),
        charges=int(payment.kind == PaymentKind.CHARGE),
    )


@dataclass
class DonorDetail:
    donor: Donor
    lifetime: list[tuple[str, int]]  #: (currency, net minor units)
    gifts: list[tuple[Gift, int]]  #: (gift, net received)
    reminders: list[Reminder]


def donor_detail(donor: Donor) -> DonorDetail:
    """A donor's lifetime net per currency, their gifts and their reminders."""
    lifetime = db.session.execute(
        sa.select(Payment.currency, sa.func.sum(Payment.amount))
        .join(Gift, Gift.id == Payment.gift_id)
        .where(Gift.donor_id == donor.id)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    ).all()
    gifts = list(
        db.session.scalars(
            sa.select(Gift).where(Gift.donor_id == donor.id).order_by(Gift.created_at.desc())
        )
    )
    nets = dict(
        db.session.execute(
            sa.select(Payment.gift_id, sa.func.sum(Payment.amount))
            .join(Gift, Gift.id == Payment.gift_id)
            .where(Gift.donor_id == donor.id)
            .group_by(Payment.gift_id)
        ).all()
    )
    reminders = list(
        db.session.scalars(
            sa.select(Reminder).where(Reminder.email == donor.email).order_by(Reminder.id.desc())
        )
    )
    return DonorDetail(
        donor=donor,
        lifetime=[(currency, int(total or 0)) for currency, total in lifetime],
        gifts=[(gift, int(nets.get(gift.id) or 0)) for gift in gifts],
        reminders=reminders,
    )
