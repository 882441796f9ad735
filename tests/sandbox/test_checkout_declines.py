"""A card declined on the hosted Checkout page leaves what Stripe leaves, and the reader can try
another card on the same page.

In payment mode the session's PaymentIntent (made at the first attempt) goes back to
``requires_payment_method`` with the failed charge and ``last_payment_error``; in subscription
mode the subscription is created ``incomplete`` with its first invoice open. Stripe sends
``charge.failed`` and ``payment_intent.payment_failed`` (and ``invoice.payment_failed``), and the
next card pays through the same PaymentIntent. Every object is checked against Stripe's
description of the pinned version, as ``test_contract`` checks the rest.
"""

import pytest
import requests
import stripe

from sandbox.spec import SPEC

from .helpers import monthly_session, one_time_session
from .test_contract import check_object

GENERIC = "4000000000000002"
GOOD = "4242424242424242"
THREE_D_SECURE = "4000002500003155"


def raw(sandbox, path):
    """The sandbox's JSON answer, as Stripe would send it."""
    response = requests.get(
        sandbox.url + path,
        headers={
            "Authorization": f"Bearer {sandbox.api_key}",
            "Stripe-Version": "2025-02-24.acacia",
        },
    )
    response.raise_for_status()
    return response.json()


def shape_problems(*objects):
    return [
        problem
        for index, obj in enumerate(objects)
        for problem in check_object(obj, SPEC.schemas[obj["object"]], f"{obj['object']}[{index}]")
    ]


def charges_of(payment_intent_id):
    return [c for c in stripe.Charge.list(limit=100).data if c.payment_intent == payment_intent_id]


