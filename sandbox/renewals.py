"""Time passing, on demand: renewals, a card that stops working, the end of Stripe's retries.

* ``POST /_sandbox/subscriptions/{id}/renew`` bills the next period now: the period advances and
  a ``subscription_cycle`` invoice is created (``invoice.created``) and charged to the
  subscription's card (see ``billing``), or, if the renewal was due (the period's end) before
  ``pause_collection.resumes_at``, voided (``invoice.voided``, nothing charged). A renewal due at
  or after ``resumes_at`` clears ``pause_collection`` and charges as usual. An ``unpaid``
  subscription's invoice stays a draft, as on Stripe; a subscription set to cancel at the period
  end ends instead (``customer.subscription.deleted``; the answer is the subscription). Then
  ``customer.subscription.updated``; it answers the invoice.
* ``POST /_sandbox/subscriptions/{id}/fail_next_renewal``: the card the subscription bills now
  declines every charge, so renewals and retries fail until the subscription (or the customer)
  gets another default card.
* ``POST /_sandbox/subscriptions/{id}/give_up``: Stripe's retries of a ``past_due`` subscription
  ran out, and the account's setting applies: cancel it (``cancellation_details.reason`` is
  ``payment_failed``, ``customer.subscription.deleted``), or with ``action=unpaid`` leave it
  ``unpaid`` (``customer.subscription.updated``). Its open invoices stay open, no retry planned.
"""

from datetime import datetime

from dateutil.relativedelta import relativedelta
from localstripe import resources as ls

from . import billing, payment_methods
from .common import StripeError, json_response, match, public_base, read_params
from .events import emit_changes, snapshot
from .shapes import normalize
from .subscriptions import end, get

RENEWABLE = ("active", "past_due", "trialing", "unpaid")

_original_current_period = ls.SubscriptionItem._current_period


def _current_period(item):
    """localstripe derives periods from the start date; a renewal moves them on."""
    sub = ls.store.get("subscription:" + item._subscription) if item._subscription else None
    period = getattr(sub, "_sandbox_period", None)
    if period is not None:
        return dict(period)
    return _original_current_period(item)


def install():
    ls.SubscriptionItem._current_period = _current_period


def _next_period(subscription):
    start = subscription.current_period_end
    plan = subscription.items._list[0].plan
    step = {
        "day": relativedelta(days=plan.interval_count),
        "week": relativedelta(weeks=plan.interval_count),
        "month": relativedelta(months=plan.interval_count),
        "year": relativedelta(years=plan.interval_count),
    }[plan.interval]
    end_ = int((datetime.fromtimestamp(start) + step).timestamp())
    return {"start": start, "end": end_}


def _paused(subscription, due):
    pause = subscription.pause_collection
    return pause is not None and (pause["resumes_at"] is None or due < pause["resumes_at"])


async def renew(request):
    subscription = get(match(request, "id"))
    if subscription.status not in RENEWABLE:
        raise StripeError(
            400, f"Cannot renew a subscription whose status is {subscription.status}."
        )
    if subscription.cancel_at_period_end:
        end(subscription, "cancellation_requested", canceled_at=subscription.canceled_at)
        return json_response(normalize(subscription._export()))
    before = snapshot(subscription)
    due = subscription.current_period_end
    subscription._sandbox_period = _next_period(subscription)
    invoice = billing.new_invoice(subscription, "subscription_cycle")
    if subscription.status != "unpaid":
        billing.finalize(invoice, public_base(request))
        if _paused(subscription, due):
            billing.void(invoice)
        else:
            subscription.pause_collection = None
            billing.attempt(invoice, automatic=True)
    emit_changes("customer.subscription.updated", subscription, before)
    return json_response(normalize(invoice._export()))


async def fail_next_renewal(request):
    subscription = get(match(request, "id"))
    card = billing.billed_card(subscription.customer, subscription)
    if card is None:
        raise StripeError(400, "This subscription has no card to charge.")
    payment_methods.decline_charges(payment_methods.get(card))
    return json_response({"subscription": subscription.id, "fail_next_renewal": True})


async def give_up(request):
    subscription = get(match(request, "id"))
    action = (await read_params(request)).get("action") or "cancel"
    if action not in ("cancel", "unpaid"):
        raise StripeError(400, "action must be cancel or unpaid.", param="action")
    if subscription.status != "past_due":
        raise StripeError(
            400,
            f"Only a past_due subscription's retries run out; this one is {subscription.status}.",
        )
    if action == "unpaid":
        before = snapshot(subscription)
        billing.stop_collection(subscription)
        subscription.status = "unpaid"
        emit_changes("customer.subscription.updated", subscription, before)
    else:
        end(subscription, "payment_failed")
    return json_response(normalize(subscription._export()))


PUBLIC_ROUTES = [
    ("POST", "/_sandbox/subscriptions/{id}/renew", renew),
    ("POST", "/_sandbox/subscriptions/{id}/fail_next_renewal", fail_next_renewal),
    ("POST", "/_sandbox/subscriptions/{id}/give_up", give_up),
]
