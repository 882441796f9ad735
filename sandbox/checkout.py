"""Checkout Sessions (``/v1/checkout/sessions``), which localstripe lacks.

A session records what is bought (``session_lines``) or, in setup mode, the SetupIntent that
will save a card (``setup_mode``). Paying it (``pay``, used by the hosted page and by the
``/_sandbox`` shortcut) creates the real localstripe objects: a Customer, a card PaymentMethod
and either a confirmed PaymentIntent (``mode=payment``), a Subscription whose first invoice is
paid and whose ``default_payment_method`` is the card (``mode=subscription``), or the card saved
for the customer (``mode=setup``); then it completes the session and emits
``checkout.session.completed``.

A declined card leaves the session open for another card and leaves what Stripe leaves. In
payment mode that is the session's PaymentIntent (made at the first attempt, with
``payment_intent_data.metadata``) back at ``requires_payment_method``: no ``payment_method``, the
failed charge as ``latest_charge`` (``failure_code``, ``failure_message``, the bank's ``outcome``)
and ``last_payment_error``. In subscription mode it is an ``incomplete`` subscription whose first
invoice stays ``open`` (no automatic retry), its PaymentIntent likewise. Each decline emits
``charge.failed`` and ``payment_intent.payment_failed``, and ``invoice.payment_failed`` for a
subscription; the next card is charged through the same PaymentIntent (and invoice). Expiring
a session cancels a PaymentIntent still waiting for a card (``payment_intent.canceled``).
"""

import time

from localstripe import resources as ls

from . import billing, objects, payment_methods, setup_mode
from .cards import AUTHENTICATION_FAILED, declined_outcome
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
    public_base,
    read_params,
    to_int,
)
from .events import emit, emit_changes, snapshot
from .prices import ensure_plan, get_price
from .session_lines import listed, read_lines, total
from .shapes import normalize

DAY = 24 * 3600


class Declined(Exception):
    """The card was refused; the message is Stripe's, shown on the page."""

    def __init__(self, message, code="card_declined", decline_code=None):
        super().__init__(message)
        self.message, self.code, self.decline_code = message, code, decline_code


async def create_session(request):
    params = await read_params(request)
    expand = expand_param(params)
    mode = params.get("mode")
    if not mode:
        raise StripeError(
            400, "Missing required param: mode.", code="parameter_missing", param="mode"
        )
    customer = params.get("customer") or None
    if customer and ls.store.get("customer:" + customer) is None:
        raise not_found("customer", customer)
    for url_param in ("success_url", "cancel_url"):
        url = params.get(url_param)
        if url and not str(url).startswith(("http://", "https://")):
            raise StripeError(400, f"Not a valid URL: {url_param}", param=url_param)
    if mode == "setup":
        if "line_items" in params:
            raise StripeError(
                400, "You can not pass `line_items` in `setup` mode.", param="line_items"
            )
        lines = []
    else:
        lines = read_lines(params, mode)
    now = int(time.time())
    expires_at = to_int(params.get("expires_at", now + DAY), "expires_at")
    if not now + 1800 <= expires_at <= now + DAY:
        raise StripeError(
            400, "expires_at must be between 30 minutes and 24 hours from now.", param="expires_at"
        )
    session_id = new_id("cs_test_", 58)
    base = public_base(request)
    session = {
        "id": session_id,
        "object": "checkout.session",
        "allow_promotion_codes": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url") or None,
        "client_reference_id": params.get("client_reference_id") or None,
        "created": now,
        "customer": customer,
        "customer_details": None,
        "customer_email": params.get("customer_email") or None,
        "expires_at": expires_at,
        "invoice": None,
        "livemode": False,
        "locale": params.get("locale") or None,
        "metadata": metadata_param(params.get("metadata")),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_types": ["card"],
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "status": "open",
        "submit_type": params.get("submit_type") or None,
        "subscription": None,
        "success_url": params.get("success_url") or None,
        "ui_mode": "hosted",
        "url": f"{base}/checkout/pay/{session_id}",
        "_lines": lines,
        "_public_base": base,
        "_payment_intent_metadata": metadata_param(
            as_dict(params.get("payment_intent_data"), "payment_intent_data").get("metadata"),
            "payment_intent_data[metadata]",
        ),
        "_subscription_metadata": metadata_param(
            as_dict(params.get("subscription_data"), "subscription_data").get("metadata"),
            "subscription_data[metadata]",
        ),
        **_mode_fields(mode, params, lines, customer),
    }
    if mode == "setup":
        session["setup_intent"] = setup_mode.create_intent(customer, params).id
    objects.put("checkout.session", session)
    return json_response(render(session, expand))


