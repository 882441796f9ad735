"""Builders shared by the sandbox tests: Checkout Sessions as the product creates them, paid
subscriptions, saved cards, and the sandbox-only routes that stand for time passing."""

import uuid

import requests
import stripe

DAY = 24 * 3600


def monthly_session(interval="month", amount=500, **overrides):
    params = dict(
        mode="subscription",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "product_data": {"name": "Monthly support"},
                    "recurring": {"interval": interval},
                },
            }
        ],
        customer_email="reader@example.com",
        success_url="http://shop.test/thanks?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/support",
        metadata={"gift_id": "12"},
        client_reference_id="12",
        locale="auto",
        subscription_data={"metadata": {"gift_id": "12"}},
        idempotency_key=str(uuid.uuid4()),
    )
    params.update(overrides)
    return stripe.checkout.Session.create(**params)


def one_time_session(amount=2500, currency="usd", **overrides):
    params = dict(
        mode="payment",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": "One-time gift"},
                },
            }
        ],
        customer_email="reader@example.com",
        success_url="http://shop.test/thanks?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/support",
        metadata={"gift_id": "7"},
        client_reference_id="7",
        submit_type="donate",
        locale="auto",
        payment_intent_data={"metadata": {"gift_id": "7"}},
        idempotency_key=str(uuid.uuid4()),
    )
    params.update(overrides)
    return stripe.checkout.Session.create(**params)


def setup_session(customer, subscription_id="sub_unknown", **overrides):
    """A setup-mode session saving a new card for a recurring gift, as the product makes it."""
    params = dict(
        mode="setup",
        customer=customer,
        payment_method_types=["card"],
        success_url="http://shop.test/card/saved?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/manage",
        metadata={"gift_id": "12", "purpose": "update_card"},
        client_reference_id="12",
        locale="auto",
        setup_intent_data={"metadata": {"gift_id": "12", "subscription_id": subscription_id}},
        idempotency_key=str(uuid.uuid4()),
    )
    params.update(overrides)
    return stripe.checkout.Session.create(**params)


def subscribed(sandbox, amount=500, interval="month", card="4242424242424242", exp="04/30"):
    """A subscription paid through Checkout; the live ``stripe.Subscription``."""
    session = monthly_session(interval=interval, amount=amount)
    assert sandbox.pay(session.id, card=card, exp=exp).status_code == 200
    return stripe.Subscription.retrieve(stripe.checkout.Session.retrieve(session.id).subscription)


def saved_card(sandbox, subscription, card="5555555555554444", exp="09/31"):
    """A new card saved for the subscription's customer through a setup session; its id."""
    session = setup_session(subscription.customer, subscription.id)
    assert sandbox.pay(session.id, card=card, exp=exp).status_code == 200
    setup_intent_id = stripe.checkout.Session.retrieve(session.id).setup_intent
    return stripe.SetupIntent.retrieve(setup_intent_id).payment_method


def sandbox_post(sandbox, path, **data):
    """POST to a sandbox-only route (``/_sandbox/...``); the raw response."""
    return requests.post(sandbox.url + path, data=data)


def retry(sandbox, invoice_id):
    """Stripe's next automatic retry of an open invoice, now; the invoice."""
    response = sandbox_post(sandbox, f"/_sandbox/invoices/{invoice_id}/retry")
    response.raise_for_status()
    return response.json()


def paid_charge(sandbox, amount=2500, currency="usd"):
    """A one-time gift paid through Checkout; its ``stripe.Charge``."""
    session = one_time_session(amount=amount, currency=currency)
    assert sandbox.pay(session.id).status_code == 200
    intent = stripe.PaymentIntent.retrieve(
        stripe.checkout.Session.retrieve(session.id).payment_intent
    )
    return stripe.Charge.retrieve(intent.latest_charge)


def close_dispute(sandbox, dispute_id, outcome):
    """The bank decides an open dispute (``won`` or ``lost``); the dispute."""
    response = sandbox_post(sandbox, f"/_sandbox/disputes/{dispute_id}/close", outcome=outcome)
    response.raise_for_status()
    return response.json()


def near(timestamp, expected, slack=30):
    """A unix timestamp within ``slack`` seconds of ``expected``."""
    return timestamp is not None and abs(timestamp - expected) <= slack
