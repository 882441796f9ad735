"""The webhook endpoint: only trusted deliveries get in, each is applied exactly once."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from donations.db import db
from donations.enums import GiftStatus
from donations.models import Gift, OutboxEmail, Payment, StripeEvent
from donations.payments.stripe_gateway import StripeGateway
from tests.factories import make_checkout
from tests.helpers_events import (
    encode,
    event_for,
    give_and_pay,
    only_event,
    outbox,
    payments_of,
    post_event,
    sandbox_get,
    sign,
)


def _stored_events() -> list[StripeEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(StripeEvent)))


def test_checkout_completed_marks_a_one_time_gift_paid_and_records_its_payment(client, sandbox):
    gift = give_and_pay(sandbox, amount=500)
    event = only_event(sandbox, "checkout.session.completed")

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.json == {"status": "applied", "event": event["id"]}
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PAID
    [payment] = payments_of(gift)
    assert (payment.kind, payment.amount, payment.currency) == ("charge", 500, "USD")
    assert payment.stripe_id == gift.stripe_payment_intent_id
    [row] = _stored_events()
    assert (row.stripe_id, row.type, row.gift_id, row.attempts) == (
        event["id"],
        "checkout.session.completed",
        gift.id,
        1,
    )
    assert row.processed_at is not None and row.error == ""
    assert row.payload == encode(event).decode()


def test_duplicate_webhook_is_applied_once(client, sandbox):
    gift = give_and_pay(sandbox, amount=1000)
    event = only_event(sandbox, "checkout.session.completed")

    answers = [post_event(client, event) for _ in range(10)]

    assert [a.status_code for a in answers] == [200] * 10
    assert [a.json["status"] for a in answers] == ["applied"] + ["duplicate"] * 9
    assert len(payments_of(gift)) == 1
    assert len(outbox("receipt")) == 1
    [row] = _stored_events()
    assert row.attempts == 1


def test_unknown_event_types_are_stored_and_acknowledged(client, sandbox):
    give_and_pay(sandbox)
    event = only_event(sandbox, "customer.created")

    response = post_event(client, event)

    assert response.status_code == 200
    [row] = _stored_events()
    assert row.type == "customer.created" and row.processed_at is not None
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda p: {"Stripe-Signature": sign(p, "whsec_someone_else")}, id="wrong-secret"
        ),
        pytest.param(
            lambda p: {"Stripe-Signature": sign(p + b" ", "whsec_test_secret")}, id="bad-signature"
        ),
        pytest.param(
            lambda p: {"Stripe-Signature": sign(p, "whsec_test_secret", int(time.time()) - 600)},
            id="stale-timestamp",
        ),
        pytest.param(lambda p: {}, id="missing-signature"),
        pytest.param(lambda p: {"Stripe-Signature": "garbage"}, id="malformed-signature"),
    ],
)
def test_untrusted_deliveries_are_rejected_and_nothing_is_applied(client, sandbox, tamper):
    gift = give_and_pay(sandbox)
    payload = encode(only_event(sandbox, "checkout.session.completed"))

    response = client.post("/webhooks/stripe", data=payload, headers=tamper(payload))

    assert response.status_code == 400
    assert response.json["reason"]
    assert _stored_events() == []
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PENDING


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"object": "customer", "id": "x"}'])
def test_signed_bodies_that_are_not_events_are_rejected(client, app, body):
    response = post_event(client, body)

    assert response.status_code == 400
    assert response.json["error"] == "invalid webhook"
    assert _stored_events() == []


def test_live_mode_events_are_rejected_by_a_test_mode_platform(client, sandbox):
    gift = give_and_pay(sandbox)
    event = only_event(sandbox, "checkout.session.completed") | {"livemode": True}

    response = post_event(client, event)

    assert response.status_code == 400
    assert "live" in response.json["reason"]
    assert _stored_events() == []
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PENDING


def test_the_webhook_needs_no_csrf_token(app, sandbox):
    app.config["WTF_CSRF_ENABLED"] = True
    give_and_pay(sandbox)
    response = post_event(app.test_client(), only_event(sandbox, "checkout.session.completed"))
    assert response.status_code == 200


def test_a_failing_handler_answers_500_keeps_the_error_and_replay_applies_it_once_fixed(
    app, client, runner, sandbox
):
    gift = give_and_pay(sandbox, "monthly", amount=700)
    sub = sandbox_get(sandbox, f"/v1/subscriptions/{_subscription_of(sandbox, gift)}")
    event = event_for(sub, "customer.subscription.updated")
    working = app.extensions["payment_gateway"]
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", "http://127.0.0.1:9")

    first = post_event(client, event)
    second = post_event(client, event)

    assert (first.status_code, second.status_code) == (500, 500)
    [row] = _stored_events()
    assert row.processed_at is None and row.attempts == 2
    assert "GatewayUnavailable" in row.error
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PENDING

    app.extensions["payment_gateway"] = working
    result = runner.invoke(args=["stripe", "replay", event["id"]])

    assert result.exit_code == 0, result.output
    assert f"{event['id']}: applied" in result.output
    [row] = _stored_events()
    assert row.processed_at is not None and row.error == "" and row.attempts == 3
    db.session.refresh(gift)
    assert gift.status == GiftStatus.ACTIVE and gift.stripe_subscription_id == sub["id"]
    assert post_event(client, event).json["status"] == "duplicate"


def _subscription_of(sandbox, gift: Gift) -> str:
    session = sandbox_get(sandbox, f"/v1/checkout/sessions/{gift.stripe_checkout_session_id}")
    return session["subscription"]


def test_stripe_retries_a_failed_event_and_it_then_applies(app, client, sandbox):
    gift = give_and_pay(sandbox, "monthly", amount=700)
    event = only_event(sandbox, "checkout.session.completed")
    working = app.extensions["payment_gateway"]
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", "http://127.0.0.1:9")
    assert post_event(client, event).status_code == 500
    app.extensions["payment_gateway"] = working

    retry = post_event(client, event)

    assert retry.status_code == 200 and retry.json["status"] == "applied"
    [row] = _stored_events()
    assert row.attempts == 2 and row.processed_at is not None
    assert len(payments_of(gift)) == 1
    assert len(outbox("receipt")) == 1


def test_sandbox_deliveries_mark_a_gift_paid_end_to_end(app, sandbox, registered_webhook):
    gift = make_checkout("once", amount=2500, currency="EUR")

    assert sandbox.pay(gift.stripe_checkout_session_id, email=gift.donor.email).ok
    sandbox.wait_for_deliveries(
        lambda attempts: any(
            a["type"] == "checkout.session.completed" and a["ok"] for a in attempts
        )
    )

    db.session.expire_all()
    assert db.session.get(Gift, gift.id).status == GiftStatus.PAID
    [payment] = payments_of(gift)
    assert (payment.amount, payment.currency) == (2500, "EUR")
    deliveries = sandbox.deliveries()
    assert all(d["ok"] for d in deliveries), deliveries


@pytest.mark.postgres
def test_the_same_event_posted_twice_at_once_is_applied_once(app, live_server, sandbox):
    gifts = [give_and_pay(sandbox, amount=300 + i, email=f"r{i}@example.org") for i in range(5)]
    secret = app.config["STRIPE_WEBHOOK_SECRET"]

    for gift in gifts:
        session = gift.stripe_checkout_session_id
        event = only_event(sandbox, "checkout.session.completed", session)
        payload = encode(event)
        barrier = threading.Barrier(2)
        answers: list[requests.Response] = []

        def deliver(payload=payload, barrier=barrier, answers=answers):
            headers = {
                "Stripe-Signature": sign(payload, secret),
                "Content-Type": "application/json",
            }
            barrier.wait()
            answers.append(
                requests.post(
                    f"{live_server}/webhooks/stripe", data=payload, headers=headers, timeout=30
                )
            )

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(a.json()["status"] for a in answers) == ["applied", "duplicate"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == len(gifts)
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == len(gifts)
    assert all(g.status == GiftStatus.PAID for g in db.session.scalars(sa.select(Gift)))


@pytest.mark.postgres
def test_two_events_about_one_gift_at_once_lose_no_update(app, live_server, sandbox):
    gift = give_and_pay(sandbox, amount=900)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    bodies = [
        encode(only_event(sandbox, "checkout.session.completed")),
        encode(only_event(sandbox, "payment_intent.succeeded")),
    ]
    barrier = threading.Barrier(2)
    answers: list[requests.Response] = []

    def deliver(payload):
        headers = {"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"}
        barrier.wait()
        answers.append(
            requests.post(
                f"{live_server}/webhooks/stripe", data=payload, headers=headers, timeout=30
            )
        )

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    [payment] = payments_of(gift)
    assert payment.stripe_charge_id is not None
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PAID and gift.stripe_payment_intent_id == payment.stripe_id
    assert json.loads(outbox("receipt")[0].context)["amount"] == 900
