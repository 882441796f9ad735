"""The support page and Continue: validation, prefill, Checkout parameters, failures."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import flask_babel
import pytest
import sqlalchemy as sa

from donations import create_app
from donations.campaigns import services as campaigns
from donations.db import commit_or_rollback, db
from donations.enums import Frequency, GoalKind
from donations.models import CampaignVariant, Donor, Gift
from tests.factories import make_gift
from tests.helpers_campaigns import make_campaign, make_variant
from tests.helpers_support import gift_count, post_donation, read_session


def test_support_page_offers_every_frequency_with_its_presets(client):
    html = client.get("/").get_data(as_text=True)
    for frequency in ("once", "monthly", "annual"):
        assert f'id="frequency-{frequency}" value="{frequency}"' in html
    assert '<label for="amount-once-1" data-labels=' in html
    for label in ("$5", "$25", "$50", "$2", "$20", "$100", "$250"):
        assert f">{label}</label>" in html
    assert "From $2.00 to $10,000." in html
    assert "img/visa.svg" in html and "Remind me later" in html


def test_support_is_served_at_both_addresses(client):
    assert client.get("/support").status_code == 200


def test_query_parameters_prefill_the_form(client):
    html = client.get(
        "/?frequency=monthly&amount=7.50&currency=EUR&email=ada@example.org&name=Ada"
    ).get_data(as_text=True)
    assert 'value="monthly" checked' in html
    assert 'placeholder="e.g. 15" value="7.50"' in html
    assert '<option value="EUR" selected>' in html
    assert 'value="ada@example.org"' in html and 'value="Ada"' in html
    assert ">€5</label>" in html


def test_a_preset_amount_in_the_query_selects_its_button(client):
    html = client.get("/?frequency=annual&amount=100").get_data(as_text=True)
    assert 'value="100" checked' in html
    assert 'placeholder="e.g. 15" value=""' in html


def test_nonsense_query_parameters_fall_back_to_defaults(client):
    response = client.get("/?frequency=weekly&amount=abc&currency=XXX")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="once" checked' in html and '<option value="USD" selected>' in html


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Enter an amount such as 10 or 7.50."),
        ("-5", "Enter an amount such as 10 or 7.50."),
        ("0.001", "Use at most 2 decimal places."),
        ("1e9", "Enter an amount such as 10 or 7.50."),
        ("1e999999999", "Enter an amount such as 10 or 7.50."),
        ("9" * 5000, "Enter an amount such as 10 or 7.50."),
        ("1,000", "Write the amount without thousands separators, like 1000."),
        ("1,0,0", "Enter an amount such as 10 or 7.50."),
        ("10001", "The maximum gift online is $10,000.00."),
        ("1.99", "The minimum gift is $2.00."),
        ("", "Choose an amount or enter your own."),
    ],
)
def test_invalid_amount_is_refused_at_the_field(client, amount, message):
    response = post_donation(client, amount="other", other_amount=amount)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p class="field-error" id="amount-error">{message}</p>' in html
    assert gift_count() == 0


def test_a_decimal_comma_is_read_as_a_decimal_point(client, sandbox):
    response = post_donation(client, amount="other", other_amount="7,50", currency="EUR")
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Gift.amount)) == 750


@pytest.mark.parametrize("amount", ["1e999999999", "9" * 5000, "<script>", "7,50"])
def test_any_amount_in_the_query_string_renders_the_page(client, amount):
    response = client.get("/", query_string={"amount": amount, "currency": "EUR"})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_other_amount_wins_over_a_preset(client, sandbox):
    response = post_donation(client, amount="10", other_amount="12.34")
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Gift.amount)) == 1234


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"frequency": "weekly"}, "frequency", "Not a valid choice."),
        ({"currency": "XXX"}, "currency", "Not a valid choice."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"email": ""}, "email", "Enter your email address"),
    ],
)
def test_bad_choices_are_refused_with_a_message(client, fields, field, message):
    response = post_donation(client, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert gift_count() == 0


def test_looking_at_the_support_page_sets_no_cookie_and_carries_no_form_token(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers.get_all("Set-Cookie") == []
    assert "csrf_token" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Referer": "https://attacker.example/page"},
        {"Origin": "http://localhost.attacker.example"},
    ],
    ids=["no-origin", "another-site", "null-origin", "another-referer", "lookalike-host"],
)
def test_a_continue_posted_from_another_site_gets_a_clear_400_and_starts_nothing(client, headers):
    data = {"frequency": "once", "amount": "10", "currency": "USD", "email": "a@example.org"}

    response = client.post("/support", data=data, headers=headers)

    assert response.status_code == 400
    assert "security check failed" in response.get_data(as_text=True)
    assert gift_count() == 0


def test_a_continue_from_our_own_page_by_its_referer_alone_is_accepted(client, sandbox):
    data = {"frequency": "once", "amount": "10", "currency": "USD", "email": "a@example.org"}

    response = client.post("/support", data=data, headers={"Referer": "http://localhost/?lang=ru"})

    assert response.status_code == 303 and gift_count() == 1


def test_one_time_gift_opens_a_payment_checkout_session(client, sandbox):
    response = post_donation(client, amount="5", email="Reader@Example.org")
    assert response.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.currency, gift.frequency, gift.status) == (
        500,
        "USD",
        "once",
        "pending",
    )
    assert gift.donor.email == "reader@example.org"
    assert response.headers["Location"].startswith(sandbox.url)
    checkout = read_session(sandbox, gift.stripe_checkout_session_id)
    assert checkout["mode"] == "payment"
    assert checkout["submit_type"] == "donate"
    assert checkout["amount_total"] == 500 and checkout["currency"] == "usd"
    assert checkout["metadata"] == {"gift_id": str(gift.id)}
    assert checkout["client_reference_id"] == str(gift.id)
    assert checkout["customer_email"] == "reader@example.org"
    assert checkout["success_url"].endswith("/thanks?session_id={CHECKOUT_SESSION_ID}")
    cancel = parse_qs(urlparse(checkout["cancel_url"]).query)
    assert cancel == {
        "frequency": ["once"],
        "amount": ["5"],
        "currency": ["USD"],
        "cancelled": ["1"],
    }


def test_monthly_gift_opens_a_subscription_checkout_session(client, sandbox):
    response = post_donation(
        client, frequency="monthly", amount="other", other_amount="7.50", currency="EUR"
    )
    assert response.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.currency, gift.frequency) == (750, "EUR", "monthly")
    checkout = read_session(sandbox, gift.stripe_checkout_session_id)
    assert checkout["mode"] == "subscription"
    assert checkout["amount_total"] == 750 and checkout["currency"] == "eur"
    assert checkout["metadata"] == {"gift_id": str(gift.id)}


def test_returning_donor_is_the_same_donor(client, sandbox):
    post_donation(client, email="ada@example.org")
    post_donation(client, email="ADA@example.org", frequency="annual", amount="25")
    assert db.session.scalar(sa.select(sa.func.count(Donor.id))) == 1
    assert gift_count() == 2


def test_cancelled_checkout_returns_to_the_form_with_choices_kept(client, sandbox):
    post_donation(client, frequency="monthly", amount="other", other_amount="7.50", currency="EUR")
    gift = db.session.scalar(sa.select(Gift))
    cancel_url = read_session(sandbox, gift.stripe_checkout_session_id)["cancel_url"]
    html = client.get(cancel_url).get_data(as_text=True)
    assert "you have not been charged" in html
    assert 'value="monthly" checked' in html and 'value="7.50"' in html
    assert '<option value="EUR" selected>' in html
    assert 'value="reader@example.org"' in html


class _FailingStripe(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = b'{"error": {"type": "api_error", "message": "Stripe is having a bad day"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_stripe():
    server = HTTPServer(("127.0.0.1", 0), _FailingStripe)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _closed_port() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("stripe_down", ["unreachable", "answers_500"])
def test_stripe_down_shows_a_message_and_keeps_the_gift_abandoned_without_a_session(
    app, client, failing_stripe, stripe_down
):
    from donations.payments.stripe_gateway import StripeGateway

    base = _closed_port() if stripe_down == "unreachable" else failing_stripe
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", base)
    response = post_donation(client)
    html = response.get_data(as_text=True)

    assert response.status_code == 503
    assert "the payment service is unavailable" in html.lower()
    assert "You have not been charged" in html
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.status, gift.stripe_checkout_session_id) == ("abandoned", None)


def test_a_gift_after_an_abandoned_one_gets_an_id_of_its_own(app, client, sandbox):
    from donations.payments import gateway
    from donations.payments.stripe_gateway import StripeGateway

    working = gateway()
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", _closed_port())
    post_donation(client)
    abandoned = db.session.scalar(sa.select(Gift))
    app.extensions["payment_gateway"] = working
    post_donation(client)

    later = db.session.scalar(sa.select(Gift).where(Gift.id != abandoned.id))
    assert later.id > abandoned.id and later.stripe_checkout_session_id
    assert abandoned.status == "abandoned"


def test_a_retried_checkout_creation_returns_the_same_session(client, sandbox):
    from donations.giving import checkout

    post_donation(client)
    gift = db.session.scalar(sa.select(Gift))
    first = read_session(sandbox, gift.stripe_checkout_session_id)
    again = checkout.open_checkout(
        gift,
        success_url=first["success_url"].removesuffix("?session_id={CHECKOUT_SESSION_ID}"),
        cancel_url=first["cancel_url"],
    )

    assert (gift.stripe_checkout_session_id, again) == (first["id"], first["url"])


def test_thank_you_page_confirms_a_paid_gift_by_reading_the_session(client, sandbox):
    post_donation(client, amount="5")
    gift = db.session.scalar(sa.select(Gift))
    sandbox.pay(gift.stripe_checkout_session_id)
    html = client.get(f"/thanks?session_id={gift.stripe_checkout_session_id}").get_data(
        as_text=True
    )
    assert "Payment confirmed" in html
    assert "$5.00" in html and "Check again" not in html
    db.session.refresh(gift)
    assert gift.status == "paid"


def test_thank_you_page_says_confirming_and_offers_to_check_again_while_stripe_cannot_say(
    app, client, sandbox
):
    from donations.payments.stripe_gateway import StripeGateway

    post_donation(client, amount="5")
    gift = db.session.scalar(sa.select(Gift))
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", _closed_port())
    session_id = gift.stripe_checkout_session_id
    html = client.get(f"/thanks?session_id={session_id}").get_data(as_text=True)
    assert "Confirming…" in html
    # no timed refresh (WCAG 2.2.1): a link, which a script follows by itself
    assert 'http-equiv="refresh"' not in html
    assert f'href="/thanks?session_id={session_id}&amp;refresh=1">Check again</a>' in html
    assert '<section class="card thanks" data-state="confirming" aria-live="polite">' in html
    assert "/static/js/thanks.js" in html


def test_thank_you_page_stops_offering_to_check_again_after_a_while(app, client, sandbox):
    from donations.payments.stripe_gateway import StripeGateway

    post_donation(client, amount="5")
    gift = db.session.scalar(sa.select(Gift))
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", _closed_port())
    html = client.get(f"/thanks?session_id={gift.stripe_checkout_session_id}&refresh=10").get_data(
        as_text=True
    )
    assert "Check again" not in html and "thanks.js" not in html
    assert "We will email your receipt" in html


def test_thank_you_for_an_unknown_session_is_a_styled_404(client):
    response = client.get("/thanks?session_id=cs_test_nope")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_production_refuses_the_development_secret_key(app_config):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(
            app_config | {"ENV_NAME": "production", "SECRET_KEY": "dev-only-secret-key-change-me"}
        )


def test_appeal_box_can_be_embedded_on_any_site(client):
    response = client.get("/appeal?frequency=monthly")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert 'action="/support" target="_top"' in html
    assert '<input type="hidden" name="source" value="appeal">' in html
    assert 'value="monthly" checked' in html


def test_support_page_refuses_to_be_framed_and_sets_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_gift_from_the_appeal_box_records_its_source(client, sandbox):
    assert 'name="source" value="appeal"' in client.get("/?source=appeal").get_data(as_text=True)
    post_donation(client, source="appeal")
    assert db.session.scalar(sa.select(Gift.source)) == "appeal"


def test_an_unexpected_error_shows_the_styled_500_page(app):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", broken)
    response = app.test_client().get("/broken")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, something broke" in html and "Nothing was charged" in html
    assert "RuntimeError" not in html


def test_production_needs_an_https_public_url(app_config, monkeypatch):
    monkeypatch.setenv("DONATIONS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-value")
    settings = {k: v for k, v in app_config.items() if k not in ("SECRET_KEY", "PUBLIC_URL")}
    monkeypatch.setenv("PUBLIC_URL", "http://give.example.org")
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(settings)
    monkeypatch.setenv("PUBLIC_URL", "https://give.example.org")
    app = create_app(settings)
    response = app.test_client().get("/privacy")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(app_config):
    app = create_app(app_config | {"TRUSTED_PROXIES": 1})

    @app.get("/whoami")
    def whoami():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    response = app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert response.get_data(as_text=True) == "203.0.113.9 https"


def test_thank_you_page_says_confirming_when_stripe_cannot_be_read(app, client, sandbox):
    from donations.payments.stripe_gateway import StripeGateway

    post_donation(client, amount="5")
    gift = db.session.scalar(sa.select(Gift))
    sandbox.pay(gift.stripe_checkout_session_id)
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", _closed_port())
    response = client.get(f"/thanks?session_id={gift.stripe_checkout_session_id}")
    assert response.status_code == 200
    assert "Confirming…" in response.get_data(as_text=True)
    assert gift.status == "pending"


# --- campaigns on the support page -----------------------------------------------------------


def test_a_campaign_page_shows_its_copy_presets_defaults_currencies_and_goal(client):
    campaign = make_campaign(
        "spring",
        headline="Keep local news free",
        body="Our reporters answer to readers.\n\nNobody else.",
        default_frequency=Frequency.MONTHLY,
        default_amount=1200,
        currencies="EUR,GBP",
        goal_kind=GoalKind.DONORS,
        goal_target=100,
    )
    make_gift(frequency="monthly", status="active", campaign_id=campaign.id)
    html = client.get("/?campaign=spring").get_data(as_text=True)

    assert "<h1>Keep local news free</h1>" in html
    assert "<p>Our reporters answer to readers.</p>\n<p>Nobody else.</p>" in html
    assert ">€15</label>" in html and ">€60</label>" in html  # the campaign's one-time presets
    assert 'value="monthly" checked' in html
    assert 'placeholder="e.g. 15" value="12"' in html  # its default amount, not a preset
    assert re.findall(r'<option value="(\w+)"', html) == ["EUR", "GBP"]
    assert '<progress class="goal-bar" max="100" value="1"' in html
    assert "1 of 100 new regular supporters" in html
    assert html.count('<input type="hidden" name="campaign" value="spring">') == 2


def test_an_unknown_campaign_shows_the_default_page(client):
    html = client.get("/?campaign=autumn").get_data(as_text=True)
    assert "Keep The Daily Example free for everyone" in html
    assert 'name="campaign"' not in html


def test_the_cached_page_is_kept_apart_per_campaign_and_language(app, client):
    make_campaign("spring", headline="Keep local news free")
    assert "Keep local news free" in client.get("/?campaign=spring").get_data(as_text=True)
    assert "Keep local news free" not in client.get("/").get_data(as_text=True)
    flask_babel.refresh()  # requests share the test's app context, where the language is kept
    client.get("/?lang=ru")
    keys = list(app.extensions["support_page_html"])
    assert [(language, campaign is not None) for language, campaign, *_ in keys] == [
        ("en", True),
        ("en", False),
        ("ru", False),
    ]


def test_a_refused_continue_shows_the_campaign_again(client):
    make_campaign("spring", headline="Keep local news free")
    response = post_donation(client, campaign="spring", email="not-an-email")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep local news free" in html and 'name="campaign" value="spring"' in html


@pytest.mark.committing
def test_an_ab_test_sets_the_variant_cookie_keeps_the_variant_and_counts_views(app, client):
    with commit_or_rollback():
        campaign = make_campaign("spring")
        make_variant(campaign, "a", headline="Headline A")
        make_variant(campaign, "b", headline="Headline B")
    app.config["AB_FLUSH_SECONDS"] = 3600

    first = client.get("/?campaign=spring")
    cookie = client.get_cookie(campaigns.VARIANT_COOKIE)
    assert cookie is not None and "HttpOnly" in first.headers["Set-Cookie"]
    headline = re.search(r"<h1>(Headline [AB])</h1>", first.get_data(as_text=True)).group(1)
    for _ in range(2):
        again = client.get("/?campaign=spring")
        assert "Set-Cookie" not in again.headers
        assert f"<h1>{headline}</h1>" in again.get_data(as_text=True)
    client.get("/appeal?campaign=spring")

    campaigns.flush_counts()
    views = dict(db.session.execute(sa.select(CampaignVariant.key, CampaignVariant.views)).all())
    assert views == {headline[-1].lower(): 4, ("b" if headline.endswith("A") else "a"): 0}
