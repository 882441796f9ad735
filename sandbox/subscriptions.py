"""Subscription changes and cancellations as Stripe makes them.

localstripe never emits ``customer.subscription.updated``, never sets ``canceled_at`` and knows
neither ``pause_collection`` nor ``cancellation_details``. Here ``POST /v1/subscriptions/{id}``
checks everything it is asked first (a refused request changes nothing), then applies:

* ``default_payment_method``: a card attached to the subscription's customer; renewals and
  retries charge it;
* ``items[0][id]`` with ``price`` or ``price_data`` (and/or ``quantity``, ``metadata``): the item
  keeps its id and bills the new price from the next renewal. The sandbox makes no prorations,
  so it takes a new price or quantity only with ``proration_behavior=none``, and only in the
  subscription's currency (Stripe's refusal otherwise) and billing interval;
* ``pause_collection[behavior]=void`` with ``resumes_at``, or ``pause_collection=`` to resume:
  the status stays ``active`` (renewals are voided meanwhile, see ``renewals``);
* ``cancel_at_period_end``: ``cancel_at``, ``canceled_at`` (the time of the request) and
  ``cancellation_details.reason`` (``cancellation_requested``) are set, or cleared;
* ``cancellation_details[comment|feedback]`` and ``metadata``.

Every change emits ``customer.subscription.updated`` with ``previous_attributes``.
``DELETE /v1/subscriptions/{id}`` ends it now (``cancellation_requested``,
``customer.subscription.deleted``); automatic collection of its open invoices stops.
"""

import time

from localstripe import resources as ls

from . import billing, payment_methods
from .common import (
    StripeError,
    as_dict,
    expand_param,
    json_response,
    match,
    merged_metadata,
    not_found,
    read_params,
    to_bool,
    to_int,
)
from .events import emit, emit_changes, snapshot
from .prices import build_price, ensure_plan, get_price
from .shapes import normalize

NO_CANCELLATION = {"comment": None, "feedback": None, "reason": None}
UPDATABLE_WHEN_CANCELED = {"cancellation_details", "metadata"}
ITEM_FIELDS = {"id", "price", "price_data", "quantity", "metadata"}

_original_init = ls.Subscription.__init__


def _init(subscription, default_payment_method=None, **params):
    """Stripe's fields localstripe lacks, set before localstripe bills the first invoice."""
    subscription.default_payment_method = default_payment_method
    subscription.pause_collection = None
    subscription.cancellation_details = dict(NO_CANCELLATION)
    _original_init(subscription, **params)


def install():
    ls.Subscription.__init__ = _init


def get(subscription_id):
    subscription = ls.store.get("subscription:" + subscription_id)
    if subscription is None:
        raise not_found("subscription", subscription_id)
    return subscription


async def update_subscription(request):
    """Check every parameter, then apply them all: a refused request changes nothing."""
    subscription = get(match(request, "id"))
    params = await read_params(request)
    expand = expand_param(params)
    if subscription.status == "canceled" and set(params) - UPDATABLE_WHEN_CANCELED:
        raise StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    before = snapshot(subscription)
    changes = []
    if "default_payment_method" in params:
        pm = payment_methods.get(params.pop("default_payment_method"), "default_payment_method")
        payment_methods.require_attached(pm, subscription.customer, "default_payment_method")
        changes.append(lambda: setattr(subscription, "default_payment_method", pm.id))
    if "pause_collection" in params:
        pause = _pause(params.pop("pause_collection"))
        changes.append(lambda: setattr(subscription, "pause_collection", pause))
    if "cancel_at_period_end" in params:
        cancel = to_bool(params.pop("cancel_at_period_end"), "cancel_at_period_end")
        changes.append(lambda: _cancel_at_period_end(subscription, cancel))
    if "cancellation_details" in params:
        details = _details(params.pop("cancellation_details"))
        changes.append(lambda: subscription.cancellation_details.update(details))
    if "metadata" in params:
        metadata = params.pop("metadata")
        changes.append(lambda: _update_metadata(subscription, metadata))
    proration = params.pop("proration_behavior", None)
    if "items" in params:
        changes.append(_item_change(subscription, params.pop("items"), proration))
    if params:
        ls.Subscription._api_update(subscription.id, **params)
    for change in changes:
        change()
    emit_changes("customer.subscription.updated", subscription, before)
    return json_response(normalize(subscription._export(), expand))


def _pause(value):
    if value == "":
        return None
    pause = as_dict(value, "pause_collection")
    if pause.get("behavior") != "void":
        raise StripeError(
            400,
            "The sandbox implements pause_collection[behavior]=void only.",
            param="pause_collection[behavior]",
        )
    resumes_at = pause.get("resumes_at")
    if resumes_at not in (None, ""):
        resumes_at = to_int(resumes_at, "pause_collection[resumes_at]")
    return {"behavior": "void", "resumes_at": resumes_at or None}


