"""Reader loose ends: every amount follows the currency (a GET without JavaScript), the
thank-you page of a gift that was never paid, arriving from a reminder email, the reminder
confirmation's promise, and links back to the newsroom."""

from __future__ import annotations

import html as markup
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.enums import GiftStatus
from donations.models import Gift, OutboxEmail
from donations.payments import gateway
from donations.remind import services as reminders
from tests.factories import csrf_token_from, make_checkout, make_gift, make_reminder


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def currency_form(html: str) -> dict[str, str]:
    form = re.search(r'<form id="currency-form".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


# --- the currency --------------------------------------------------------------------------


def test_every_amount_text_carries_its_labels_in_each_currency(client):
    html = page(client, "/")
    labels = [
        json.loads(markup.unescape(found)) for found in re.findall(r"data-labels='([^']+)'", html)
    ]
    assert {"USD": "$2", "EUR": "€2", "GBP": "£2"} in labels
    assert {
        "USD": "From $2.00 to $10,000.",
        "EUR": "From €2.00 to €10,000.",
        "GBP": "From £2.00 to £10,000.",
    } in labels
    assert {"USD": "$25", "EUR": "€25", "GBP": "£25"} in labels
    assert 'data-label="Add {fee} to cover card fees"' in html


def test_the_currency_select_submits_a_get_that_keeps_the_choice_but_nothing_personal(client):
    html = page(
        client,
        "/?frequency=annual&amount=100&source=appeal&cover_fees=1&email=ada@example.org",
    )
    assert '<select name="currency" id="currency" form="currency-form"' in html
    assert '<input type="hidden" name="currency" value="USD">' in html
    assert currency_form(html) == {
        "frequency": "annual",
        "amount": "100",
        "source": "appeal",
        "cover_fees": "1",
    }
    assert '<button type="submit" form="currency-form" class="button">Show amounts</button>' in html


def test_the_page_comes_back_with_every_amount_in_the_chosen_currency(client):
    html = page(client, "/support?frequency=annual&amount=100&source=appeal&currency=GBP")
    assert "from just <span data-labels=" in html and ">£2</span>" in html
    assert "From £2.00 to £10,000." in html and "Add £1.73 to cover card fees" in html
    assert ">£100</label>" in html and "$" not in re.sub(r"data-labels='[^']*'", "", html)
    assert 'id="amount-annual-3" value="100" checked' in html


# --- the thank-you page of a gift that was never paid --------------------------------------


def test_an_expired_checkout_says_not_completed_with_a_way_back(client, sandbox):
    gift = make_checkout(frequency="monthly", amount=750, currency="EUR")
    gateway().expire_checkout_session(gift.stripe_checkout_session_id)

    html = page(client, f"/thanks?session_id={gift.stripe_checkout_session_id}")
    assert "Your gift was not completed" in html and "You have not been charged" in html
    assert "Confirming" not in html and "Check again" not in html
    again = re.search(r'<a class="button button-primary" href="([^"]+)">Give again</a>', html)
    query = parse_qs(urlparse(markup.unescape(again.group(1))).query)
    assert query == {"frequency": ["monthly"], "amount": ["7.50"], "currency": ["EUR"]}
    db.session.refresh(gift)
    assert gift.status == GiftStatus.ABANDONED


@pytest.mark.parametrize("status", [GiftStatus.ABANDONED, GiftStatus.FAILED])
def test_a_gift_already_given_up_says_not_completed(client, status):
    gift = make_gift(status=status, stripe_checkout_session_id="cs_test_gone")
    html = page(client, "/thanks?session_id=cs_test_gone")
    assert "Your gift was not completed" in html and "Give again" in html
    assert gift.status == status


def test_a_checkout_still_open_says_not_completed_yet_and_leads_back_to_it(client, sandbox):
    gift = make_checkout()
    checkout_url = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id).url

    html = page(client, f"/thanks?session_id={gift.stripe_checkout_session_id}")
    assert "Your gift is not completed yet" in html and "Confirming" not in html
    assert f'href="{checkout_url}">Return to the payment page</a>' in html
    assert "Check again" not in html
    assert db.session.get(Gift, gift.id).status == GiftStatus.PENDING


def test_a_refunded_gift_does_not_say_confirming(client):
    make_gift(status=GiftStatus.REFUNDED, stripe_checkout_session_id="cs_test_refunded")
    html = page(client, "/thanks?session_id=cs_test_refunded")
    assert "This gift was paid and is now refunded." in html and "Confirming" not in html


# --- arriving from a reminder email --------------------------------------------------------


def test_the_reminder_emails_link_prefills_the_email_and_offers_no_second_reminder(client):
    reminder = make_reminder("ada@example.org", frequency="monthly", amount=500, currency="EUR")
    link = urlparse(reminders.support_url(reminder))

    html = page(client, f"{link.path}?{link.query}")
    assert 'name="email" id="email" autocomplete="email" required value="ada@example.org"' in html
    assert f'<input type="hidden" name="reminder" value="{reminder.token}">' in html
    assert "Remind me later" not in html
    assert 'id="amount-monthly-2" value="5" checked' in html
    assert currency_form(html)["reminder"] == reminder.token


def test_an_unknown_reminder_token_prefills_nothing(client):
    html = page(client, "/?reminder=not-a-token&source=reminder")
    assert 'autocomplete="email" required value=""' in html
    assert "Remind me later" not in html


def test_the_reminder_confirmation_promises_only_the_reminder(client):
    form = page(client, "/remind")
    response = client.post(
        "/remind",
        data={
            "csrf_token": csrf_token_from(form),
            "email": "ada@example.org",
            "when": "month",
            "frequency": "once",
            "currency": "USD",
            "consent": "y",
        },
    )
    done = page(client, response.headers["Location"])
    assert "That reminder is the only email we will send you" in done
    assert "no confirmation email to wait for" in done
    assert "The reminder email will have a cancel link too" in done
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0


# --- links back to the newsroom ------------------------------------------------------------


def test_back_links_lead_to_the_newsroom_when_it_is_set(app, client):
    make_gift(stripe_checkout_session_id="cs_test_paid")
    assert '<a href="/support">Back to The Daily Example</a>' in page(
        client, "/thanks?session_id=cs_test_paid"
    )
    app.config["NEWSROOM_URL"] = "https://news.example.org/"
    assert '<a href="https://news.example.org/">Back to The Daily Example</a>' in page(
        client, "/thanks?session_id=cs_test_paid"
    )
