"""A donor whose renewal failed fixes it from the email, on a phone, without anyone at
the newsroom doing anything."""

from __future__ import annotations

import re

import pytest

from donations.db import db
from donations.enums import GiftStatus
from donations.models import Gift
from donations.worker import run_pending
from tests.e2e.test_donate_in_browser import wait_for_gift_status
from tests.factories import make_checkout

pytestmark = pytest.mark.e2e


@pytest.fixture
def app_config(app_config, smtp_server):
    return app_config | {"SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}


def test_a_donor_updates_their_card_from_the_renewal_failed_email(
    page, live_server, registered_webhook, sandbox, smtp_server, screenshot
):
    gift = make_checkout("monthly", 1200, "USD", email="dee@example.org")
    assert sandbox.pay(gift.stripe_checkout_session_id, email="dee@example.org").ok
    sandbox.settle()
    db.session.expire_all()
    subscription_id = db.session.get(Gift, gift.id).stripe_subscription_id
    sandbox.fail_next_renewal(subscription_id)
    sandbox.renew(subscription_id)
    sandbox.settle()
    run_pending()
    [email] = [m for m in smtp_server.messages if "renew" in m["Subject"].lower()]

    page.set_content(email.get_body(("html",)).get_content())
    screenshot("renewal-failed-email")
    page.get_by_role("link", name=re.compile("update your card", re.I)).click()
    page.wait_for_url("**/manage/card/**")
    screenshot("update-card-page")
    page.get_by_role("button", name="Enter a new card").click()

    page.wait_for_url("**/checkout/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("08/31")
    page.get_by_label("CVC").fill("123")
    screenshot("setup-page")
    page.get_by_role("button", name=re.compile("save", re.I)).click()

    page.wait_for_url("**/saved?**")
    page.get_by_text("We collected your payment of").wait_for()
    screenshot("card-saved")
    gift = wait_for_gift_status(gift.id, GiftStatus.ACTIVE)
    assert gift.status == GiftStatus.ACTIVE
    assert (gift.card_last4, gift.card_exp_month, gift.card_exp_year) == ("4242", 8, 2031)
    assert [payment.amount for payment in gift.payments] == [1200, 1200]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
