"""Checkout Sessions (``/v1/checkout/sessions``), which localstripe lacks.

A session records what is bought; paying it (``pay``, used by the hosted page and by the
``/_sandbox`` shortcut) creates the real localstripe objects, a Customer, a PaymentMethod and
either a confirmed PaymentIntent (``mode=payment``) or a Subscription whose first invoice is paid
(``mode=subscription``), then completes the session and emits ``checkout.session.completed``.
"""

import os
import time

from localstripe import resources as ls

from . import objects
from .cards import AUTHENTICATION_FAILED
from .common import (
    StripeError,
    as_dict,
    expand_param,
    json_response,
    match,
    metadata_param,
    new_id,
    not_found,
    paginate,
    read_params,
    to_int,
)
from .events import emit
from .money import MINIMUM_CHARGE, format_amount
from .prices import build_price, ensure_plan, get_price
from .shapes import normalize

DAY = 24 * 3600


class Declined(Exception):
    """The card was refused; the message is Stripe's, shown on the page."""

    def __init__(self, message, code="card_declined", decline_code=None):
        super().__init__(message)
        self.message, self.code, self.decline_code = message, code, decline_code


def public_base(request):
    configured = os.environ.get("SANDBOX_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def _line_items(params, mode):
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
    _check_minimum_charge(_amount(lines), currencies.pop(), amount_params)
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


def _amount(lines):
    return sum(get_price(line["price"])["unit_amount"] * line["quantity"] for line in lines)


async def create_session(request):
    params = await read_params(request)
    expand = expand_param(params)
    mode = params.get("mode")
    if mode not in ("payment", "subscription"):
        raise StripeError(
            400, "Invalid mode: the sandbox supports `payment` and `subscription`.", param="mode"
        )
    customer = params.get("customer") or None
    if customer and ls.store.get("customer:" + customer) is None:
        raise not_found("customer", customer)
    for url_param in ("success_url", "cancel_url"):
        url = params.get(url_param)
        if url and not str(url).startswith(("http://", "https://")):
            raise StripeError(400, f"Not a valid URL: {url_param}", param=url_param)
    lines = _line_items(params, mode)
    now = int(time.time())
    expires_at = to_int(params.get("expires_at", now + DAY), "expires_at")
    if not now + 1800 <= expires_at <= now + DAY:
        raise StripeError(
            400, "expires_at must be between 30 minutes and 24 hours from now.", param="expires_at"
        )
    amount = _amount(lines)
    session_id = new_id("cs_test_", 58)
    session = {
        "id": session_id,
        "object": "checkout.session",
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url") or None,
        "client_reference_id": params.get("client_reference_id") or None,
        "created": now,
        "currency": get_price(lines[0]["price"])["currency"],
        "customer": customer,
        "customer_creation": "if_required" if mode == "payment" and not customer else None,
        "customer_details": None,
        "customer_email": params.get("customer_email") or None,
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": _invoice_creation() if mode == "payment" else None,
        "livemode": False,
        "locale": params.get("locale") or None,
        "metadata": metadata_param(params.get("metadata")),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always" if mode == "subscription" else "if_required",
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "status": "open",
        "submit_type": params.get("submit_type") or None,
        "subscription": None,
        "success_url": params.get("success_url") or None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": f"{public_base(request)}/checkout/pay/{session_id}",
        "_lines": lines,
        "_payment_intent_metadata": metadata_param(
            as_dict(params.get("payment_intent_data"), "payment_intent_data").get("metadata"),
            "payment_intent_data[metadata]",
        ),
        "_subscription_metadata": metadata_param(
            as_dict(params.get("subscription_data"), "subscription_data").get("metadata"),
            "subscription_data[metadata]",
        ),
    }
    objects.put("checkout.session", session)
    return json_response(render(session, expand))


def _invoice_creation():
    return {
        "enabled": False,
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": None,
            "metadata": {},
            "rendering_options": None,
        },
    }


def line_items(session):
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


def render(session, expand=()):
    data = dict(session)
    if "line_items" in expand:
        data["line_items"] = line_items(session)
    return normalize(data, [path for path in expand if path != "line_items"])


def get_session(session_id):
    session = objects.get("checkout.session", session_id)
    if session is None:
        raise not_found("checkout.session", session_id)
    refresh(session)
    return session


def refresh(session):
    """Expire an open session whose ``expires_at`` has passed."""
    if session["status"] == "open" and time.time() >= session["expires_at"]:
        expire(session)


def expire(session):
    session["status"] = "expired"
    session.pop("_pending", None)
    emit("checkout.session.expired", render(session))


async def retrieve_session(request):
    params = await read_params(request)
    return json_response(render(get_session(match(request, "id")), expand_param(params)))