def _cancel_at_period_end(subscription, cancel):
    if cancel == subscription.cancel_at_period_end:
        return
    subscription.cancel_at_period_end = cancel
    subscription.cancel_at = subscription.current_period_end if cancel else None
    subscription.canceled_at = int(time.time()) if cancel else None
    subscription.cancellation_details = {
        **NO_CANCELLATION,
        "reason": "cancellation_requested" if cancel else None,
    }


def _details(value):
    details = as_dict(value, "cancellation_details")
    return {key: details[key] or None for key in ("comment", "feedback") if key in details}


def _update_metadata(obj, value):
    obj.metadata = merged_metadata(obj.metadata, value)


def _item_change(subscription, items, proration):
    """Check ``items[0]`` against the subscription's one item; the change to apply."""
    if isinstance(items, dict):
        items = list(items.values())
    if not isinstance(items, list) or len(items) != 1:
        raise StripeError(
            400, "The sandbox supports exactly one item per subscription.", param="items"
        )
    change = as_dict(items[0], "items[0]")
    unsupported = sorted(set(change) - ITEM_FIELDS)
    if unsupported:
        param = f"items[0][{unsupported[0]}]"
        raise StripeError(400, f"The sandbox does not support {param}.", param=param)
    item = subscription.items._list[0]
    if not change.get("id"):
        raise StripeError(
            400,
            "The sandbox supports exactly one item per subscription: pass items[0][id].",
            param="items[0][id]",
        )
    if change["id"] != item.id:
        raise StripeError(
            400,
            f"No such subscription_item: '{change['id']}'",
            code="resource_missing",
            param="items[0][id]",
        )
    quantity = to_int(change.get("quantity", item.quantity), "items[0][quantity]", minimum=1)
    price = _new_price(item.plan, change)
    changes_amount = quantity != item.quantity or (
        price is not None and price["id"] != item.plan.id
    )
    if changes_amount and proration != "none":
        raise StripeError(
            400,
            "The sandbox makes no prorations: change a price or quantity with "
            "proration_behavior=none.",
            param="proration_behavior",
        )

    def apply():
        if price is not None:
            item.plan = ensure_plan(price)
        item.quantity = quantity
        subscription.quantity = quantity
        if "metadata" in change:
            _update_metadata(item, change["metadata"])

    return apply


def _new_price(plan, change):
    """The Price ``items[0][price]`` names or ``items[0][price_data]`` makes, once checked."""
    if change.get("price") and change.get("price_data"):
        raise StripeError(
            400,
            "You may only specify one of these parameters: price, price_data.",
            param="items[0][price_data]",
        )
    if change.get("price"):
        param, price = "items[0][price]", get_price(change["price"], "items[0][price]")
        currency, recurring = price["currency"], price["recurring"]
    elif change.get("price_data"):
        param, price = "items[0][price_data]", None
        data = as_dict(change["price_data"], param)
        currency, recurring = data.get("currency"), data.get("recurring")
    else:
        return None
    if not recurring:
        raise StripeError(
            400,
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=param,
        )
    if currency != plan.currency:
        raise StripeError(
            400,
            f"The price specified only supports `{currency}`. This doesn't match the expected "
            f"currency: `{plan.currency}`.",
            param=param,
        )
    interval = (recurring["interval"], int(recurring.get("interval_count", 1)))
    if interval != (plan.interval, plan.interval_count):
        raise StripeError(
            400,
            "The sandbox changes a subscription's price only within its billing interval.",
            param=param,
        )
    if price is None:
        price = build_price(data, prefix=f"{param}[", inline=True)
    return price


def end(subscription, reason, canceled_at=None):
    """The subscription ends now: ``canceled``, collection stopped, the deleted event."""
    now = int(time.time())
    subscription.status = "canceled"
    subscription.ended_at = now
    subscription.canceled_at = canceled_at or now
    subscription.cancellation_details = {**subscription.cancellation_details, "reason": reason}
    billing.stop_collection(subscription)
    emit("customer.subscription.deleted", subscription)


async def cancel_subscription(request):
    subscription = get(match(request, "id"))
    params = await read_params(request)
    if subscription.status == "canceled":
        raise StripeError(
            400,
            f"No such subscription: '{subscription.id}' is already canceled.",
            code="resource_missing",
        )
    subscription.cancellation_details.update(_details(params.get("cancellation_details")))
    end(subscription, "cancellation_requested")
    return json_response(normalize(subscription._export(), expand_param(params)))


ROUTES = [
    ("POST", "/v1/subscriptions/{id}", update_subscription),
    ("DELETE", "/v1/subscriptions/{id}", cancel_subscription),
]