def _mode_fields(mode, params, lines, customer):
    """The fields whose values depend on the mode: what is owed, and what is collected."""
    if mode == "setup":
        return {
            "amount_subtotal": None,
            "amount_total": None,
            "currency": params.get("currency") or None,
            "customer_creation": None if customer else _customer_creation(params),
            "invoice_creation": None,
            "payment_method_collection": "always",
            "payment_status": "no_payment_required",
            "total_details": None,
        }
    amount = total(lines)
    return {
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": get_price(lines[0]["price"])["currency"],
        "customer_creation": (
            _customer_creation(params) if mode == "payment" and not customer else None
        ),
        "invoice_creation": _invoice_creation() if mode == "payment" else None,
        "payment_method_collection": "always" if mode == "subscription" else "if_required",
        "payment_status": "unpaid",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    }


def _customer_creation(params):
    return params.get("customer_creation") or "if_required"


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


def render(session, expand=()):
    data = dict(session)
    if "line_items" in expand:
        data["line_items"] = listed(session)
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
    if session["mode"] == "setup":
        setup_mode.cancel(session)
    elif session["payment_intent"]:
        _cancel_payment_intent(session["payment_intent"])
    emit("checkout.session.expired", render(session))


def _cancel_payment_intent(payment_intent_id):
    """An expired session's PaymentIntent still waiting for a card is canceled."""
    pi = ls.store["payment_intent:" + payment_intent_id]
    if pi.status != "requires_payment_method":
        return
    pi._canceled = True
    pi.canceled_at = int(time.time())
    pi.cancellation_reason = "abandoned"
    emit("payment_intent.canceled", pi)


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
    return json_response(listed(session))


def _customer(session, email, name):
    if session["customer"]:
        customer = ls.Customer._api_retrieve(session["customer"])
        if not customer.email:
            customer.email = email
        return customer
    if session.get("_attempt_customer"):
        return ls.Customer._api_retrieve(session["_attempt_customer"])
    if session["mode"] == "setup" and session["customer_creation"] != "always":
        return None
    return ls.Customer(email=email, name=name or None)


def _payment_intent(session, customer_id):
    """The session's PaymentIntent: made at the first attempt to pay, kept for the next ones."""
    if session["payment_intent"]:
        return ls.store["payment_intent:" + session["payment_intent"]]
    pi = ls.PaymentIntent(
        amount=session["amount_total"],
        currency=session["currency"],
        customer=customer_id,
        metadata=dict(session["_payment_intent_metadata"]),
    )
    pi.description = None
    session["payment_intent"] = pi.id
    return pi


def _pay_once(session, customer, pm, email):
    pi = _payment_intent(session, customer.id)
    pi.customer = customer.id
    pi.receipt_email = email
    pi.payment_method = pm.id
    pi.latest_charge = None
    pi._confirm(on_failure_now=pi._report_failure)
    pi.latest_charge.receipt_email = email


def _decline_payment(session, card, email, name, decline):
    """A payment attempt the card's bank refuses: a failed charge on the session's
    PaymentIntent, which waits for another card."""
    pm = payment_methods.from_card(card, email, name)
    pi = _payment_intent(session, session["customer"])
    pi.receipt_email = email
    charge = ls.Charge(amount=pi.amount, currency=pi.currency, customer=pi.customer, source=pm.id)
    charge.payment_intent = pi.id
    charge.receipt_email = email
    pi.latest_charge = charge
    _declined(pi, decline)


def _declined(pi, decline):
    """Record the bank's refusal on the PaymentIntent's latest charge, as Stripe words it; the
    PaymentIntent is back at ``requires_payment_method`` (its ``last_payment_error`` is read
    from the charge). Emits ``charge.failed`` and ``payment_intent.payment_failed``."""
    message, code, decline_code = decline
    charge = pi.latest_charge
    charge.status = "failed"
    charge.captured = False
    charge.failure_code = code
    charge.failure_message = message
    charge.outcome = declined_outcome(decline_code)
    pi.payment_method = None
    emit("charge.failed", charge)
    emit("payment_intent.payment_failed", pi)


def _attempted_subscription(session):
    """The incomplete subscription an earlier declined card left on the session, if any."""
    subscription_id = session.get("_attempt_subscription")
    return ls.store["subscription:" + subscription_id] if subscription_id else None


