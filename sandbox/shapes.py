"""Answer every object in the shapes of the pinned API version, 2025-02-24.acacia.

The shapes come from Stripe's description of that version (``sandbox.spec``): per object kind,
every field the spec lists (with a neutral default), which fields are expandable and the shapes
of inline sub-objects. ``tests/sandbox/test_contract.py`` checks the sandbox's real answers
against the same description.

``normalize`` fills what localstripe (which answers in 2017-era shapes) lacks, derives values it
does not track (``invoice.paid``, ``billing_reason``, ``subscription_details``, item prices...),
drops fields acacia does not have (``deleted: null`` among them), and collapses expandable fields
to ids unless expanded.
"""

import copy

from localstripe import resources as ls

from . import API_VERSION, objects
from .spec import SPEC

# The object kinds the sandbox shapes (every kind the product reads); any other kind is answered
# as localstripe builds it.
KINDS = (
    "balance_transaction",
    "charge",
    "checkout.session",
    "customer",
    "dispute",
    "event",
    "invoice",
    "line_item",
    "payment_intent",
    "payment_method",
    "plan",
    "price",
    "product",
    "refund",
    "setup_intent",
    "subscription",
    "subscription_item",
    "webhook_endpoint",
)


def normalize(value, expand=()):
    """``value`` (an object, a list object or any JSON value) in acacia shapes."""
    if isinstance(value, list):
        return [normalize(item, expand) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("object")
    if kind == "list":
        inner = _sub_expand(expand, "data")
        return {
            "object": "list",
            "data": [normalize(item, inner) for item in value.get("data", [])],
            "has_more": bool(value.get("has_more", False)),
            "url": value.get("url") or "",
        }
    if kind in KINDS and not value.get("deleted"):
        obj = dict(value)
        enrich = ENRICHERS.get(kind)
        if enrich is not None:
            enrich(obj)
        return _project(obj, SPEC.shape(kind), expand)
    return value


def _sub_expand(expand, field):
    prefix = field + "."
    return [path[len(prefix) :] for path in expand if path.startswith(prefix)]


def _project(obj, shape, expand):
    out = {}
    expandable = shape.get("expandable", ())
    nested = shape.get("nested", {})
    for field, default in shape["fields"].items():
        value = obj[field] if field in obj else copy.deepcopy(default)
        inner = _sub_expand(expand, field)
        if field in expandable:
            expanded = field in expand or bool(inner)  # "a.b" expands "a" too, as on Stripe
            if isinstance(value, dict) and "id" in value and not expanded:
                value = value["id"]
            elif isinstance(value, str) and value and expanded:
                value = objects.export(value) or value
        if isinstance(value, dict) and field in nested and not isinstance(value.get("object"), str):
            value = _project(value, nested[field], inner)
        else:
            value = normalize(value, inner)
        out[field] = value
    return out


def _price_for_plan(plan):
    """The Price behind a localstripe Plan (the plugin gives each recurring Price a Plan)."""
    price = objects.get("price", plan.get("id", ""))
    if price is not None:
        return dict(price)
    return {
        "id": plan.get("id"),
        "object": "price",
        "active": plan.get("active", True),
        "billing_scheme": "per_unit",
        "created": plan.get("created", 0),
        "currency": plan.get("currency"),
        "livemode": False,
        "metadata": plan.get("metadata") or {},
        "product": plan.get("product"),
        "recurring": {
            "interval": plan.get("interval"),
            "interval_count": plan.get("interval_count", 1),
            "meter": None,
            "usage_type": "licensed",
            "aggregate_usage": None,
            "trial_period_days": None,
        },
        "type": "recurring",
        "unit_amount": plan.get("amount"),
        "unit_amount_decimal": str(plan.get("amount")),
        "tax_behavior": "unspecified",
    }


def _plan(obj):
    amount = obj.get("amount")
    obj.setdefault("amount_decimal", None if amount is None else str(amount))


def _product(obj):
    obj.setdefault("updated", obj.get("created", 0))
    obj.setdefault("images", [])
    obj.setdefault("marketing_features", [])


def _customer(obj):
    if "balance" not in obj:
        obj["balance"] = -(obj.get("account_balance") or 0)
    obj.setdefault("tax_exempt", "none")
    obj.setdefault("next_invoice_sequence", 1)
    obj.setdefault("invoice_prefix", obj["id"][-8:].upper())
    obj["preferred_locales"] = obj.get("preferred_locales") or []
    # localstripe answers "eur" for every customer; Stripe's is the currency billed, if any.
    subscriptions = (obj.get("subscriptions") or {}).get("data") or []
    plans = [sub.get("plan") or {} for sub in subscriptions]
    obj["currency"] = next((plan.get("currency") for plan in plans if plan), None)


def _payment_method(obj):
    card = obj.get("card")
    if isinstance(card, dict):
        card = dict(card)
        card.setdefault("display_brand", card.get("brand"))
        card.setdefault(
            "checks",
            {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        )
        card.setdefault("networks", {"available": [card.get("brand")], "preferred": None})
        obj["card"] = card
    obj.setdefault("allow_redisplay", "unspecified")


def _payment_intent(obj):
    status = obj.get("status")
    obj["amount_received"] = obj.get("amount", 0) if status == "succeeded" else 0
    obj.setdefault("amount_capturable", 0)
    obj.setdefault("confirmation_method", "automatic")
    obj.setdefault("payment_method_types", ["card"])
    if status == "succeeded" or obj.get("next_action") is None:
        obj["next_action"] = None
    error = obj.get("last_payment_error")
    if isinstance(error, dict) and error.get("charge"):
        obj["last_payment_error"] = _charge_error(error)


#: where Stripe documents each error code
ERROR_DOCS = "https://stripe.com/docs/error-codes/"


def _charge_error(error):
    """A PaymentIntent's ``last_payment_error`` for a failed charge, as Stripe gives it: a
    ``card_error`` naming the card that was refused and the bank's reason (the charge's
    ``outcome.reason``) as its ``decline_code``."""
    charge = ls.store.get("charge:" + error["charge"])
    outcome = getattr(charge, "outcome", None) or {}
    method_id = getattr(charge, "payment_method", None)
    shaped = {
        **error,
        "type": "card_error",
        "doc_url": ERROR_DOCS + (error.get("code") or "").replace("_", "-"),
        "payment_method": objects.export(method_id) if method_id else None,
    }
    if outcome.get("reason"):
        shaped["decline_code"] = outcome["reason"]
    return shaped


def _setup_intent(obj):
    obj.setdefault(
        "payment_method_options",
        {"card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}},
    )


def _charge(obj):
    succeeded = obj.get("status") == "succeeded"
    obj["amount_captured"] = obj.get("amount", 0) if succeeded and obj.get("captured") else 0
    obj.setdefault("calculated_statement_descriptor", "SANDBOX DONATION")
    obj.setdefault("disputed", bool(objects.all_of("dispute") and _disputed(obj["id"])))
    if not obj.get("invoice") and isinstance(obj.get("payment_intent"), str):
        pi = ls.store.get("payment_intent:" + obj["payment_intent"])
        if pi is not None:
            obj["invoice"] = pi.invoice
    if succeeded:
        obj.setdefault("outcome", APPROVED)
    elif obj.get("status") == "failed":
        obj.setdefault("outcome", DECLINED)
    obj.setdefault("payment_method_details", card_details(obj.get("payment_method")))


APPROVED = {
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "risk_score": 20,
    "seller_message": "Payment complete.",
    "type": "authorized",
}

DECLINED = {
    "network_status": "declined_by_network",
    "reason": "generic_decline",
    "risk_level": "normal",
    "risk_score": 20,
    "seller_message": "The bank did not return any further details with this decline.",
    "type": "issuer_declined",
}


def _disputed(charge_id):
    return any(d["charge"] == charge_id for d in objects.all_of("dispute"))


def card_details(payment_method_id):
    """A charge's ``payment_method_details``: the card as it is now."""
    pm = ls.store.get(f"payment_method:{payment_method_id}") if payment_method_id else None
    card = getattr(pm, "card", None)
    if not card:
        return None
    return {
        "type": "card",
        "card": {
            "brand": card.get("brand"),
            "country": card.get("country"),
            "exp_month": card.get("exp_month"),
            "exp_year": card.get("exp_year"),
            "fingerprint": card.get("fingerprint"),
            "funding": card.get("funding"),
            "last4": card.get("last4"),
            "network": card.get("brand"),
        },
    }


def _refund(obj):
    obj.setdefault("reason", None)
    if not obj.get("payment_intent") and obj.get("charge"):
        charge = ls.store.get("charge:" + obj["charge"])
        if charge is not None:
            obj["payment_intent"] = charge.payment_intent


def _dispute(obj):
    """The plugin keeps a dispute's balance transactions by id; Stripe shows them whole."""
    obj["balance_transactions"] = [
        objects.export(txn) if isinstance(txn, str) else txn
        for txn in obj.get("balance_transactions", [])
    ]


def _first_invoice_id(subscription_id):
    for invoice in objects.all_of("invoice"):
        if invoice.subscription == subscription_id:
            return invoice.id
    return None


def _invoice(obj):
    status = obj.get("status")
    obj["paid"] = status == "paid"
    obj["amount_remaining"] = max(0, obj.get("amount_due", 0) - obj.get("amount_paid", 0))
    obj.setdefault("issuer", {"account": None, "type": "self"})
    obj.setdefault("effective_at", (obj.get("status_transitions") or {}).get("finalized_at"))
    subscription_id = obj.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id.get("id")
    if subscription_id:
        sub = ls.store.get("subscription:" + subscription_id)
        if not obj.get("billing_reason"):
            first = _first_invoice_id(subscription_id) == obj["id"]
            obj["billing_reason"] = "subscription_create" if first else "subscription_cycle"
        if sub is not None:
            obj.setdefault("subscription_details", {"metadata": dict(sub.metadata or {})})
    else:
        obj.setdefault("billing_reason", "manual")
        obj.setdefault("subscription_details", None)
    obj.setdefault("created", obj.get("date"))
    obj.setdefault("customer_tax_exempt", "none")
    obj["default_tax_rates"] = obj.get("default_tax_rates") or []


def _line_item(obj):
    plan = obj.get("plan")
    if isinstance(plan, dict):
        obj.setdefault("price", _price_for_plan(plan))
    obj.setdefault("discountable", True)


def _subscription_item(obj):
    plan = obj.get("plan")
    if isinstance(plan, dict):
        obj.setdefault("price", _price_for_plan(plan))


def _subscription(obj):
    items = obj.get("items")
    if isinstance(items, dict):
        items = dict(items)
        items["data"] = [dict(item, subscription=obj["id"]) for item in items.get("data", [])]
        obj["items"] = items
        first = items["data"][0] if items["data"] else {}
        obj.setdefault("currency", (first.get("plan") or {}).get("currency"))
    if not obj.get("billing_cycle_anchor"):
        obj["billing_cycle_anchor"] = obj.get("start_date")
    obj.setdefault(
        "invoice_settings", {"account_tax_ids": None, "issuer": {"account": None, "type": "self"}}
    )
    obj["default_tax_rates"] = obj.get("default_tax_rates") or []


def _event(obj):
    obj["api_version"] = API_VERSION
    obj.setdefault("pending_webhooks", 0)
    obj.setdefault("request", {"id": None, "idempotency_key": None})


ENRICHERS = {
    "plan": _plan,
    "product": _product,
    "customer": _customer,
    "payment_method": _payment_method,
    "payment_intent": _payment_intent,
    "charge": _charge,
    "refund": _refund,
    "dispute": _dispute,
    "setup_intent": _setup_intent,
    "invoice": _invoice,
    "line_item": _line_item,
    "subscription_item": _subscription_item,
    "subscription": _subscription,
    "event": _event,
}
