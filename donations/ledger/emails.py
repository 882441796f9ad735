"""The donor emails the ledger queues in the outbox, in the same transaction as the money.

Contexts are plain JSON (amounts in minor units beside the currency, dates as ISO
strings) built by ``rules``; every donor email is in the gift's language (``Gift.locale``,
the reader's when they gave); the templates are ``templates/email/<name>.txt``, ``.html``
and ``.subject.txt``. Each email carries a dedupe key, so replays and duplicates never
send it twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from donations import links, outbox
from donations.config import public_url
from donations.db import db
from donations.enums import PaymentKind, StaffRole
from donations.i18n import STAFF_LANGUAGE
from donations.ledger import rules
from donations.ledger.changes import note
from donations.models import Dispute, Gift, Payment, StaffUser
from donations.payments.types import Invoice


def receipt_context(payment: Payment) -> dict[str, Any]:
    """What the "receipt" template needs for a recorded charge (staff resends use it)."""
    gift = payment.gift
    first_id = db.session.scalar(
        sa.select(sa.func.min(Payment.id)).where(
            Payment.gift_id == gift.id, Payment.kind == PaymentKind.CHARGE
        )
    )
    return rules.receipt_context(
        gift,
        gift.donor,
        payment_reference=payment.stripe_id,
        amount=payment.amount,
        currency=payment.currency,
        paid_at=payment.created_at,
        renewal=first_id is not None and payment.id != first_id,
        receipt_number=payment.receipt_number,
        refunded=returned_of(payment),
    ) | {"locale": gift.locale}


def returned_of(charge: Payment) -> int:
    """What a charge gave back so far (positive): its refunds, and its disputes' money
    withdrawn and not reinstated."""
    refunds = sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
        Payment.refunded_payment_id == charge.id
    )
    disputed = sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
        Payment.stripe_id.in_(sa.select(Dispute.stripe_id).where(Dispute.payment_id == charge.id))
        | Payment.stripe_id.in_(
            sa.select(Dispute.stripe_id + rules.REINSTATED).where(Dispute.payment_id == charge.id)
        )
    )
    return -(db.session.scalar(refunds) + db.session.scalar(disputed))


def queue_receipt(
    gift: Gift,
    *,
    stripe_id: str,
    amount: int,
    currency: str,
    paid_at: datetime,
    renewal: bool,
) -> None:
    """Queue the receipt for a newly recorded charge (once per charge).

    It takes the charge's values rather than a ``Payment``: the ledger writes charges with
    a Core insert and never loads them back.
    """
    context = rules.receipt_context(
        gift,
        gift.donor,
        payment_reference=stripe_id,
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        renewal=renewal,
    )
    _queue(gift, "receipt", context, rules.receipt_key(stripe_id), stripe_id)


def complete_context(template: str, context: dict[str, Any]) -> dict[str, Any]:
    """What a queued email learns only when it is sent: a receipt's number, given when
    its payment's transaction committed (after the receipt was queued)."""
    reference = context.get("payment_reference")
    if template != "receipt" or context.get("receipt_number") or not reference:
        return context
    number = db.session.scalar(
        sa.select(Payment.receipt_number).where(Payment.stripe_id == reference)
    )
    return context | {"receipt_number": number}


def queue_tribute_notice(gift: Gift) -> None:
    """Tell the person a gift is dedicated to, once, without the amount."""
    context = {
        "tribute_kind": str(gift.tribute_kind) if gift.tribute_kind else "honour",
        "tribute_name": gift.tribute_name,
        "tribute_message": gift.tribute_message,
        "donor_name": "" if gift.anonymous else gift.donor.name,
        "organization_name": current_app.config["ORGANIZATION_NAME"],
    }
    queued = outbox.enqueue(
        gift.tribute_notify_email,
        "tribute_notice",
        context,
        dedupe_key=rules.tribute_key(gift.id),
        gift_id=gift.id,
        locale=gift.locale,
    )
    if queued is not None:
        note(f"gift {gift.id}: tribute notice queued")


