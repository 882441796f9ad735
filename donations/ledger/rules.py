"""The ledger's pure rules: what a payment or a subscription state means for a gift, and
what the donor's emails say. No database, no gateway: every path that records money
(webhooks, the thank-you page, reconcile, staff actions) decides through these.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from donations.enums import UNPAID_STATUSES, DisputeState, Frequency, GiftStatus, PaymentKind
from donations.payments.types import (
    BalanceTransaction,
    CancellationReason,
    Card,
    DisputeStatus,
    SubscriptionStatus,
)

if TYPE_CHECKING:
    from donations.models import Donor, Gift

#: the gift's status while its subscription is in each state
SUBSCRIPTION_GIFT_STATUS = {
    SubscriptionStatus.ACTIVE: GiftStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE: GiftStatus.PAST_DUE,
    SubscriptionStatus.UNPAID: GiftStatus.LAPSED,
    SubscriptionStatus.CANCELLED: GiftStatus.CANCELLED,
}
#: why a subscription ended, when it means the donor did not choose to stop
NON_PAYMENT = (CancellationReason.PAYMENT_FAILED,)
#: a paused gift resumes this long after the last renewal it skips
PAUSE_MARGIN = timedelta(days=1)
PERIODS = {Frequency.MONTHLY: relativedelta(months=1), Frequency.ANNUAL: relativedelta(years=1)}
#: the first failure of a renewal, then every later one: two different emails
DUNNING_TEMPLATES = ("renewal_failed", "renewal_failed_again")


def status_after_payment(status: GiftStatus, frequency: Frequency) -> GiftStatus:
    """A payment arrived: an unpaid gift is paid (one-time) or active (recurring)."""
    if status not in UNPAID_STATUSES:
        return status
    return GiftStatus.ACTIVE if Frequency(frequency).is_recurring else GiftStatus.PAID


def earliest(paid_at: datetime | None, moment: datetime) -> datetime:
    """A gift's ``paid_at`` is its first payment, whatever order payments are reported in."""
    return moment if paid_at is None or moment < paid_at else paid_at


def status_for_subscription(
    subscription: SubscriptionStatus,
    *,
    ever_paid: bool,
    reason: CancellationReason | None = None,
) -> GiftStatus | None:
    """The gift status a subscription state implies; None leaves the gift as it is.

    Stripe giving up on a renewal (the subscription cancelled for failed payment, or
    left unpaid) ends the gift for non-payment: lapsed, not cancelled by anyone.
    """
    if subscription is SubscriptionStatus.INCOMPLETE_EXPIRED and not ever_paid:
        return GiftStatus.ABANDONED
    if subscription is SubscriptionStatus.CANCELLED and reason in NON_PAYMENT:
        return GiftStatus.LAPSED
    return SUBSCRIPTION_GIFT_STATUS.get(subscription)


def is_newer(stamp: int, applied: int | None) -> bool:
    """A fact stamped ``stamp`` (Stripe time) replaces one stamped ``applied``, or none."""
    return applied is None or stamp >= applied


def card_fields(card: Card) -> dict[str, Any]:
    """The gift columns that hold the card on file."""
    return {
        "card_brand": card.brand,
        "card_last4": card.last4,
        "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year,
    }


def card_fields_of(gift: Gift) -> dict[str, Any]:
    """The card on file, in the shape ``card_fields`` gives."""
    return {
        "card_brand": gift.card_brand,
        "card_last4": gift.card_last4,
        "card_exp_month": gift.card_exp_month,
        "card_exp_year": gift.card_exp_year,
    }


def card_expires_before(exp_month: int, exp_year: int, moment: datetime) -> bool:
    """A card works to the end of its expiry month: does it stop working before ``moment``?"""
    if not 1 <= exp_month <= 12 or exp_year < 1:
        return False
    last_day = monthrange(exp_year, exp_month)[1]
    valid_until = datetime(exp_year, exp_month, last_day, 23, 59, 59, tzinfo=UTC)
    return valid_until < moment


def pause_resumes_at(period_end: datetime, frequency: Frequency, renewals: int) -> datetime:
    """Skipping ``renewals`` renewals from ``period_end``: collection resumes a day after
    the last skipped one, so the renewal after it is charged."""
    return period_end + PERIODS[frequency] * (renewals - 1) + PAUSE_MARGIN


def renewals_skipped(
    period_end: datetime | None, frequency: Frequency, resumes_at: datetime
) -> int:
    """How many renewals, from ``period_end`` on, fall before a pause ends."""
    if period_end is None or frequency not in PERIODS:
        return 0
    skipped = 0
    while period_end + PERIODS[frequency] * skipped < resumes_at:
        skipped += 1
    return skipped


def dunning_template(attempt: int) -> str:
    """The email for a renewal's ``attempt``-th failure: the first says it failed, every
    later one is the more urgent second email (sent once per invoice)."""
    return DUNNING_TEMPLATES[0] if attempt <= 1 else DUNNING_TEMPLATES[1]


