"""The staff area's view of recurring donors: the month's failed, recovered, lost and
upsold gifts on the dashboard, the past-due and paused filters, and the gift page's card,
pause, upsell links and dunning timeline.

``NOW`` is 2025-06-15 12:00 UTC for the dashboard; pauses are judged against the real
clock (the filter and the gift page read it), so they end in 2099 or began in 2020.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from donations.db import db
from donations.enums import ActorKind, AuditAction, Collection, Frequency, GiftStatus
from donations.models import AuditLog, Gift
from donations.staff import dashboard, recurring
from donations.staff.queries import GiftFilter, gift_page, gift_totals
from tests.factories import (
    at,
    make_donor,
    make_gift,
    make_outbox_email,
    make_payment,
    make_renewal_failure,
    make_staff,
    sign_in,
)

NOW = at("2025-06-15 12:00")
MONTH_START = at("2025-06-01 00:00")
CURRENCIES = ["USD", "EUR", "GBP"]
MONTHLY = Frequency.MONTHLY


def _monthly(amount, status=GiftStatus.ACTIVE, currency="USD", **fields):
    fields.setdefault("created", "2025-01-10 10:00")
    return make_gift(None, amount, currency=currency, frequency=MONTHLY, status=status, **fields)


@pytest.fixture
def month(app):
    """Renewals failing, won back, lost and upsold, in three currencies, this month and
    the month before; the expected figures are in ``test_month_figures_per_currency``."""
    # USD: a renewal failing twice this month: one invoice
    past_due = _monthly(1000, GiftStatus.PAST_DUE)
    make_renewal_failure(past_due, 1, "2025-06-03 10:00", invoice="in_a", retry="2025-06-06")
    make_renewal_failure(past_due, 2, "2025-06-06 10:00", invoice="in_a", retry="2025-06-10")
    # USD: first failed last month, retried this month, then paid: not a failure of June
    won_back = _monthly(2000)
    make_renewal_failure(won_back, 1, "2025-05-28 10:00", invoice="in_b", retry="2025-06-02")
    make_renewal_failure(won_back, 2, "2025-06-02 10:00", invoice="in_b", retry="2025-06-05")
    make_payment(won_back, 2000, "2025-06-05 10:00", recovered=True)
    make_payment(won_back, 2000, "2025-05-10 10:00", recovered=True)  # May: not this month
    make_payment(won_back, 2000, "2025-04-10 10:00")
    # USD: failed from the first second of the month, ended by Stripe on the 10th
    lapsed = _monthly(1500, GiftStatus.LAPSED, cancelled="2025-06-10 09:00")
    make_renewal_failure(lapsed, 1, "2025-06-01 00:00", invoice="in_c", retry="2025-06-04")
    make_renewal_failure(lapsed, 4, "2025-06-09 10:00", invoice="in_c")
    # USD: lapsed last month, and cancelled by the donor this month: neither is lost in June
    _monthly(700, GiftStatus.LAPSED, cancelled="2025-05-20 10:00")
    _monthly(900, GiftStatus.CANCELLED, cancelled="2025-06-05 10:00")
    # USD upsells: paid this month (counted), never paid, paid last month
    one_time = make_gift(None, 6000, created="2025-06-07 09:00")
    _monthly(500, upsell_of_gift_id=one_time.id, paid_at=at("2025-06-07 09:05"))
    _monthly(400, GiftStatus.PENDING, upsell_of_gift_id=one_time.id)
    _monthly(300, upsell_of_gift_id=one_time.id, paid_at=at("2025-05-10 10:00"))
    # EUR: a first failure on the 12th, a recovered annual renewal, an upsell
    eur_due = _monthly(800, GiftStatus.PAST_DUE, currency="EUR")
    make_renewal_failure(eur_due, 1, "2025-06-12 10:00", retry="2025-06-15 10:00")
    annual = make_gift(None, 6000, currency="EUR", frequency=Frequency.ANNUAL, status="active")
    make_payment(annual, 6000, "2025-06-14 10:00", recovered=True)
    eur_once = make_gift(None, 3000, currency="EUR", created="2025-05-31 10:00")
    _monthly(1000, currency="EUR", upsell_of_gift_id=eur_once.id, paid_at=at("2025-06-01 08:00"))
    # GBP: past due since May
    gbp_due = _monthly(300, GiftStatus.PAST_DUE, currency="GBP")
    make_renewal_failure(gbp_due, 1, "2025-05-31 10:00", invoice="in_g", retry="2025-06-03")
    make_renewal_failure(gbp_due, 2, "2025-06-03 10:00", invoice="in_g", retry="2025-06-20")
    # after NOW: not counted
    make_renewal_failure(eur_due, 1, "2025-06-15 13:00")
    db.session.commit()
    return {"won_back": won_back, "eur_due": eur_due}


def _figures(items):
    return {
        item.currency: {
            name: (getattr(item, name).count, getattr(item, name).amount)
            for name in ("failed", "recovered", "lapsed", "past_due", "upsells")
        }
        for item in items
    }


def test_month_figures_per_currency(month):
    assert _figures(dashboard.figures(NOW).recurring_month) == {
        "EUR": {
            "failed": (1, 800),
            "recovered": (1, 6000),
            "lapsed": (0, 0),
            "past_due": (1, 800),
            "upsells": (1, 1000),
        },
        "GBP": {
            "failed": (0, 0),  # its invoice first failed on 31 May
            "recovered": (0, 0),
            "lapsed": (0, 0),
            "past_due": (1, 300),
            "upsells": (0, 0),
        },
        "USD": {
            "failed": (2, 2500),  # in_a (two attempts, counted once) and in_c
            "recovered": (1, 2000),
            "lapsed": (1, 1500),
            "past_due": (1, 1000),
            "upsells": (1, 500),
        },
    }


def test_a_new_renewal_failure_shows_at_once_despite_the_cache(month):
    before = _figures(dashboard.figures(NOW).recurring_month)
    assert before["EUR"]["failed"] == (1, 800)
    make_renewal_failure(month["eur_due"], 1, "2025-06-14 10:00", amount=850)
    db.session.commit()
    assert _figures(dashboard.figures(NOW).recurring_month)["EUR"]["failed"] == (2, 1650)


def test_a_new_recovered_payment_shows_at_once_despite_the_cache(month):
    assert _figures(dashboard.figures(NOW).recurring_month)["USD"]["recovered"] == (1, 2000)
    make_payment(month["won_back"], 2000, "2025-06-14 11:00", recovered=True)
    db.session.commit()
    assert _figures(dashboard.figures(NOW).recurring_month)["USD"]["recovered"] == (2, 4000)


def test_a_failure_first_seen_at_a_retry_counts_in_the_month_of_that_retry(app):
    gift = _monthly(1200, GiftStatus.PAST_DUE)
    make_renewal_failure(gift, 2, "2025-06-08 10:00", invoice="in_late")
    make_renewal_failure(gift, 3, "2025-06-11 10:00", invoice="in_late")
    db.session.commit()
    usd = _figures(recurring.month_figures(MONTH_START, NOW))["USD"]
    assert usd["failed"] == (1, 1200)


def test_a_gift_lapsed_this_month_counts_in_churn_like_a_cancelled_one(app):
    _monthly(1000, created="2025-03-01 10:00")
    _monthly(1000, GiftStatus.LAPSED, created="2025-03-01 10:00", cancelled="2025-06-10 10:00")
    _monthly(1000, GiftStatus.LAPSED, created="2025-06-02 10:00", cancelled="2025-06-12 10:00")
    db.session.commit()
    data = dashboard.figures(NOW)
    assert data.new_recurring == 1  # started on 2 June, lapsed since
    assert data.cancelled_recurring == 2
    assert data.active_at_month_start == 2  # the running gift and the one lapsed on 10 June


def test_dashboard_page_shows_the_recurring_month(month, client, monkeypatch):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    monkeypatch.setattr("donations.staff.views.utcnow", lambda: NOW)
    page = client.get("/staff/").text
    section = page[page.index("Recurring gifts this month") :]
    usd = section[section.index(">USD<") : section.index("</tr>", section.index(">USD<"))]
    cells = re.findall(r'"><span>([^<]+)<span class="sub">([^<]+)</span>', usd)
    assert cells == [
        ("$25.00", "2 renewals"),
        ("$20.00", "1 payment"),
        ("$15.00", "1 gift"),
        ("$10.00", "1 gift"),
        ("$5.00", "1 gift"),
    ]


def test_empty_dashboard_says_nothing_failed(app, client):
    make_staff()
    sign_in(client)
    page = client.get("/staff/").text
    assert "No renewal has failed, been won back or been upsold this month." in page


# --- the contributions list ---------------------------------------------------------------


@pytest.fixture
def collecting(app):
    """60 paused gifts, 55 past-due ones (5 of them also paused), and gifts that are
    neither: a pause that ended, a cancelled gift with a pause set, active and lapsed."""
    ahead, gone = at("2099-07-01 00:00"), at("2020-01-01 00:00")
    start = at("2025-01-01 08:00")
    made = []
    for n in range(120):
        created = start + timedelta(hours=n)
        if n < 60:
            status, paused = GiftStatus.ACTIVE, ahead
        elif n < 115:
            status, paused = GiftStatus.PAST_DUE, ahead if n < 65 else None
        else:
            status, paused = (
                (GiftStatus.ACTIVE, gone),
                (GiftStatus.CANCELLED, ahead),
                (GiftStatus.ACTIVE, None),
                (GiftStatus.LAPSED, None),
                (GiftStatus.PAID, None),
            )[n - 115]
        gift = make_gift(
            None,
            500 + (n * 37) % 900,
            currency=CURRENCIES[n % 3],
            frequency=Frequency.ONCE if status == GiftStatus.PAID else MONTHLY,
            status=status,
            created=created,
            paused_until=paused,
        )
        made.append(gift)
    db.session.commit()
    return made


def _all_pages(spec: GiftFilter) -> list[int]:
    ids, cursor = [], None
    while True:
        page = gift_page(spec, CURRENCIES, cursor)
        ids += [row["id"] for row in page.rows]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _newest_first(gifts, keep) -> list[int]:
    return [
        g.id for g in sorted(gifts, key=lambda g: (g.created_at, g.id), reverse=True) if keep(g)
    ]


def test_the_past_due_filter_pages_through_exactly_the_past_due_gifts(collecting):
    ids = _all_pages(GiftFilter(collection=Collection.PAST_DUE))
    assert ids == _newest_first(collecting, lambda g: g.status == GiftStatus.PAST_DUE)
    assert len(ids) == 55


@pytest.mark.parametrize("sort", ["date_desc", "amount_asc"])
def test_the_paused_filter_pages_through_running_gifts_paused_until_later(collecting, sort):
    ids = _all_pages(GiftFilter(collection=Collection.PAUSED, sort=sort))
    assert sorted(ids) == sorted(g.id for g in collecting[:65])
    assert len(ids) == len(set(ids)) == 65


def test_paused_and_currency_filters_combine_and_total(collecting):
    spec = GiftFilter(collection=Collection.PAUSED, currency="EUR")
    expected = [g for g in collecting[:65] if g.currency == "EUR"]
    assert sorted(_all_pages(spec)) == sorted(g.id for g in expected)
    totals = gift_totals(spec, CURRENCIES)
    # counted, but no money: none of these gifts has a payment recorded
    assert [(t.currency, t.gifts, t.money.received) for t in totals] == [("EUR", len(expected), 0)]


def test_the_list_page_filters_and_badges_paused_and_lapsed_gifts(collecting, client):
    make_staff(role="viewer", email="v@example.org")
    sign_in(client, "v@example.org")
    paused = client.get("/staff/gifts?collection=paused&currency=GBP")
    assert paused.status_code == 200
    assert paused.text.count('class="badge badge-paused">paused<') == 21  # GBP of 65
    lapsed = client.get("/staff/gifts?status=lapsed").text
    assert '<span class="badge badge-lapsed">ended for non-payment</span>' in lapsed
    assert "1</strong> EUR gift" in lapsed
    form = client.get("/staff/gifts").text
    assert '<option value="lapsed">ended for non-payment</option>' in form
    assert '<option value="past_due">Past due (Stripe retrying)</option>' in form
    assert client.get("/staff/gifts?collection=sleeping").status_code == 400


def test_the_next_page_link_keeps_the_collection_filter(collecting, client):
    make_staff()
    sign_in(client)
    first = client.get("/staff/gifts?collection=paused").text
    link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "collection=paused" in link
    second = client.get(link).text
    assert second.count("badge-paused") == 15  # 65 paused gifts: 50, then 15


# --- the gift page --------------------------------------------------------------------------


@pytest.fixture
def story(app):
    """A monthly gift started from a one-time gift's offer, that failed three times, was
    emailed, and ended for non-payment; and one that failed once and was won back."""
    donor = make_donor("dana@example.org", "Dana")
    one_time = make_gift(donor, 9000, created="2025-03-01 09:00")
    lost = make_gift(
        donor,
        1500,
        frequency=MONTHLY,
        status=GiftStatus.LAPSED,
        created="2025-03-01 09:05",
        cancelled="2025-06-20 10:00",
        paid_at=at("2025-03-01 09:05"),
        upsell_of_gift_id=one_time.id,
        card_brand="visa",
        card_last4="4242",
        card_exp_month=4,
        card_exp_year=2027,
    )
    # created out of order on purpose: the timeline sorts by time
    make_outbox_email(lost, "support_stopped", "2025-06-20 10:00", sent="2025-06-20 10:02")
    make_renewal_failure(lost, 3, "2025-06-13 10:00", invoice="in_lost")
    make_renewal_failure(lost, 1, "2025-06-01 10:00", invoice="in_lost", retry="2025-06-06")
    make_outbox_email(lost, "renewal_failed", "2025-06-01 10:00", sent="2025-06-01 10:01")
    make_renewal_failure(lost, 2, "2025-06-06 10:00", invoice="in_lost", retry="2025-06-13")
    make_outbox_email(lost, "renewal_failed_again", "2025-06-06 10:00")
    make_outbox_email(lost, "card_expiring", "2025-05-20 09:00", sent="2025-05-20 09:01")
    make_outbox_email(lost, "receipt", "2025-05-01 10:00", sent="2025-05-01 10:01")
    db.session.add(
        AuditLog(
            actor_kind=ActorKind.STRIPE,
            action=AuditAction.LAPSE,
            gift_id=lost.id,
            created_at=at("2025-06-20 10:00"),
        )
    )
    won = make_gift(
        donor,
        2000,
        frequency=MONTHLY,
        status=GiftStatus.ACTIVE,
        created="2025-02-01 10:00",
        paused_until=at("2099-07-01 00:00"),
    )
    make_renewal_failure(won, 1, "2025-06-02 10:00", invoice="in_won", retry="2025-06-05")
    make_outbox_email(won, "renewal_failed", "2025-06-02 10:00", sent="2025-06-02 10:01")
    paid = make_payment(won, 2000, "2025-06-05 10:00", recovered=True)
    receipt = f"receipt:{paid.stripe_id}"
    make_outbox_email(
        won, "receipt", "2025-06-05 10:00", sent="2025-06-05 10:03", dedupe_key=receipt
    )
    db.session.commit()
    return {"one_time": one_time, "lost": lost, "won": won, "paid": paid}


def _read(client, gift: Gift) -> str:
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    response = client.get(f"/staff/gifts/{gift.id}")
    assert response.status_code == 200
    return response.text


def _in_order(page: str, *texts: str) -> bool:
    positions = [page.index(text) for text in texts]
    return positions == sorted(positions)


def test_the_timeline_tells_the_lapsed_gift_story_in_time_order(story):
    steps = recurring.dunning_timeline(story["lost"])
    assert [(step.kind, step.email.template if step.email else None) for step in steps] == [
        ("email", "card_expiring"),
        ("failure", None),
        ("email", "renewal_failed"),
        ("failure", None),
        ("email", "renewal_failed_again"),
        ("failure", None),
        ("lapse", None),
        ("email", "support_stopped"),
    ]
    assert [step.failure.attempt for step in steps if step.failure] == [1, 2, 3]


def test_the_gift_page_shows_failures_emails_and_the_end_for_non_payment(story, client):
    page = _read(client, story["lost"])
    timeline = page[page.index("Failed renewals and dunning") : page.index("Actions taken")]
    assert _in_order(
        timeline,
        "“Card expiring” email",
        "attempt 1 · $15.00 due",
        "Stripe retries on Jun 6, 2025",
        "“Renewal failed” email",
        "attempt 2 · $15.00 due",
        "Stripe retries on Jun 13, 2025",
        "“Renewal failed again” email",
        "waiting to be sent",
        "attempt 3 · $15.00 due",
        "No more retries",
        "Ended for non-payment",
        "“Support stopped” email (Stripe gave up)",
    )
    assert "Jun 1, 2025 · 10:01 UTC" in timeline  # when the first email was sent
    assert "Receipt" not in timeline  # receipts of ordinary renewals are not dunning
    assert '<span class="badge badge-lapsed">ended for non-payment</span>' in page
    assert "Ended for non-payment</dt>" in page


def test_the_gift_page_shows_the_recovery_and_its_receipt(story, client):
    page = _read(client, story["won"])
    timeline = page[page.index("Failed renewals and dunning") : page.index("Actions taken")]
    assert _in_order(
        timeline,
        "attempt 1 · $20.00 due",
        "“Renewal failed” email",
        "Recovered</strong> · $20.00 paid after failing",
        "Receipt for the recovered payment",
    )


def test_the_gift_page_shows_the_card_on_file_or_its_absence(story, client):
    assert "Visa •••• 4242, expires 04/2027" in _read(client, story["lost"])
    assert "No card on file" in client.get(f"/staff/gifts/{story['won'].id}").text


def test_the_gift_page_shows_a_pause_only_while_it_lasts(story, client):
    page = _read(client, story["won"])
    assert "Paused until</dt><dd" in page and "Jul 1, 2099" in page
    assert 'class="badge badge-paused">paused<' in page
    story["won"].paused_until = at("2020-01-01 00:00")
    db.session.commit()
    assert "Paused until" not in client.get(f"/staff/gifts/{story['won'].id}").text


def test_the_upsell_is_linked_both_ways(story, client):
    lost, one_time = story["lost"], story["one_time"]
    page = _read(client, lost)
    assert f'href="/staff/gifts/{one_time.id}">gift #{one_time.id}</a>' in page
    offer = client.get(f"/staff/gifts/{one_time.id}").text
    assert f'href="/staff/gifts/{lost.id}">Gift #{lost.id}</a>' in offer
    assert "was started from this gift’s thank-you page offer" in offer


def test_stripe_ending_the_gift_is_audited_as_stripe(story, client):
    page = _read(client, story["lost"])
    actions = page[page.index("Actions taken") :]
    assert 'data-label="Who">Stripe</td>' in actions
    assert 'data-label="Action">ended for non-payment</td>' in actions


def test_a_one_time_gift_has_no_dunning_section(story, client):
    assert "Failed renewals and dunning" not in _read(client, story["one_time"])


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        (
            {
                "card_brand": "amex",
                "card_last4": "0005",
                "card_exp_month": 12,
                "card_exp_year": 2030,
            },
            "American Express •••• 0005, expires 12/2030",
        ),
        ({"card_brand": "cartes_bancaires", "card_last4": "1234"}, "Cartes bancaires •••• 1234"),
        (
            {"card_brand": None, "card_last4": "9999", "card_exp_month": 1, "card_exp_year": 2026},
            "Card •••• 9999, expires 01/2026",
        ),
        ({}, "No card on file"),
    ],
)
def test_card_labels(app, fields, label):
    assert recurring.card_label(Gift(**fields)) == label
