"""Dashboard figures against a dataset small enough to compute by hand.

``now`` is 2025-06-15 12:00 UTC. USD and EUR gifts, one-time and recurring, a partial
and a full refund, one cancellation this month and one last month, a pending gift.
The expected figures are worked out in the comments beside each assertion.
"""

from __future__ import annotations

import pytest

from donations.db import db
from donations.models import Reminder
from donations.staff import dashboard
from tests.factories import (
    at,
    make_donor,
    make_gift,
    make_payment,
    make_staff,
    sign_in,
)

NOW = at("2025-06-15 12:00")


@pytest.fixture
def dataset(app):
    a = make_donor("a@example.org", "Ada")
    b = make_donor("b@example.org", "Bo")
    c = make_donor("c@example.org")
    d = make_donor("d@example.org")
    g1 = make_gift(a, 5000, created="2025-06-15 09:00")
    make_payment(g1, 5000, "2025-06-15 09:00")
    g2 = make_gift(a, 1000, frequency="monthly", status="active", created="2025-01-10 10:00")
    for month in range(1, 7):
        make_payment(g2, 1000, f"2025-{month:02d}-10 10:00")
    g3 = make_gift(b, 12000, frequency="annual", status="active", created="2024-09-01 10:00")
    make_payment(g3, 12000, "2024-09-01 10:00")
    g4 = make_gift(c, 3000, created="2025-06-01 08:00")
    charge = make_payment(g4, 3000, "2025-06-01 08:00")
    make_payment(g4, -1000, "2025-06-12 10:00", refund_of=charge)
    g5 = make_gift(
        c,
        500,
        frequency="monthly",
        status="cancelled",
        created="2025-03-01 10:00",
        cancelled="2025-06-05 10:00",
    )
    for month in range(3, 7):
        make_payment(g5, 500, f"2025-{month:02d}-01 10:00")
    g6 = make_gift(c, 700, frequency="monthly", status="past_due", created="2025-05-20 10:00")
    make_payment(g6, 700, "2025-05-20 10:00")
    make_gift(d, 999, status="pending", created="2025-06-14 10:00")
    g8 = make_gift(
        b, 6000, currency="EUR", frequency="annual", status="active", created="2025-06-02 10:00"
    )
    make_payment(g8, 6000, "2025-06-02 10:00")
    g9 = make_gift(
        d,
        800,
        currency="EUR",
        frequency="monthly",
        status="cancelled",
        created="2025-02-01 10:00",
        cancelled="2025-05-20 10:00",
    )
    for month in range(2, 6):
        make_payment(g9, 800, f"2025-{month:02d}-01 10:00")
    g10 = make_gift(d, 2500, currency="EUR", status="refunded", created="2024-12-20 10:00")
    paid = make_payment(g10, 2500, "2024-12-20 10:00")
    make_payment(g10, -2500, "2025-01-05 10:00", refund_of=paid)
    for number, status in enumerate(["scheduled", "scheduled", "sent", "converted", "cancelled"]):
        db.session.add(
            Reminder(
                email=f"r{number}@example.org",
                due_at=at("2025-07-01 09:00"),
                due_month=f"2025-{number + 1:02d}",
                status=status,
                token=f"tok{number}",
                next_attempt_at=at("2025-07-01 09:00"),
            )
        )
    db.session.commit()
    return {"g1": g1, "g4": g4, "g8": g8}


def _periods(item):
    return {name: (total.net, total.charges) for name, total in item.periods.items()}


def test_period_totals_are_net_of_refunds_per_currency(dataset):
    result = dashboard.payment_totals(NOW)
    assert sorted(result) == ["EUR", "USD"]
    assert _periods(result["USD"]) == {
        "today": (5000, 1),  # g1
        "7d": (5000, 2),  # g1 5000 + g2 renewal 1000 − g4 refund 1000
        "30d": (9200, 5),  # + g6 700 + g4 3000 + g5 500
        "month": (8500, 4),  # g1 5000 + g2 1000 + g4 3000 − 1000 + g5 500
        "year": (15700, 13),  # month + Jan 1000 + Feb 1000 + Mar 1500 + Apr 1500 + May 2200
    }
    assert _periods(result["EUR"]) == {
        "today": (0, 0),
        "7d": (0, 0),
        "30d": (6000, 1),  # g8
        "month": (6000, 1),
        "year": (6700, 5),  # 6000 − 2500 (Jan refund of a December gift) + 4 × 800
    }


