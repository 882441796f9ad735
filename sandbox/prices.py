"""Prices (``/v1/prices``), which localstripe lacks, and their localstripe Plans.

A Price is kept by the plugin; a recurring Price gets a localstripe Plan with the same id when a
subscription needs one, so localstripe's subscriptions and invoices can bill it while every
answer shows the Price (``items.data[].price``, ``lines.data[].price``).
"""

import time

from localstripe import resources as ls

from . import objects
from .common import (
    StripeError,
    expand_param,
    json_response,
    match,
    metadata_param,
    new_id,
    not_found,
    paginate,
    read_params,
    to_bool,
    to_int,
)
from .events import emit
from .shapes import normalize


def _product_id(params, prefix):
    product = params.get("product")
    product_data = params.get("product_data")
    if product and product_data:
        raise StripeError(
            400,
            "You may only specify one of these parameters: product, product_data.",
            param=f"{prefix}product",
        )
    if isinstance(product, str) and product:
        if ls.store.get("product:" + product) is None:
            raise not_found("product", product)
        return product
    if not isinstance(product_data, dict) or not product_data.get("name"):
        raise StripeError(
            400,
            f"Missing required param: {prefix}product_data[name].",
            param=f"{prefix}product_data[name]",
        )
    kwargs = {"name": str(product_data["name"])}
    if product_data.get("description"):
        kwargs["description"] = str(product_data["description"])
    kwargs["metadata"] = metadata_param(product_data.get("metadata"))
    return ls.Product(**kwargs).id


def build_price(params, prefix="", inline=False):
    """Store a Price made from Stripe's price parameters (``inline`` for ``price_data``).

    The request has been checked against Stripe's description already (``sandbox.validation``):
    ``currency`` is lowercase, ``unit_amount`` an integer of at least 0, ``recurring[interval]``
    one of Stripe's.
    """
    if "unit_amount" in params:
        unit_amount = int(params["unit_amount"])
    elif "unit_amount_decimal" in params:
        unit_amount = int(float(params["unit_amount_decimal"]))
    else:
        raise StripeError(
            400, f"Missing required param: {prefix}unit_amount.", param=f"{prefix}unit_amount"
        )
    recurring = params.get("recurring")
    if recurring is not None:
        recurring = {
            "interval": recurring["interval"],
            "interval_count": to_int(
                recurring.get("interval_count", 1), f"{prefix}recurring[interval_count]", minimum=1
            ),
            "aggregate_usage": None,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    product = _product_id(params, prefix)
    price = {
        "id": new_id("price_"),
        "object": "price",
        "active": False if inline else to_bool(params.get("active", True), "active"),
        "billing_scheme": "per_unit",
        "created": int(time.time()),
        "currency": params["currency"],
        "currency_options": None,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": params.get("lookup_key") or None,
        "metadata": {} if inline else metadata_param(params.get("metadata")),
        "nickname": params.get("nickname") or None,
        "product": product,
        "recurring": recurring,
        "tax_behavior": params.get("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }
    objects.put("price", price)
    return price


def get_price(price_id, param="price"):
    price = objects.get("price", price_id) if isinstance(price_id, str) else None
    if price is None:
        raise StripeError(400, f"No such price: '{price_id}'", code="resource_missing", param=param)
    return price


def ensure_plan(price):
    """The localstripe Plan (same id) that bills this recurring Price."""
    plan = ls.store.get("plan:" + price["id"])
    if plan is None:
        plan = ls.Plan(
            id=price["id"],
            amount=price["unit_amount"],
            currency=price["currency"],
            interval=price["recurring"]["interval"],
            interval_count=price["recurring"]["interval_count"],
            product=price["product"],
            metadata=dict(price["metadata"]),
        )
    return plan


async def create_price(request):
    params = await read_params(request)
    expand = expand_param(params)
    price = build_price(params)
    emit("price.created", price)
    return json_response(normalize(dict(price), expand))


async def retrieve_price(request):
    params = await read_params(request)
    price_id = match(request, "id")
    price = objects.get("price", price_id)
    if price is None:
        raise not_found("price", price_id)
    return json_response(normalize(dict(price), expand_param(params)))


async def list_prices(request):
    params = await read_params(request)
    expand = expand_param(params)
    items = objects.all_of("price")
    for key in ("active", "currency", "product", "type"):
        if key in params:
            wanted = params[key]
            if key == "active":
                wanted = to_bool(wanted, "active")
            items = [price for price in items if price[key] == wanted]
    page = paginate(items, params, "/v1/prices")
    return json_response(normalize(page, expand))


ROUTES = [
    ("POST", "/v1/prices", create_price),
    ("GET", "/v1/prices", list_prices),
    ("GET", "/v1/prices/{id}", retrieve_price),
]
