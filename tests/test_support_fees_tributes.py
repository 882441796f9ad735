"""Covering the card fees, dedicating a gift and keeping one's name private: what the
support page offers, what it refuses, and what the gift records and charges."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from donations import links
from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.models import Gift
from donations.support.services import FeeModel, covered_fee, fee_to_cover
from tests.factories import form_fields_from, make_gift
from tests.helpers_support import gift_count, post_donation, read_session

CARD = FeeModel(Decimal("2.9"), 30)
EURO_CARD = FeeModel(Decimal("1.5"), 25)


def card_fee(total: int, model: FeeModel) -> int:
    """The sandbox's (and Stripe's standard) fee on a charge: rounded half up, plus fixed."""
    percent_part = (total * model.percent / 100).to_integral_value(rounding=ROUND_HALF_UP)
    return int(percent_part) + model.fixed


# The fee to cover, on its own


@pytest.mark.parametrize(
    ("amount", "model", "fee"),
    [
        (1000, CARD, 61),  # $10 → $10.61
        (941, CARD, 59),  # (941 + 30) / 0.971 is exactly 1000: nothing to round
        (1000, EURO_CARD, 41),  # €10 → €10.41
        (200, CARD, 37),
        (1_000_000, CARD, 29_898),
    ],
)
def test_the_fee_to_cover_is_the_smallest_total_that_keeps_the_whole_gift(amount, model, fee):
    assert fee_to_cover(amount, model) == fee


@pytest.mark.parametrize("model", [CARD, EURO_CARD, FeeModel(Decimal("1.5"), 20)])
def test_after_the_card_fee_the_newsroom_keeps_the_gift_and_at_most_a_unit_more(model):
    for amount in range(200, 20_000, 7):
        total = amount + fee_to_cover(amount, model)
        kept = total - card_fee(total, model)
        assert amount <= kept <= amount + 1, amount


def test_the_fee_model_is_read_per_currency_from_the_settings(app):
    app.config.update(FEE_PERCENT="5", FEE_FIXED="0", FEE_PERCENT_GBP="0", FEE_FIXED_GBP="0.5")

    assert covered_fee(1000, "USD") == 53
    assert covered_fee(1000, "GBP") == 50
    assert covered_fee(1000, "EUR") == 41


def test_a_fixed_fee_in_a_currency_without_decimals_is_rounded_up_to_a_whole_unit(app):
    assert fee_to_cover(1000, FeeModel(Decimal("2.9"), 1)) == covered_fee(1000, "JPY")


# Cover the fees on the support page


def test_the_page_names_the_fee_for_the_preset_amount_without_javascript(client):
    html = client.get("/").get_data(as_text=True)

    assert 'value="10" checked' in html
    assert ">Add $0.61 to cover card fees</label>" in html
    assert 'name="cover_fees" id="cover_fees" value="1">' in html  # not ticked unless asked


def test_the_page_names_the_fee_for_a_prefilled_amount_and_currency(client):
    html = client.get("/?amount=7.50&currency=EUR&cover_fees=1").get_data(as_text=True)

    assert ">Add €0.37 to cover card fees</label>" in html
    assert 'id="cover_fees" value="1" checked' in html


def test_the_page_gives_its_script_each_currencys_fee_model(client):
    html = client.get("/").get_data(as_text=True)

    assert (
        'data-fee-model="{&#34;USD&#34;:{&#34;rate&#34;:[29,1000],&#34;fixed&#34;:30,'
        "&#34;places&#34;:2}" in html
    )
    assert "&#34;EUR&#34;:{&#34;rate&#34;:[3,200],&#34;fixed&#34;:25" in html


def test_a_form_shown_again_names_the_fee_for_the_amount_typed(client):
    response = post_donation(
        client, amount="other", other_amount="20", email="nope", cover_fees="1"
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert ">Add $0.91 to cover card fees</label>" in html
    assert 'id="cover_fees" value="1" checked' in html


def test_a_form_shown_again_with_an_amount_that_is_not_money_names_no_fee(client):
    response = post_donation(client, amount="other", other_amount="ten", cover_fees="1")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert ">Add the card fees to my gift</label>" in html


def test_the_cached_page_for_a_choice_does_not_leak_the_cover_the_fees_tick(client):
    assert 'value="1" checked' in client.get("/?cover_fees=1").get_data(as_text=True)
    assert 'id="cover_fees" value="1">' in client.get("/").get_data(as_text=True)


def test_covering_the_fees_charges_the_total_and_records_the_part_added(client, sandbox):
    response = post_donation(client, cover_fees="1")

    assert response.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.covered_fee) == (1061, 61)
    checkout = read_session(sandbox, gift.stripe_checkout_session_id)
    assert checkout["amount_total"] == 1061


def test_a_monthly_euro_gift_covers_the_fee_on_every_payment(client, sandbox):
    post_donation(
        client,
        frequency="monthly",
        amount="other",
        other_amount="7.50",
        currency="EUR",
        cover_fees="1",
    )

    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.covered_fee, gift.frequency) == (787, 37, "monthly")
    checkout = read_session(sandbox, gift.stripe_checkout_session_id)
    assert (checkout["mode"], checkout["amount_total"]) == ("subscription", 787)


@pytest.mark.parametrize(
    "tampered",
    [
        {"covered_fee": "1"},
        {"fee": "0.01", "covered_fee": "0", "total": "10.00"},
        {"cover_fees": "yes please", "covered_fee": "-61"},
    ],
)
def test_a_tampered_fee_is_ignored_and_the_server_computes_its_own(client, sandbox, tampered):
    post_donation(client, **{"cover_fees": "1", **tampered})

    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.covered_fee) == (1061, 61)
    assert read_session(sandbox, gift.stripe_checkout_session_id)["amount_total"] == 1061


def test_a_fee_posted_without_the_tick_adds_nothing(client, sandbox):
    post_donation(client, covered_fee="500")

    gift = db.session.scalar(sa.select(Gift))
    assert (gift.amount, gift.covered_fee) == (1000, 0)


def test_a_cancelled_checkout_comes_back_with_the_fees_still_covered(client, sandbox):
    post_donation(client, cover_fees="1")
    gift = db.session.scalar(sa.select(Gift))
    cancel_url = read_session(sandbox, gift.stripe_checkout_session_id)["cancel_url"]

    assert parse_qs(urlparse(cancel_url).query)["amount"] == ["10"]
    html = client.get(cancel_url).get_data(as_text=True)
    assert 'id="cover_fees" value="1" checked' in html
    assert ">Add $0.61 to cover card fees</label>" in html


def test_the_appeal_box_offers_to_cover_the_fees_and_carries_the_tick(client):
    html = client.get("/appeal?frequency=monthly&currency=GBP").get_data(as_text=True)

    assert ">Add £0.28 to cover card fees</label>" in html  # £5 a month
    assert "js/support.js" in html and "data-fee-model=" in html
    carried = client.get("/?source=appeal&frequency=monthly&amount=5&cover_fees=1")
    assert 'id="cover_fees" value="1" checked' in carried.get_data(as_text=True)


def test_the_thank_you_page_shows_the_fee_covered_and_the_dedication(client, sandbox):
    post_donation(client, cover_fees="1", tribute_kind="memory", tribute_name="Ada Byron")
    gift = db.session.scalar(sa.select(Gift))
    sandbox.pay(gift.stripe_checkout_session_id)

    html = client.get(f"/thanks?session_id={gift.stripe_checkout_session_id}").get_data(
        as_text=True
    )

    assert "$10.61" in html and "including $0.61 to cover card fees" in html
    assert "In memory of Ada Byron" in html


def test_starting_a_gift_again_keeps_its_covered_fee_and_privacy(app, client, sandbox):
    old = make_gift(
        amount=1061,
        covered_fee=61,
        frequency=Frequency.MONTHLY,
        status=GiftStatus.CANCELLED,
        anonymous=True,
    )
    path = urlparse(links.restart_url(old)).path
    page = client.get(path).get_data(as_text=True)
    assert "cover_fees=1" in page and "amount=10&amp;" in page

    assert client.post(path, data=form_fields_from(page)).status_code == 303
    again = db.session.scalar(sa.select(Gift).where(Gift.source == "restart"))
    assert (again.amount, again.covered_fee, again.anonymous) == (1061, 61, True)


# Dedications and privacy


def test_a_dedication_and_privacy_are_recorded_on_the_gift(client, sandbox):
    response = post_donation(
        client,
        tribute_kind="memory",
        tribute_name="  Ada Byron ",
        tribute_message="She read every issue.\nEvery one.",
        tribute_notify_email="kin@example.org",
        anonymous="1",
    )

    assert response.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.tribute_kind, gift.tribute_name) == ("memory", "Ada Byron")
    assert gift.tribute_message == "She read every issue.\nEvery one."
    assert (gift.tribute_notify_email, gift.anonymous) == ("kin@example.org", True)


def test_a_gift_without_a_dedication_records_none(client, sandbox):
    post_donation(client, tribute_kind="memory")

    gift = db.session.scalar(sa.select(Gift))
    assert (gift.tribute_kind, gift.tribute_name, gift.tribute_notify_email) == (None, "", "")
    assert gift.anonymous is False


def test_the_dedication_is_folded_away_until_it_is_used(client):
    html = client.get("/").get_data(as_text=True)

    assert '<details class="tribute">' in html and "<summary>Dedicate this gift" in html
    assert 'id="tribute-honour" value="honour" checked' in html


def test_a_page_with_a_dedication_in_its_address_is_not_cached_for_others(client):
    assert "Zed Example" in client.get("/?tribute_name=Zed+Example").get_data(as_text=True)
    assert "Zed Example" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"tribute_name": "A" * 121}, "tribute_name", "Keep the name to 120 characters or fewer."),
        (
            {"tribute_name": "<b>Ada</b>"},
            "tribute_name",
            "Remove the &lt; and &gt; characters from the name.",
        ),
        ({"tribute_name": "Ada\r\nBcc: x@y.z"}, "tribute_name", "Write the name on one line."),
        (
            {"tribute_name": "Ada", "tribute_message": "x" * 501},
            "tribute_message",
            "Keep the message to 500 characters or fewer.",
        ),
        (
            {"tribute_name": "Ada", "tribute_message": "love <3 > all"},
            "tribute_message",
            "Remove the &lt; and &gt; characters from the message.",
        ),
        (
            {"tribute_name": "Ada", "tribute_notify_email": "not-an-email"},
            "tribute_notify_email",
            "Enter a valid email address to tell, like name@example.com.",
        ),
        (
            {"tribute_message": "Thinking of you"},
            "tribute_name",
            "Enter the name of the person you dedicate this gift to.",
        ),
        (
            {"tribute_notify_email": "kin@example.org"},
            "tribute_name",
            "Enter the name of the person you dedicate this gift to.",
        ),
        ({"tribute_name": "Ada", "tribute_kind": "birthday"}, "tribute_kind", "Not a valid choice"),
    ],
)
def test_a_bad_dedication_is_refused_with_a_message_and_nothing_is_stored(
    client, fields, field, message
):
    response = post_donation(client, **fields)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert message in html
    assert '<details class="tribute" open>' in html
    assert gift_count() == 0
