"""The ledger's pure rules, on their own: every path that records money decides by these."""

from datetime import UTC, datetime

import pytest

from donations.enums import Frequency, GiftStatus
from donations.ledger import rules
from donations.payments.types import CancellationReason, SubscriptionStatus
from tests.factories import at

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
        GiftStatus.LAPSED
    )
    assert rules.status_for_subscription(SubscriptionStatus.INCOMPLETE, ever_paid=False) is None


def test_each_payment_has_one_receipt_key():
    assert rules.receipt_key("in_1") == rules.receipt_key("in_1") != rules.receipt_key("in_2")


def test_stripe_giving_up_ends_a_gift_for_non_payment_and_a_request_cancels_it():
    cancelled = SubscriptionStatus.CANCELLED
    assert rules.status_for_subscription(
        cancelled, ever_paid=True, reason=CancellationReason.PAYMENT_FAILED
    ) == (GiftStatus.LAPSED)
    assert rules.status_for_subscription(
        cancelled, ever_paid=True, reason=CancellationReason.REQUESTED
    ) == (GiftStatus.CANCELLED)


def test_a_card_works_to_the_end_of_its_expiry_month():
    assert not rules.card_expires_before(4, 2027, at("2027-04-30 12:00"))
    assert rules.card_expires_before(4, 2027, at("2027-05-01 00:00"))
    assert not rules.card_expires_before(0, 0, at("2027-05-01 00:00"))


def test_a_newer_card_or_state_replaces_an_older_one_only():
    assert rules.is_newer(10, None) and rules.is_newer(10, 10)
    assert not rules.is_newer(9, 10)


def test_a_pause_resumes_a_day_after_the_last_skipped_renewal():
    end = at("2027-01-15 08:00")
    two = rules.pause_resumes_at(end, Frequency.MONTHLY, 2)
    assert two == at("2027-02-16 08:00")
    assert rules.renewals_skipped(end, Frequency.MONTHLY, two) == 2
    assert (
        rules.renewals_skipped(
            end, Frequency.ANNUAL, rules.pause_resumes_at(end, Frequency.ANNUAL, 1)
        )
        == 1
    )


def test_the_second_failure_of_a_renewal_gets_a_different_email():
    assert rules.dunning_template(1) == "renewal_failed"
    assert rules.dunning_template(2) == rules.dunning_template(4) == "renewal_failed_again"


@pytest.mark.parametrize(
    ("one_time", "expected"),
    [(3000, 1000), (9000, 2500), (100000, 2500), (600, 200), (1000, 200)],
)
def test_make_it_monthly_suggests_the_largest_preset_within_a_third(one_time, expected):
    assert rules.upsell_amount(one_time, [500, 1000, 2500], 200) == expected


def test_an_inquiry_moves_no_money_and_a_closed_dispute_never_reopens():
    from donations.enums import DisputeState, PaymentKind
    from donations.payments.types import BalanceTransaction, DisputeStatus

    assert rules.dispute_movements("dp_1", 500, DisputeStatus.INQUIRY, ()) == []
    assert rules.dispute_movements("dp_1", 500, DisputeStatus.INQUIRY_CLOSED, ()) == []
    withdrawn = BalanceTransaction("txn_1", -500, 1500, -2000, "USD")
    [movement] = rules.dispute_movements("dp_1", 500, DisputeStatus.OPEN, (withdrawn,))
    assert (movement.kind, movement.amount, movement.balance) == (
        PaymentKind.DISPUTE,
        -500,
        withdrawn,
    )
    assert rules.dispute_state(DisputeStatus.OPEN, DisputeState.WON) is DisputeState.WON
    assert rules.dispute_state(DisputeStatus.INQUIRY_CLOSED) is DisputeState.CLOSED
