"""The appeal box and the reader pages around it, in Chromium: with JavaScript off on a
320 px phone (the box is a no-JS iframe), and the documented embed snippet with it on."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.models import Gift
from donations.money import format_money
from donations.payments import gateway
from donations.support.services import covered_fee
from tests.factories import make_checkout

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "appeal-box.md"


def documented_height() -> int:
    """The iframe height docs/appeal-box.md tells newsrooms to use without the script."""
    return int(re.search(r"height:(\d+)px", DOCS.read_text()).group(1))


def resize_snippet(site: str) -> str:
    snippet = re.search(r"<!-- snippet: resize -->\s*```html\n(.*?)```", DOCS.read_text(), re.S)
    return snippet.group(1).replace("https://give.example.org", site)


@pytest.fixture
def phone(browser):
    """A 320 px wide phone with JavaScript turned off."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def box_bottom(page) -> float:
    return page.evaluate(
        "[...document.querySelectorAll('.appeal-box')].pop().getBoundingClientRect().bottom"
        " + scrollY"
    )


def test_a_frequency_switch_asks_for_the_amount_shown_never_an_unseen_one(
    phone, live_server, sandbox
):
    phone.goto(f"{live_server}/appeal")
    phone.locator(".presets-once").get_by_text("$50", exact=True).click()
    phone.get_by_text("Monthly", exact=True).click()
    shown = phone.locator(".presets-monthly input:checked + label").inner_text()
    assert shown == "$5"
    phone.screenshot(path=_artifact("appeal-box-320-monthly"), full_page=True)
    phone.get_by_role("button", name="Support us").click()

    phone.wait_for_url("**/support?**")
    assert phone.locator("#frequency-monthly").is_checked()
    assert phone.locator(".presets-monthly input:checked").get_attribute("value") == "5"
    assert phone.locator("input[name=amount_monthly]:checked").count() == 1
    phone.screenshot(path=_artifact("support-from-box-320"), full_page=True)
    phone.get_by_label("Email").fill("ada@example.org")
    phone.get_by_role("button", name="Continue").click()

    phone.wait_for_url("**/checkout/**")
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.frequency, gift.amount, gift.source) == ("monthly", 500, "appeal")


def test_the_whole_box_fits_the_documented_iframe_height_at_320_px(phone, live_server):
    height = documented_height()
    for frequency in ("once", "monthly", "annual"):
        for currency in ("USD", "EUR", "GBP"):
            phone.goto(f"{live_server}/appeal?frequency={frequency}&currency={currency}")
            remind = phone.get_by_role("button", name="Not now? Remind me later")
            bottom = remind.evaluate("button => button.getBoundingClientRect().bottom + scrollY")
            assert bottom < box_bottom(phone) <= height, (frequency, currency)
    phone.set_viewport_size({"width": 320, "height": height})
    phone.goto(f"{live_server}/appeal")
    phone.screenshot(path=_artifact("appeal-box-320-in-documented-height"))


def test_remind_me_later_carries_the_readers_choice(phone, live_server):
    phone.goto(f"{live_server}/appeal?currency=EUR")
    phone.get_by_text("Annual", exact=True).click()
    phone.locator(".presets-annual").get_by_text("€100", exact=True).click()
    phone.get_by_role("button", name="Not now? Remind me later").click()

    phone.wait_for_url("**/remind?**")
    assert "annual gift of €100.00 per year" in phone.locator("main").inner_text()
    for field, value in [("frequency", "annual"), ("amount", "100"), ("currency", "EUR")]:
        assert phone.locator(f"input[name={field}]").get_attribute("value") == value
    assert phone.locator("input[name=source]").get_attribute("value") == "appeal"


def test_without_javascript_changing_currency_shows_every_amount_in_it(phone, live_server):
    phone.goto(f"{live_server}/?frequency=annual&amount=100")
    phone.get_by_label("Currency").select_option("GBP")
    phone.get_by_role("button", name="Show amounts").click()

    phone.wait_for_url("**currency=GBP**")
    main = phone.locator("main").inner_text()
    assert "From £2.00 to £10,000." in main and "from just £2" in main
    assert f"Add {format_money(covered_fee(10000, 'GBP'), 'GBP')} to cover card fees" in main
    assert phone.locator(".presets-annual input:checked + label").inner_text() == "£100"
    assert "$" not in main


def test_the_thank_you_page_of_an_expired_checkout_says_the_gift_was_not_completed(
    phone, live_server, sandbox
):
    gift = make_checkout(frequency="monthly", amount=700, currency="EUR")
    gateway().expire_checkout_session(gift.stripe_checkout_session_id)
    phone.goto(f"{live_server}/thanks?session_id={gift.stripe_checkout_session_id}")

    main = phone.locator("main").inner_text()
    assert "Your gift was not completed" in main and "Confirming" not in main
    phone.screenshot(path=_artifact("thanks-expired-320"), full_page=True)
    phone.get_by_role("link", name="Give again").click()
    assert phone.locator("#frequency-monthly").is_checked()
    assert phone.get_by_label("Other amount").input_value() == "7"
    db.session.refresh(gift)
    assert gift.status == "abandoned"


class _Newsroom(BaseHTTPRequestHandler):
    """An article page on another origin that embeds the box with the documented snippet."""

    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def newsroom(live_server):
    handler = type("Article", (_Newsroom,), {})
    handler.body = (
        "<!doctype html><meta name=viewport content='width=device-width'>"
        "<h1>An article</h1>" + resize_snippet(live_server)
    ).encode()
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=5)


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_the_documented_snippet_fits_the_iframe_to_the_box(browser, newsroom, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(newsroom)
    frame = page.frame_locator("#support-box")
    frame.get_by_role("button", name="Support us").wait_for()
    inner = frame.locator("body").evaluate(
        "body => Math.ceil(document.querySelector('.appeal-box').getBoundingClientRect().bottom)"
    )
    page.wait_for_function(
        "height => document.getElementById('support-box').offsetHeight === height", arg=inner
    )
    page.evaluate("window.postMessage({type: 'donations:height', height: 5}, '*')")
    page.wait_for_timeout(100)
    assert page.evaluate("document.getElementById('support-box').offsetHeight") == inner
    frame.get_by_text("Monthly", exact=True).click()
    fee = format_money(covered_fee(500, "USD"), "USD")
    assert frame.locator("label[for=cover_fees]").inner_text() == f"Add {fee} to cover card fees"
    page.screenshot(path=_artifact(f"appeal-box-embedded-{width}"), full_page=True)
    context.close()


def test_with_javascript_changing_currency_changes_every_amount_at_once(page, live_server):
    page.goto(f"{live_server}/")
    page.get_by_label("Currency").select_option("EUR")

    main = page.locator("main").inner_text()
    assert "From €2.00 to €10,000." in main and "from just €2" in main
    assert f"Add {format_money(covered_fee(1000, 'EUR'), 'EUR')} to cover card fees" in main
    assert "Other amount (EUR)" in main
    assert page.locator(".presets-once label").all_inner_texts() == ["€5", "€10", "€25", "€50"]
    assert "$" not in main
    assert page.url == f"{live_server}/"
    assert "currency=EUR" in page.get_by_role("link", name="Remind me later").get_attribute("href")


def _artifact(name: str) -> str:
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")
