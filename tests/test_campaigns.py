"""Campaigns as readers meet them: the page for a slug and its dates, the A/B variant a
reader keeps (a signed cookie), attribution of a gift, goal progress read from the
ledger, and view counting that lags but never doubles."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from donations import create_app
from donations.campaigns import services
from donations.db import commit_or_rollback, db
from donations.enums import Frequency, GiftStatus, GoalKind, PaymentKind
from donations.models import CampaignVariant, Payment
from tests.factories import at, make_donor, make_gift, make_payment
from tests.helpers_campaigns import make_campaign, make_variant

NOW = at("2025-03-01 12:00")


def page(slug, cookie=None, now=NOW):
    return services.page_for(slug, cookie, now=now)


# --- the page for a slug -------------------------------------------------------------------


def test_no_slug_or_an_unknown_one_gives_no_campaign(app):
    make_campaign("spring")
    assert page(None) == (None, None)
    assert page("") == (None, None)
    assert page("autumn") == (None, None)
    assert page("x" * 500) == (None, None)
    assert page("Spring") == (None, None)
    assert page("spring\n") == (None, None)


def test_a_running_campaign_gives_its_copy_presets_and_currencies(app):
    campaign = make_campaign(
        "spring",
        currencies="EUR,GBP,JPY",
        default_frequency=Frequency.MONTHLY,
        default_amount=3000,
    )
    shown, cookie = page("spring")
    assert cookie is None
    assert shown.campaign_id == campaign.id
    assert (shown.variant_id, shown.variant_key) == (None, None)
    assert shown.headline == "Keep local news free"
    assert shown.body == "Our reporters answer to readers."
    assert shown.presets[Frequency.ONCE] == [1500, 3000, 6000]
    assert shown.presets[Frequency.MONTHLY] == [200, 500, 1000, 2000]  # the site's own
    assert shown.default_frequency is Frequency.MONTHLY
    assert shown.default_amount == 3000
    assert shown.currencies == ["EUR", "GBP"]  # JPY is not a currency the site takes
    assert shown.goal is None


def test_a_campaign_runs_from_its_start_until_its_end(app):
    make_campaign("spring", starts_at=at("2025-02-01 00:00"), ends_at=at("2025-04-01 00:00"))
    assert page("spring", now=at("2025-01-31 23:59"))[0] is None
    assert page("spring", now=at("2025-02-01 00:00"))[0] is not None
    assert page("spring", now=at("2025-03-31 23:59"))[0] is not None
    assert page("spring", now=at("2025-04-01 00:00"))[0] is None


def test_a_campaign_without_dates_always_runs(app):
    make_campaign("always", starts_at=None)
    assert page("always", now=at("2001-01-01 00:00"))[0].slug == "always"


# --- A/B variants ---------------------------------------------------------------------------


@pytest.fixture
def ab_test(app):
    campaign = make_campaign("spring")
    control = make_variant(campaign, "a")
    challenger = make_variant(
        campaign, "b", headline="Readers keep us going", presets='{"once":[2000,4000]}'
    )
    return campaign, control, challenger


def test_a_new_reader_gets_a_variant_and_a_cookie_that_keeps_it(ab_test):
    _campaign, control, challenger = ab_test
    shown, cookie = page("spring")
    assert shown.variant_id in (control.id, challenger.id)
    assert cookie
    for _ in range(5):
        again, new_cookie = page("spring", cookie)
        assert again.variant_id == shown.variant_id
        assert new_cookie is None


def test_a_variant_shows_its_own_copy_and_presets_else_the_campaigns(ab_test):
    _campaign, control, challenger = ab_test
    shown = {}
    for _ in range(60):
        variant_page, _cookie = page("spring")
        shown[variant_page.variant_key] = variant_page
    assert set(shown) == {"a", "b"}  # both are given (60 coin flips)
    assert shown["a"].headline == "Keep local news free"
    assert shown["a"].presets[Frequency.ONCE] == [1500, 3000, 6000]
    assert shown["b"].headline == "Readers keep us going"
    assert shown["b"].body == "Our reporters answer to readers."
    assert shown["b"].presets[Frequency.ONCE] == [2000, 4000]
    assert shown["b"].presets[Frequency.ANNUAL] == [2500, 5000, 10000, 25000]


def test_a_forged_variant_in_the_cookie_is_ignored_and_reassigned(ab_test):
    campaign, control, challenger = ab_test
    shown, cookie = page("spring")
    other = "b" if shown.variant_key == "a" else "a"
    text, _, signature = cookie.rpartition(".")
    forged = f"{campaign.id}-{other}.{signature}"
    reassigned, new_cookie = page("spring", forged)
    assert new_cookie and new_cookie != forged
    assert page("spring", new_cookie) == (reassigned, None)
    for junk in ("", "garbage", f"{campaign.id}-b", f"{campaign.id}-b.", "." * 600):
        assert page("spring", junk)[1] is not None


def test_a_reader_of_a_deactivated_variant_is_moved_to_an_active_one(ab_test):
    _campaign, control, challenger = ab_test
    cookie = None
    while True:
        shown, cookie = page("spring")
        if shown.variant_key == "b":
            break
    challenger.active = False
    db.session.flush()
    services.forget("spring")
    moved, new_cookie = page("spring", cookie)
    assert moved.variant_id == control.id
    assert new_cookie


def test_one_cookie_keeps_the_variants_of_several_campaigns(ab_test):
    autumn = make_campaign("autumn")
    make_variant(autumn, "a")
    make_variant(autumn, "b")
    spring_page, cookie = page("spring")
    autumn_page, cookie = page("autumn", cookie)
    assert page("spring", cookie) == (spring_page, None)
    assert page("autumn", cookie) == (autumn_page, None)


def test_after_the_test_ends_every_reader_sees_the_campaigns_copy(ab_test):
    campaign, _control, _challenger = ab_test
    _shown, cookie = page("spring")
    campaign.test_ended_at = NOW
    db.session.flush()
    services.forget("spring")
    shown, new_cookie = page("spring", cookie)
    assert (shown.variant_id, new_cookie) == (None, None)


def test_attribution_names_the_campaign_and_a_genuine_variant(ab_test):
    campaign, _control, _challenger = ab_test
    shown, cookie = page("spring")
    when = {"now": NOW}
    assert services.attribution("spring", cookie, **when) == (campaign.id, shown.variant_id)
    text, _, signature = cookie.rpartition(".")
    assert services.attribution("spring", f"{text}.{'A' * len(signature)}", **when) == (
        campaign.id,
        None,
    )
    assert services.attribution("spring", None, **when) == (campaign.id, None)
    assert services.attribution("autumn", cookie, **when) == (None, None)
    assert services.attribution(None, cookie, **when) == (None, None)


def test_a_campaign_edited_by_staff_is_seen_after_forget_or_the_cache_time(app):
    campaign = make_campaign("spring")
    assert page("spring")[0].headline == "Keep local news free"
    campaign.headline = "New words"
    db.session.flush()
    assert page("spring")[0].headline == "Keep local news free"  # cached
    services.forget("spring")
    assert page("spring")[0].headline == "New words"
    app.config["CAMPAIGN_GOAL_CACHE_SECONDS"] = 0
    campaign.headline = "Newer words"
    db.session.flush()
    assert page("spring")[0].headline == "Newer words"


# --- goal progress from the ledger ------------------------------------------------------


def _dispute(gift, charge, amount):
    db.session.add(
        Payment(
            gift=gift,
            kind=PaymentKind.DISPUTE,
            amount=-amount,
            currency=gift.currency,
            stripe_id=f"du_{charge.id}",
            created_at=charge.created_at,
        )
    )
    db.session.flush()


def test_an_amount_goal_counts_charges_less_refunds_and_disputes_in_its_currency(app):
    campaign = make_campaign(
        "spring", goal_kind=GoalKind.AMOUNT, goal_target=20000_00, goal_currency="EUR"
    )
    ada, bea, cy = make_donor(), make_donor(), make_donor()
    kept = make_gift(ada, 10000_00, currency="EUR", campaign_id=campaign.id)
    make_payment(kept)
    monthly = make_gift(
        bea,
        1000,
        currency="EUR",
        frequency=Frequency.MONTHLY,
        status=GiftStatus.ACTIVE,
        campaign_id=campaign.id,
    )
    make_payment(monthly)
    make_payment(monthly, when="2025-02-01 12:00")
    refunded = make_gift(cy, 5000, currency="EUR", campaign_id=campaign.id)
    make_payment(refunded, -5000, refund_of=make_payment(refunded))
    disputed = make_gift(cy, 3000, currency="EUR", campaign_id=campaign.id)
    _dispute(disputed, make_payment(disputed), 1000)
    make_payment(make_gift(ada, 99900, currency="USD", campaign_id=campaign.id))  # not EUR
    make_payment(make_gift(ada, 77700, currency="EUR"))  # no campaign

    goal = page("spring")[0].goal
    assert goal.kind is GoalKind.AMOUNT
    assert goal.currency == "EUR"
    assert goal.raised == 10000_00 + 2 * 1000 + 0 + 2000
    assert goal.target == 20000_00
    assert goal.percent == 50
    assert goal.readers == 3  # ada, bea and cy (whose disputed gift kept 20 EUR)


def test_a_donors_goal_counts_new_recurring_donors_still_giving(app):
    campaign = make_campaign("spring", goal_kind=GoalKind.DONORS, goal_target=4)
    ada, bea = make_donor(), make_donor()
    for donor, status in ((ada, GiftStatus.ACTIVE), (ada, GiftStatus.PAST_DUE)):
        make_payment(
            make_gift(donor, frequency=Frequency.MONTHLY, status=status, campaign_id=campaign.id)
        )
    make_gift(bea, frequency=Frequency.ANNUAL, status=GiftStatus.CANCELLED, campaign_id=campaign.id)
    make_gift(bea, frequency=Frequency.ONCE, status=GiftStatus.PAID, campaign_id=campaign.id)
    make_gift(make_donor(), frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    goal = page("spring")[0].goal
    assert (goal.kind, goal.raised, goal.target, goal.currency) == (GoalKind.DONORS, 1, 4, None)
    assert goal.percent == 25


def test_goal_progress_is_capped_at_a_hundred_percent_and_cached_briefly(app):
    campaign = make_campaign(
        "spring", goal_kind=GoalKind.AMOUNT, goal_target=1000, goal_currency="USD"
    )
    make_payment(make_gift(amount=500, campaign_id=campaign.id))
    assert page("spring")[0].goal.percent == 50
    make_payment(make_gift(amount=5000, campaign_id=campaign.id))
    assert page("spring")[0].goal.raised == 500  # cached
    services.forget("spring")
    goal = page("spring")[0].goal
    assert (goal.raised, goal.percent, goal.readers) == (5500, 100, 2)


# --- counting views and Continue clicks -------------------------------------------------


def _counters(variant_id: int) -> tuple[int, int]:
    db.session.rollback()
    row = db.session.execute(
        sa.select(CampaignVariant.views, CampaignVariant.continues).where(
            CampaignVariant.id == variant_id
        )
    ).one()
    return tuple(row)


@pytest.fixture
def committed_test(app):
    with commit_or_rollback():
        campaign = make_campaign("spring")
        variants = [make_variant(campaign, "a"), make_variant(campaign, "b")]
    return campaign, variants


@pytest.mark.committing
def test_counts_wait_for_their_batch_and_a_flush_adds_them_once(app, committed_test):
    app.config["AB_FLUSH_SECONDS"] = 3600
    campaign, (control, _challenger) = committed_test
    shown = services.page_for("spring", services._write_cookie({campaign.id: "a"}))[0]
    for _ in range(7):
        services.count_view(shown)
    services.count_continue(campaign.id, control.id)
    services.count_continue(campaign.id, None)
    services.count_continue(None, None)
    assert _counters(control.id) == (0, 0)
    services.flush_counts()
    assert _counters(control.id) == (7, 1)
    services.flush_counts()
    assert _counters(control.id) == (7, 1)


@pytest.mark.committing
def test_counts_from_many_threads_and_processes_add_up_exactly(app, app_config, committed_test):
    """Four "processes" (apps, each with its own batch) of three threads each count at
    once, flushing whenever due; every view lands exactly once."""
    campaign, (control, challenger) = committed_test
    apps = [create_app(app_config | {"AB_FLUSH_SECONDS": 0.002}) for _ in range(4)]
    cookies = {key: services._write_cookie({campaign.id: key}) for key in ("a", "b")}
    per_thread = 150
    start = threading.Barrier(12)
    failures = []

    def reader(process_app, key):
        with process_app.app_context():
            try:
                start.wait()
                shown = services.page_for("spring", cookies[key])[0]
                for number in range(per_thread):
                    services.count_view(shown)
                    if number % 10 == 0:
                        services.count_continue(campaign.id, shown.variant_id)
            except Exception as error:  # reported below: a thread's failure fails the test
                failures.append(error)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=reader, args=(process_app, key))
        for process_app in apps
        for key in ("a", "b", "a")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process_app in apps:
        with process_app.app_context():
            services.flush_counts()
            db.engine.dispose()
    assert failures == []
    assert _counters(control.id) == (8 * per_thread, 8 * 15)
    assert _counters(challenger.id) == (4 * per_thread, 4 * 15)
