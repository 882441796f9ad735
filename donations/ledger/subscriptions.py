"""Recurring gifts follow their Stripe subscription: status, amount, interval, card,
pause, end dates — and the donor hears about each change once.

Subscription events arrive in any order, so a handler re-reads the subscription through
the gateway and applies what Stripe holds now. When a state from an event is applied
instead (the subscription cannot be read), ``Gift.stripe_state_at`` keeps the Stripe
timestamp of the newest state applied and an older one loses. A cancelled subscription
never comes back to life in Stripe, so a cancelled gift stays cancelled.

What changed is found by comparing the locked gift before and after: whoever applies a
change first (the page that asked for it, or its webhook) sees it, so each change sends
one email and, when nobody here asked for it, writes one audit entry naming Stripe.
"""

from __future__ import annotations

import time

from donations.audit import STRIPE, Actor
from donations.enums import ENDED_STATUSES, GiftStatus
from donations.ledger import notices, rules
from donations.ledger.changes import from_timestamp, update
from donations.ledger.records import lock_gift_by
from donations.models import Gift
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.types import Subscription, SubscriptionStatus


def apply_subscription(
    sub: Subscription, *, as_of: int | None = None, actor: Actor | None = None
) -> Gift | None:
    """Bring a recurring gift in line with its subscription; idempotent, does not commit.

    ``as_of`` is the Stripe time the state was current (an event's ``created``); leave it
    out for a state just read from Stripe or returned by a call, which is the newest.
    ``actor`` is who asked for the change when it is our own request (its caller writes
    the audit entry); None means Stripe reported it.
    """
    gift = lock_gift_by(sub.gift_id, subscription_id=sub.id)
    if gift is None:
        return None
    stamp = as_of if as_of is not None else int(time.time())
    if not rules.is_newer(stamp, gift.stripe_state_at):
        return gift
    if gift.status == GiftStatus.CANCELLED and sub.status is not SubscriptionStatus.CANCELLED:
        return gift
    before = notices.Snapshot.of(gift)
    gift.stripe_state_at = stamp
    label = f"gift {gift.id}"
    if gift.stripe_subscription_id is None:
        update(gift, label, stripe_subscription_id=sub.id)
    status = rules.status_for_subscription(
        sub.status, ever_paid=gift.paid_at is not None, reason=sub.cancellation_reason
    )
    if gift.status == GiftStatus.LAPSED and status == GiftStatus.CANCELLED:
        status = GiftStatus.LAPSED  # an unpaid subscription cancelled later: still non-payment
    if status is not None:
        update(gift, label, status=status)
    if status in ENDED_STATUSES and gift.cancelled_at is None:
        update(gift, label, cancelled_at=from_timestamp(sub.ended_at or sub.canceled_at or stamp))
    if sub.amount is not None and sub.currency:
        update(gift, label, amount=sub.amount, currency=sub.currency)
    if sub.frequency is not None:
        update(gift, label, frequency=sub.frequency)
    update(
        gift,
        label,
        cancel_at_period_end=sub.cancel_at_period_end,
        current_period_end=from_timestamp(sub.current_period_end),
        paused_until=from_timestamp(sub.resumes_at) if sub.paused else None,
    )
    notices.gift_changed(
        gift, before, sub, stamp=stamp, actor=actor or STRIPE, by_us=actor is not None
    )
    return gift


def refresh_subscription(
    subscription_id: str, fallback: Subscription | None = None, *, as_of: int | None = None
) -> Gift | None:
    """Apply the subscription as Stripe holds it now, or ``fallback`` if it cannot be read.

    Stripe being unreachable is raised (the event fails and is retried); a subscription
    Stripe no longer returns falls back to the event's own copy and its timestamp.
    """
    try:
        current = gateway().retrieve_subscription(subscription_id)
    except GatewayUnavailable:
        raise
    except GatewayError:
        if fallback is None:
            return None
        return apply_subscription(fallback, as_of=as_of)
    return apply_subscription(current)
