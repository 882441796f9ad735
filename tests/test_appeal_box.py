"""The embeddable appeal box: a GET form that is right without JavaScript (each
frequency's own presets, "Remind me later" carrying the choice), that tells its height to
the page embedding it, and that shows a campaign."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import flask_babel
import pytest
import sqlalchemy as sa

from donations.db import db
from donations.enums import Frequency, GoalKind
from donations.models import Gift
from tests.factories import make_gift, make_payment
from tests.helpers_campaigns import make_campaign
from tests.helpers_support import post_donation

DOCS = Path(__file__).resolve().parent.parent / "docs" / "appeal-box.md"


def box(client, **query) -> str:
    response = client.get(f"/appeal?{urlencode(query)}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def checked_in(html: str, group: str) -> list[str]:
    return re.findall(rf'name="{group}" id="[^"]+" value="([^"]+)" checked', html)


def test_each_frequency_has_its_own_preset_group_with_one_amount_checked(client):
    html = box(client, frequency="monthly", amount="20")
    assert checked_in(html, "amount_once") == ["10"]
    assert checked_in(html, "amount_monthly") == ["20"]
    assert checked_in(html, "amount_annual") == ["50"]
    assert 'name="amount"' not in html


def test_an_amount_that_is_no_preset_checks_the_frequencys_default(client):
    html = box(client, frequency="once", amount="7.50")
    assert checked_in(html, "amount_once") == ["10"]
    assert "Add $0.61 to cover card fees" in html  # the fee of the $10 shown


def test_the_support_page_asks_for_the_chosen_frequencys_amount_only(client):
    """Picked $50 under Once, then Monthly: the box sends every group; the page shows the
    monthly amount the reader saw, never $50 a month."""
    html = client.get(
        "/support?source=appeal&currency=USD&frequency=monthly"
        "&amount_once=50&amount_monthly=5&amount_annual=50"
    ).get_data(as_text=True)
    assert 'id="frequency-monthly" value="monthly" checked' in html
    checked = re.findall(r'name="amount_(\w+)" id="[^"]+" value="(\w+)" checked', html)
    assert checked == [("once", "10"), ("monthly", "5"), ("annual", "50")]
    assert 'placeholder="e.g. 15" value=""' in html
    assert 'name="source" value="appeal"' in html


def test_remind_me_later_is_a_submit_button_to_the_reminder_form(client):
    html = box(client)
    assert (
        '<button type="submit" class="link-button" formaction="/remind">'
        "Not now? Remind me later</button>"
    ) in html
    assert 'action="/support" target="_top"' in html


def test_the_reminder_form_reads_the_chosen_frequencys_amount(client):
    html = client.get(
        "/remind?source=appeal&currency=GBP&frequency=annual"
        "&amount_once=50&amount_monthly=5&amount_annual=100"
    ).get_data(as_text=True)
    assert "annual gift of £100.00 per year" in html
    assert 'name="amount" type="hidden" value="100"' in html
    assert 'name="source" type="hidden" value="appeal"' in html


def test_the_box_loads_the_script_that_reports_its_height(client):
    html = box(client)
    assert '<script src="/static/js/appeal.js" defer></script>' in html
    script = client.get("/static/js/appeal.js").get_data(as_text=True)
    assert 'type: "donations:height"' in script and "postMessage" in script


def test_the_docs_give_a_height_and_a_snippet_that_checks_the_origin():
    docs = DOCS.read_text()
    assert re.search(r"height:\d+px", docs)
    assert "event.origin !==" in docs and "event.source !== box.contentWindow" in docs
    assert '"donations:height"' in docs


def test_the_box_is_rendered_once_per_choice_and_language(app, client):
    box(client, frequency="annual")
    box(client, frequency="annual")
    flask_babel.refresh()  # requests share the test's app context, where the language is kept
    box(client, frequency="annual", lang="ru")
    assert [key[0] for key in app.extensions["appeal_box_html"]] == ["en", "ru"]


@pytest.mark.parametrize("slug", ["autumn", "x" * 200, ""])
def test_an_unknown_campaign_shows_the_default_box(client, slug):
    make_campaign("spring")
    html = box(client, campaign=slug)
    assert "Support independent journalism" in html
    assert 'name="campaign"' not in html


def test_a_campaign_box_shows_its_copy_presets_default_and_goal(client):
    campaign = make_campaign(
        "spring",
        headline="Keep local news free",
        body="Our reporters answer to readers.",
        presets=json.dumps({"monthly": [700, 1500]}),
        default_frequency=Frequency.MONTHLY,
        default_amount=1500,
        currencies="EUR",
        goal_kind=GoalKind.AMOUNT,
        goal_target=2_000_000,
        goal_currency="EUR",
    )
    for _ in range(2):
        gift = make_gift(amount=617_050, currency="EUR", campaign_id=campaign.id)
        make_payment(gift)

    html = box(client, campaign="spring")
    assert "<h2>Keep local news free</h2>" in html and "Our reporters answer" in html
    assert '<input type="hidden" name="campaign" value="spring">' in html
    assert '<input type="hidden" name="currency" value="EUR">' in html
    assert checked_in(html, "amount_monthly") == ["15"]
    assert 'id="frequency-monthly" value="monthly" checked' in html
    assert ">€7</label>" in html and ">€15</label>" in html
    assert '<progress class="goal-bar" max="100" value="61"' in html
    assert "€12,341 of €20,000 from 2 readers" in html


def test_continue_on_the_support_page_charges_the_chosen_frequencys_preset(client, sandbox):
    """Without JavaScript every group keeps a checked preset; Continue asks for the one
    shown under the chosen frequency, never a preset picked under another."""
    answer = post_donation(
        client, frequency="monthly", amount="", amount_once="50", amount_monthly="5"
    )

    assert answer.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.frequency, gift.amount) == (Frequency.MONTHLY, 500)
