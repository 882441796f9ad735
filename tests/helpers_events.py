"""Build, sign and post Stripe webhook events in tests, from real sandbox objects.

Events come from the sandbox's own event log (``GET /v1/events``, in acacia shapes) or are
wrapped around objects read from it; they are signed here the way Stripe signs them
(``t=<unix time>,v1=<HMAC-SHA256 of "t.payload">``) with the app's webhook secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import current_app

from donations.db import db
from donations.models import (
    Dispute,
    Gift,
    OutboxEmail,
    Payment,
    ReceiptCounter,
    RenewalFailure,
    StripeEvent,
)
from tests.factories import make_checkout


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d." % stamp + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2, sort_keys=True).encode()


def post_event(
    client, body: dict[str, Any] | bytes, *, secret: str | None = None, timestamp: int | None = None
):
    """Sign ``body`` (an event or raw bytes) with the app's secret and post it."""
    payload = body if isinstance(body, bytes) else encode(body)
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"] if secret is None else secret
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={
            "Stripe-Signature": sign(payload, secret, timestamp),
            "Content-Type": "application/json",
        },
    )


def event_for(obj: dict[str, Any], type_: str, *, created: int | None = None) -> dict[str, Any]:
    """Wrap a Stripe object (as the sandbox returns it) in a new event."""
    return {
        "id": f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2025-02-24.acacia",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
    }


def post_applied(client, event: dict[str, Any]) -> None:
    """Post a signed event that must be applied (200), then forget cached rows."""
    response = post_event(client, event)
    assert response.status_code == 200, response.json
    db.session.expire_all()


def checkout_session_of(sandbox, gift: Gift) -> dict[str, Any]:
    return sandbox_get(sandbox, f"/v1/checkout/sessions/{gift.stripe_checkout_session_id}")


def sandbox_get(sandbox, path: str, **params) -> dict[str, Any]:
    """GET a Stripe API path from the sandbox as JSON."""
    response = sandbox.http.get(f"{sandbox.url}{path}", params=params, auth=(sandbox.api_key, ""))
    response.raise_for_status()
    return response.json()


def sandbox_post(sandbox, path: str, **data) -> dict[str, Any]:
    response = sandbox.http.post(f"{sandbox.url}{path}", data=data, auth=(sandbox.api_key, ""))
    response.raise_for_status()
    return response.json()


def sandbox_events(sandbox, *types: str) -> list[dict[str, Any]]:
    """Every event the sandbox has emitted since its reset (of ``types``), oldest first."""
    events, after = [], None
    while True:
        params = {"limit": 100} | ({"starting_after": after} if after else {})
        page = sandbox_get(sandbox, "/v1/events", **params)
        events.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            break
        after = page["data"][-1]["id"]
    events.sort(key=lambda event: event["created"])
    return [event for event in events if not types or event["type"] in types]


def only_event(sandbox, type_: str, object_id: str | None = None) -> dict[str, Any]:
    """The one sandbox event of this type (about ``object_id``)."""
    found = [
        event
        for event in sandbox_events(sandbox, type_)
        if object_id is None or event["data"]["object"]["id"] == object_id
    ]
    assert len(found) == 1, f"expected one {type_} event, found {len(found)}"
    return found[0]


def give_and_pay(sandbox, frequency: str = "once", **choice) -> Gift:
    """A gift paid with the test card in the sandbox (no webhook delivered)."""
    gift = make_checkout(frequency, **choice)
    response = sandbox.pay(gift.stripe_checkout_session_id, email=gift.donor.email)
    assert response.status_code == 200, response.text
    return gift


def gift_events(sandbox) -> list[dict[str, Any]]:
    """The sandbox's events that concern the platform (everything but setup noise)."""
    noise = (
        "product.",
        "plan.",
        "price.",
        "customer.created",
        "customer.updated",
        "invoice.created",
        "invoice.finalized",
        "payment_method.",
    )
    return [event for event in sandbox_events(sandbox) if not event["type"].startswith(noise)]


def ledger_snapshot() -> dict[str, Any]:
    """Everything the ledger decides, in a form two runs can be compared by."""
    db.session.expire_all()
    gifts = db.session.scalars(sa.select(Gift).order_by(Gift.id))
    payments = list(db.session.scalars(sa.select(Payment).order_by(Payment.stripe_id)))
    stripe_ids = {p.id: p.stripe_id for p in payments}
    emails = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.dedupe_key))
    return {
        "gifts": [
            (
                g.id,
                g.status,
                g.amount,
                g.currency,
                g.frequency,
                g.stripe_subscription_id,
                g.stripe_payment_intent_id,
                g.disputed,
                g.paid_at is not None,
                g.cancelled_at is not None,
            )
            for g in gifts
        ],
        "payments": [
            (
                p.stripe_id,
                p.gift_id,
                p.kind,
                p.amount,
                p.currency,
                p.disputed,
                stripe_ids.get(p.refunded_payment_id),
            )
            for p in payments
        ],
        "emails": [(e.dedupe_key, e.template, e.to) for e in emails],
    }


def reset_ledger(gifts: list[dict[str, Any]]) -> None:
    """Forget everything the ledger recorded and put gifts back as they were saved."""
    db.session.execute(sa.delete(OutboxEmail))
    for model in (Dispute, RenewalFailure, ReceiptCounter):
        db.session.execute(sa.delete(model))
    db.session.execute(sa.update(Payment).values(refunded_payment_id=None))
    db.session.execute(sa.delete(Payment))
    db.session.execute(sa.delete(StripeEvent))
    for values in gifts:
        db.session.execute(sa.update(Gift).where(Gift.id == values["id"]).values(values))
    db.session.commit()


def saved_gifts() -> list[dict[str, Any]]:
    """The gifts' columns now, for ``reset_ledger``."""
    table = Gift.__table__
    rows = db.session.execute(sa.select(table)).mappings()
    return [dict(row) for row in rows]


def payments_of(gift: Gift) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.gift_id == gift.id).order_by(Payment.id)
        )
    )


def outbox(template: str | None = None) -> list[OutboxEmail]:
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id)
    if template:
        query = query.where(OutboxEmail.template == template)
    return list(db.session.scalars(query))


def replace_card(sandbox, gift: Gift) -> str:
    """Save a new test card for a recurring gift on the sandbox (setup mode) and make it
    the subscription's default, as a donor's card update does; its payment method id."""
    from donations.payments import gateway

    stripe = gateway()
    subscription = stripe.retrieve_subscription(gift.stripe_subscription_id)
    session = stripe.create_setup_session(
        gift_id=gift.id,
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        success_url="http://127.0.0.1/card",
        cancel_url="http://127.0.0.1/",
        idempotency_key=f"test-card-{uuid.uuid4()}",
    )
    assert sandbox.pay(session.id).ok
    saved = stripe.retrieve_checkout_session(session.id)
    intent = stripe.retrieve_setup_intent(saved.setup_intent_id)
    stripe.set_default_payment_method(
        subscription.id, intent.payment_method_id, idempotency_key=f"test-default-{intent.id}"
    )
    return intent.payment_method_id
