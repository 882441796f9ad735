"""Every reader and staff page passes axe-core's WCAG 2 A and AA checks, in each offered
language, on a phone and on a desktop, and no page scrolls sideways on the phone.

axe-core comes from the npm registry (``npm install`` puts it in ``node_modules/``) and is
added to each page by Playwright as an init script: it runs before the page's own scripts
and is not subject to the page's Content-Security-Policy, which allows only our own
scripts. So the pages are checked under the policy they are served with, unlike with
``bypass_csp``, which would also hide a page that breaks its own policy.

Each size has one browser context that walks the site as readers and staff do: signed
links, form errors, confirmations and the sign-in steps included. Pages without URL
arguments are found in the app's URL map, and every page must be visited (a new page
with arguments fails here until it is added below), so the check grows with the app.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, request, request_finished, url_for
from werkzeug.routing import BuildError

from donations import links
from donations.db import commit_or_rollback, db, utcnow
from donations.enums import DisputeState, Frequency, GiftStatus, GoalKind, PaymentKind
from donations.models import Gift, StaffUser
from donations.models.campaigns import Campaign, CampaignVariant
from donations.remind.services import cancel_token
from tests.e2e.conftest import ARTIFACTS
from tests.factories import (
    PASSWORD,
    make_checkout,
    make_dispute,
    make_donor,
    make_gift,
    make_movement,
    make_outbox_email,
    make_reminder,
    make_renewal_failure,
    make_staff,
)

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: the WCAG 2.0, 2.1 and 2.2 success criteria at levels A and AA
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
#: GET routes that answer with a file or data, not a page
NOT_PAGES = {
    "static",
    "defence.new_challenge",
    "newsletter_staff.export_csv",
    "staff.export_csv",
    "staff.payments_csv",
    "staff.summary_csv",
    "staff.donor_statement",
}
ONE_TIME_STATUSES = {GiftStatus.PENDING, GiftStatus.PAID, GiftStatus.FAILED, GiftStatus.REFUNDED}
NEW_PASSWORD = "a longer passphrase staff can remember"
RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(" "),
      why: (n.any[0] || n.all[0] || n.none[0] || {message: n.failureSummary}).message,
    })),
  }));
}"""
LONG_TOKEN = re.compile(r"[\w.-]{25,}")
PAGE_WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"


@dataclass
class Audit:
    """A browser page walking the site, and what axe and the width check found."""

    app: Flask
    page: object
    base: str
    size: str
    language: str = "en"
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def path(self, endpoint: str, **values) -> str | None:
        """The path of a page, or None when the app has no such page (yet)."""
        with self.app.test_request_context():
            try:
                return url_for(endpoint, **values)
            except BuildError:
                return None

    def visit(self, path: str, status: int = 200) -> None:
        """Open ``path`` in the audit's language and check it answered ``status``."""
        parts = urlsplit(path)
        query = "&".join(filter(None, [parts.query, urlencode({"lang": self.language})]))
        response = self.page.goto(self.base + urlunsplit(("", "", parts.path, query, "")))
        if response.status != status:
            self.problems.append(f"{self.where(path)}: answered {response.status}, not {status}")
        self.check(path)

    def check(self, label: str) -> None:
        """Run axe on the page as it is now, and measure its width."""
        self.page.wait_for_load_state()
        self.checked += 1
        for violation in self.page.evaluate(RUN_AXE, WCAG_TAGS):
            self.problems.append(
                f"{self.where(label)}: {violation['rule']} ({violation['impact']}) "
                f"{violation['help']}"
            )
            for node in violation["nodes"][:5]:
                self.problems.append(f"    {node['target']}: {node['why']}")
        scroll_width, width = self.page.evaluate(PAGE_WIDTH)
        if scroll_width > width:
            self.problems.append(
                f"{self.where(label)}: scrolls sideways ({scroll_width} px wide in {width})"
            )

    def submit(self, label: str, form: str = "main form") -> None:
        """Press the first submit button of ``form`` and check the page it leads to."""
        with self.page.expect_navigation():
            self.page.locator(f"{form} [type=submit]").first.click()
        self.check(label)

    def where(self, label: str) -> str:
        """Size, language and page of a finding, signed links shortened to "…"."""
        return f"{self.size} · {self.language} · {LONG_TOKEN.sub('…', label)}"


@dataclass
class Site:
    """The rows the pages show and the signed links that reach them; per language, the
    rows a walk uses up (a reminder to cancel, staff accounts to sign in with)."""

    paid_session: str
    pending_session: str
    confirming_session: str
    manage_token: str
    card_token: str
    restart_token: str
    running_gift: int
    history_gift: int
    donor: int
    payment: int
    campaign: int
    variant: int
    campaign_slug: str
    reminder_tokens: dict[str, str]
    erase_tokens: dict[str, str]
    enrolled: dict[str, str]
    newcomers: dict[str, str]


