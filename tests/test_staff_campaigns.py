"""Staff campaign pages: the list, creating and editing a campaign, its variants and A/B
results, ending a test; viewers read only; bad input gets a message and saves nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from donations.campaigns import services
from donations.campaigns.presets import parse as parse_presets
from donations.db import db
from donations.enums import Frequency, GiftStatus, GoalKind, StaffRole
from donations.models import Campaign, CampaignVariant
from tests.factories import (
    at,
    csrf_token_from,
    form_fields_from,
    make_gift,
    make_payment,
    make_staff,
    sign_in,
)
from tests.helpers_campaigns import make_campaign, make_variant

FORM = {
    "slug": "spring-2025",
    "headline": "Keep local news free",
    "body": "Our reporters answer to readers.",
    "presets_once": "15, 30, 60",
    "presets_monthly": "",
    "presets_annual": "",
    "default_frequency": "once",
    "default_amount": "",
    "starts_on": "2025-03-01",
    "ends_on": "2025-03-31",
    "goal_kind": "",
    "goal_target": "",
    "goal_currency": "USD",
}


@pytest.fixture
def admin(client):
    make_staff()
    sign_in(client)
    return client


@pytest.fixture
def viewer(client):
    make_staff("viewer@example.org", role=StaffRole.VIEWER)
    sign_in(client, "viewer@example.org")
    return client


def _post(client, url: str, **fields):
    page = client.get(url)
    assert page.status_code == 200, url
    return client.post(url, data=form_fields_from(page.text) | fields)


def _campaigns() -> list[Campaign]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Campaign).order_by(Campaign.id)))


# --- creating and editing -------------------------------------------------------------------


def test_an_admin_creates_a_campaign_with_presets_dates_and_goal(admin):
    fields = FORM | {
        "currencies": ["EUR", "USD"],
        "presets_monthly": "5, 7.50",
        "default_frequency": "monthly",
        "default_amount": "7.50",
        "goal_kind": "amount",
        "goal_target": "20000",
        "goal_currency": "EUR",
    }
    response = _post(admin, "/staff/campaigns/new", **fields)
    [campaign] = _campaigns()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/campaigns/{campaign.id}"
    assert campaign.slug == "spring-2025"
    assert campaign.currencies == "USD,EUR"
    assert parse_presets(campaign.presets) == {
        Frequency.ONCE: [1500, 3000, 6000],
        Frequency.MONTHLY: [500, 750],
    }
    assert (campaign.default_frequency, campaign.default_amount) == (Frequency.MONTHLY, 750)
    assert campaign.starts_at == at("2025-03-01 00:00")
    assert campaign.ends_at == at("2025-04-01 00:00")  # the end day is included
    assert (campaign.goal_kind, campaign.goal_target, campaign.goal_currency) == (
        GoalKind.AMOUNT,
        2000000,
        "EUR",
    )
    page = admin.get(response.headers["Location"]).text
    assert "Keep local news free" in page
    assert "€0 of €20,000" in page


def test_an_admin_edits_a_campaign_and_readers_see_it_at_once(admin):
    campaign = make_campaign("spring", starts_at=None)
    db.session.commit()
    assert services.page_for("spring", None)[0].headline == "Keep local news free"
    form = admin.get(f"/staff/campaigns/{campaign.id}/edit").text
    assert 'value="15, 30, 60"' in form
    response = _post(
        admin,
        f"/staff/campaigns/{campaign.id}/edit",
        **FORM | {"slug": "spring", "headline": "Stand with us", "starts_on": "", "ends_on": ""},
    )
    assert response.status_code == 302
    assert services.page_for("spring", None)[0].headline == "Stand with us"


def test_a_donors_goal_is_a_count(admin):
    fields = FORM | {"goal_kind": "donors", "goal_target": "250", "goal_currency": ""}
    assert _post(admin, "/staff/campaigns/new", **fields).status_code == 302
    [campaign] = _campaigns()
    assert (campaign.goal_kind, campaign.goal_target, campaign.goal_currency) == (
        GoalKind.DONORS,
        250,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"presets_once": ""}, "Give preset amounts for at least one frequency"),
        ({"presets_once": "5, ten"}, "“ten”: Enter an amount"),
        ({"presets_once": "5, 50000"}, "$50,000.00 is outside the gifts readers may make"),
        ({"ends_on": "2025-02-01"}, "The end date is before the start date."),
        (
            {"goal_kind": "amount", "goal_target": "1000", "goal_currency": "XYZ"},
            "Choose the goal&#39;s currency: one of USD, EUR, GBP.",
        ),
        (
            {
                "goal_kind": "amount",
                "goal_target": "1000",
                "goal_currency": "GBP",
                "currencies": "USD",
            },
            "The campaign does not offer GBP",
        ),
        ({"goal_kind": "amount", "goal_target": "lots"}, "Enter the amount to raise"),
        ({"goal_kind": "donors", "goal_target": "0"}, "Enter the number of new recurring donors"),
        ({"goal_kind": "everything"}, "Choose no goal, an amount or a number of donors."),
        ({"slug": "Spring 2025!"}, "Use lower-case letters, digits and hyphens"),
        ({"slug": "spring\n"}, "Use lower-case letters, digits and hyphens"),
        ({"headline": "  "}, "Enter a headline."),
        ({"default_amount": "0.50"}, "$0.50 is outside the gifts readers may make"),
        ({"currencies": "JPY"}, "JPY is not a currency this site takes."),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(admin, fields, message):
    response = _post(admin, "/staff/campaigns/new", **FORM | fields)
    assert response.status_code == 400
    assert message in response.text
    assert "nothing was saved" in response.text
    assert _campaigns() == []


def test_a_slug_another_campaign_has_is_refused(admin):
    make_campaign("spring-2025", headline="The first")
    response = _post(admin, "/staff/campaigns/new", **FORM)
    assert response.status_code == 400
    assert "Another campaign has this slug" in response.text
    assert [c.headline for c in _campaigns()] == ["The first"]


def test_a_refused_edit_changes_nothing(admin):
    campaign = make_campaign("spring", headline="Before")
    db.session.commit()
    response = _post(
        admin,
        f"/staff/campaigns/{campaign.id}/edit",
        **FORM | {"slug": "spring", "headline": "After", "ends_on": "2024-01-01"},
    )
    assert response.status_code == 400
    assert [c.headline for c in _campaigns()] == ["Before"]


# --- variants, results and the end of a test -----------------------------------------------


def test_an_admin_adds_variants_with_their_own_copy_and_presets(admin):
    campaign = make_campaign("spring")
    db.session.commit()
    url = f"/staff/campaigns/{campaign.id}/variants/new"
    assert _post(admin, url, headline="", body="").status_code == 302
    response = _post(admin, url, headline="Readers keep us going", presets_once="20, 40")
    assert response.status_code == 302
    db.session.expire_all()
    control, challenger = campaign.variants
    assert (control.key, control.headline, control.presets) == ("a", "", "")
    assert (challenger.key, challenger.headline) == ("b", "Readers keep us going")
    assert parse_presets(challenger.presets) == {Frequency.ONCE: [2000, 4000]}
    refused = _post(
        admin, f"/staff/campaigns/{campaign.id}/variants/{challenger.id}/edit", presets_once="x"
    )
    assert refused.status_code == 400
    assert "Enter an amount" in refused.text


def _test_with_results(campaign_views=(1000, 1000), paid=(90, 120)) -> Campaign:
    campaign = make_campaign("spring")
    for key, views, gifts in zip("ab", campaign_views, paid, strict=True):
        variant = make_variant(campaign, key, views=views, continues=gifts * 2)
        for _ in range(gifts):
            gift = make_gift(
                amount=1000,
                campaign_id=campaign.id,
                variant_id=variant.id,
                paid_at=at("2025-03-02 10:00"),
            )
            make_payment(gift)
    make_gift(campaign_id=campaign.id, status=GiftStatus.ABANDONED)  # no variant, unpaid
    db.session.commit()
    return campaign


def test_the_results_show_each_variants_figures_and_a_verdict(viewer):
    campaign = _test_with_results()
    page = viewer.get(f"/staff/campaigns/{campaign.id}").text
    assert "B converts better, 97% confidence" in page
    assert "1,000" in page and "240" in page  # views; Continue clicks of B
    assert "9.0%" in page and "12.0%" in page
    assert "$0.90" in page and "$1.20" in page  # revenue per view
    assert "End test" not in page and "Deactivate" not in page  # viewers read only


def test_too_few_views_is_not_enough_data_yet(viewer):
    campaign = _test_with_results((80, 1000), (9, 120))
    assert "Not enough data yet" in viewer.get(f"/staff/campaigns/{campaign.id}").text


def test_viewers_cannot_change_campaigns(viewer):
    campaign = make_campaign("spring")
    variant = make_variant(campaign, "a")
    db.session.commit()
    assert viewer.get("/staff/campaigns").status_code == 200
    for url in (
        "/staff/campaigns/new",
        f"/staff/campaigns/{campaign.id}/edit",
        f"/staff/campaigns/{campaign.id}/variants/new",
        f"/staff/campaigns/{campaign.id}/end-test",
    ):
        assert viewer.get(url).status_code == 403
    page = viewer.get(f"/staff/campaigns/{campaign.id}").text
    response = viewer.post(
        f"/staff/campaigns/{campaign.id}/variants/{variant.id}/active",
        data={"csrf_token": csrf_token_from(page), "active": "no"},
    )
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/staff/campaigns")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_deactivating_a_variant_moves_its_readers(admin):
    campaign = _test_with_results()
    control, challenger = campaign.variants
    page = admin.get(f"/staff/campaigns/{campaign.id}").text
    url = f"/staff/campaigns/{campaign.id}/variants/{challenger.id}/active"
    response = admin.post(url, data=form_fields_from(page) | {"active": "no"})
    assert response.status_code == 302
    db.session.expire_all()
    assert challenger.active is False
    for _ in range(10):
        assert services.page_for("spring", None)[0].variant_key == "a"


def test_ending_a_test_makes_the_winner_the_campaigns_copy(admin):
    campaign = _test_with_results()
    _control, challenger = campaign.variants
    challenger.headline = "Readers keep us going"
    challenger.presets = '{"once":[2000,4000]}'
    db.session.commit()
    url = f"/staff/campaigns/{campaign.id}/end-test"
    form = admin.get(url).text
    assert 'checked id="winner-1"' in form  # the verdict's winner, B, is chosen
    review = admin.post(url, data=form_fields_from(form) | {"winner": "b"})
    assert "End the test and make <strong>variant B</strong>" in review.text
    db.session.expire_all()
    assert campaign.test_ended_at is None  # not before the confirmation
    done = admin.post(url, data=form_fields_from(review.text) | {"winner": "b", "confirmed": "yes"})
    assert done.status_code == 302
    db.session.expire_all()
    assert campaign.test_ended_at is not None
    assert campaign.headline == "Readers keep us going"
    assert parse_presets(campaign.presets)[Frequency.ONCE] == [2000, 4000]
    shown, cookie = services.page_for("spring", None)
    assert (shown.variant_id, shown.headline, cookie) == (None, "Readers keep us going", None)
    again = admin.post(
        url, data=form_fields_from(review.text) | {"winner": "a", "confirmed": "yes"}
    )
    assert again.status_code == 302
    assert "already ended" in admin.get(again.headers["Location"]).text
    db.session.expire_all()
    assert campaign.headline == "Readers keep us going"


def test_a_forged_winner_is_refused(admin):
    campaign = _test_with_results()
    url = f"/staff/campaigns/{campaign.id}/end-test"
    response = admin.post(
        url, data=form_fields_from(admin.get(url).text) | {"winner": "zz", "confirmed": "yes"}
    )
    assert response.status_code == 400
    assert "Choose the variant to keep." in response.text
    db.session.expire_all()
    assert campaign.test_ended_at is None


def test_the_list_shows_each_campaigns_state_and_goal(viewer):
    make_campaign("past", starts_at=at("2020-01-01 00:00"), ends_at=at("2020-02-01 00:00"))
    make_campaign("later", starts_at=at("2999-01-01 00:00"))
    running = make_campaign(
        "now", goal_kind=GoalKind.AMOUNT, goal_target=2000000, goal_currency="USD"
    )
    make_payment(make_gift(amount=1234000, campaign_id=running.id))
    db.session.commit()
    page = viewer.get("/staff/campaigns").text
    for text in (
        "past",
        "later",
        "ended",
        "scheduled",
        "running",
        "$12,340 of $20,000",
        "1 reader",
    ):
        assert text in page
    assert db.session.scalar(sa.select(sa.func.count(CampaignVariant.id))) == 0
