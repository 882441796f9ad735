"""Contributions list filters, keyset pages, totals, donors, and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.staff.queries import GiftFilter, decode_cursor, gift_page, gift_totals
from tests.factories import at, make_donor, make_gift, make_payment, make_staff, sign_in

CURRENCIES = ["USD", "EUR", "GBP"]
FREQUENCIES = ["once", "monthly", "annual"]
STATUSES = ["paid", "active", "cancelled", "pending"]


@pytest.fixture
def gifts(app):
    """130 gifts: varied currency, frequency, status and amount, two per day, some ties."""
    donors = [make_donor(f"reader{n}@example.org", f"Reader {n}") for n in range(10)]
    donors.append(make_donor("zoe@example.org", "Zoë Quinn"))
    start = at("2025-01-01 08:00")
    made = []
    for n in range(130):
        gift = make_gift(
            donors[n % 11],
            amount=500 + (n * 37) % 2000,
            currency=CURRENCIES[n % 3],
            frequency=FREQUENCIES[n % 3 if n % 2 else 0],
            status=STATUSES[n % 4],
            created=(start + timedelta(hours=12 * (n // 2))).isoformat(sep=" ")[:16],
        )
        if gift.status != "pending":
            make_payment(gift, gift.amount, (start + timedelta(days=n)).isoformat(sep=" ")[:16])
        made.append(gift)
    db.session.commit()
    return made


def _all_pages(spec: GiftFilter) -> list[int]:
    ids, cursor = [], None
    while True:
        page = gift_page(spec, CURRENCIES, cursor)
        ids += [row["id"] for row in page.rows]
        assert len(page.rows) <= 50
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _expected(gifts, keep, sort="date_desc"):
    chosen = [g for g in gifts if keep(g)]
    key = (
        (lambda g: (g.amount, g.id))
        if sort.startswith("amount")
        else (lambda g: (g.created_at, g.id))
    )
    return [g.id for g in sorted(chosen, key=key, reverse=sort.endswith("desc"))]


@pytest.mark.parametrize("sort", ["date_desc", "date_asc", "amount_desc", "amount_asc"])
def test_keyset_pages_return_every_gift_once_in_order(gifts, sort):
    ids = _all_pages(GiftFilter(sort=sort))
    assert ids == _expected(gifts, lambda g: True, sort)
    assert len(ids) == 130


def test_pages_are_fifty_long_with_an_opaque_cursor(gifts):
    first = gift_page(GiftFilter(), CURRENCIES)
    assert len(first.rows) == 50
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first.next_cursor)


def test_a_tampered_cursor_restarts_the_list(gifts):
    assert decode_cursor("not-a-cursor!!", as_datetime=True) is None
    page = gift_page(GiftFilter(), CURRENCIES, "bm90IGpzb24")
    assert page.rows[0]["id"] == gift_page(GiftFilter(), CURRENCIES).rows[0]["id"]


@pytest.mark.parametrize(
    ("spec", "keep"),
    [
        (GiftFilter(currency="EUR"), lambda g: g.currency == "EUR"),
        (GiftFilter(frequency=Frequency.MONTHLY), lambda g: g.frequency == "monthly"),
        (GiftFilter(status=GiftStatus.CANCELLED), lambda g: g.status == "cancelled"),
        (
            GiftFilter(
                amount_min=__import__("decimal").Decimal("10"),
                amount_max=__import__("decimal").Decimal("15.5"),
            ),
            lambda g: 1000 <= g.amount <= 1550,
        ),
        (
            GiftFilter(
                date_from=at("2025-01-10 00:00").date(), date_to=at("2025-01-20 00:00").date()
            ),
            lambda g: (
                at("2025-01-10 00:00")
                <= g.created_at.replace(tzinfo=at("2025-01-01 00:00").tzinfo)
                < at("2025-01-21 00:00")
            ),
        ),
        (GiftFilter(q="zoe@EXAMPLE.org"), lambda g: g.donor.email == "zoe@example.org"),
        (GiftFilter(q="quinn"), lambda g: g.donor.email == "zoe@example.org"),
        (GiftFilter(q="reader1"), lambda g: g.donor.email in ("reader1@example.org",)),
        (
            GiftFilter(currency="GBP", status=GiftStatus.PAID, sort="amount_desc"),
            lambda g: g.currency == "GBP" and g.status == "paid",
        ),
    ],
)
def test_filters_return_exactly_the_matching_gifts(gifts, spec, keep):
    assert _all_pages(spec) == _expected(gifts, keep, spec.sort)


def test_search_treats_like_wildcards_as_text(gifts):
    assert _all_pages(GiftFilter(q="%")) == []
    assert _all_pages(GiftFilter(q="_")) == []


def test_totals_count_every_matching_gift_but_add_only_money_received(gifts):
    totals = gift_totals(GiftFilter(frequency=Frequency.ONCE), CURRENCIES)
    once = [g for g in gifts if g.frequency == "once"]
    expected = [
        (
            c,
            sum(1 for g in once if g.currency == c),
            sum(1 for g in once if g.currency == c and g.status == "pending"),
            sum(g.amount for g in once if g.currency == c and g.status != "pending"),
        )
        for c in sorted({g.currency for g in once})
    ]
    shown = [(t.currency, t.gifts, t.unpaid.get("pending", 0), t.money.gross) for t in totals]
    assert shown == expected
    assert all(t.money.net == t.money.gross for t in totals)  # no refunds, fees unknown


def test_list_page_shows_rows_totals_and_next_link(gifts, client):
    make_staff(role="viewer", email="v@example.org")
    sign_in(client, "v@example.org")
    page = client.get("/staff/gifts?currency=EUR&sort=amount_desc")
    assert page.status_code == 200
    eur = [g for g in gifts if g.currency == "EUR"]
    assert f"{len(eur)}</strong> EUR gifts" in page.text
    assert 'rel="next"' not in page.text  # 43 rows: one page
    everything = client.get("/staff/gifts").text
    assert 'rel="next"' in everything
    link = re.search(r'rel="next" href="([^"]+)"', everything).group(1).replace("&amp;", "&")
    assert client.get(link).status_code == 200


def test_bad_filter_input_is_a_form_error_not_a_crash(gifts, client):
    make_staff()
    sign_in(client)
    response = client.get("/staff/gifts?amount_min=abc&date_from=2025-13-01")
    assert response.status_code == 400
    assert "Not a valid decimal value" in response.text
    reversed_dates = client.get("/staff/gifts?date_from=2025-02-01&date_to=2025-01-01")
    assert "The end date is before the start date." in reversed_dates.text
    for huge in ("Infinity", "1e30", "NaN"):
        for url in (f"/staff/gifts?amount_min={huge}", f"/staff/gifts.csv?amount_max={huge}"):
            assert client.get(url).status_code == 400, url


def test_a_cursor_with_numbers_out_of_range_restarts_the_list(gifts, client):
    import base64
    import json

    make_staff()
    sign_in(client)
    cursor = base64.urlsafe_b64encode(json.dumps([10**30, 10**30]).encode()).decode()
    response = client.get(f"/staff/gifts?sort=amount_desc&cursor={cursor}")
    assert response.status_code == 200


def test_donor_list_search_and_donor_page(gifts, client):
    make_staff()
    sign_in(client)
    listing = client.get("/staff/donors?q=zoe@example.org").text
    assert "zoe@example.org" in listing and "reader1@example.org" not in listing
    zoe = gifts[10].donor
    page = client.get(f"/staff/donors/{zoe.id}").text
    paid = [g for g in gifts if g.donor_id == zoe.id and g.status != "pending"]
    for currency in {g.currency for g in paid}:
        assert f"Lifetime net, {currency}" in page
    assert page.count("/staff/gifts/") >= len([g for g in gifts if g.donor_id == zoe.id])


def _csv(client, query=""):
    response = client.get(f"/staff/gifts.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_the_header_and_exactly_the_filtered_rows(gifts, client):
    make_staff()
    sign_in(client)
    rows = _csv(client, "?currency=GBP&status=paid")
    assert rows[0][:9] == [
        "gift_id",
        "created_at",
        "donor_email",
        "donor_name",
        "frequency",
        "status",
        "amount",
        "currency",
        "net_received",
    ]
    expected = _expected(gifts, lambda g: g.currency == "GBP" and g.status == "paid")
    assert [int(row[0]) for row in rows[1:]] == expected
    first = next(g for g in gifts if g.id == expected[0])
    assert rows[1][6] == f"{first.amount / 100:.2f}"
    assert rows[1][8] == f"{first.amount / 100:.2f}"


def test_csv_neutralises_formula_cells(app, client):
    make_staff()
    sign_in(client)
    for n, name in enumerate(
        ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "Plain"]
    ):
        donor = make_donor(f"f{n}@example.org", name)
        make_gift(donor, 1000)
    evil = make_donor("=cmd@example.org", "x")
    make_gift(evil, 1000)
    db.session.commit()
    rows = _csv(client)
    names = {row[3] for row in rows[1:]}
    assert names == {
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Plain",
        "x",
    }
    assert "'=cmd@example.org" in {row[2] for row in rows[1:]}


def test_csv_of_an_invalid_filter_is_refused(app, client):
    make_staff()
    sign_in(client)
    assert client.get("/staff/gifts.csv?amount_min=lots").status_code == 400


def test_totals_on_the_page_follow_new_gifts(gifts, client):
    make_staff()
    sign_in(client)
    before = client.get("/staff/gifts?currency=GBP").text
    count = sum(1 for g in gifts if g.currency == "GBP")
    assert f"{count}</strong> GBP gifts" in before
    make_gift(gifts[0].donor, 1234, currency="GBP")
    db.session.commit()
    after = client.get("/staff/gifts?currency=GBP").text
    assert f"{count + 1}</strong> GBP gifts" in after
