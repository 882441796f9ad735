"""A reader gives through the real pages: support form → sandbox Checkout → thank-you."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.models import Gift

pytestmark = pytest.mark.e2e


def fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")


def wait_for_gift_status(gift_id: int, status: str, timeout: float = 10) -> Gift:
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        gift = db.session.get(Gift, gift_id)
        if gift.status == status or time.monotonic() > deadline:
            return gift
        time.sleep(0.2)


def test_five_dollar_gift_paid_with_4242_is_confirmed(
    page, live_server, registered_webhook, screenshot
):
    page.goto(f"{live_server}/")
    page.get_by_text("Once", exact=True).click()
    page.locator(".presets-once").get_by_text("$5", exact=True).click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Name").fill("Ada Reader")
    screenshot("support-page")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/checkout/**")
    assert page.get_by_text("$5.00").first.is_visible()
    screenshot("checkout")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Donate").click()

    page.wait_for_url("**/thanks?**")
    page.get_by_text("Payment confirmed").wait_for()
    screenshot("thank-you")
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.currency, gift.frequency, gift.status) == (500, "USD", "once", "paid")
    assert [payment.amount for payment in gift.payments] == [500]


def test_monthly_euro_gift_creates_an_active_subscription(
    page, live_server, registered_webhook, screenshot
):
    page.goto(f"{live_server}/?frequency=monthly&currency=EUR")
    page.get_by_label("Other amount").fill("7.50")
    page.get_by_label("Email").fill("bea@example.org")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/checkout/**")
    assert page.get_by_text("€7.50").first.is_visible()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Subscribe").click()

    page.wait_for_url("**/thanks?**")
    page.get_by_text("Payment confirmed").wait_for()
    screenshot("thank-you")
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.currency, gift.frequency, gift.status) == (
        750,
        "EUR",
        "monthly",
        "active",
    )
    assert gift.stripe_subscription_id and gift.stripe_subscription_id.startswith("sub_")


def test_a_declined_card_records_the_decline_and_nothing_as_paid(
    page, live_server, registered_webhook, screenshot
):
    page.goto(f"{live_server}/?amount=10")
    page.get_by_label("Email").fill("cy@example.org")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/checkout/**")
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Donate").click()

    page.get_by_text("Your card was declined.").wait_for()
    screenshot("declined")
    gift_id = db.session.scalar(sa.select(Gift.id))
    deadline = time.monotonic() + 10
    while (gift := wait_for_gift_status(gift_id, "pending")).declined_at is None:
        assert time.monotonic() < deadline, "the decline never reached the ledger"
        time.sleep(0.2)
    assert gift.status == "pending"
    assert gift.payments == []
