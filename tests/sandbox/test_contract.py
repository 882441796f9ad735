"""Contract: every object the sandbox answers has exactly the fields that Stripe's description of
API version 2025-02-24.acacia (``sandbox/spec-acacia.json``) gives its kind, each with the
spec's type and, for enums, an allowed value. Nested objects, lists and expanded objects are
checked the same way.

That description is the reference for the pinned version (it is rebuilt from the ``stripe`` SDK
11.6.1, which Stripe generates from its own OpenAPI spec), so this is the guard that keeps the
sandbox, and the product tested against it, honest against real Stripe.
"""

import pytest
import requests

from sandbox.spec import SPEC

from .helpers import (
    close_dispute,
    monthly_session,
    one_time_session,
    retry,
    sandbox_post,
    setup_session,
    subscribed,
)

KINDS = (
    "checkout.session",
    "price",
    "product",
    "customer",
    "payment_intent",
    "payment_method",
    "subscription",
    "subscription_item",
    "invoice",
    "line_item",
    "charge",
    "refund",
    "setup_intent",
    "event",
    "webhook_endpoint",
    "dispute",
    "balance_transaction",
)

JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def problems(value, schema, path):
    """What is wrong with ``value`` as the JSON ``schema`` describes (empty when it fits)."""
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null, which the spec does not allow"]
    if "anyOf" in schema:
        found = [problems(value, alternative, path) for alternative in schema["anyOf"]]
        return [] if any(not p for p in found) else min(found, key=len)
    schema = SPEC.resolve(schema)
    kind = schema.get("type")
    if kind is None:
        return []
    is_bool = isinstance(value, bool)
    if not isinstance(value, JSON_TYPES[kind]) or (is_bool and kind != "boolean"):
        return [f"{path}: expected {kind}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not one of {schema['enum']}"]
    if kind == "array":
        return [
            p
            for i, item in enumerate(value)
            for p in problems(item, schema["items"], f"{path}[{i}]")
        ]
    if kind == "object" and "properties" in schema:
        return check_object(value, schema, path)
    if kind == "object" and schema.get("additionalProperties"):
        entries = schema["additionalProperties"]
        return [p for key, item in value.items() for p in problems(item, entries, f"{path}.{key}")]
    return []


def check_object(data, schema, path):
    """Every field the spec lists is present, no other field is, and each has its type."""
    properties = schema["properties"]
    found = [f"{path}.{name}: missing" for name in properties if name not in data]
    found += [
        f"{path}.{name}: not a field of this object" for name in data if name not in properties
    ]
    for name, value in data.items():
        if name in properties:
            found.extend(problems(value, properties[name], f"{path}.{name}"))
    return found


def _get(sandbox, path, **params):
    response = requests.get(
        sandbox.url + path,
        params=params,
        headers={
            "Authorization": f"Bearer {sandbox.api_key}",
            "Stripe-Version": "2025-02-24.acacia",
        },
    )
    response.raise_for_status()
    return response.json()


