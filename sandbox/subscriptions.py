"""Subscription changes, renewals on demand and failures on demand.

localstripe never emits ``customer.subscription.updated``, never sets ``canceled_at`` and cannot
advance a billing period. Here ``POST /v1/subscriptions/{id}`` (e.g. ``cancel_at_period_end``) and
``DELETE /v1/subscriptions/{id}`` behave as on Stripe, and two sandbox-only routes stand in for
time passing:

* ``POST /_sandbox/subscriptions/{id}/renew`` bills the next period now: a new invoice
  (``billing_reason=subscription_cycle``), its payment, the period advanced, and
  ``invoice.created``, ``charge.succeeded``, ``payment_intent.succeeded``, ``invoice.paid``,
  ``invoice.payment_succeeded``, ``customer.subscription.updated``; it answers the invoice.
* ``POST /_sandbox/subscriptions/{id}/fail_next_renewal`` makes the next renewal's payment fail:
  the invoice stays ``open``, ``invoice.payment_failed`` is emitted and the subscription becomes
  ``past_due`` (``customer.subscription.updated``). A later successful renewal makes it active.
"""

import time
from datetime import datetime

from dateutil.relativedelta import relativedelta
from localstripe import resources as ls

from .common import (
    StripeError,
    expand_param,
    json_response,
    match,
    not_found,
    read_params,
    to_bool,
)
from .events import emit
from .shapes import normalize

FAIL_NEXT = set()

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


def reset():
    FAIL_NEXT.clear()


def _get(subscription_id):
    sub = ls.store.get("subscription:" + subscription_id)
    if sub is None:
        raise not_found("subscription", subscription_id)
    return sub


def _changes(before, after):
    return {key: before[key] for key in before if before[key] != after.get(key)}


async def update_subscription(request):
    sub = _get(match(request, "id"))
    params = await read_params(request)
    expand = expand_param(params)
    before = normalize(sub._export())
    if "cancel_at_period_end" in params:
        cancel = to_bool(params["cancel_at_period_end"], "cancel_at_period_end")
        if sub.status == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        params["cancel_at_period_end"] = cancel
        sub.canceled_at = int(time.time()) if cancel else None
        sub.cancel_at = sub.current_period_end if cancel else None
    if params:
        ls.Subscription._api_update(sub.id, **params)
    after = normalize(sub._export())
    previous = _changes(before, after)
    if previous:
        emit("customer.subscription.updated", sub, previous_attributes=previous)
    return json_response(normalize(sub._export(), expand))


async def cancel_subscription(request):
    sub = _get(match(request, "id"))
    params = await read_params(request)
    if sub.status == "canceled":
        raise StripeError(
            400, f"No such subscription: '{sub.id}' is already canceled.", code="resource_missing"
        )
    now = int(time.time())
    sub.status = "canceled"
    sub.canceled_at = now
    sub.ended_at = now
    emit("customer.subscription.deleted", sub)
    return json_response(normalize(sub._export(), expand_param(params)))


def _next_period(sub):
    start = sub.current_period_end
    plan = sub.items._list[0].plan
    step = {
        "day": relativedelta(days=plan.interval_count),
        "week": relativedelta(weeks=plan.interval_count),
        "month": relativedelta(months=plan.interval_count),
        "year": relativedelta(years=plan.interval_count),
    }[plan.interval]
    end = int((datetime.fromtimestamp(start) + step).timestamp())
    return {"start": start, "end": end}


def _failing_payment(invoice):
    pm = ls.PaymentMethod(
        type="card",
        card={"number": "4000000000000341", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    )
    pi = ls.PaymentIntent(
        amount=invoice.total,
        currency=invoice.currency,
        customer=invoice.customer,
        payment_method=pm.id,
    )
    invoice.payment_intent = pi.id
    pi.invoice = invoice.id
    pi._confirm(on_failure_now=lambda: None)
    return pi


async def renew(request):
    sub = _get(match(request, "id"))
    if sub.status not in ("active", "past_due", "trialing"):
        raise StripeError(400, f"Cannot renew a subscription whose status is {sub.status}.")
    before = normalize(sub._export())
    sub._sandbox_period = _next_period(sub)
    invoice = ls.Invoice(
        customer=sub.customer,
        subscription=sub.id,
        items=list(sub.items._list),
        date=int(time.time()),
    )
    invoice.billing_reason = "subscription_cycle"
    invoice._finalize()
    if sub.id in FAIL_NEXT:
        FAIL_NEXT.discard(sub.id)
        pi = _failing_payment(invoice)
        emit("charge.failed", pi.latest_charge)
        emit("payment_intent.payment_failed", pi)
        emit("invoice.payment_failed", invoice)
        sub.status = "past_due"
    else:
        ls.Invoice._api_pay_invoice(invoice.id)
    previous = _changes(before, normalize(sub._export()))
    emit("customer.subscription.updated", sub, previous_attributes=previous)
    return json_response(normalize(invoice._export()))


async def fail_next_renewal(request):
    sub = _get(match(request, "id"))
    FAIL_NEXT.add(sub.id)
    return json_response({"subscription": sub.id, "fail_next_renewal": True})


ROUTES = [
    ("POST", "/v1/subscriptions/{id}", update_subscription),
    ("DELETE", "/v1/subscriptions/{id}", cancel_subscription),
]

PUBLIC_ROUTES = [
    ("POST", "/_sandbox/subscriptions/{id}/renew", renew),
    ("POST", "/_sandbox/subscriptions/{id}/fail_next_renewal", fail_next_renewal),
]
