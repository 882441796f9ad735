"""Checkout in setup mode: the donor saves a new card on the hosted page and nothing is charged.

The product opens the session with the ``stripe`` SDK and reads the SetupIntent and its
PaymentMethod afterwards; the page is posted like a browser without JavaScript.
"""

import pytest
import requests
import stripe

from .helpers import setup_session, subscribed


def test_a_setup_session_is_open_with_its_setup_intent_and_no_amount(sandbox, api, receiver):
    customer = stripe.Customer.create(email="donor@example.com")
    session = setup_session(customer.id, "sub_123")

    assert (session.mode, session.status, session.payment_status) == (
        "setup",
        "open",
        "no_payment_required",
    )
    assert session.amount_total is None and session.currency is None
    assert session.customer == customer.id
    assert session.url == f"{sandbox.url}/checkout/pay/{session.id}"
    assert stripe.checkout.Session.retrieve(session.id).setup_intent == session.setup_intent
    intent = stripe.SetupIntent.retrieve(session.setup_intent)
    assert (intent.status, intent.customer, intent.payment_method) == (
        "requires_payment_method",
        customer.id,
        None,
    )
    assert intent.metadata == {"gift_id": "12", "subscription_id": "sub_123"}
    assert intent.usage == "off_session"
    created = receiver.wait_for("setup_intent.created")["setup_intent.created"][0]
    assert created.data.object.id == intent.id


def test_the_page_says_it_saves_a_card_and_charges_nothing(sandbox, api):
    customer = stripe.Customer.create(email="donor@example.com")
    page = requests.get(setup_session(customer.id).url).text

    assert "Save card" in page and "You will not be charged now." in page
    assert 'value="donor@example.com"' in page
    assert "$" not in page and "Pay</button>" not in page


def test_a_card_saved_on_the_page_is_attached_with_its_expiry(sandbox, api, receiver):
    customer = stripe.Customer.create(email="donor@example.com")
    session = setup_session(customer.id)

    answer = sandbox.pay_via_form(session.url, card="5555 5555 5555 4444", exp="07/32")

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"http://shop.test/card/saved?session_id={session.id}"
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "no_payment_required")
    intent = stripe.SetupIntent.retrieve(session.setup_intent, expand=["payment_method"])
    assert intent.status == "succeeded"
    card = intent.payment_method.card
    assert intent.payment_method.customer == customer.id
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == (
        "mastercard",
        "4444",
        7,
        2032,
    )
    assert (card.funding, card.country) == ("credit", "US")
    assert stripe.PaymentMethod.retrieve(intent.payment_method.id).card.exp_year == 2032
    assert stripe.Customer.retrieve(customer.id).invoice_settings.default_payment_method is None
    found = receiver.wait_for(
        "setup_intent.succeeded", "payment_method.attached", "checkout.session.completed"
    )
    completed = found["checkout.session.completed"][0].data.object
    assert (completed.mode, completed.setup_intent) == ("setup", intent.id)
    assert completed.metadata == {"gift_id": "12", "purpose": "update_card"}
    assert found["setup_intent.succeeded"][0].data.object.payment_method == intent.payment_method.id
    assert found["payment_method.attached"][0].data.object.customer == customer.id
    assert stripe.Charge.list(limit=100).data == []


