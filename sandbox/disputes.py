"""Disputes, the whole life: opened by the bank, answered with evidence, won or lost.

Real disputes come from card holders' banks, and their outcome from the card network; the
sandbox-only routes stand for both so the product's handling can be tried:

* ``POST /_sandbox/charges/{id}/dispute`` (``reason``, default ``fraudulent``) opens a dispute on
  a succeeded charge for what was not refunded: ``needs_response``, evidence due in 7 days, the
  money and the dispute fee withdrawn (a balance transaction, see ``balance``), the charge
  ``disputed``. Events: ``charge.dispute.created``, then ``charge.dispute.funds_withdrawn``.
* ``POST /_sandbox/disputes/{id}/close`` (``outcome=won|lost``) is the bank's decision on an open
  dispute: ``charge.dispute.closed``; when won, a reinstatement balance transaction is added and
  ``charge.dispute.funds_reinstated`` follows.

Stripe's own routes: ``GET /v1/disputes/{id}``, ``GET /v1/disputes`` (``charge``,
``payment_intent``, ``created``, pagination), ``POST /v1/disputes/{id}`` (``evidence``,
``metadata``, ``submit``; evidence is submitted, moving the dispute to ``under_review``, unless
``submit=false`` only stages it; ``charge.dispute.updated``) and
``POST /v1/disputes/{id}/close`` (accepting the dispute: ``lost``, ``charge.dispute.closed``).
A charge whose dispute is open or lost cannot be refunded.
"""

import time

from localstripe import resources as ls

from . import balance, objects
from .common import (
    StripeError,
    as_dict,
    expand_param,
    json_response,
    match,
    merged_metadata,
    new_id,
    not_found,
    paginate,
    read_params,
    to_bool,
)
from .events import changes, emit
from .shapes import card_details, normalize

DAY = 24 * 3600
RESPONSE_DAYS = 7
OPEN = ("needs_response", "under_review")

# The reasons of card disputes, with the Visa reason code of each category
# (https://docs.stripe.com/disputes/categories).
VISA_REASON_CODES = {
    "credit_not_processed": "13.6",
    "duplicate": "12.6.1",
    "fraudulent": "10.4",
    "general": "12.5",
    "product_not_received": "13.1",
    "product_unacceptable": "13.3",
    "subscription_canceled": "13.2",
    "unrecognized": None,
}


def get(dispute_id):
    dispute = objects.get("dispute", dispute_id)
    if dispute is None:
        raise not_found("dispute", dispute_id)
    return dispute


def on_charge(charge_id):
    """The dispute on a charge, or None (a charge is disputed once)."""
    return next((d for d in objects.all_of("dispute") if d["charge"] == charge_id), None)