def test_chart_has_twelve_months_ending_with_this_one(dataset):
    result = dashboard.payment_totals(NOW)
    usd = [(start.strftime("%Y-%m"), total.net) for start, total in result["USD"].months]
    assert usd == [
        ("2024-07", 0),
        ("2024-08", 0),
        ("2024-09", 12000),
        ("2024-10", 0),
        ("2024-11", 0),
        ("2024-12", 0),
        ("2025-01", 1000),
        ("2025-02", 1000),
        ("2025-03", 1500),
        ("2025-04", 1500),
        ("2025-05", 2200),
        ("2025-06", 8500),
    ]
    eur = [total.net for _, total in result["EUR"].months]
    assert eur == [0, 0, 0, 0, 0, 2500, -2500, 800, 800, 800, 800, 6000]


def test_mrr_arr_and_active_recurring_donors(dataset):
    data = dashboard.figures(NOW)
    by_currency = {item.currency: item for item in data.currencies}
    # USD running: monthly 1000 (active) + 700 (past due), annual 12000 → 1700 + 1000
    assert (by_currency["USD"].mrr, by_currency["USD"].arr) == (2700, 32400)
    assert by_currency["USD"].recurring_gifts == 3
    # EUR running: annual 6000 → 500 a month; the cancelled monthly gift does not count
    assert (by_currency["EUR"].mrr, by_currency["EUR"].arr) == (500, 6000)
    # Ada (g2), Bo (g3 and g8: counted once), c (g6)
    assert data.active_recurring_donors == 3


def test_churn_counts_new_and_cancelled_recurring_gifts_this_month(dataset):
    data = dashboard.figures(NOW)
    assert data.new_recurring == 1  # g8, started 2 June
    assert data.cancelled_recurring == 1  # g5 on 5 June; g9 ended in May
    assert data.active_at_month_start == 4  # g2, g3, g5, g6
    assert data.churn_rate == 0.25


def test_recent_gifts_skip_unpaid_checkouts(dataset):
    recent = [gift.id for gift, _, _ in dashboard.figures(NOW).recent_gifts]
    assert recent[:3] == [dataset["g1"].id, dataset["g8"].id, dataset["g4"].id]
    assert len(recent) == 9  # every gift but the pending one


def test_reminder_figures_and_conversion_rate(dataset):
    reminders = dashboard.figures(NOW).reminders
    assert (reminders["scheduled"], reminders["sent"], reminders["converted"]) == (2, 1, 1)
    assert reminders["cancelled"] == 1
    assert reminders["conversion_rate"] == 0.5  # converted / (sent + converted)


def test_a_late_refund_in_an_old_month_is_not_hidden_by_the_cache(dataset):
    before = dashboard.payment_totals(NOW)["USD"]
    assert before.months[8][1].net == 1500  # March
    make_payment(dataset["g4"], -200, "2025-03-20 10:00", refund_of=None)
    db.session.commit()
    after = dashboard.payment_totals(NOW)["USD"]
    assert after.months[8][1].net == 1300
    assert after.periods["year"].net == 15500


def test_payments_after_now_are_not_counted(dataset):
    make_payment(dataset["g1"], 100, "2025-06-15 12:30")
    db.session.commit()
    assert dashboard.payment_totals(NOW)["USD"].periods["today"].net == 5000


def test_dashboard_page_shows_mrr_churn_and_an_svg_chart(dataset, client):
    make_staff(role="viewer", email="viewer@example.org")
    sign_in(client, "viewer@example.org")
    page = client.get("/staff/").text
    assert "$27.00" in page and "$324.00" in page  # MRR and ARR, whenever it is viewed
    assert "€5.00" in page
    assert "<svg" in page and "<rect" in page
    assert "cdn" not in page.lower()
    assert "50.0%" in page  # reminder conversion


def test_empty_dashboard_renders(app, client):
    make_staff()
    sign_in(client)
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "No payments yet." in page.text


def test_cancelling_a_gift_updates_mrr_and_churn_at_once(dataset):
    assert dashboard.figures(NOW).cancelled_recurring == 1
    g8 = dataset["g8"]
    g8.status = "cancelled"
    g8.cancelled_at = at("2025-06-10 10:00")
    db.session.commit()
    data = dashboard.figures(NOW)
    assert data.cancelled_recurring == 2
    assert {item.currency: item.mrr for item in data.currencies}["EUR"] == 0