def test_a_declined_card_fails_the_sessions_payment_intent_and_keeps_the_page_open(
    sandbox, api, receiver
):
    session = one_time_session(amount=2500)

    page = sandbox.pay_via_form(session.url, card="4000 0000 0000 0002", email="bot@example.com")

    assert page.status_code == 402 and "Your card was declined." in page.text
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("open", "unpaid")
    intent = raw(sandbox, f"/v1/payment_intents/{session.payment_intent}")
    assert (intent["status"], intent["amount"], intent["currency"]) == (
        "requires_payment_method",
        2500,
        "usd",
    )
    assert intent["metadata"] == {"gift_id": "7"}
    assert intent["payment_method"] is None and intent["amount_received"] == 0
    error = intent["last_payment_error"]
    assert (error["type"], error["code"], error["decline_code"], error["message"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    )
    assert error["charge"] == intent["latest_charge"]
    charge = raw(sandbox, f"/v1/charges/{intent['latest_charge']}")
    assert (charge["status"], charge["paid"], charge["captured"]) == ("failed", False, False)
    assert (charge["failure_code"], charge["failure_message"]) == (
        "card_declined",
        "Your card was declined.",
    )
    assert charge["outcome"]["type"] == "issuer_declined"
    assert charge["outcome"]["network_status"] == "declined_by_network"
    assert charge["outcome"]["reason"] == "generic_decline"
    assert charge["amount_captured"] == 0 and charge["balance_transaction"] is None
    assert charge["payment_intent"] == intent["id"]
    assert charge["payment_method_details"]["card"]["last4"] == "0002"
    assert charge["receipt_email"] == "bot@example.com"
    assert not shape_problems(intent, charge)


def test_the_decline_is_sent_as_charge_failed_then_payment_intent_payment_failed(
    sandbox, api, receiver
):
    session = one_time_session()

    assert sandbox.pay(session.id, card=GENERIC).status_code == 402

    found = receiver.wait_for("charge.failed", "payment_intent.payment_failed")
    [failed_charge] = found["charge.failed"]
    [failed_intent] = found["payment_intent.payment_failed"]
    assert receiver.types().index("charge.failed") < receiver.types().index(
        "payment_intent.payment_failed"
    )
    intent = failed_intent.data.object
    assert intent.id == stripe.checkout.Session.retrieve(session.id).payment_intent
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.charge == failed_charge.data.object.id
    assert failed_charge.data.object.status == "failed"
    assert not shape_problems(
        *(
            raw(sandbox, f"/v1/events/{event.id}")["data"]["object"]
            for event in (failed_charge, failed_intent)
        )
    )


@pytest.mark.parametrize(
    ("card", "code", "reason", "message"),
    [
        (
            "4000000000009995",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        ("4000000000009987", "card_declined", "lost_card", "Your card was declined."),
        ("4000000000000069", "expired_card", "expired_card", "Your card has expired."),
        (
            "4000000000000127",
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
        ),
        (
            "4000000000000119",
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ],
)
def test_the_failed_charge_carries_the_banks_reason(sandbox, api, card, code, reason, message):
    session = one_time_session()

    refused = sandbox.pay(session.id, card=card)

    assert refused.status_code == 402
    assert (refused.json()["error"]["code"], refused.json()["error"]["decline_code"]) == (
        code,
        reason,
    )
    intent = raw(
        sandbox,
        f"/v1/payment_intents/{stripe.checkout.Session.retrieve(session.id).payment_intent}",
    )
    charge = raw(sandbox, f"/v1/charges/{intent['latest_charge']}")
    assert (charge["failure_code"], charge["failure_message"]) == (code, message)
    assert charge["outcome"]["reason"] == reason
    assert charge["outcome"]["seller_message"] == f"The bank returned the decline code `{reason}`."
    assert (intent["last_payment_error"]["code"], intent["last_payment_error"]["message"]) == (
        code,
        message,
    )
    assert not shape_problems(intent, charge)


def test_another_card_on_the_same_page_pays_through_the_same_payment_intent(sandbox, api, receiver):
    session = one_time_session(amount=2500)
    assert sandbox.pay_via_form(session.url, card=GENERIC).status_code == 402
    declined_intent = stripe.checkout.Session.retrieve(session.id).payment_intent

    paid = sandbox.pay_via_form(session.url, card=GOOD, email="reader@example.com")

    assert paid.status_code == 303
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.payment_intent == declined_intent
    intent = raw(sandbox, f"/v1/payment_intents/{declined_intent}")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 2500)
    assert intent["last_payment_error"] is None and intent["payment_method"] is not None
    assert intent["customer"] == session.customer
    assert intent["metadata"] == {"gift_id": "7"}
    failed, succeeded = sorted(charges_of(declined_intent), key=lambda c: c.status)
    assert (failed.status, succeeded.status) == ("failed", "succeeded")
    assert intent["latest_charge"] == succeeded.id
    assert succeeded.payment_method_details.card.last4 == "4242"
    assert succeeded.balance_transaction is not None and failed.balance_transaction is None
    receiver.wait_for("checkout.session.completed")
    types = [
        t for t in receiver.types() if t.startswith(("charge.", "payment_intent.", "checkout"))
    ]
    assert types == [
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    [succeeded_event] = [e for e in receiver.events if e.type == "payment_intent.succeeded"]
    assert succeeded_event.data.object.id == declined_intent
    assert not shape_problems(intent, raw(sandbox, f"/v1/checkout/sessions/{session.id}"))


def test_each_declined_card_is_a_new_failed_charge_on_the_one_payment_intent(
    sandbox, api, receiver
):
    session = one_time_session()

    first = sandbox.pay(session.id, card=GENERIC)
    second = sandbox.pay(session.id, card="4000000000009995")

    assert (first.status_code, second.status_code) == (402, 402)
    intent_id = stripe.checkout.Session.retrieve(session.id).payment_intent
    charges = charges_of(intent_id)
    assert [c.status for c in charges] == ["failed", "failed"]
    intent = stripe.PaymentIntent.retrieve(intent_id)
    assert intent.latest_charge in {c.id for c in charges}
    assert stripe.Charge.retrieve(intent.latest_charge).outcome.reason == "insufficient_funds"
    found = receiver.wait_for("payment_intent.payment_failed", "charge.failed", count=2)
    assert {e.data.object.id for e in found["payment_intent.payment_failed"]} == {intent_id}


def test_expiring_the_session_cancels_its_declined_payment_intent(sandbox, api, receiver):
    session = one_time_session()
    sandbox.pay(session.id, card=GENERIC)

    stripe.checkout.Session.expire(session.id)

    intent = raw(sandbox, f"/v1/payment_intents/{session.retrieve(session.id).payment_intent}")
    assert (intent["status"], intent["cancellation_reason"]) == ("canceled", "abandoned")
    assert isinstance(intent["canceled_at"], int)
    canceled = receiver.wait_for("payment_intent.canceled")["payment_intent.canceled"][0]
    assert canceled.data.object.id == intent["id"]
    assert not shape_problems(intent)


def test_a_declined_first_payment_leaves_an_incomplete_subscription_with_its_invoice_open(
    sandbox, api, receiver
):
    session = monthly_session(amount=500)

    page = sandbox.pay_via_form(session.url, card=GENERIC)

    assert page.status_code == 402 and "Your card was declined." in page.text
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.subscription is None and session.payment_intent is None
    found = receiver.wait_for(
        "customer.subscription.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
    )
    subscription = found["customer.subscription.created"][0].data.object
    assert subscription.status == "incomplete"
    assert subscription.metadata == {"gift_id": "12"}
    invoice = raw(sandbox, f"/v1/invoices/{found['invoice.payment_failed'][0].data.object.id}")
    assert (invoice["status"], invoice["billing_reason"], invoice["subscription"]) == (
        "open",
        "subscription_create",
        subscription.id,
    )
    assert (invoice["attempt_count"], invoice["attempted"]) == (1, True)
    assert invoice["next_payment_attempt"] is None
    intent = raw(sandbox, f"/v1/payment_intents/{invoice['payment_intent']}")
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "card_declined"
    charge = raw(sandbox, f"/v1/charges/{invoice['charge']}")
    assert (charge["status"], charge["invoice"]) == ("failed", invoice["id"])
    assert raw(sandbox, f"/v1/subscriptions/{subscription.id}")["status"] == "incomplete"
    assert not shape_problems(
        invoice, intent, charge, raw(sandbox, f"/v1/subscriptions/{subscription.id}")
    )


def test_the_next_card_pays_the_incomplete_subscriptions_first_invoice(sandbox, api, receiver):
    session = monthly_session(amount=500)
    sandbox.pay(session.id, card=GENERIC)
    sandbox.pay(session.id, card="4000000000009995")
    created = receiver.wait_for("customer.subscription.created")["customer.subscription.created"]
    incomplete = created[0].data.object

    paid = sandbox.pay(session.id, card=GOOD)

    assert paid.status_code == 200
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.subscription == incomplete.id and session.customer == incomplete.customer
    subscription = stripe.Subscription.retrieve(incomplete.id)
    assert subscription.status == "active"
    card = stripe.PaymentMethod.retrieve(subscription.default_payment_method)
    assert (card.card.last4, card.customer) == ("4242", incomplete.customer)
    invoice = stripe.Invoice.retrieve(session.invoice)
    assert (invoice.status, invoice.amount_paid, invoice.attempt_count) == ("paid", 500, 1)
    assert [i.id for i in stripe.Invoice.list(limit=100).data] == [invoice.id]
    assert len(stripe.Customer.list(limit=100).data) == 1
    assert [c.status for c in charges_of(invoice.payment_intent)].count("failed") == 2
    found = receiver.wait_for("customer.subscription.updated", "checkout.session.completed")
    [updated] = found["customer.subscription.updated"]
    assert updated.data.object.status == "active"
    assert updated.data.previous_attributes["status"] == "incomplete"
    assert len(created) == 1 and receiver.types().count("invoice.payment_failed") == 2


@pytest.mark.parametrize("session_of", [one_time_session, monthly_session])
def test_a_three_d_secure_card_after_a_decline_pays_through_what_the_decline_left(
    sandbox, api, session_of
):
    session = session_of()
    assert sandbox.pay_via_form(session.url, card=GENERIC).status_code == 402
    intents = {c.payment_intent for c in stripe.Charge.list(limit=100).data}

    assert "Complete authentication" in sandbox.pay_via_form(session.url, card=THREE_D_SECURE).text
    assert sandbox.authenticate(session.url, complete=True).status_code == 303

    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "paid")
    charges = stripe.Charge.list(limit=100).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]
    assert {c.payment_intent for c in charges} == intents
    if session.mode == "subscription":
        assert stripe.Subscription.retrieve(session.subscription).status == "active"
        assert len(stripe.Subscription.list(limit=100).data) == 1
    else:
        assert {session.payment_intent} == intents
