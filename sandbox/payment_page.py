"""The hosted test payment page at each Checkout Session's ``url``.

Plain HTML and CSS, no JavaScript, so it works in any browser and with a plain HTTP client: it
shows what is bought (in setup mode: that a card is saved and nothing charged), takes an email,
a name and the card fields, and posts back to itself. Test cards decide the outcome (see
``cards``); 3-D Secure cards get a second page with "Complete authentication" and "Fail
authentication". ``POST /_sandbox/checkout/sessions/{id}/pay`` is the same payment without the
page, for fast tests.
"""

import html

from aiohttp import web
from localstripe import resources as ls

from . import objects
from .cards import CardError, parse_card
from .checkout import Declined, fail_authentication, pay, refresh, render, success_redirect
from .common import StripeError, json_response, match, read_params
from .money import format_amount
from .prices import get_price

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f6f9fc;
color:#1a1f36;margin:0}
.banner{background:#ffde92;color:#5a3e00;text-align:center;padding:.5rem;font-weight:600}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
h1{font-size:1.25rem;margin:0 0 .25rem}.amount{font-size:2rem;font-weight:700;margin:.25rem 0}
.muted{color:#697386}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #c4cdd5;border-radius:4px;
font-size:1rem}.row{display:flex;gap:.75rem}.row>div{flex:1}
button{width:100%;margin-top:1.25rem;padding:.75rem;border:0;border-radius:4px;background:#635bff;
color:#fff;font-size:1rem;font-weight:600;cursor:pointer}
button.secondary{background:#e3e8ee;color:#1a1f36}
.error{background:#fde8e8;color:#9b1c1c;border-radius:4px;padding:.6rem;margin:.75rem 0}
.hint{font-size:.85rem;margin-top:1rem}a{color:#635bff}
"""


BUTTONS = {"payment": "Pay", "subscription": "Subscribe", "setup": "Save card"}

PAYMENT_HINT = (
    "Test cards: 4242 4242 4242 4242 succeeds · 4000 0000 0000 0002 is declined · "
    "4000 0025 0000 3155 asks for 3-D Secure. Any future expiry, any CVC."
)
SETUP_HINT = (
    "Test cards: 4242 4242 4242 4242 is saved · 4000 0000 0000 0002 is declined · "
    "4000 0000 0000 0341 is saved, then declines every charge · 4000 0025 0000 3155 asks for "
    "3-D Secure. Any future expiry, any CVC."
)


def cadence(price):
    recurring = price.get("recurring")
    if not recurring:
        return "once"
    count, interval = recurring["interval_count"], recurring["interval"]
    return f"per {interval}" if count == 1 else f"every {count} {interval}s"


def page(title, body, status=200):
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)} · Stripe sandbox</title><style>{STYLE}</style></head>"
        '<body><div class="banner">Test mode — Stripe sandbox</div>'
        f"<main>{body}</main></body></html>"
    )
    return web.Response(text=document, status=status, content_type="text/html")


def _summary(session):
    if session["mode"] == "setup":
        return (
            "<h1>Save a card</h1>"
            '<p class="muted">You will not be charged now. The card is saved for future '
            "payments.</p>"
        )
    parts = []
    for line in session["_lines"]:
        price = get_price(line["price"])
        product = ls.store.get("product:" + price["product"])
        name = product.name if product is not None else "Item"
        quantity = f" × {line['quantity']}" if line["quantity"] > 1 else ""
        total = price["unit_amount"] * line["quantity"]
        parts.append(
            f"<h1>{html.escape(name)}{quantity}</h1>"
            f'<p class="amount">{format_amount(total, price["currency"])}'
            f' <span class="muted">{html.escape(cadence(price))}</span></p>'
        )
    currency = html.escape(session["currency"].upper())
    return "".join(parts) + f'<p class="muted">Currency: {currency}</p>'


def _default_email(session):
    if session.get("customer_details"):
        return session["customer_details"]["email"]
    if session["customer_email"]:
        return session["customer_email"]
    if session["customer"]:
        customer = ls.store.get("customer:" + session["customer"])
        if customer is not None and customer.email:
            return customer.email
    return ""


def _input(name, label, value, **attributes):
    extra = "".join(f' {key.replace("_", "-")}="{html.escape(v)}"' for key, v in attributes.items())
    return (
        f'<label for="{name}">{label}</label>'
        f'<input id="{name}" name="{name}" value="{html.escape(value or "", quote=True)}"{extra}>'
    )


def _form(session, error=None, values=None, status=200):
    values = values or {}
    email = values.get("email", _default_email(session))
    button = BUTTONS[session["mode"]]
    hint = SETUP_HINT if session["mode"] == "setup" else PAYMENT_HINT
    if session["submit_type"] == "donate":
        button = "Donate"
    cancel = ""
    if session["cancel_url"]:
        href = html.escape(session["cancel_url"])
        cancel = f'<p class="hint"><a href="{href}">Cancel and go back</a></p>'
    message = f'<div class="error" role="alert">{html.escape(error)}</div>' if error else ""
    body = (
        f"{_summary(session)}{message}"
        f'<form method="post" action="/checkout/pay/{session["id"]}">'
        + _input("email", "Email", email, type="email", autocomplete="email")
        + _input("name", "Name on card", values.get("name"), autocomplete="cc-name")
        + _input(
            "card_number",
            "Card number",
            values.get("card_number"),
            inputmode="numeric",
            autocomplete="cc-number",
            placeholder="4242 4242 4242 4242",
        )
        + '<div class="row"><div>'
        + _input(
            "expiry",
            "Expiry (MM/YY)",
            values.get("expiry"),
            autocomplete="cc-exp",
            placeholder="MM/YY",
        )
        + "</div><div>"
        + _input(
            "cvc",
            "CVC",
            values.get("cvc"),
            inputmode="numeric",
            autocomplete="cc-csc",
            placeholder="123",
        )
        + f'</div></div><button type="submit">{button}</button></form>{cancel}'
        f'<p class="hint muted">{hint}</p>'
    )
    return page("Checkout", body, status)


def _closed(session):
    if session["status"] == "complete":
        target = success_redirect(session)
        link = f'<p><a href="{html.escape(target)}">Continue</a></p>' if target else ""
        done = "This card is saved." if session["mode"] == "setup" else "This payment is complete."
        return page("Done", f"<h1>{done}</h1>{link}")
    link = ""
    if session["cancel_url"]:
        link = f'<p><a href="{html.escape(session["cancel_url"])}">Go back</a></p>'
    return page(
        "Expired",
        "<h1>This checkout session has expired.</h1>"
        f'<p class="muted">Start again from the site to pay.</p>{link}',
        status=410,
    )


def _three_d_secure(session):
    if session["mode"] == "setup":
        question = "Your bank asks you to confirm that this card may be saved."
    else:
        amount = format_amount(session["amount_total"], session["currency"])
        question = f"Your bank asks you to confirm the payment of <strong>{amount}</strong>."
    body = (
        "<h1>3-D Secure authentication</h1>"
        f"<p>{question}</p>"
        f'<form method="post" action="/checkout/pay/{session["id"]}/3ds">'
        '<button name="outcome" value="complete" type="submit">Complete authentication</button>'
        '<button class="secondary" name="outcome" value="fail" type="submit">'
        "Fail authentication</button></form>"
    )
    return page("Authenticate", body)


def _session_or_404(request):
    session = objects.get("checkout.session", match(request, "id"))
    if session is None:
        return None, page("Not found", "<h1>No such checkout session.</h1>", status=404)
    refresh(session)
    return session, None


def _done(session):
    target = success_redirect(session)
    if target:
        raise web.HTTPSeeOther(target)
    if session["mode"] == "setup":
        return page("Saved", "<h1>Thank you, your card is saved.</h1>")
    return page("Paid", "<h1>Thank you, the payment is complete.</h1>")


def _open_session(request):
    """The open session the page is for, or the page to answer instead (404, closed)."""
    session, missing = _session_or_404(request)
    if missing:
        return None, missing
    if session["status"] != "open":
        return None, _closed(session)
    return session, None


async def show(request):
    session, answer = _open_session(request)
    if answer:
        return answer
    return _form(session)


async def submit(request):
    session, answer = _open_session(request)
    if answer:
        return answer
    form = await request.post()
    values = {
        key: str(form.get(key, "")) for key in ("email", "name", "card_number", "expiry", "cvc")
    }
    email = values["email"].strip()
    if not email or "@" not in email:
        return _form(session, "Your email address is invalid.", values, status=400)
    try:
        card = parse_card(values["card_number"], values["expiry"], values["cvc"])
        outcome = pay(session, card, email, values["name"].strip())
    except CardError as exc:
        return _form(session, str(exc), values, status=400)
    except Declined as exc:
        return _form(session, exc.message, values, status=402)
    if outcome == "authenticate":
        return _three_d_secure(session)
    return _done(session)


async def authenticate(request):
    session, answer = _open_session(request)
    if answer:
        return answer
    pending = session.get("_pending")
    if not pending:
        return _form(session, "Please enter your card details again.", status=400)
    form = await request.post()
    values = {"email": pending["email"], "name": pending["name"] or ""}
    try:
        if form.get("outcome") != "complete":
            fail_authentication(session)
        pay(session, _card(pending), pending["email"], pending["name"], authenticated=True)
    except Declined as exc:
        return _form(session, exc.message, values, status=402)
    return _done(session)


def _card(pending):
    card = pending["card"]
    expiry = f"{card['exp_month']:02d}/{card['exp_year']}"
    return parse_card(card["number"], expiry, card["cvc"])


async def pay_shortcut(request):
    """``POST /_sandbox/checkout/sessions/{id}/pay``: card (digits), email, name, authenticate."""
    session = objects.get("checkout.session", match(request, "id"))
    if session is None:
        raise StripeError(404, f"No such checkout.session: '{match(request, 'id')}'")
    params = await read_params(request)
    email = params.get("email") or _default_email(session) or "sandbox@example.com"
    try:
        card = parse_card(
            params.get("card", "4242424242424242"),
            params.get("exp", "12/34"),
            params.get("cvc", "123"),
        )
    except CardError as exc:
        raise StripeError(400, str(exc), type="card_error", code="invalid_number") from None
    try:
        outcome = pay(session, card, email, params.get("name") or None)
        if outcome == "authenticate":
            choice = params.get("authenticate")
            if choice == "complete":
                outcome = pay(session, card, email, params.get("name") or None, authenticated=True)
            elif choice == "fail":
                fail_authentication(session)
            else:
                return json_response(
                    {"status": "requires_action", "session": session["id"]}, status=402
                )
    except Declined as exc:
        raise StripeError(
            402, exc.message, type="card_error", code=exc.code, decline_code=exc.decline_code
        ) from None
    return json_response(
        {"status": outcome, "redirect": success_redirect(session), "session": render(session)}
    )


PUBLIC_ROUTES = [
    ("GET", "/checkout/pay/{id}", show),
    ("POST", "/checkout/pay/{id}", submit),
    ("POST", "/checkout/pay/{id}/3ds", authenticate),
    ("POST", "/_sandbox/checkout/sessions/{id}/pay", pay_shortcut),
]
