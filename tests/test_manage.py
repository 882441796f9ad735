"""Donor self-service: a link by email, the gifts page, cancelling a recurring gift."""

from __future__ import annotations

import json
import re

import pytest
import requests
import sqlalchemy as sa

from donations import links
from donations.db import db
from donations.enums import ActorKind
from donations.models import AuditLog, Donor, Gift, OutboxEmail
from tests.factories import csrf_token_from
from tests.helpers_support import post_donation


def give(client, sandbox, *, frequency="monthly", email="ada@example.org") -> Gift:
    """A paid gift, made through the support page and the sandbox."""
    post_donation(client, frequency=frequency, amount="5", email=email, name="")
    gift = db.session.scalars(sa.select(Gift).order_by(Gift.id.desc())).first()
    sandbox.pay(gift.stripe_checkout_session_id)
    client.get(f"/thanks?session_id={gift.stripe_checkout_session_id}")
    db.session.refresh(gift)
    return gift


def ask_for_link(client, email: str):
    page = client.get("/manage")
    return client.post(
        "/manage", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), "email": email}
    )


def test_a_donor_gets_a_link_to_their_gifts_by_email(client, sandbox):
    gift = give(client, sandbox)
    response = ask_for_link(client, "ADA@example.org")
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    email = db.session.scalar(sa.select(OutboxEmail).where(OutboxEmail.template == "manage_link"))
    assert email.to == "ada@example.org"
    link = json.loads(email.context)["manage_url"]
    page = client.get(link[link.index("/manage/") :])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "$5.00 per month" in html
    assert f"/gifts/{gift.id}/cancel" in html


def test_asking_for_an_unknown_address_looks_the_same_and_sends_nothing(client):
    response = ask_for_link(client, "stranger@example.org")
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0


def test_an_invalid_address_is_refused_at_the_field(client):
    response = ask_for_link(client, "not-an-email")
    assert response.status_code == 422
    assert "Enter a valid email address" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused_with_a_way_to_get_a_new_one(client, sandbox):
    give(client, sandbox)
    token = manage_token(db.session.scalar(sa.select(Donor)))
    response = client.get(f"/manage/{token[:-2]}xx")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This link is not valid" in html and "Email me a new link" in html


def test_an_expired_link_says_so(client, sandbox, app):
    give(client, sandbox)
    token = manage_token(db.session.scalar(sa.select(Donor)))
    app.config["MANAGE_LINK_MAX_AGE"] = -1
    response = client.get(f"/manage/{token}")
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)


def subscription(sandbox, subscription_id: str) -> dict:
    response = requests.get(
        f"{sandbox.url}/v1/subscriptions/{subscription_id}",
        auth=("sk_test_platform", ""),
        timeout=5,
    )
    return response.json()


@pytest.mark.parametrize("when", ["period_end", "now"])
def test_a_donor_cancels_their_monthly_gift(client, sandbox, when):
    gift = give(client, sandbox)
    assert gift.status == "active"
    token = manage_token(gift.donor)
    url = f"/manage/{token}/gifts/{gift.id}/cancel"
    confirm = client.get(url)
    assert "Cancel your monthly gift?" in confirm.get_data(as_text=True)
    response = client.post(
        url, data={"csrf_token": csrf_token_from(confirm.get_data(as_text=True)), "when": when}
    )
    assert response.status_code == 303
    db.session.refresh(gift)
    remote = subscription(sandbox, gift.stripe_subscription_id)
    if when == "period_end":
        assert gift.cancel_at_period_end and gift.status == "active"
        assert remote["cancel_at_period_end"] is True
    else:
        assert gift.status == "cancelled"
        assert remote["status"] == "canceled"
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.gift_id == gift.id))
    assert audit.staff_user_id is None
    page = client.get(f"/manage/{token}").get_data(as_text=True)
    assert re.search(r"Your gift (will stop|is cancelled)", page)


def test_a_donors_own_cancellation_is_audited_as_the_donor(client, sandbox):
    gift = give(client, sandbox)
    url = f"/manage/{manage_token(gift.donor)}/gifts/{gift.id}/cancel"
    confirm = client.get(url).get_data(as_text=True)
    client.post(url, data={"csrf_token": csrf_token_from(confirm), "when": "period_end"})

    [audit] = db.session.scalars(sa.select(AuditLog).where(AuditLog.gift_id == gift.id))
    assert (audit.actor_kind, audit.donor_id) == (ActorKind.DONOR, gift.donor_id)
    assert audit.staff_user_id is None and audit.action == "cancel_at_period_end"


def test_a_donor_cannot_reach_someone_elses_gift(client, sandbox):
    mine = give(client, sandbox, email="ada@example.org")
    theirs = give(client, sandbox, email="bea@example.org")
    response = client.get(f"/manage/{manage_token(mine.donor)}/gifts/{theirs.id}/cancel")
    assert response.status_code == 404


def test_cancelling_without_the_csrf_token_is_refused(client, sandbox):
    gift = give(client, sandbox)
    response = client.post(
        f"/manage/{manage_token(gift.donor)}/gifts/{gift.id}/cancel", data={"when": "now"}
    )
    assert response.status_code == 400
    db.session.refresh(gift)
    assert gift.status == "active"


def manage_token(donor) -> str:
    return links.token(links.MANAGE, donor)