@pytest.fixture
def app_config(app_config):
    return app_config | {"RATELIMIT_ENABLED": False}


@pytest.fixture
def audited_endpoints(app):
    """The endpoints that answered the browser with a page (not a redirect)."""
    seen = set()

    def record(sender, response, **extra):
        if not 300 <= response.status_code < 400:
            seen.add(request.endpoint)

    request_finished.connect(record, app)
    yield seen
    request_finished.disconnect(record, app)


def build_site(app, sandbox) -> Site:
    """A running monthly gift and a paid one through the sandbox, a donor's history with a
    refund, a dispute and a failed renewal, a gift in every state, a campaign with two
    variants, and per language the rows a walk uses up."""
    running = make_checkout("monthly", 1200, "USD", email="ada@example.org", name="Ada Reader")
    assert sandbox.pay(running.stripe_checkout_session_id, email="ada@example.org").ok
    paid = make_checkout("once", 2500, "EUR", email="bo@example.org", name="Bo Reader")
    assert sandbox.pay(paid.stripe_checkout_session_id, email="bo@example.org").ok
    pending = make_checkout("once", 500, "USD", email="cy@example.org")
    sandbox.settle()
    db.session.expire_all()
    running = db.session.get(Gift, running.id)
    assert running.status == GiftStatus.ACTIVE
    donor = running.donor
    with commit_or_rollback():
        history = make_gift(
            donor,
            5000,
            frequency=Frequency.MONTHLY,
            status=GiftStatus.PAST_DUE,
            created="2025-01-05 09:00",
            stripe_subscription_id="sub_history",
        )
        charge = make_movement(history, PaymentKind.CHARGE, 5000, "2025-01-05 09:00", fee=175)
        make_movement(history, PaymentKind.REFUND, -1000, "2025-01-09 10:00", fee=0)
        disputed = make_movement(history, PaymentKind.CHARGE, 5000, "2025-02-05 09:00", fee=175)
        make_dispute(disputed, DisputeState.OPEN)
        make_movement(history, PaymentKind.DISPUTE, -5000, "2025-06-01 10:00", fee=1500)
        make_movement(history, PaymentKind.CHARGE, 5000, "2025-03-05 09:00")
        make_renewal_failure(history, 1, "2025-04-05 09:00", retry="2025-04-08 09:00")
        make_outbox_email(history, "renewal_failed", "2025-04-05 09:01", sent="2025-04-05 09:02")
        make_reminder(donor.email)
        for status in GiftStatus:
            once = status in ONE_TIME_STATUSES
            make_gift(status=status, frequency=Frequency.ONCE if once else Frequency.MONTHLY)
        ended = make_gift(
            donor,
            900,
            frequency=Frequency.MONTHLY,
            status=GiftStatus.CANCELLED,
            cancelled="2025-05-01 00:00",
        )
        # a gift Stripe cannot tell about yet: its thank-you page waits for the webhook
        confirming = make_gift(status=GiftStatus.PENDING, stripe_checkout_session_id="cs_unknown")
        campaign = Campaign(
            slug="spring-appeal",
            headline="Keep local news free this spring",
            body="Every gift pays for reporting no one else does.",
            presets=json.dumps({"once": [1000, 2500, 5000], "monthly": [500, 1000, 2000]}),
            goal_kind=GoalKind.AMOUNT,
            goal_target=500_000,
            goal_currency="USD",
        )
        db.session.add(campaign)
        db.session.flush()
        for key in ("a", "b"):
            db.session.add(CampaignVariant(campaign=campaign, key=key, headline=f"Headline {key}"))
        db.session.flush()
        site = Site(
            paid_session=paid.stripe_checkout_session_id,
            pending_session=pending.stripe_checkout_session_id,
            confirming_session=confirming.stripe_checkout_session_id,
            manage_token=links.token(links.MANAGE, donor),
            card_token=links.token(links.UPDATE_CARD, donor, running),
            restart_token=links.token(links.RESTART, donor, ended),
            running_gift=running.id,
            history_gift=history.id,
            donor=donor.id,
            payment=charge.id,
            campaign=campaign.id,
            variant=campaign.variants[0].id,
            campaign_slug=campaign.slug,
            reminder_tokens={},
            erase_tokens={},
            enrolled={},
            newcomers={},
        )
        for language in app.config["LANGUAGES"]:
            reminder = make_reminder(f"dee-{language}@example.org")
            site.reminder_tokens[language] = cancel_token(reminder)
            leaving = make_donor(f"leaving-{language}@example.org", name="Lee Ving")
            site.erase_tokens[language] = links.token(links.ERASE, leaving)
            site.enrolled[language] = f"enrolled-{language}@example.org"
            make_staff(
                site.enrolled[language], totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow()
            )
            site.newcomers[language] = f"new-{language}@example.org"
            make_staff(site.newcomers[language])
    return site