def queue_dispute_opened(dispute: Dispute, gift: Gift) -> None:
    """Tell every admin a dispute opened, with its deadline (once per dispute and admin),
    in English like the staff pages."""
    admins = db.session.scalars(
        sa.select(StaffUser).where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
    )
    context = {
        "gift_id": gift.id,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "respond_by": dispute.respond_by.date().isoformat() if dispute.respond_by else None,
        "staff_url": f"{public_url()}/staff/gifts/{gift.id}",
    }
    for admin in admins:
        outbox.enqueue(
            admin.email,
            "dispute_opened",
            context,
            dedupe_key=rules.dispute_opened_key(dispute.stripe_id, admin.id),
            gift_id=gift.id,
            locale=STAFF_LANGUAGE,
        )
    note(f"gift {gift.id}: dispute {dispute.stripe_id} reported to the admins")


def queue_refund_notice(refund: Payment, charge: Payment) -> None:
    """Tell the donor about a refund (once per refund)."""
    gift = refund.gift
    context = rules.gift_context(gift, gift.donor) | {
        "amount": -refund.amount,
        "currency": refund.currency,
        "date": refund.created_at.date().isoformat(),
        "original_amount": charge.amount,
        "original_date": charge.created_at.date().isoformat(),
        "partial": -refund.amount < charge.amount,
    }
    key = rules.refund_notice_key(refund.stripe_id)
    _queue(gift, "refund_notice", context, key, refund.stripe_id)


def queue_renewal_failed(gift: Gift, invoice: Invoice, attempt: int) -> None:
    """Tell the donor a renewal failed, when Stripe tries again, and how to fix it: the
    first failure and the second get different emails, each once per invoice."""
    template = rules.dunning_template(attempt)
    context = rules.gift_context(gift, gift.donor) | {
        "amount": invoice.amount_due,
        "currency": invoice.currency or gift.currency,
        "invoice_reference": invoice.id,
        "attempt": attempt,
        "update_card_url": links.update_card_url(gift),
        "manage_url": links.manage_url(gift.donor),
        "next_attempt_date": _date(invoice.next_payment_attempt),
    }
    _queue(gift, template, context, rules.renewal_failed_key(template, invoice.id), invoice.id)


def queue_gift_notice(gift: Gift, template: str, stamp: int | str, **extra: Any) -> bool:
    """Tell the donor their gift was cancelled, stopped, paused, resumed or changed, once
    per ``stamp``; return whether it was queued now."""
    context = rules.gift_context(gift, gift.donor) | last_payment(gift) | extra
    context["manage_url"] = links.manage_url(gift.donor)
    if template in ("gift_cancelled", "support_stopped"):
        context["restart_url"] = links.restart_url(gift)
        period_end = gift.current_period_end
        context["ends_on"] = (
            period_end.date().isoformat() if extra.get("at_period_end") and period_end else None
        )
    if gift.paused_until is not None:
        context["resumes_on"] = gift.paused_until.date().isoformat()
    key = rules.gift_change_key(template, gift.id, stamp)
    return _queue(gift, template, context, key, f"the change at {stamp}")


def queue_card_expiring(gift: Gift) -> bool:
    """Tell the donor their card expires before the next renewal (once per card)."""
    card = rules.card_fields_of(gift)
    context = (
        rules.gift_context(gift, gift.donor)
        | card
        | {
            "update_card_url": links.update_card_url(gift),
            "manage_url": links.manage_url(gift.donor),
        }
    )
    return _queue(gift, "card_expiring", context, rules.card_expiring_key(gift.id, card), "card")


def last_payment(gift: Gift) -> dict[str, Any]:
    """The gift's latest charge, for "your last payment was …"."""
    charge = db.session.scalar(
        sa.select(Payment)
        .where(Payment.gift_id == gift.id, Payment.kind == PaymentKind.CHARGE)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    return {
        "last_payment_amount": charge.amount if charge else None,
        "last_payment_currency": charge.currency if charge else None,
        "last_payment_date": charge.created_at.date().isoformat() if charge else None,
    }


def _date(timestamp: int | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat() if timestamp else None


def _queue(gift: Gift, template: str, context: dict, key: str, reference: str) -> bool:
    """Queue one email to the donor, at most once per key; return whether it was queued."""
    queued = outbox.enqueue(
        gift.donor.email, template, context, dedupe_key=key, gift_id=gift.id, locale=gift.locale
    )
    if queued is not None:
        note(f"gift {gift.id}: {template.replace('_', ' ')} queued for {reference}")
    return queued is not None
