"""Contract: every object the sandbox answers carries every field that the ``stripe`` SDK
11.6.x (the release line of API version 2025-02-24.acacia) annotates on its class, with a
matching JSON type and, for enums, an allowed value. Nested objects are checked the same way.

The SDK's annotations are the field-by-field reference for the pinned version, so this is the
guard that keeps the sandbox, and the product tested against it, honest against real Stripe.
"""

import inspect
import sys
import types
import typing

import pytest
import requests
import stripe
from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject

from .helpers import monthly_session, one_time_session

KINDS = {
    "checkout.session": stripe.checkout.Session,
    "price": stripe.Price,
    "product": stripe.Product,
    "customer": stripe.Customer,
    "payment_intent": stripe.PaymentIntent,
    "payment_method": stripe.PaymentMethod,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
    "invoice": stripe.Invoice,
    "line_item": stripe.InvoiceLineItem,
    "charge": stripe.Charge,
    "refund": stripe.Refund,
    "event": stripe.Event,
    "webhook_endpoint": stripe.WebhookEndpoint,
    "dispute": stripe.Dispute,
}


class _Names(dict):
    """Names an annotation may use: the class's own nested classes, its module, ``stripe``;
    anything else (imports made only for type checkers) stays a forward reference."""

    def __init__(self, cls):
        super().__init__()
        self.cls = cls

    def __missing__(self, name):
        for klass in inspect.getmro(self.cls):
            if name in vars(klass):
                return vars(klass)[name]
        module = sys.modules[self.cls.__module__]
        if hasattr(module, name):
            return getattr(module, name)
        if hasattr(stripe, name):
            return getattr(stripe, name)
        return typing.ForwardRef(name)


def annotated_fields(cls):
    fields = {}
    for name, annotation in vars(cls).get("__annotations__", {}).items():
        if name.startswith("_"):
            continue
        if isinstance(annotation, str):
            annotation = eval(annotation, vars(sys.modules[cls.__module__]), _Names(cls))
        if typing.get_origin(annotation) is typing.ClassVar:
            continue
        fields[name] = annotation
    return fields


def problems(value, annotation, path):
    """What is wrong with ``value`` as the JSON of ``annotation`` (empty when it fits)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        found = [problems(value, arg, path) for arg in args if arg is not type(None)]
        return [] if any(not p for p in found) else min(found, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} not one of {args}"]
    if annotation is typing.Any:
        return []
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{path}: expected an object, got {value!r}"]
    if annotation is ListObject or origin is ListObject:
        if not (
            isinstance(value, dict)
            and value.get("object") == "list"
            and isinstance(value.get("data"), list)
        ):
            return [f"{path}: expected a list object, got {value!r}"]
        return []
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if isinstance(annotation, typing.ForwardRef):
        return [] if isinstance(value, dict) else [f"{path}: expected an object, got {value!r}"]
    if inspect.isclass(annotation) and issubclass(annotation, StripeObject):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return check_object(value, annotation, path)
    raise AssertionError(f"{path}: the contract test cannot read {annotation!r}")


def check_object(data, cls, path):
    found = []
    for name, annotation in annotated_fields(cls).items():
        if name not in data:
            found.append(f"{path}.{name}: missing")
        else:
            found.extend(problems(data[name], annotation, f"{path}.{name}"))
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
    dispute = sandbox.dispute(charge_id)
    price_id = subscription["items"]["data"][0]["price"]["id"]
    product_id = subscription["items"]["data"][0]["price"]["product"]
    sandbox.renew(subscription["id"])
    renewed = _get(sandbox, f"/v1/subscriptions/{subscription['id']}")
    events = _get(sandbox, "/v1/events", limit=100)["data"]
    return {
        "checkout.session": [
            monthly_json,
            once_json,
            _get(sandbox, "/v1/checkout/sessions", limit=100)["data"][0],
        ],
        "price": [_get(sandbox, f"/v1/prices/{price_id}")],
        "product": [_get(sandbox, f"/v1/products/{product_id}")],
        "customer": [_get(sandbox, f"/v1/customers/{monthly_json['customer']}")],
        "payment_intent": [pi, _get(sandbox, f"/v1/payment_intents/{invoice['payment_intent']}")],
        "payment_method": [_get(sandbox, f"/v1/payment_methods/{pi['payment_method']}")],
        "subscription": [subscription, renewed],
        "subscription_item": subscription["items"]["data"],
        "invoice": [invoice] + _get(sandbox, "/v1/invoices", limit=100)["data"],
        "line_item": invoice["lines"]["data"],
        "charge": [_get(sandbox, f"/v1/charges/{charge_id}")],
        "refund": [_get(sandbox, f"/v1/refunds/{refund.id}")],
        "event": events,
        "webhook_endpoint": [_get(sandbox, f"/v1/webhook_endpoints/{created['id']}"), created],
        "dispute": [dispute],
    }


def test_every_object_matches_the_sdk_annotations(answers):
    found = []
    for kind, cls in KINDS.items():
        assert answers[kind], f"no {kind} to check"
        for index, data in enumerate(answers[kind]):
            assert data["object"] == kind
            found.extend(check_object(data, cls, f"{kind}[{index}]"))
    assert not found, "\n".join(found)


def test_events_carry_full_objects_in_acacia_shapes(answers):
    found = []
    types = set()
    for event in answers["event"]:
        types.add(event["type"])
        assert event["api_version"] == "2025-02-24.acacia"
        obj = event["data"]["object"]
        cls = KINDS.get(obj["object"])
        if cls is not None:
            found.extend(check_object(obj, cls, f"{event['type']}.data.object"))
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
        "customer.subscription.updated",
    } <= types
    assert not found, "\n".join(found)


def test_the_checker_catches_a_wrong_shape():
    assert problems("x", typing.Literal["open", "complete"], "status")
    assert check_object({"id": "cs_1"}, stripe.checkout.Session, "session")
    assert problems(1, str | None, "f")