def current_code(email: str) -> str:
    """The code the staff member's authenticator app shows now."""
    db.session.expire_all()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    return pyotp.TOTP(user.totp_secret).now()


def walk_reader_pages(audit: Audit, site: Site) -> None:
    page = audit.page
    token = site.manage_token
    for path in (
        "/",
        "/support?frequency=monthly",
        "/?cancelled=1",
        "/appeal",
        f"/?campaign={site.campaign_slug}",
        f"/appeal?campaign={site.campaign_slug}",
        f"/thanks?session_id={site.paid_session}",
        f"/thanks?session_id={site.pending_session}",
        f"/thanks?session_id={site.confirming_session}",
        f"/thanks?session_id={site.confirming_session}&refresh=10",
        "/privacy",
        f"/restart/{site.restart_token}",
        f"/manage/{token}",
        f"/manage/{token}/gifts/{site.running_gift}/amount",
        f"/manage/{token}/gifts/{site.running_gift}/pause",
        f"/manage/{token}/gifts/{site.running_gift}/cancel",
        f"/manage/card/{site.card_token}",
    ):
        audit.visit(path)
    audit.visit("/restart/not-a-link", status=400)
    audit.visit("/manage/not-a-link", status=400)
    audit.visit(f"/manage/{token}/statements/1999.pdf", status=404)
    audit.visit("/remind/cancel/not-a-link", status=400)
    audit.visit("/no-such-page", status=404)

    audit.visit("/remind")
    audit.submit("/remind with errors")
    page.fill("#email", "eve@example.org")
    page.locator("label[for^=when-]").first.click()
    page.check("#consent")
    audit.submit("/remind/done")
    audit.visit(f"/remind/cancel/{site.reminder_tokens[audit.language]}")
    audit.submit("/remind/cancel/… cancelled")

    audit.visit("/manage")
    page.fill("#email", "not an address")
    audit.submit("/manage with errors")
    page.fill("#email", "ada@example.org")
    audit.submit("/manage sent")

    audit.visit(f"/manage/card/{site.card_token}")
    with page.expect_navigation(url="**/checkout/**"):
        page.locator("main form [type=submit]").first.click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("08/31")
    page.get_by_label("CVC").fill("123")
    with page.expect_navigation(url="**/saved?**"):
        page.locator("form [type=submit]").first.click()
    audit.check("/manage/card/…/saved")


def walk_erasure_pages(audit: Audit, site: Site) -> None:
    """A donor asks to erase their data, and one confirms it from the emailed link."""
    asking = audit.path("manage.request_erasure", token=site.manage_token)
    if asking:
        audit.visit(asking)
        audit.submit("/manage/…/erase sent")
    confirming = audit.path("manage.erase", erase_token=site.erase_tokens[audit.language])
    if confirming:
        audit.visit(confirming)
        audit.submit("/manage/erase/… erased")
        audit.visit(confirming, status=410)


def walk_newsletter_pages(audit: Audit) -> None:
    """Sign up (with a mistake first), confirm from the email's link, unsubscribe."""
    signup = audit.path("newsletter.signup")
    if not signup:
        return
    from donations.models.newsletter import NewsletterSubscriber
    from donations.newsletter import services

    page, email = audit.page, f"nell-{audit.language}@example.org"
    audit.visit(signup)
    page.fill("main input[type=email]", "not an address")
    audit.submit("/newsletter with errors")
    page.fill("main input[type=email]", email)
    audit.submit("/newsletter/sent")
    db.session.expire_all()
    subscriber = db.session.scalar(
        sa.select(NewsletterSubscriber).where(NewsletterSubscriber.email == email)
    )
    with audit.app.test_request_context():
        confirm, leave = services.confirm_token(subscriber), services.unsubscribe_token(subscriber)
    audit.visit(audit.path("newsletter.confirm", token=confirm))
    audit.submit("/newsletter/confirm/… confirmed")
    audit.visit(audit.path("newsletter.unsubscribe", token=leave))
    audit.submit("/newsletter/unsubscribe/… done")
    audit.visit(audit.path("newsletter.confirm", token="not-a-link"), status=400)
    audit.visit(audit.path("newsletter.unsubscribe", token="not-a-link"), status=400)


