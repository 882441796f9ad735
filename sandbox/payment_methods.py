"""Card PaymentMethods as the payment page makes them, cards that stop working, new expiry dates.

localstripe decides a charge's outcome from the card number it was given; the page decides
outcomes itself (``cards``), so every PaymentMethod is made in localstripe with the
always-succeeding number and shows the real card's brand, last four digits and expiry. A card
whose charges must be declined (4000 0000 0000 0341 saved in setup mode, or a card made to fail
by ``/_sandbox/subscriptions/{id}/fail_next_renewal``) carries a mark that localstripe's decline
check reads. Each charge keeps the card it was made with (``payment_method_details``), as on
Stripe, whatever happens to the PaymentMethod later.

``POST /_sandbox/payment_methods/{id}/expiry`` (``exp_month``, ``exp_year``) stands for the card
network sending a new expiry date: the card is updated and
``payment_method.automatically_updated`` is emitted.
"""

from localstripe import resources as ls

from .common import StripeError, json_response, match, read_params, to_int
from .events import emit
from .shapes import card_details, normalize

ALWAYS_SUCCEEDS = "4242424242424242"

_original_charging_is_declined = ls.PaymentMethod._charging_is_declined
_original_charge_init = ls.Charge.__init__


def _charging_is_declined(pm):
    return getattr(pm, "_sandbox_declines", False) or _original_charging_is_declined(pm)


def _charge_init(charge, *args, **kwargs):
    """A charge keeps the card and billing details it was made with."""
    _original_charge_init(charge, *args, **kwargs)
    charge.payment_method_details = card_details(charge.payment_method)
    pm = ls.store.get("payment_method:" + charge.payment_method)
    charge.billing_details = dict(getattr(pm, "billing_details", None) or billing_details())


def install():
    ls.PaymentMethod._charging_is_declined = _charging_is_declined
    ls.Charge.__init__ = _charge_init


def from_card(card, email=None, name=None):
    """A card PaymentMethod with the details typed on the page."""
    pm = ls.PaymentMethod(
        type="card",
        card={
            "number": ALWAYS_SUCCEEDS,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "cvc": "123",
        },
        billing_details=billing_details(email, name),
    )
    pm.card.update(
        brand=card.brand,
        country="US",
        display_brand=card.brand,
        fingerprint=ls.fingerprint(card.number),
        last4=card.last4,
        networks={"available": [card.brand], "preferred": None},
    )
    pm._sandbox_declines = card.declines_charges
    return pm


def billing_details(email=None, name=None):
    address = {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    return {"address": address, "email": email, "name": name or None, "phone": None}


def attach(pm, customer_id):
    """Attach ``pm`` to a customer, with the event Stripe sends."""
    ls.PaymentMethod._api_attach(pm.id, customer=customer_id)
    emit("payment_method.attached", pm)


def decline_charges(pm):
    """From now on every charge on this card is declined."""
    pm._sandbox_declines = True


def get(payment_method_id, param=None):
    """The PaymentMethod, or Stripe's error: 404 for the URL's object, 400 for a parameter's."""
    pm = ls.store.get("payment_method:" + payment_method_id)
    if pm is None:
        raise StripeError(
            400 if param else 404,
            f"No such PaymentMethod: '{payment_method_id}'",
            code="resource_missing",
            param=param or "id",
        )
    return pm


def require_attached(pm, customer_id, param):
    """Stripe charges a customer's saved cards only: ``pm`` must be attached to them."""
    if pm.customer != customer_id:
        raise StripeError(
            400,
            f"The customer does not have a payment method with the ID {pm.id}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param=param,
        )


async def set_expiry(request):
    """``POST /_sandbox/payment_methods/{id}/expiry``: the bank sent a new expiry date."""
    pm = get(match(request, "id"))
    if pm.type != "card":
        raise StripeError(400, "Only a card PaymentMethod has an expiry date.")
    params = await read_params(request)
    month = to_int(params.get("exp_month"), "exp_month", minimum=1)
    year = to_int(params.get("exp_year"), "exp_year", minimum=0)
    if month > 12:
        raise StripeError(400, "Your card's expiration month is invalid.", param="exp_month")
    if year < 100:
        year += 2000
    previous = {"exp_month": pm.card["exp_month"], "exp_year": pm.card["exp_year"]}
    pm.card.update(exp_month=month, exp_year=year)
    emit("payment_method.automatically_updated", pm, previous_attributes={"card": previous})
    return json_response(normalize(pm._export()))


PUBLIC_ROUTES = [("POST", "/_sandbox/payment_methods/{id}/expiry", set_expiry)]