def test_a_declined_card_changes_nothing_and_keeps_the_session_open(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    session = setup_session(subscription.customer, subscription.id)

    page = sandbox.pay_via_form(session.url, card="4000 0000 0000 0002")
    shortcut = sandbox.pay(session.id, card="4000000000000002")

    assert page.status_code == 402 and "Your card was declined." in page.text
    assert shortcut.status_code == 402
    error = shortcut.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    intent = stripe.SetupIntent.retrieve(session.setup_intent)
    assert (intent.status, intent.payment_method) == ("requires_payment_method", None)
    assert intent.last_setup_error.message == "Your card was declined."
    cards = stripe.PaymentMethod.list(customer=subscription.customer, type="card").data
    assert [pm.id for pm in cards] == [subscription.default_payment_method]
    assert stripe.Subscription.retrieve(subscription.id) == subscription
    receiver.wait_for("setup_intent.setup_failed")
    assert receiver.types().count("payment_method.attached") == 1


def test_a_card_that_declines_charges_is_saved_and_its_later_charges_fail(sandbox, api):
    subscription = subscribed(sandbox)
    session = setup_session(subscription.customer, subscription.id)

    assert sandbox.pay(session.id, card="4000000000000341").status_code == 200
    intent = stripe.SetupIntent.retrieve(stripe.checkout.Session.retrieve(session.id).setup_intent)
    assert intent.status == "succeeded"
    stripe.Subscription.modify(subscription.id, default_payment_method=intent.payment_method)

    renewal = sandbox.renew(subscription.id)

    assert renewal["status"] == "open"
    charge = stripe.Charge.retrieve(stripe.Invoice.retrieve(renewal["id"]).charge)
    assert (charge.status, charge.failure_code) == ("failed", "card_declined")
    assert charge.payment_method_details.card.last4 == "0341"


def test_three_d_secure_on_the_setup_page(sandbox, api, receiver):
    customer = stripe.Customer.create(email="donor@example.com")
    session = setup_session(customer.id)

    challenge = sandbox.pay_via_form(session.url, card="4000002500003155")
    assert "confirm that this card may be saved" in challenge.text
    assert stripe.SetupIntent.retrieve(session.setup_intent).status == "requires_action"
    failed = sandbox.authenticate(session.url, complete=False)
    assert "We are unable to authenticate your payment method" in failed.text
    intent = stripe.SetupIntent.retrieve(session.setup_intent)
    assert intent.last_setup_error.code == "setup_intent_authentication_failure"

    sandbox.pay_via_form(session.url, card="4000002500003155")
    done = sandbox.authenticate(session.url, complete=True)

    assert done.status_code == 303
    assert stripe.SetupIntent.retrieve(session.setup_intent).status == "succeeded"
    receiver.wait_for("setup_intent.requires_action", "checkout.session.completed")


def test_the_shortcut_asks_for_authentication_like_for_payments(sandbox, api):
    customer = stripe.Customer.create(email="donor@example.com")
    session = setup_session(customer.id)

    pending = sandbox.pay(session.id, card="4000002500003155")
    done = sandbox.pay(session.id, card="4000002500003155", authenticate="complete")

    assert pending.status_code == 402 and pending.json()["status"] == "requires_action"
    assert done.status_code == 200 and done.json()["session"]["status"] == "complete"


def test_expiring_a_setup_session_cancels_its_setup_intent(sandbox, api, receiver):
    customer = stripe.Customer.create(email="donor@example.com")
    session = setup_session(customer.id)

    stripe.checkout.Session.expire(session.id)

    intent = stripe.SetupIntent.retrieve(session.setup_intent)
    assert (intent.status, intent.cancellation_reason) == ("canceled", "abandoned")
    receiver.wait_for("setup_intent.canceled", "checkout.session.expired")


@pytest.mark.parametrize(
    ("extra", "param", "message"),
    [
        (
            {"line_items[0][price]": "price_x"},
            "line_items",
            "You can not pass `line_items` in `setup` mode.",
        ),
        (
            {"mode": "payment"},
            "setup_intent_data",
            "You can only specify `setup_intent_data` in `setup` mode.",
        ),
    ],
)
def test_setup_mode_parameters_are_checked(sandbox, api, extra, param, message):
    customer = stripe.Customer.create(email="donor@example.com")
    data = {
        "mode": "setup",
        "customer": customer.id,
        "success_url": "http://shop.test/ok",
        "setup_intent_data[metadata][gift_id]": "12",
        **extra,
    }
    response = requests.post(
        sandbox.url + "/v1/checkout/sessions",
        data=data,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    assert response.status_code == 400
    assert (response.json()["error"]["param"], response.json()["error"]["message"]) == (
        param,
        message,
    )
