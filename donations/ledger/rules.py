"""The ledger's pure rules: what a payment or a subscription state means for a gift, and
what the donor's emails say. No database, no gateway: every path that records money
(webhooks, the thank-you page, reconcile, staff actions) decides through these.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from donations.enums import UNPAID_STATUSES, Frequency, GiftStatus
from donations.payments.types import SubscriptionStatus

if TYPE_CHECKING:
    from donations.models import Donor, Gift

#: the gift's status while its subscription is in each state
SUBSCRIPTION_GIFT_STATUS = {
    SubscriptionStatus.ACTIVE: GiftStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE: GiftStatus.PAST_DUE,
    SubscriptionStatus.UNPAID: GiftStatus.PAST_DUE,
    SubscriptionStatus.CANCELLED: GiftStatus.CANCELLED,
}


def status_after_payment(status: GiftStatus, frequency: Frequency) -> GiftStatus:
    """A payment arrived: an unpaid gift is paid (one-time) or active (recurring)."""
    if status not in UNPAID_STATUSES:
        return status
    return GiftStatus.ACTIVE if Frequency(frequency).is_recurring else GiftStatus.PAID


def earliest(paid_at: datetime | None, moment: datetime) -> datetime:
    """A gift's ``paid_at`` is its first payment, whatever order payments are reported in."""
    return moment if paid_at is None or moment < paid_at else paid_at


def status_for_subscription(
    subscription: SubscriptionStatus, *, ever_paid: bool
) -> GiftStatus | None:
    """The gift status a subscription state implies; None leaves the gift as it is."""
    if subscription is SubscriptionStatus.INCOMPLETE_EXPIRED and not ever_paid:
        return GiftStatus.ABANDONED
    return SUBSCRIPTION_GIFT_STATUS.get(subscription)


def receipt_key(payment_reference: str) -> str:
    """One receipt per payment, whatever replays happen."""
    return f"receipt:{payment_reference}"


def refund_notice_key(refund_reference: str) -> str:
    return f"refund:{refund_reference}"


def renewal_failed_key(invoice_reference: str) -> str:
    return f"renewal_failed:{invoice_reference}"


def gift_context(gift: Gift, donor: Donor) -> dict[str, Any]:
    """What every donor email says about the gift."""
    period_end = gift.current_period_end
    return {
        "donor_name": donor.name,
        "donor_email": donor.email,
        "gift_id": gift.id,
        "frequency": str(gift.frequency),
        "gift_amount": gift.amount,
        "gift_currency": gift.currency,
        "next_payment_date": period_end.date().isoformat() if period_end else None,
    }


def receipt_context(
    gift: Gift,
    donor: Donor,
    *,
    payment_reference: str,
    amount: int,
    currency: str,
    paid_at: datetime,
    renewal: bool,
) -> dict[str, Any]:
    """The receipt for one charge: the amount received, when, and whether it renewed."""
    return gift_context(gift, donor) | {
        "amount": amount,
        "currency": currency,
        "date": paid_at.date().isoformat(),
        "payment_reference": payment_reference,
        "renewal": renewal,
    }
