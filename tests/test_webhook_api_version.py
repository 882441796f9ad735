"""Events in another API version are refused: Stripe's dashboard creates endpoints in the
account's default version, whose invoices no longer carry their subscription, so reading
them as the pinned version would quietly lose recurring payments."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from donations.db import db, utcnow
from donations.enums import GiftStatus
from donations.models import RefusedEvent, StripeEvent
from donations.payments import gateway
from donations.staff import dashboard
from tests.factories import make_staff, sign_in
from tests.helpers_events import give_and_pay, only_event, post_event

PINNED = "2025-02-24.acacia"
BASIL = "2025-03-31.basil"


def _refused() -> list[tuple[str, str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(RefusedEvent))
    return [(row.stripe_id, row.type, row.api_version) for row in rows]


def _inbox() -> list[StripeEvent]:
    return list(db.session.scalars(sa.select(StripeEvent)))


def _in_basil(event: dict) -> dict:
    return {**event, "id": event["id"] + "_basil", "api_version": BASIL}


def test_the_gateway_says_which_version_it_pins(app):
    assert gateway().api_version == PINNED


def test_an_event_in_another_version_is_refused_with_the_reason_and_not_stored(client, sandbox):
    gift = give_and_pay(sandbox)
    event = _in_basil(only_event(sandbox, "checkout.session.completed"))

    response = post_event(client, event)

    assert response.status_code == 400
    assert response.json["error"] == "wrong api_version"
    reason = response.json["reason"]
    assert reason.startswith(f"event api_version {BASIL}; this endpoint reads {PINNED}")
    assert "flask stripe register-webhook" in reason
    assert _inbox() == []
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PENDING


def test_a_refused_event_delivered_twice_is_recorded_once(client, sandbox):
    give_and_pay(sandbox)
    event = _in_basil(only_event(sandbox, "checkout.session.completed"))

    answers = [post_event(client, event) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [400, 400]
    assert _refused() == [(event["id"], "checkout.session.completed", BASIL)]
    assert _inbox() == []


def test_an_event_without_a_version_is_refused(client, sandbox):
    give_and_pay(sandbox)
    event = only_event(sandbox, "checkout.session.completed")
    event = {key: value for key, value in event.items() if key != "api_version"}

    response = post_event(client, event)

    assert response.status_code == 400
    assert response.json["reason"].startswith("event without an api_version;")
    assert _refused() == [(event["id"], "checkout.session.completed", "")]


def test_an_event_in_the_pinned_version_is_applied(client, sandbox):
    gift = give_and_pay(sandbox)
    event = only_event(sandbox, "checkout.session.completed")
    assert event["api_version"] == PINNED

    assert post_event(client, event).status_code == 200

    assert _refused() == []
    db.session.refresh(gift)
    assert gift.status == GiftStatus.PAID


def test_a_refusal_is_logged_as_a_warning(client, sandbox, caplog):
    give_and_pay(sandbox)
    event = _in_basil(only_event(sandbox, "checkout.session.completed"))

    post_event(client, event)

    [record] = [r for r in caplog.records if event["id"] in r.getMessage()]
    assert record.levelname == "WARNING" and BASIL in record.getMessage()


def _refusal(stripe_id: str, version: str, days_ago: float) -> None:
    db.session.add(
        RefusedEvent(
            stripe_id=stripe_id,
            type="invoice.paid",
            api_version=version,
            received_at=utcnow() - timedelta(days=days_ago),
        )
    )
    db.session.commit()


def test_the_dashboard_warns_of_refused_events_with_the_fix(client):
    _refusal("evt_1", BASIL, days_ago=1)
    _refusal("evt_2", BASIL, days_ago=2)
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")

    page = client.get("/staff/").text

    assert 'id="refused-events"' in page
    assert "2 events in the last 7 days came in API version" in page
    assert f"<code>{BASIL}</code>" in page and f"<code>{PINNED}</code>" in page
    assert "delete it and run <code>flask stripe register-webhook</code>" in page


def test_the_dashboard_forgets_refusals_older_than_a_week(client):
    _refusal("evt_old", BASIL, days_ago=8)
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")

    page = client.get("/staff/").text

    assert 'id="refused-events"' not in page
    assert dashboard.figures(utcnow()).refused_events.count == 0
