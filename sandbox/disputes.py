"""Disputes on demand: ``POST /_sandbox/charges/{id}/dispute`` and ``GET /v1/disputes/{id}``.

Real disputes come from card holders' banks; the sandbox opens one on request so the product's
handling of ``charge.dispute.created`` can be tried.
"""

import time

from localstripe import resources as ls

from . import objects
from .common import json_response, match, new_id, not_found, read_params
from .events import emit
from .shapes import normalize

REASONS = ("fraudulent", "duplicate", "product_not_received", "general", "unrecognized")


async def open_dispute(request):
    charge = ls.store.get("charge:" + match(request, "id"))
    if charge is None:
        raise not_found("charge", match(request, "id"))
    params = await read_params(request)
    reason = params.get("reason") if params.get("reason") in REASONS else "fraudulent"
    dispute = {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": charge.amount - charge.amount_refunded,
        "balance_transactions": [],
        "charge": charge.id,
        "created": int(time.time()),
        "currency": charge.currency,
        "enhanced_eligibility_types": [],
        "evidence_details": {
            "due_by": int(time.time()) + 7 * 24 * 3600,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge.payment_intent,
        "payment_method_details": {
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }
    objects.put("dispute", dispute)
    emit("charge.dispute.created", dispute)
    return json_response(normalize(dict(dispute)))


async def retrieve_dispute(request):
    dispute = objects.get("dispute", match(request, "id"))
    if dispute is None:
        raise not_found("dispute", match(request, "id"))
    return json_response(normalize(dict(dispute)))


ROUTES = [("GET", "/v1/disputes/{id}", retrieve_dispute)]
PUBLIC_ROUTES = [("POST", "/_sandbox/charges/{id}/dispute", open_dispute)]