def _post(sandbox, path, **data):
    response = requests.post(
        sandbox.url + path,
        data=data,
        headers={
            "Authorization": f"Bearer {sandbox.api_key}",
            "Stripe-Version": "2025-02-24.acacia",
        },
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def answers(sandbox, api):
    """Raw JSON answers for every kind of object, from a monthly and a one-time donation."""
    monthly = monthly_session()
    sandbox.pay(monthly.id)
    once = one_time_session()
    sandbox.pay(once.id)
    created = requests.post(
        sandbox.url + "/v1/webhook_endpoints",
        data={"url": "http://127.0.0.1:9/", "enabled_events[]": "*"},
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    ).json()
    monthly_json = _get(sandbox, f"/v1/checkout/sessions/{monthly.id}")
    once_json = _get(sandbox, f"/v1/checkout/sessions/{once.id}")
    subscription = _get(sandbox, f"/v1/subscriptions/{monthly_json['subscription']}")
    invoice = _get(sandbox, f"/v1/invoices/{monthly_json['invoice']}")
    pi = _get(sandbox, f"/v1/payment_intents/{once_json['payment_intent']}")
    charge_id = pi["latest_charge"]
    refund = api.Refund.create(charge=charge_id, amount=100, reason="requested_by_customer")
    disputes = _dispute_answers(sandbox, charge_id, invoice["charge"])
    price_id = subscription["items"]["data"][0]["price"]["id"]
    product_id = subscription["items"]["data"][0]["price"]["product"]
    sandbox.renew(subscription["id"])
    renewed = _get(sandbox, f"/v1/subscriptions/{subscription['id']}")
    recurring = _recurring_answers(sandbox, api)
    events = _every_event(sandbox)
    return {
        "checkout.session": [
            monthly_json,
            once_json,
            _get(sandbox, "/v1/checkout/sessions", limit=100)["data"][0],
            *recurring["checkout.session"],
        ],
        "price": [_get(sandbox, f"/v1/prices/{price_id}")],
        "product": [_get(sandbox, f"/v1/products/{product_id}")],
        "customer": [_get(sandbox, f"/v1/customers/{monthly_json['customer']}")],
        "payment_intent": [
            pi,
            _get(sandbox, f"/v1/payment_intents/{invoice['payment_intent']}"),
            *recurring["payment_intent"],
        ],
        "payment_method": [
            _get(sandbox, f"/v1/payment_methods/{pi['payment_method']}"),
            *recurring["payment_method"],
        ],
        "subscription": [subscription, renewed, *recurring["subscription"]],
        "subscription_item": subscription["items"]["data"],
        "invoice": [invoice, *_get(sandbox, "/v1/invoices", limit=100)["data"]],
        "line_item": invoice["lines"]["data"],
        "charge": [_get(sandbox, f"/v1/charges/{charge_id}"), *recurring["charge"]],
        "setup_intent": recurring["setup_intent"],
        "refund": [_get(sandbox, f"/v1/refunds/{refund.id}")],
        "event": events,
        "webhook_endpoint": [_get(sandbox, f"/v1/webhook_endpoints/{created['id']}"), created],
        "dispute": [*disputes, *_get(sandbox, "/v1/disputes", limit=100)["data"]],
        "balance_transaction": [
            _get(sandbox, f"/v1/charges/{charge_id}", **EXPAND_BALANCE)["balance_transaction"],
            _get(sandbox, f"/v1/refunds/{refund.id}", **EXPAND_BALANCE)["balance_transaction"],
            *_get(sandbox, "/v1/balance_transactions", limit=100)["data"],
        ],
    }


EXPAND_BALANCE = {"expand[]": "balance_transaction"}


def _dispute_answers(sandbox, charge_id, other_charge_id):
    """A dispute in each state: opened, answered with evidence, won; another one lost."""
    opened = sandbox.dispute(charge_id)
    answered = _post(
        sandbox, f"/v1/disputes/{opened['id']}", **{"evidence[uncategorized_text]": "Delivered."}
    )
    won = close_dispute(sandbox, opened["id"], "won")
    lost = close_dispute(sandbox, sandbox.dispute(other_charge_id)["id"], "lost")
    return [opened, answered, won, lost]


def _every_event(sandbox):
    page = _get(sandbox, "/v1/events", limit=100)
    events = page["data"]
    while page["has_more"]:
        page = _get(sandbox, "/v1/events", limit=100, starting_after=events[-1]["id"])
        events += page["data"]
    return events


def _recurring_answers(sandbox, api):
    """A recurring gift's later life: a card saved in setup mode (and one declined), a failed
    renewal and retry, a price change, a pause with a voided renewal, an expiry update, a
    cancellation at period end and one for non-payment."""
    sub = subscribed(sandbox)
    declined = setup_session(sub.customer, sub.id)
    sandbox.pay(declined.id, card="4000000000000002")
    saved = setup_session(sub.customer, sub.id)
    sandbox.pay(saved.id, card="5555555555554444", exp="09/31")
    abandoned = setup_session(sub.customer, sub.id)
    api.checkout.Session.expire(abandoned.id)
    saved_json = _get(sandbox, f"/v1/checkout/sessions/{saved.id}")
    new_card = _get(
        sandbox, f"/v1/setup_intents/{saved_json['setup_intent']}", **{"expand[]": "payment_method"}
    )["payment_method"]
    sandbox_post(sandbox, f"/_sandbox/subscriptions/{sub.id}/fail_next_renewal")
    failed = sandbox.renew(sub.id)
    retry(sandbox, failed["id"])
    failed_json = _get(sandbox, f"/v1/invoices/{failed['id']}")
    item = sub["items"].data[0]
    api.Subscription.modify(
        sub.id,
        default_payment_method=new_card["id"],
        items=[
            {
                "id": item.id,
                "price_data": {
                    "currency": "usd",
                    "product": item.price.product,
                    "unit_amount": 800,
                    "recurring": {"interval": "month"},
                },
            }
        ],
        proration_behavior="none",
        pause_collection={"behavior": "void", "resumes_at": sub.current_period_end + 40 * 86400},
    )
    sandbox.renew(sub.id)
    sandbox_post(
        sandbox, f"/_sandbox/payment_methods/{new_card['id']}/expiry", exp_month=1, exp_year=2035
    )
    paused = _get(sandbox, f"/v1/subscriptions/{sub.id}")
    api.Subscription.modify(sub.id, pause_collection="", cancel_at_period_end=True)
    ending = _get(sandbox, f"/v1/subscriptions/{sub.id}", **{"expand[]": "default_payment_method"})
    other = subscribed(sandbox)
    sandbox_post(sandbox, f"/_sandbox/subscriptions/{other.id}/fail_next_renewal")
    sandbox.renew(other.id)
    lapsed = sandbox_post(sandbox, f"/_sandbox/subscriptions/{other.id}/give_up").json()
    return {
        "checkout.session": [
            _get(sandbox, f"/v1/checkout/sessions/{session.id}")
            for session in (declined, saved, abandoned)
        ],
        "setup_intent": [
            _get(sandbox, f"/v1/setup_intents/{session.setup_intent}")
            for session in (declined, saved, abandoned)
        ],
        "payment_method": [new_card],
        "subscription": [paused, ending, lapsed],
        "charge": [_get(sandbox, f"/v1/charges/{failed_json['charge']}")],
        "payment_intent": [
            _get(sandbox, f"/v1/payment_intents/{failed_json['payment_intent']}"),
        ],
    }


def test_every_object_matches_the_spec(answers):
    found = []
    for kind in KINDS:
        assert answers[kind], f"no {kind} to check"
        for index, data in enumerate(answers[kind]):
            assert data["object"] == kind
            found.extend(check_object(data, SPEC.schemas[kind], f"{kind}[{index}]"))
    assert not found, "\n".join(found)


def test_the_answers_hold_the_recurring_fields_set(answers):
    """The contract above is checked on values, not only on nulls."""
    intents = {intent["status"] for intent in answers["setup_intent"]}
    assert intents == {"requires_payment_method", "succeeded", "canceled"}
    assert {s["mode"] for s in answers["checkout.session"]} == {"payment", "subscription", "setup"}
    paused, ending, lapsed = answers["subscription"][-3:]
    assert paused["pause_collection"]["behavior"] == "void"
    assert ending["default_payment_method"]["card"]["exp_year"] == 2035
    assert ending["cancellation_details"]["reason"] == "cancellation_requested"
    assert lapsed["cancellation_details"]["reason"] == "payment_failed"
    invoices = {invoice["id"]: invoice for invoice in answers["invoice"]}.values()
    assert {invoice["status"] for invoice in invoices} == {"paid", "open", "void"}
    retried = [invoice for invoice in invoices if invoice["attempt_count"] == 2]
    assert retried and isinstance(retried[0]["next_payment_attempt"], int)
    assert all(invoice["hosted_invoice_url"] for invoice in invoices)
    assert answers["charge"][-1]["status"] == "failed"
    assert answers["payment_intent"][-1]["last_payment_error"]["code"] == "card_declined"


def test_the_answers_hold_every_dispute_state_and_balance_movement(answers):
    """Disputes and balance transactions are checked in every state they can be in."""
    statuses = [dispute["status"] for dispute in answers["dispute"][:4]]
    assert statuses == ["needs_response", "under_review", "won", "lost"]
    assert [len(d["balance_transactions"]) for d in answers["dispute"][:4]] == [1, 1, 2, 1]
    categories = {txn["reporting_category"] for txn in answers["balance_transaction"]}
    assert categories == {"charge", "refund", "dispute", "dispute_reversal"}
    statuses = {txn["status"] for txn in answers["balance_transaction"]}
    assert statuses == {"available", "pending"}
    assert all(txn["fee_details"] for txn in answers["balance_transaction"] if txn["fee"])


def test_no_deleted_field_on_live_objects(answers):
    for kind in ("invoice", "price", "subscription_item", "webhook_endpoint", "customer"):
        for data in answers[kind]:
            assert "deleted" not in data, kind


def test_events_carry_full_objects_in_acacia_shapes(answers):
    found = []
    types = set()
    for event in answers["event"]:
        types.add(event["type"])
        assert event["api_version"] == "2025-02-24.acacia"
        obj = event["data"]["object"]
        if obj["object"] in KINDS:
            found.extend(
                check_object(obj, SPEC.schemas[obj["object"]], f"{event['type']}.data.object")
            )
    assert {
        "checkout.session.completed",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.created",
        "payment_intent.succeeded",
        "charge.succeeded",
        "refund.created",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "setup_intent.created",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
        "setup_intent.canceled",
        "payment_method.attached",
        "payment_method.automatically_updated",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "invoice.voided",
    } <= types
    assert not found, "\n".join(found)


def test_the_checker_catches_a_wrong_shape():
    session = SPEC.schemas["checkout.session"]
    assert problems("paid", session["properties"]["status"], "status")
    assert problems(None, session["properties"]["created"], "created")
    assert problems(1, {"type": "string", "nullable": True}, "f")
    assert check_object({"id": "cs_1"}, session, "session")
    complete = SPEC.shape("price")["fields"]
    assert not check_object(complete, SPEC.schemas["price"], "price")
    assert check_object({**complete, "deleted": None}, SPEC.schemas["price"], "price") == [
        "price.deleted: not a field of this object"
    ]
