"""A reader covers the card fees on a $10 gift, on a phone, and pays in the sandbox; the
receipt email that reaches them reads well on a phone and on a desktop."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.models import Gift
from donations.money import format_money
from donations.support.services import covered_fee
from donations.worker import run_pending
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_donate_in_browser import fill_card, wait_for_gift_status

pytestmark = pytest.mark.e2e


@pytest.fixture
def app_config(app_config, smtp_server):
    return app_config | {
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
        "ORGANIZATION_LEGAL_NAME": "Daily Example Media, Inc.",
        "ORGANIZATION_ADDRESS": "1 Press Row\nSpringfield, IL 62701",
        "ORGANIZATION_TAX_ID": "EIN 12-3456789",
    }


def fee_label(page) -> str:
    return page.locator("label[for=cover_fees]").inner_text()


def test_a_reader_covers_the_fees_and_is_charged_the_total(
    page, browser, live_server, registered_webhook, smtp_server, screenshot
):
    page.goto(f"{live_server}/")
    assert fee_label(page) == "Add $0.61 to cover card fees"
    page.get_by_label("Other amount").fill("20")
    assert fee_label(page) == "Add $0.91 to cover card fees"
    page.get_by_label("Currency").select_option("EUR")
    assert fee_label(page) == "Add €0.56 to cover card fees"
    page.get_by_label("Currency").select_option("USD")
    page.get_by_label("Other amount").fill("")
    assert fee_label(page) == "Add the card fees to my gift"
    page.locator(".presets-once").get_by_text("$10", exact=True).click()
    assert fee_label(page) == "Add $0.61 to cover card fees"

    page.get_by_label("Add $0.61 to cover card fees").check()
    page.get_by_text("Dedicate this gift").click()
    page.get_by_label("In memory of").check()
    page.get_by_label("Dedicated to").fill("Ada Byron")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Name").fill("Ann Reader")
    screenshot("support-page")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/checkout/**")
    assert page.get_by_text("$10.61").first.is_visible()
    screenshot("checkout")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Donate").click()

    page.wait_for_url("**/thanks?**")
    page.get_by_text("Payment confirmed").wait_for()
    assert page.get_by_text("including $0.61 to cover card fees").is_visible()
    screenshot("thank-you")

    gift = wait_for_gift_status(db.session.scalar(sa.select(Gift.id)), "paid")
    total = 1000 + covered_fee(1000, "USD")
    assert (gift.amount, gift.covered_fee) == (total, total - 1000) == (1061, 61)
    assert [payment.amount for payment in gift.payments] == [total]
    assert (gift.tribute_kind, gift.tribute_name) == ("memory", "Ada Byron")

    run_pending()
    [receipt] = [m for m in smtp_server.messages if "$10.61" in m["Subject"]]
    html = receipt.get_body(("html",)).get_content()
    for width, name in ((375, "receipt-email.png"), (1024, "receipt-email-1024.png")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        email = context.new_page()
        email.set_content(html)
        text = email.inner_text("body")
        assert gift.payments[0].receipt_number in text
        assert "$10.61 (includes $0.61 you added to cover card fees)" in text
        assert "In memory of Ada Byron" in text and "Tax number: EIN 12-3456789" in text
        assert email.evaluate("document.documentElement.scrollWidth") <= width
        email.screenshot(path=str(ARTIFACTS / name), full_page=True)
        context.close()


def test_the_russian_page_reads_an_amount_typed_with_its_sign_and_writes_the_fee_in_russian(
    page, live_server
):
    page.goto(f"{live_server}/?lang=ru&currency=EUR")
    other = page.get_by_label("Другая сумма")
    fee_for_20 = format_money(covered_fee(2000, "EUR"), "EUR", locale="ru")

    for typed in ("20", "20,00 €", "EUR 20"):
        other.fill(typed)
        assert fee_label(page) == f"Добавить {fee_for_20} на покрытие комиссии за оплату картой"
    for not_money in ("20 $", "-20", "20%"):
        other.fill(not_money)
        assert fee_label(page) == "Добавить комиссию за оплату картой к моему пожертвованию"


def test_the_appeal_box_carries_cover_the_fees_to_the_support_page(page, live_server, screenshot):
    page.goto(f"{live_server}/appeal")
    assert fee_label(page) == "Add $0.61 to cover card fees"
    page.locator(".presets-once").get_by_text("$25", exact=True).click()
    assert fee_label(page) == "Add $1.06 to cover card fees"
    page.get_by_label("Add $1.06 to cover card fees").check()
    screenshot("appeal-box")
    page.get_by_role("button", name="Support us").click()

    page.wait_for_url(re.compile(r"/support\?.*cover_fees=1"))
    assert page.get_by_label("Add $1.06 to cover card fees").is_checked()
    assert page.locator("#amount-once-3").is_checked()
