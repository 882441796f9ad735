"""The donor emails the ledger queues in the outbox, in the same transaction as the money.

Contexts are plain JSON (amounts in minor units beside the currency, dates as ISO
strings) built by ``rules``; the templates are ``templates/email/<name>.txt``, ``.html``
and ``.subject.txt``. Each email carries a dedupe key, so replays and duplicates never
send it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from donations import outbox
from donations.db import db
from donations.enums import PaymentKind
from donations.ledger import rules
from donations.ledger.changes import note
from donations.models import Gift, Payment


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
    )


def queue_receipt(
    gift: Gift, *, stripe_id: str, amount: int, currency: str, paid_at: datetime, renewal: bool
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


def queue_renewal_failed(gift: Gift, invoice_id: str, amount: int, currency: str, fix_url: str):
    """Tell the donor a renewal failed and how to fix it (once per invoice)."""
    context = rules.gift_context(gift, gift.donor) | {
        "amount": amount,
        "currency": currency,
        "invoice_reference": invoice_id,
        "fix_url": fix_url,
    }
    _queue(gift, "renewal_failed", context, rules.renewal_failed_key(invoice_id), invoice_id)


def _queue(gift: Gift, template: str, context: dict, key: str, reference: str) -> None:
    """Queue one email to the donor, at most once per key."""
    queued = outbox.enqueue(gift.donor.email, template, context, dedupe_key=key, gift_id=gift.id)
    if queued is not None:
        note(f"gift {gift.id}: {template.replace('_', ' ')} queued for {reference}")
