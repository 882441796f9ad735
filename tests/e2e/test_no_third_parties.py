"""Nothing a reader loads leaks to a third party: every request of every reader page stays
on the platform's own origin (fonts, scripts, styles, images all served by us; no
analytics), and the only exit is the redirect to Stripe's Checkout page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from donations import links
from donations.db import db
from donations.enums import Frequency, GiftStatus
from tests.factories import make_donor, make_gift, make_payment

pytestmark = pytest.mark.e2e

FREQUENCIES = ("once", "monthly", "annual")
CURRENCIES = ("USD", "EUR", "GBP")
ANALYTICS = re.compile(
    r"google-analytics|googletagmanager|gtag|analytics|plausible|matomo|piwik|segment|"
    r"hotjar|mixpanel|facebook|doubleclick|fonts\.googleapis|fonts\.gstatic|cdn",
    re.I,
)
#: every element attribute through which a page could fetch something
LOADED_URLS = """() => [
  ...[...document.querySelectorAll('script[src]')].map(e => e.src),
  ...[...document.querySelectorAll('link[href]')].map(e => e.href),
  ...[...document.querySelectorAll('img[src], iframe[src], source[src], video[src], audio[src]')]
    .map(e => e.src),
  ...[...document.querySelectorAll('form[action]')].map(e => e.action),
]"""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Recorder:
    """Every request the browser makes, from any frame, until the reader leaves for
    Checkout (what Stripe's page loads is Stripe's business, not ours)."""

    def __init__(self, page, own_origin: str, exit_origin: str) -> None:
        self.own, self.exit = own_origin, exit_origin
        self.requests: list[str] = []
        self.left_for: str | None = None
        page.on("request", self._record)

    def _record(self, request) -> None:
        if self.left_for is not None or request.url.startswith(("data:", "blob:", "about:")):
            return
        if origin(request.url) == self.exit and request.is_navigation_request():
            self.left_for = request.url
            return
        self.requests.append(request.url)

    def foreign(self) -> list[str]:
        return [url for url in self.requests if origin(url) != self.own]


def visit(page, recorder: Recorder, url: str) -> None:
    """Load a page, wait for everything it fetches, and check what its markup points at."""
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status < 500, url
    loaded = page.evaluate(LOADED_URLS)
    assert [u for u in loaded if origin(u) != recorder.own] == [], url
    assert recorder.foreign() == [], url


def signed_pages(base: str) -> list[str]:
    """The pages a donor reaches from an email link, for rows committed here."""
    donor = make_donor("ada@example.org", "Ada Reader")
    paid = make_gift(
        donor, 2500, status=GiftStatus.PAID, stripe_checkout_session_id="cs_test_thanks"
    )
    make_payment(paid)
    monthly = make_gift(
        donor,
        1000,
        frequency=Frequency.MONTHLY,
        status=GiftStatus.ACTIVE,
        card_brand="visa",
        card_last4="4242",
        card_exp_month=8,
        card_exp_year=2031,
    )
    ended = make_gift(donor, 500, frequency=Frequency.MONTHLY, status=GiftStatus.CANCELLED)
    db.session.commit()
    return [
        f"{base}/thanks?session_id=cs_test_thanks",
        f"{base}/manage/{links.token(links.MANAGE, donor)}",
        f"{base}/manage/card/{links.token(links.UPDATE_CARD, donor, monthly)}",
        f"{base}/restart/{links.token(links.RESTART, donor, ended)}",
    ]


def test_every_reader_page_stays_on_our_origin_until_checkout(
    page, live_server, sandbox, stripe_sandbox, screenshot
):
    recorder = Recorder(page, origin(live_server), origin(stripe_sandbox.url))
    pages = [f"{live_server}/", f"{live_server}/support?cancelled=1", f"{live_server}/privacy"]
    for frequency in FREQUENCIES:
        for currency in CURRENCIES:
            query = f"frequency={frequency}&currency={currency}"
            pages += [f"{live_server}/support?{query}", f"{live_server}/appeal?{query}"]
    pages += signed_pages(live_server)
    for url in pages:
        visit(page, recorder, url)

    visit(page, recorder, f"{live_server}/remind?frequency=monthly&amount=10&currency=EUR")
    page.locator("#email").fill("later@example.org")
    page.locator("#consent").check()
    page.get_by_role("button", name="Remind me").click()
    page.wait_for_url("**/remind/done", wait_until="networkidle")
    screenshot("remind-done")

    visit(page, recorder, f"{live_server}/manage")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Email me a link").click()
    page.wait_for_load_state("networkidle")

    visit(page, recorder, f"{live_server}/")
    page.get_by_label("Email").fill("bea@example.org")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/checkout/**")

    assert recorder.foreign() == []
    assert recorder.left_for and recorder.left_for.startswith(stripe_sandbox.url)
    assert not [url for url in recorder.requests if ANALYTICS.search(urlsplit(url).path)]
    kinds = {urlsplit(url).path.rsplit(".", 1)[-1] for url in recorder.requests}
    assert {"css", "js"} <= kinds  # styles and scripts were loaded, all from us
