"""The thank-you page that waits for a payment to be confirmed updates itself in place:
no timed refresh of the whole page (WCAG 2.2.1), a "Check again" link without JavaScript."""

from __future__ import annotations

import pytest

from donations.db import commit_or_rollback, db
from donations.enums import GiftStatus
from donations.models import Gift
from tests.factories import make_donor, make_gift

pytestmark = pytest.mark.e2e

#: a session the sandbox does not know, so the page cannot confirm the gift by itself
UNKNOWN_SESSION = "cs_unknown_to_stripe"


@pytest.fixture
def waiting_gift(sandbox) -> int:
    with commit_or_rollback():
        gift = make_gift(
            make_donor("ada@example.org", name="Ada"),
            status=GiftStatus.PENDING,
            stripe_checkout_session_id=UNKNOWN_SESSION,
        )
    return gift.id


def test_the_page_says_payment_confirmed_once_the_webhook_has_recorded_it(
    page, live_server, waiting_gift, screenshot
):
    address = f"{live_server}/thanks?session_id={UNKNOWN_SESSION}"
    page.goto(address)
    page.get_by_text("Confirming…").wait_for()
    assert page.locator(".thanks[aria-live=polite]").count() == 1
    screenshot("confirming")

    with commit_or_rollback():
        db.session.get(Gift, waiting_gift).status = GiftStatus.PAID
    page.get_by_text("Payment confirmed").wait_for()
    screenshot("confirmed")
    assert page.url == address  # shown in place, not by leaving the page
    assert page.get_by_role("heading", name="Thank you, Ada!").is_visible()
    assert page.title().startswith("Thank you")
    assert page.get_by_role("link", name="Check again").count() == 0


def test_the_page_stops_checking_when_the_server_stops_offering_to(
    page, live_server, waiting_gift, monkeypatch
):
    monkeypatch.setattr("donations.support.views.MAX_CONFIRM_REFRESHES", 1)
    page.goto(f"{live_server}/thanks?session_id={UNKNOWN_SESSION}")
    page.get_by_role("link", name="Check again").wait_for()

    page.get_by_text("We will email your receipt").wait_for()
    assert page.get_by_role("link", name="Check again").count() == 0
    assert page.get_by_text("Confirming…").is_visible()