def refuse_refund_if_charged_back(charge):
    """Stripe refuses to refund a charge whose money a dispute holds or took back."""
    dispute = on_charge(charge.id)
    if dispute is not None and dispute["status"] != "won":
        raise StripeError(
            400,
            f"Charge {charge.id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )


def render(dispute, expand=()):
    return normalize(dict(dispute), expand)


def _payment_method_details(charge, reason):
    card = (card_details(charge.payment_method) or {}).get("card") or {}
    brand = card.get("brand") or "visa"
    code = VISA_REASON_CODES[reason] if brand == "visa" else None
    return {
        "card": {"brand": brand, "case_type": "chargeback", "network_reason_code": code},
        "type": "card",
    }


def _disputable(charge_id):
    charge = ls.store.get("charge:" + charge_id)
    if charge is None:
        raise not_found("charge", charge_id)
    if charge.status != "succeeded":
        raise StripeError(400, f"Charge {charge_id} did not succeed; there is nothing to dispute.")
    if on_charge(charge_id) is not None:
        raise StripeError(400, f"Charge {charge_id} has already been disputed.")
    if charge.amount_refunded >= charge.amount:
        raise StripeError(400, f"Charge {charge_id} was refunded in full; nothing to dispute.")
    return charge


async def open_dispute(request):
    charge = _disputable(match(request, "id"))
    params = await read_params(request)
    reason = params.get("reason") or "fraudulent"
    if reason not in VISA_REASON_CODES:
        raise StripeError(
            400,
            f"Invalid reason: must be one of {', '.join(VISA_REASON_CODES)}",
            param="reason",
        )
    now = int(time.time())
    details = _payment_method_details(charge, reason)
    dispute = {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": charge.amount - charge.amount_refunded,
        "balance_transactions": [],
        "charge": charge.id,
        "created": now,
        "currency": charge.currency,
        "enhanced_eligibility_types": [],
        "evidence": {},
        "evidence_details": {
            "due_by": now + RESPONSE_DAYS * DAY,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": details["card"]["network_reason_code"],
        "payment_intent": charge.payment_intent,
        "payment_method_details": details,
        "reason": reason,
        "status": "needs_response",
    }
    dispute["balance_transactions"].append(balance.dispute_withdrawal(dispute).id)
    objects.put("dispute", dispute)
    emit("charge.dispute.created", render(dispute))
    emit("charge.dispute.funds_withdrawn", render(dispute))
    return json_response(render(dispute))


def _require_open(dispute):
    if dispute["status"] not in OPEN:
        raise StripeError(400, f"This dispute is already closed ({dispute['status']}).")


def close(dispute, outcome):
    """The dispute ends ``won`` or ``lost``; a won one gives the money and the fee back."""
    _require_open(dispute)
    dispute["status"] = outcome
    if outcome == "won":
        dispute["balance_transactions"].append(balance.dispute_reinstatement(dispute).id)
    emit("charge.dispute.closed", render(dispute))
    if outcome == "won":
        emit("charge.dispute.funds_reinstated", render(dispute))


async def close_by_bank(request):
    """``POST /_sandbox/disputes/{id}/close``: the card network decides (``outcome``)."""
    dispute = get(match(request, "id"))
    outcome = (await read_params(request)).get("outcome")
    if outcome not in ("won", "lost"):
        raise StripeError(400, "outcome must be won or lost.", param="outcome")
    close(dispute, outcome)
    return json_response(render(dispute))


async def accept(request):
    """``POST /v1/disputes/{id}/close``: the account accepts the dispute, which is lost."""
    dispute = get(match(request, "id"))
    params = await read_params(request)
    if dispute["status"] == "under_review":
        raise StripeError(400, "This dispute's evidence was submitted; it can no longer be closed.")
    close(dispute, "lost")
    return json_response(render(dispute, expand_param(params)))


def _stage_evidence(dispute, evidence):
    """Keep the evidence given (an empty value removes a field)."""
    staged = dict(dispute["evidence"])
    for field, value in evidence.items():
        if field != "enhanced_evidence":
            staged[field] = value or None
    dispute["evidence"] = staged
    dispute["evidence_details"] = {
        **dispute["evidence_details"],
        "has_evidence": any(staged.values()),
    }


def _submit(dispute):
    details = dispute["evidence_details"]
    dispute["evidence_details"] = {
        **details,
        "past_due": time.time() > details["due_by"],
        "submission_count": details["submission_count"] + 1,
    }
    dispute["status"] = "under_review"


async def update(request):
    """``POST /v1/disputes/{id}``: stage or submit evidence, change metadata."""
    dispute = get(match(request, "id"))
    params = await read_params(request)
    expand = expand_param(params)
    evidence = as_dict(params.get("evidence"), "evidence")
    submit = to_bool(params["submit"], "submit") if "submit" in params else bool(evidence)
    if (evidence or submit) and dispute["status"] != "needs_response":
        raise StripeError(
            400,
            f"This dispute is {dispute['status']} and no longer accepts evidence.",
            param="evidence",
        )
    before = render(dispute)
    if "metadata" in params:
        dispute["metadata"] = merged_metadata(dispute["metadata"], params["metadata"])
    if evidence:
        _stage_evidence(dispute, evidence)
    if submit:
        _submit(dispute)
    previous = changes(before, render(dispute))
    if previous:
        emit("charge.dispute.updated", render(dispute), previous_attributes=previous)
    return json_response(render(dispute, expand))


async def retrieve(request):
    params = await read_params(request)
    return json_response(render(get(match(request, "id")), expand_param(params)))


async def list_all(request):
    params = await read_params(request)
    expand = expand_param(params)
    disputes = objects.all_of("dispute")
    for key in ("charge", "payment_intent"):
        if params.get(key):
            disputes = [d for d in disputes if d[key] == params[key]]
    page = paginate([render(d) for d in disputes], params, "/v1/disputes")
    return json_response(normalize(page, expand))


ROUTES = [
    ("GET", "/v1/disputes", list_all),
    ("GET", "/v1/disputes/{id}", retrieve),
    ("POST", "/v1/disputes/{id}", update),
    ("POST", "/v1/disputes/{id}/close", accept),
]
PUBLIC_ROUTES = [
    ("POST", "/_sandbox/charges/{id}/dispute", open_dispute),
    ("POST", "/_sandbox/disputes/{id}/close", close_by_bank),
]