def sign_in_staff(audit: Audit, site: Site) -> None:
    """The sign-in steps and their errors: a wrong password, a wrong code, then a first
    sign-in that sets up two-factor sign-in and shows the recovery codes."""
    page, language = audit.page, audit.language
    audit.visit("/staff/login")
    page.fill("#email", site.enrolled[language])
    page.fill("#password", "not the password")
    audit.submit("/staff/login refused")
    page.fill("#email", site.enrolled[language])
    page.fill("#password", PASSWORD)
    audit.submit("/staff/login/code")
    page.fill("#code", "000000")
    audit.submit("/staff/login/code wrong")

    audit.visit("/staff/login")
    page.fill("#email", site.newcomers[language])
    page.fill("#password", PASSWORD)
    audit.submit("/staff/two-factor/setup")
    page.fill("#code", current_code(site.newcomers[language]))
    audit.submit("/staff/two-factor/setup → recovery codes")
    with page.expect_navigation():
        page.locator("main a.button").click()


def walk_staff_pages(audit: Audit, site: Site) -> None:
    page = audit.page
    for path in (
        "/staff/",
        "/staff/gifts",
        "/staff/gifts?status=active&frequency=monthly&currency=USD&sort=amount_desc",
        "/staff/gifts?q=nobody-gives-like-this",
        f"/staff/gifts/{site.history_gift}",
        f"/staff/gifts/{site.running_gift}",
        "/staff/donors",
        "/staff/donors?q=ada",
        f"/staff/donors/{site.donor}",
        "/staff/accounting",
        "/staff/accounting?date_from=2025-01-01&date_to=2025-12-31",
        f"/staff/payments/{site.payment}/resend-receipt",
    ):
        audit.visit(path)
    audit.visit("/staff/gifts/999999", status=404)
    audit.visit(f"/staff/payments/{site.payment}/refund")
    audit.submit("/staff/payments/…/refund confirm")
    audit.visit(f"/staff/gifts/{site.running_gift}/cancel")
    audit.submit("/staff/gifts/…/cancel confirm")
    for endpoint, values in (
        ("staff.donor_erase", {"donor_id": site.donor}),
        ("campaigns.detail", {"campaign_id": site.campaign}),
        ("campaigns.edit", {"campaign_id": site.campaign}),
        ("campaigns.new_variant", {"campaign_id": site.campaign}),
        ("campaigns.edit_variant", {"campaign_id": site.campaign, "variant_id": site.variant}),
        ("campaigns.end_test", {"campaign_id": site.campaign}),
    ):
        if path := audit.path(endpoint, **values):
            audit.visit(path)

    audit.visit("/staff/account")
    page.fill("#password-current", PASSWORD)
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-repeat", NEW_PASSWORD)
    audit.submit("/staff/account password changed", "form[action$='/account/password']")


def visit_pages_found_in_the_url_map(audit: Audit, audited: set[str]) -> None:
    """Every GET page without URL arguments not visited yet (a signed-in admin's view)."""
    for rule in audit.app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in NOT_PAGES:
            if rule.endpoint not in audited:
                audit.visit(rule.rule)


@pytest.mark.parametrize("size", SIZES)
def test_every_page_passes_axe_and_fits_the_screen(
    app, browser, live_server, registered_webhook, sandbox, audited_endpoints, size
):
    if not AXE.exists():
        pytest.fail(f"axe-core is missing: run `npm install` (looked for {AXE})")
    site = build_site(app, sandbox)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(path=str(AXE))
    audit = Audit(app, context.new_page(), live_server, size)
    audit.page.set_default_timeout(15_000)
    try:
        for language in app.config["LANGUAGES"]:
            audit.language = language
            context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
            walk_reader_pages(audit, site)
            walk_erasure_pages(audit, site)
            walk_newsletter_pages(audit)
            sign_in_staff(audit, site)
            walk_staff_pages(audit, site)
            visit_pages_found_in_the_url_map(audit, audited_endpoints)
            audit.submit("/staff/login signed out", "form[action$='/staff/logout']")
    except Exception:
        audit.page.screenshot(path=str(ARTIFACTS / f"accessibility-{size}-failed.png"))
        raise
    finally:
        context.close()

    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in NOT_PAGES
    }
    if unvisited := sorted(pages - audited_endpoints):
        audit.problems.append(f"pages never checked (add them above): {', '.join(unvisited)}")
    assert not audit.problems, f"{audit.checked} pages checked:\n" + "\n".join(audit.problems)