async def expire_session(request):
    params = await read_params(request)
    session = get_session(match(request, "id"))
    if session["status"] != "open":
        raise StripeError(
            400,
            f'Only Checkout Sessions with a status in ["open"] can be expired. This '
            f'Checkout Session has a status of "{session["status"]}".',
        )
    expire(session)
    return json_response(render(session, expand_param(params)))


async def list_sessions(request):
    params = await read_params(request)
    expand = expand_param(params)
    sessions = objects.all_of("checkout.session")
    for session in sessions:
        refresh(session)
    for key in ("customer", "payment_intent", "subscription", "status"):
        if params.get(key):
            sessions = [s for s in sessions if s[key] == params[key]]
    page = paginate([render(s) for s in sessions], params, "/v1/checkout/sessions")
    return json_response(normalize(page, expand))


async def list_session_line_items(request):
    session = get_session(match(request, "id"))
    return json_response(line_items(session))


def _customer(session, email, name):
    if session["customer"]:
        customer = ls.Customer._api_retrieve(session["customer"])
        if not customer.email:
            customer.email = email
        return customer
    return ls.Customer(email=email, name=name or None)


def _payment_method(card, email, name):
    # localstripe decides outcomes from the card number; the page has already decided them, so
    # localstripe is given the always-succeeding number and the real card's details are shown.
    pm = ls.PaymentMethod(
        type="card",
        card={
            "number": "4242424242424242",
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "cvc": "123",
        },
        billing_details={"address": None, "email": email, "name": name or None, "phone": None},
    )
    pm.card.update(
        last4=card.last4, brand=card.brand, country="US", fingerprint=ls.fingerprint(card.number)
    )
    return pm


def _billing_details(email, name):
    return {"address": None, "email": email, "name": name or None, "phone": None}


def _pay_once(session, customer, pm, email, name):
    pi = ls.PaymentIntent._api_create(
        confirm=True,
        amount=session["amount_total"],
        currency=session["currency"],
        customer=customer.id,
        payment_method=pm.id,
        metadata=dict(session["_payment_intent_metadata"]),
    )
    pi.receipt_email = email
    pi.description = None
    charge = pi.latest_charge
    charge.billing_details = _billing_details(email, name)
    charge.receipt_email = email
    session["payment_intent"] = pi.id


def _subscribe(session, customer, pm):
    ls.PaymentMethod._api_attach(pm.id, customer=customer.id)
    customer.invoice_settings["default_payment_method"] = pm.id
    line = session["_lines"][0]
    plan = ensure_plan(get_price(line["price"]))
    sub = ls.Subscription._api_create(
        customer=customer.id,
        items=[{"plan": plan.id, "quantity": line["quantity"]}],
        metadata=dict(session["_subscription_metadata"]),
    )
    sub.default_payment_method = pm.id
    if sub.status != "active":
        raise Declined("Your card was declined.")
    session["subscription"] = sub.id
    session["invoice"] = sub.latest_invoice


def check_payable(session):
    refresh(session)
    if session["status"] == "complete":
        raise StripeError(
            400, "This Checkout Session is already complete.", code="checkout_session_complete"
        )
    if session["status"] == "expired":
        raise StripeError(
            400, "This Checkout Session has expired.", code="checkout_session_expired"
        )


def pay(session, card, email, name=None, authenticated=False):
    """Pay ``session`` with ``card``; returns "paid" or "authenticate", raises ``Declined``."""
    check_payable(session)
    if not email or "@" not in email:
        raise Declined("Your email address is invalid.", code="email_invalid")
    if card.decline:
        message, code, decline_code = card.decline
        raise Declined(message, code, decline_code)
    if card.needs_authentication and not authenticated:
        session["_pending"] = {"card": vars(card).copy(), "email": email, "name": name}
        return "authenticate"
    session.pop("_pending", None)
    customer = _customer(session, email, name)
    pm = _payment_method(card, email, name)
    if session["mode"] == "payment":
        _pay_once(session, customer, pm, email, name)
    else:
        _subscribe(session, customer, pm)
    session.update(
        status="complete",
        payment_status="paid",
        customer=customer.id,
        customer_details={
            "address": None,
            "email": email,
            "name": name or None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    emit("checkout.session.completed", render(session))
    return "paid"


def fail_authentication(session):
    session.pop("_pending", None)
    raise Declined(AUTHENTICATION_FAILED, code="payment_intent_authentication_failure")


def success_redirect(session):
    url = session["success_url"]
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None


ROUTES = [
    ("POST", "/v1/checkout/sessions", create_session),
    ("GET", "/v1/checkout/sessions", list_sessions),
    ("GET", "/v1/checkout/sessions/{id}", retrieve_session),
    ("POST", "/v1/checkout/sessions/{id}/expire", expire_session),
    ("GET", "/v1/checkout/sessions/{id}/line_items", list_session_line_items),
]