def upsell_amount(one_time: int, monthly_presets: list[int], minimum: int) -> int:
    """ "Make it monthly?": the largest monthly preset at or below a third of the one-time
    gift, never under the minimum gift."""
    third = one_time // 3
    fitting = [preset for preset in monthly_presets if preset <= third]
    return max([minimum, *fitting])


@dataclass(frozen=True)
class DisputeMovement:
    """Money a dispute moved, as a ledger row: its id, kind, signed amount and balance."""

    stripe_id: str
    kind: PaymentKind
    amount: int
    balance: BalanceTransaction | None


#: a dispute's reinstatement row is its withdrawal's provider id with this suffix
REINSTATED = ":reinstated"
DISPUTE_STATES = {
    DisputeStatus.OPEN: DisputeState.OPEN,
    DisputeStatus.WON: DisputeState.WON,
    DisputeStatus.LOST: DisputeState.LOST,
    DisputeStatus.INQUIRY: DisputeState.OPEN,
    DisputeStatus.INQUIRY_CLOSED: DisputeState.CLOSED,
}
#: an inquiry moves no money unless it turns into a dispute
NO_MONEY_STATUSES = (DisputeStatus.INQUIRY, DisputeStatus.INQUIRY_CLOSED)
CLOSED_DISPUTE_STATES = (DisputeState.WON, DisputeState.LOST, DisputeState.CLOSED)


def dispute_state(status: DisputeStatus, recorded: DisputeState | None = None) -> DisputeState:
    """The ledger's state for Stripe's status; a closed dispute never opens again (a late
    copy of an earlier state loses)."""
    state = DISPUTE_STATES[status]
    if recorded in CLOSED_DISPUTE_STATES and state is DisputeState.OPEN:
        return recorded
    return state


def dispute_movements(
    dispute_id: str,
    amount: int,
    status: DisputeStatus,
    balances: tuple[BalanceTransaction, ...],
) -> list[DisputeMovement]:
    """The money a dispute moved, in the charge's currency: withdrawn when it opened,
    reinstated if it was won; an inquiry moves none.

    Amounts are the dispute's own (its currency is the charge's); Stripe's balance
    transactions give the fee and net only when they are in that currency too (a
    balance settled in another currency leaves them unknown).
    """
    withdrawn = next((b for b in balances if b.amount < 0), None)
    reinstated = next((b for b in balances if b.amount > 0), None)
    if withdrawn is None and status in NO_MONEY_STATUSES:
        return []
    movements = [DisputeMovement(dispute_id, PaymentKind.DISPUTE, -amount, withdrawn)]
    if reinstated is not None or status is DisputeStatus.WON:
        movements.append(
            DisputeMovement(
                dispute_id + REINSTATED, PaymentKind.DISPUTE_REVERSAL, amount, reinstated
            )
        )
    return movements


def receipt_number(year: int, sequence: int) -> str:
    """A receipt's number: the year it was paid and its place in that year's sequence."""
    return f"{year}-{sequence:06d}"


def receipt_key(payment_reference: str) -> str:
    """One receipt per payment, whatever replays happen."""
    return f"receipt:{payment_reference}"


def tribute_key(gift_id: int) -> str:
    return f"tribute:{gift_id}"


def dispute_opened_key(dispute_reference: str, staff_user_id: int) -> str:
    return f"dispute_opened:{dispute_reference}:{staff_user_id}"


def refund_notice_key(refund_reference: str) -> str:
    return f"refund:{refund_reference}"


def renewal_failed_key(template: str, invoice_reference: str) -> str:
    """One email of each kind per renewal invoice, however many retries fail."""
    return f"{template}:{invoice_reference}"


def card_expiring_key(gift_id: int, card: dict[str, Any]) -> str:
    """Once per card on file: a new card (or a new expiry) gets its own reminder."""
    return (
        f"card_expiring:{gift_id}:{card['card_brand']}:{card['card_last4']}:"
        f"{card['card_exp_year']}-{card['card_exp_month']}"
    )


def gift_change_key(template: str, gift_id: int, stamp: int | str) -> str:
    """One email per change of a gift (cancelled, paused, resumed …), ``stamp`` telling
    changes of one kind apart (Stripe's time of the request)."""
    return f"{template}:{gift_id}:{stamp}"


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
        "card_brand": gift.card_brand,
        "card_last4": gift.card_last4,
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
    receipt_number: str | None = None,
    refunded: int = 0,
) -> dict[str, Any]:
    """The receipt for one charge: its number, the amount received and when, whether it
    renewed, what the donor added to cover fees, the dedication, and (re-sent after a
    refund or dispute) what was returned and what the newsroom keeps."""
    return gift_context(gift, donor) | {
        "amount": amount,
        "currency": currency,
        "date": paid_at.date().isoformat(),
        "payment_reference": payment_reference,
        "renewal": renewal,
        "receipt_number": receipt_number,
        "covered_fee": gift.covered_fee or 0,
        "refunded": refunded,
        "retained": amount - refunded,
        "tribute_kind": str(gift.tribute_kind) if gift.tribute_kind else None,
        "tribute_name": gift.tribute_name or "",
    }
