"""The donor emails the ledger queues in the outbox, in the same transaction as the money.

Contexts are plain JSON (amounts in minor units beside the currency, dates as ISO
strings); the templates are ``templates/email/<name>.txt``, ``.html`` and ``.subject.txt``.
Each email carries a dedupe key, so replays and duplicates never send it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from donations import outbox
from donations.extensions import db
from donations.ledger.changes import as_utc, note
from donations.models import Gift, Payment, PaymentKind


def receipt_context(payment: Payment, *, renewal: bool | None = None) -> dict[str, Any]:
    """What the "receipt" template needs for one charge (staff resends use it too).

    ``renewal`` (not the gift's first payment) is looked up unless the caller knows it.
    """
    gift = payment.gift
    if renewal is None:
        first_id = db.session.scalar(
            sa.select(sa.func.min(Payment.id)).where(
                Payment.gift_id == gift.id, Payment.kind == PaymentKind.CHARGE
            )
        )
        renewal = first_id is not None and payment.id != first_id
    return _receipt_context(
        gift, payment.stripe_id, payment.amount, payment.currency, payment.created_at, renewal
    )


def queue_receipt(
    gift: Gift,
    *,
    stripe_id: str,
    amount: int,
    currency: str,
    created_at: datetime,
    renewal: bool,
) -> None:
    """Queue the receipt for a newly recorded charge (once per charge).

    It takes the charge's values rather than a ``Payment``: the ledger writes charges with
    a Core insert and never loads them back.
    """
    context = _receipt_context(gift, stripe_id, amount, currency, created_at, renewal)
    _queue(gift, "receipt", context, stripe_id)


def _receipt_context(
    gift: Gift, stripe_id: str, amount: int, currency: str, created_at: datetime, renewal: bool
) -> dict[str, Any]:
    return receipt_context_for(gift, gift.donor, stripe_id, amount, currency, created_at, renewal)


def receipt_context_for(
    gift: Any,
    donor: Any,
    stripe_id: str,
    amount: int,
    currency: str,
    created_at: datetime,
    renewal: bool,
) -> dict[str, Any]:
    """The receipt context from a gift and donor as rows or objects (the hot path has rows)."""
    return _gift_context(gift, donor) | {
        "amount": amount,
        "currency": currency,
        "date": as_utc(created_at).date().isoformat(),
        "payment_reference": stripe_id,
        "renewal": renewal,
    }


def queue_refund_notice(refund: Payment, charge: Payment) -> None:
    """Tell the donor about a refund (once per refund)."""
    gift = refund.gift
    context = _gift_context(gift) | {
        "amount": -refund.amount,
        "currency": refund.currency,
        "date": as_utc(refund.created_at).date().isoformat(),
        "original_amount": charge.amount,
        "original_date": as_utc(charge.created_at).date().isoformat(),
        "partial": -refund.amount < charge.amount,
    }
    _queue(gift, "refund_notice", context, refund.stripe_id, key_prefix="refund")


def queue_renewal_failed(gift: Gift, invoice_id: str, amount: int, currency: str, fix_url: str):
    """Tell the donor a renewal failed and how to fix it (once per invoice)."""
    context = _gift_context(gift) | {
        "amount": amount,
        "currency": currency,
        "invoice_reference": invoice_id,
        "fix_url": fix_url,
    }
    _queue(gift, "renewal_failed", context, invoice_id)


def _queue(
    gift: Gift, template: str, context: dict, stripe_id: str, *, key_prefix: str | None = None
) -> None:
    """Queue one email to the donor, at most once per (kind, Stripe object)."""
    key = f"{key_prefix or template}:{stripe_id}"
    queued = outbox.enqueue(gift.donor.email, template, context, dedupe_key=key, gift_id=gift.id)
    if queued is not None:
        note(f"gift {gift.id}: {template.replace('_', ' ')} queued for {stripe_id}")


def _gift_context(gift: Any, donor: Any = None) -> dict[str, Any]:
    period_end = as_utc(gift.current_period_end)
    donor = gift.donor if donor is None else donor
    return {
        "donor_name": donor.name,
        "donor_email": donor.email,
        "gift_id": gift.id,
        "frequency": gift.frequency,
        "gift_amount": gift.amount,
        "gift_currency": gift.currency,
        "next_payment_date": period_end.date().isoformat() if period_end else None,
    }
