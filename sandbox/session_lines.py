"""A Checkout Session's line items: read from ``line_items[]``, checked, and listed.

Each line holds a Price (``price`` or inline ``price_data``) and a quantity. The checks are
Stripe's: one-time prices only in ``payment`` mode, one currency per session, a total of at
least the currency's minimum charge; and the sandbox's own limit, exactly one recurring line in
``subscription`` mode.
"""

from localstripe import resources as ls

from .common import StripeError, to_int
from .money import MINIMUM_CHARGE, format_amount
from .prices import build_price, get_price
from .shapes import normalize


def read_lines(params, mode):
    """The session's lines as ``[{"price": id, "quantity": n}]``, or a Stripe error."""
    raw = params.get("line_items")
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not raw:
        raise StripeError(400, "Missing required param: line_items.", param="line_items")
    lines, amount_params = [], []
    for index, item in enumerate(raw):
        prefix = f"line_items[{index}]"
        quantity = to_int(item.get("quantity", 1), f"{prefix}[quantity]", minimum=1)
        if item.get("price"):
            price = get_price(item["price"], f"{prefix}[price]")
            amount_params.append(f"{prefix}[price]")
        elif item.get("price_data"):
            price = build_price(item["price_data"], prefix=f"{prefix}[price_data][", inline=True)
            amount_params.append(f"{prefix}[price_data][unit_amount]")
        else:
            raise StripeError(
                400, f"Missing required param: {prefix}[price].", param=f"{prefix}[price]"
            )
        if mode == "payment" and price["recurring"]:
            raise StripeError(
                400,
                "You specified `payment` mode but passed a recurring price. Either switch "
                "to `subscription` mode or use only one-time prices.",
                param="mode",
            )
        if mode == "subscription" and not price["recurring"]:
            raise StripeError(
                400,
                "The sandbox supports only recurring prices in `subscription` mode.",
                param=f"{prefix}[price]",
            )
        lines.append({"price": price["id"], "quantity": quantity})
    if mode == "subscription" and len(lines) != 1:
        raise StripeError(
            400,
            "The sandbox supports exactly one line item in `subscription` mode.",
            param="line_items",
        )
    currencies = {get_price(line["price"])["currency"] for line in lines}
    if len(currencies) != 1:
        raise StripeError(400, "All line items must use the same currency.", param="line_items")
    _check_minimum_charge(total(lines), currencies.pop(), amount_params)
    return lines


def _check_minimum_charge(amount, currency, amount_params):
    """Stripe refuses a session whose total is below the currency's minimum charge."""
    minimum = MINIMUM_CHARGE.get(currency)
    if minimum is not None and amount < minimum:
        raise StripeError(
            400,
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency}",
            code="amount_too_small",
            param=amount_params[0] if len(amount_params) == 1 else "line_items",
        )


def total(lines):
    return sum(get_price(line["price"])["unit_amount"] * line["quantity"] for line in lines)


def listed(session):
    """``GET /v1/checkout/sessions/{id}/line_items`` (and ``expand[]=line_items``)."""
    data = []
    for index, line in enumerate(session["_lines"]):
        price = get_price(line["price"])
        product = ls.store.get("product:" + price["product"])
        amount = price["unit_amount"] * line["quantity"]
        data.append(
            {
                "id": f"li_{session['id'][8:30]}{index}",
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": product.name if product is not None else None,
                "price": normalize(dict(price)),
                "quantity": line["quantity"],
            }
        )
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "url": f"/v1/checkout/sessions/{session['id']}/line_items",
    }