def _create_subscription(session, customer, charged, default_payment_method):
    """A subscription to the session's line whose first invoice is charged to ``charged`` now:
    ``active`` when that is paid, ``incomplete`` (the invoice ``open``) when it is declined."""
    line = session["_lines"][0]
    plan = ensure_plan(get_price(line["price"]))
    # localstripe pays a new subscription's first invoice with the customer's default card;
    # Checkout leaves the customer's default as it was.
    settings = customer.invoice_settings
    kept = settings.get("default_payment_method")
    settings["default_payment_method"] = charged.id
    try:
        return ls.Subscription._api_create(
            customer=customer.id,
            items=[{"plan": plan.id, "quantity": line["quantity"]}],
            metadata=dict(session["_subscription_metadata"]),
            default_payment_method=default_payment_method,
        )
    finally:
        settings["default_payment_method"] = kept


def _charge_again(invoice, pm):
    """Charge an unpaid first invoice to another card, through its PaymentIntent."""
    pi = ls.store["payment_intent:" + invoice.payment_intent]
    pi.payment_method = pm.id
    pi.latest_charge = None
    pi._confirm(on_failure_now=lambda: None)
    return pi


def _first_invoice(subscription):
    return ls.store["invoice:" + subscription.latest_invoice]


def _subscribe(session, customer, pm):
    payment_methods.attach(pm, customer.id)
    sub = _attempted_subscription(session)
    if sub is None:
        sub = _create_subscription(session, customer, pm, default_payment_method=pm.id)
    else:
        before = snapshot(sub)
        sub.default_payment_method = pm.id
        _charge_again(_first_invoice(sub), pm)
        emit_changes("customer.subscription.updated", sub, before)
    if sub.status != "active":
        raise Declined("Your card was declined.")
    billing.publish(_first_invoice(sub), session["_public_base"])
    session["subscription"] = sub.id
    session["invoice"] = sub.latest_invoice


def _decline_subscription(session, card, email, name, decline):
    """A first payment the card's bank refuses: as on Stripe, the subscription is created
    ``incomplete`` (or, after an earlier decline, kept) with its first invoice ``open`` and not
    retried automatically; the session waits for another card."""
    customer = _customer(session, email, name)
    session["_attempt_customer"] = customer.id
    pm = payment_methods.from_card(card, email, name)
    payment_methods.decline_charges(pm)
    sub = _attempted_subscription(session)
    if sub is None:
        sub = _create_subscription(session, customer, pm, default_payment_method=None)
        session["_attempt_subscription"] = sub.id
        invoice = _first_invoice(sub)
        billing.publish(invoice, session["_public_base"])
        invoice._sandbox_next_attempt = None
        pi = ls.store["payment_intent:" + invoice.payment_intent]
    else:
        invoice = _first_invoice(sub)
        pi = _charge_again(invoice, pm)
    _declined(pi, decline)
    emit("invoice.payment_failed", invoice)


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
    """Pay ``session`` with ``card`` (in setup mode: save the card).

    Returns "paid" or "authenticate" (3-D Secure is asked for); raises ``Declined``.
    """
    check_payable(session)
    if not email or "@" not in email:
        raise Declined("Your email address is invalid.", code="email_invalid")
    setup = session["mode"] == "setup"
    decline = card.setup_decline if setup else card.decline
    if decline:
        message, code, decline_code = decline
        if setup:
            setup_mode.fail(session, message, code, decline_code)
        elif session["mode"] == "payment":
            _decline_payment(session, card, email, name, decline)
        else:
            _decline_subscription(session, card, email, name, decline)
        raise Declined(message, code, decline_code)
    if card.needs_authentication and not authenticated:
        session["_pending"] = {"card": vars(card).copy(), "email": email, "name": name}
        if setup:
            setup_mode.require_action(session)
        return "authenticate"
    session.pop("_pending", None)
    customer = _customer(session, email, name)
    if setup:
        setup_mode.save_card(session, card, customer, email, name)
    else:
        pm = payment_methods.from_card(card, email, name)
        if session["mode"] == "payment":
            _pay_once(session, customer, pm, email)
        else:
            _subscribe(session, customer, pm)
    session.update(
        status="complete",
        payment_status="no_payment_required" if setup else "paid",
        customer=customer.id if customer is not None else None,
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
    if session["mode"] == "setup":
        setup_mode.fail(session, AUTHENTICATION_FAILED, "setup_intent_authentication_failure")
        raise Declined(AUTHENTICATION_FAILED, code="setup_intent_authentication_failure")
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
