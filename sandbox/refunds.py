"""Refunds with Stripe's checks, and the money lists the product reads.

localstripe lets a refund exceed the charge and rejects ``reason``; here ``POST /v1/refunds``
takes ``payment_intent`` or ``charge``, an optional ``amount`` (default: what is left), ``reason``
and ``metadata``, refuses more than the unrefunded amount with Stripe's error, and emits
``refund.created`` and ``charge.refunded``; a charge whose dispute is open or lost is refused
(``charge_disputed``). The list routes for charges, invoices, refunds and payment intents are
replaced so that ``created`` filters and ``starting_after`` work, newest first, as on Stripe.
"""

from localstripe import resources as ls

from . import disputes, objects
from .common import (
    StripeError,
    expand_param,
    json_response,
    metadata_param,
    not_found,
    paginate,
    read_params,
    to_int,
)
from .events import emit
from .money import format_amount
from .shapes import normalize


def _charge_to_refund(params):
    charge_id, pi_id = params.get("charge"), params.get("payment_intent")
    if charge_id and pi_id:
        raise StripeError(
            400,
            "You can only specify one of these parameters: charge, payment_intent.",
            param="payment_intent",
        )
    if pi_id:
        pi = ls.store.get("payment_intent:" + pi_id)
        if pi is None:
            raise not_found("payment_intent", pi_id)
        charge = pi.latest_charge
        if charge is None or charge.status != "succeeded":
            raise StripeError(
                400,
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        return charge
    if not charge_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this "
            "request: payment_intent or charge.",
        )
    charge = ls.store.get("charge:" + charge_id)
    if charge is None:
        raise not_found("charge", charge_id)
    if charge.status != "succeeded":
        raise StripeError(400, "Cannot refund a failed payment.", param="charge")
    return charge


async def create_refund(request):
    params = await read_params(request)
    expand = expand_param(params)
    charge = _charge_to_refund(params)
    disputes.refuse_refund_if_charged_back(charge)
    reason = params.get("reason") or None
    remaining = charge.amount - charge.amount_refunded
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {charge.id} has already been refunded.", code="charge_already_refunded"
        )
    amount = to_int(params.get("amount", remaining), "amount", minimum=1)
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({format_amount(amount, charge.currency)}) is greater than "
            f"unrefunded amount on charge ({format_amount(remaining, charge.currency)})",
            param="amount",
        )
    refund = ls.Refund(
        charge=charge.id, amount=amount, metadata=metadata_param(params.get("metadata"))
    )
    refund.payment_intent = charge.payment_intent
    refund.reason = reason
    refund.destination_details = None
    emit("refund.created", refund)
    emit("charge.refunded", charge)
    return json_response(normalize(refund._export(), expand))


def _filtered(kind, params, filters):
    items = [obj._export() for obj in objects.all_of(kind)]
    for key in filters:
        if params.get(key):
            items = [item for item in items if _id(item.get(key)) == params[key]]
    return items


def _id(value):
    return value.get("id") if isinstance(value, dict) else value


def _lister(kind, url, filters, prepare=None):
    async def handler(request):
        params = await read_params(request)
        expand = expand_param(params)
        if prepare is not None:
            prepare(params)
        items = [normalize(item) for item in _filtered(kind, params, filters)]
        if params.get("status"):
            items = [item for item in items if item.get("status") == params["status"]]
        return json_response(normalize(paginate(items, params, url), expand))

    return handler


def _refund_filters(params):
    if params.get("payment_intent"):
        pi = ls.store.get("payment_intent:" + params["payment_intent"])
        if pi is None:
            raise not_found("payment_intent", params["payment_intent"])


ROUTES = [
    ("POST", "/v1/refunds", create_refund),
    (
        "GET",
        "/v1/refunds",
        _lister("refund", "/v1/refunds", ("charge", "payment_intent"), _refund_filters),
    ),
    ("GET", "/v1/charges", _lister("charge", "/v1/charges", ("customer", "payment_intent"))),
    ("GET", "/v1/invoices", _lister("invoice", "/v1/invoices", ("customer", "subscription"))),
    ("GET", "/v1/events", _lister("event", "/v1/events", ("type",))),
    ("GET", "/v1/payment_intents", _lister("payment_intent", "/v1/payment_intents", ("customer",))),
]
