"""The ledger's pure rules, on their own: every path that records money decides by these."""

from datetime import UTC, datetime

import pytest

from donations.enums import Frequency, GiftStatus
from donations.ledger import rules
from donations.payments.types import SubscriptionStatus

EARLY = datetime(2026, 11, 1, 9, tzinfo=UTC)
LATE = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "frequency", "after"),
    [
        (GiftStatus.PENDING, Frequency.ONCE, GiftStatus.PAID),
        (GiftStatus.ABANDONED, Frequency.MONTHLY, GiftStatus.ACTIVE),
        (GiftStatus.FAILED, Frequency.ANNUAL, GiftStatus.ACTIVE),
        (GiftStatus.REFUNDED, Frequency.ONCE, GiftStatus.REFUNDED),
        (GiftStatus.PAST_DUE, Frequency.MONTHLY, GiftStatus.PAST_DUE),
        (GiftStatus.CANCELLED, Frequency.MONTHLY, GiftStatus.CANCELLED),
    ],
)
def test_a_payment_moves_only_an_unpaid_gift_on(status, frequency, after):
    assert rules.status_after_payment(status, frequency) == after


def test_a_gift_is_paid_at_its_first_payment_whatever_order_they_arrive_in():
    assert rules.earliest(None, LATE) == LATE
    assert rules.earliest(LATE, EARLY) == EARLY
    assert rules.earliest(EARLY, LATE) == EARLY


def test_a_subscription_that_never_took_a_first_payment_abandons_its_gift():
    expired = SubscriptionStatus.INCOMPLETE_EXPIRED
    assert rules.status_for_subscription(expired, ever_paid=False) == GiftStatus.ABANDONED
    assert rules.status_for_subscription(expired, ever_paid=True) is None
    assert rules.status_for_subscription(SubscriptionStatus.UNPAID, ever_paid=True) == (
        GiftStatus.PAST_DUE
    )
    assert rules.status_for_subscription(SubscriptionStatus.INCOMPLETE, ever_paid=False) is None


def test_each_payment_has_one_receipt_key():
    assert rules.receipt_key("in_1") == rules.receipt_key("in_1") != rules.receipt_key("in_2")
