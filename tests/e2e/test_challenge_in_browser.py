"""While the card-testing alarm is on, a reader's browser proves itself with the ALTCHA
widget (served from our own origin, solved in a worker under our CSP) and continues to
Checkout on its own; a browser without JavaScript reads a plain message instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from donations.db import db, utcnow
from donations.enums import BlockReason, GiftStatus
from donations.models import BlockedAttempt, Gift, SpentChallenge
from tests.e2e.conftest import ARTIFACTS
from tests.factories import make_gift

pytestmark = pytest.mark.e2e

UNUSUAL = "We are seeing unusual activity. Please try again in a minute."


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ALARM_MIN_STARTS": 3, "ALTCHA_MAX_NUMBER": 20000}


@pytest.fixture
def alarm_on(app):
    """Three recent starts, all abandoned: the alarm is on."""
    for minutes in (1, 2, 3):
        make_gift(status=GiftStatus.ABANDONED, created=utcnow() - timedelta(minutes=minutes))
    db.session.commit()


def fill_the_form(page, email: str) -> None:
    page.locator(".presets-once").get_by_text("$10", exact=True).click()
    page.get_by_label("Email").fill(email)


def test_the_widget_solves_the_challenge_and_the_reader_goes_on_to_checkout(
    page, live_server, sandbox, alarm_on, screenshot
):
    held = []
    page.route("**/challenge", lambda route: held.append(route))
    errors = []  # a CSP refusal of the widget, its styles or its worker would show here
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{live_server}/")
    fill_the_form(page, "ada@example.org")
    page.get_by_role("button", name="Continue").click()

    page.locator("altcha-widget").wait_for()
    page.wait_for_function("() => document.querySelector('.notice').textContent.includes('quick')")
    while not held:
        page.wait_for_timeout(50)
    screenshot("challenge-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot("challenge-1280")
    held[0].continue_()

    page.wait_for_url("**/checkout/**")
    assert [error for error in errors if "status of 429" not in error] == []
    gift = db.session.scalar(sa.select(Gift).where(Gift.status == GiftStatus.PENDING))
    assert (gift.amount, gift.donor.email) == (1000, "ada@example.org")
    assert db.session.scalar(sa.select(sa.func.count(SpentChallenge.id))) == 1
    assert list(db.session.scalars(sa.select(BlockedAttempt.reason))) == [BlockReason.CHALLENGE]


def test_without_javascript_the_reader_reads_a_plain_message_and_keeps_the_form(
    browser, live_server, sandbox, alarm_on
):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/")
    fill_the_form(page, "bo@example.org")

    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Continue").click()

    assert answer.value.status == 429
    assert page.locator(".notice").inner_text() == UNUSUAL
    assert page.get_by_label("Email").input_value() == "bo@example.org"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "challenge-without-javascript.png"), full_page=True)
    context.close()
    assert db.session.scalar(sa.select(sa.func.count(Gift.id))) == 3
