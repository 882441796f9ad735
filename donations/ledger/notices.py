"""What a change to a recurring gift means for its donor and its audit trail.

``apply_subscription`` takes a ``Snapshot`` of the locked gift, applies Stripe's state and
calls ``gift_changed``: each change found (cancelled, ended for non-payment, paused,
resumed, amount changed) queues one email, keyed by the gift and the Stripe time of the
change, so a replay or the webhook of a change already applied sends nothing more. A
change nobody here asked for is written to the audit trail as Stripe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from donations.audit import STRIPE, Actor, record_audit
from donations.enums import RUNNING_STATUSES, AuditAction, GiftStatus
from donations.ledger import emails, rules
from donations.ledger.changes import note
from donations.models import Gift
from donations.payments.types import Subscription


@dataclass(frozen=True)
class Snapshot:
    """The parts of a gift whose change the donor is told about."""

    status: GiftStatus
    amount: int
    cancel_at_period_end: bool
    paused_until: datetime | None

    @classmethod
    def of(cls, gift: Gift) -> Snapshot:
        return cls(gift.status, gift.amount, gift.cancel_at_period_end, gift.paused_until)


def gift_changed(
    gift: Gift, before: Snapshot, sub: Subscription, *, stamp: int, actor: Actor, by_us: bool
) -> None:
    """Tell the donor (and the audit trail) about what changed from ``before``.

    An ending is told by state, not by transition, so that events in any order send the
    same email: a paid gift that is cancelled (or set to be) gets one email per
    cancellation request (Stripe's ``canceled_at``), a lapsed one one "stopped" email per
    unpaid invoice (cancelled after being left unpaid, it is not told twice).
    """
    if not gift.is_recurring:
        return
    if gift.paid_at is not None and gift.status == GiftStatus.LAPSED:
        if emails.queue_gift_notice(gift, "support_stopped", sub.latest_invoice_id or "lapsed"):
            _audit(gift, AuditAction.LAPSE, "Stripe stopped retrying: ended for non-payment")
        return
    ended = gift.status == GiftStatus.CANCELLED
    if gift.paid_at is not None and (ended or gift.cancel_at_period_end):
        request_time = sub.canceled_at or sub.ended_at or stamp
        queued = emails.queue_gift_notice(
            gift,
            "gift_cancelled",
            request_time,
            at_period_end=not ended,
            cancelled_by=str(actor.kind),
        )
        if queued and not by_us:
            action = AuditAction.CANCEL if ended else AuditAction.CANCEL_AT_PERIOD_END
            _audit(gift, action, "cancelled at Stripe" + ("" if ended else ", at period end"))
        return
    if before.status not in RUNNING_STATUSES or gift.status not in RUNNING_STATUSES:
        return
    if before.cancel_at_period_end:
        _changed(gift, "gift_resumed", stamp, by_us, AuditAction.RESUME, was="cancellation")
    if before.paused_until and not gift.paused_until:
        _changed(gift, "gift_resumed", stamp, by_us, AuditAction.RESUME, was="pause")
    if gift.paused_until and gift.paused_until != before.paused_until:
        skipped = rules.renewals_skipped(gift.current_period_end, gift.frequency, gift.paused_until)
        _changed(gift, "gift_paused", stamp, by_us, AuditAction.PAUSE, skipped_renewals=skipped)
    if gift.amount != before.amount:
        _changed(
            gift, "gift_changed", stamp, by_us, AuditAction.CHANGE_AMOUNT, old_amount=before.amount
        )


def _changed(gift: Gift, template: str, stamp: int, by_us: bool, action: AuditAction, **extra):
    emails.queue_gift_notice(gift, template, stamp, **extra)
    if not by_us:
        _audit(gift, action, f"changed at Stripe: {template.replace('_', ' ')}")


def _audit(gift: Gift, action: AuditAction, detail: str) -> None:
    record_audit(STRIPE, action, gift, amount=gift.amount, currency=gift.currency, detail=detail)
    note(f"gift {gift.id}: {detail}")
