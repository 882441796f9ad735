"""Builders shared by the sandbox tests: Checkout Sessions as the product creates them."""

import uuid

import stripe


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


def one_time_session(amount=2500, **overrides):
    params = dict(
        mode="payment",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
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
