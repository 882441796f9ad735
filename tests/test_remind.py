"""Signing up for "remind me later", and cancelling from the email's link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from donations import worker
from donations.db import commit_or_rollback, db, utcnow
from donations.enums import Frequency
from donations.models import Reminder
from donations.remind import services
from donations.remind.queries import reminder_figures
from tests.factories import csrf_token_from

PUBLIC_URL = "https://news.example.org"


@pytest.fixture
def app_config(app_config, smtp_server):
    return {
        **app_config,
        "SMTP_PORT": smtp_server.port,
        "PUBLIC_URL": PUBLIC_URL,
        "REMIND_RATE_LIMIT_IP": "100 per minute",
    }


def sign_up(client, *, query="", **fields):
    page = client.get(f"/remind{query}")
    data = {
        "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        "email": "Reader@Example.org",
        "when": "month",
        "month": "",
        "frequency": "monthly",
        "amount": "10",
        "currency": "EUR",
        "source": "support",
        "consent": "y",
        **fields,
    }
    return client.post("/remind", data={k: v for k, v in data.items() if v is not None})


def stored() -> list[Reminder]:
    return list(db.session.scalars(sa.select(Reminder).order_by(Reminder.id)))


def month_from_now(months: int) -> str:
    return services.add_months(utcnow().replace(day=1), months).strftime("%Y-%m")


def test_form_carries_the_choice_from_the_support_page(client):
    page = client.get("/remind?frequency=annual&amount=50&currency=GBP&source=appeal")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for field, value in [("frequency", "annual"), ("amount", "50"), ("currency", "GBP")]:
        assert f'name="{field}" type="hidden" value="{value}"' in html
    assert "£50.00 per year" in html
    assert 'type="month"' in html and "privacy" in html


def test_sign_up_stores_one_reminder_and_confirms_on_the_page(client):
    before = utcnow()
    response = sign_up(client)
    assert response.status_code == 302
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)

    [reminder] = stored()
    assert reminder.email == "reader@example.org"
    assert (reminder.frequency, reminder.amount, reminder.currency) == ("monthly", 1000, "EUR")
    assert reminder.status == "scheduled" and reminder.source == "support"
    due = reminder.due_at
    assert services.add_months(before, 1) <= due <= services.add_months(utcnow(), 1)
    assert "reader@example.org" in confirmation and "Cancel this reminder" in confirmation
    assert "no account or login" in confirmation


@pytest.mark.parametrize(
    ("when", "days"), [("week", 7), ("three_months", 89)], ids=["week", "three-months"]
)
def test_when_choices_set_the_due_date(client, when, days):
    sign_up(client, when=when)
    [reminder] = stored()
    assert reminder.due_at - utcnow() > timedelta(days=days - 1)


def test_a_chosen_month_is_due_on_its_first_day(client):
    sign_up(client, when="chosen", month=month_from_now(2))
    [reminder] = stored()
    assert reminder.due_month == month_from_now(2)
    assert (reminder.due_at.day, reminder.due_at.hour) == (1, 9)


def test_signing_up_again_for_the_same_month_updates_the_reminder(client):
    sign_up(client, when="chosen", month=month_from_now(3), amount="10")
    sign_up(client, when="chosen", month=month_from_now(3), amount="25", email="READER@example.org")
    sign_up(client, when="chosen", month=month_from_now(4))

    reminders_ = stored()
    assert len(reminders_) == 2
    assert reminders_[0].amount == 2500


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"email": ""}, "Enter your email address"),
        ({"when": "chosen", "month": "2001-01"}, "That month has passed"),
        ({"when": "chosen", "month": "2099-01"}, "at most 12 months"),
        ({"when": "chosen", "month": "next spring"}, "Choose a month, such as"),
        ({"when": "chosen", "month": ""}, "Choose a month."),
        ({"when": "someday"}, "Not a valid choice"),
        ({"frequency": "weekly"}, "Unknown frequency"),
        ({"currency": "XXX"}, "We do not accept XXX"),
        ({"amount": "ten"}, "The amount is not valid"),
        ({"consent": None}, "Tick the box"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(map(str, value.values())),
)
def test_bad_input_is_explained_and_nothing_is_stored(client, fields, message):
    response = sign_up(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored() == []


def test_a_missing_csrf_token_is_refused(client):
    response = client.post(
        "/remind", data={"email": "reader@example.org", "when": "week", "consent": "y"}
    )
    assert response.status_code == 400
    assert "security check failed" in response.get_data(as_text=True)
    assert stored() == []


def test_sign_ups_are_rate_limited_per_email(client):
    statuses = [sign_up(client, when="week").status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]
    assert sign_up(client, email="someone.else@example.org").status_code == 302


def test_sign_ups_are_rate_limited_per_address(app, client):
    app.config["REMIND_RATE_LIMIT_IP"] = "2 per minute"
    codes = [sign_up(client, email=f"r{n}@example.org").status_code for n in range(3)]
    assert codes == [302, 302, 429]


def cancel_path(reminder, now=None) -> str:
    return f"/remind/cancel/{services.cancel_token(reminder, now)}"


def schedule(now=None, **request) -> Reminder:
    """A reminder signed up for (and committed), as the form would store it."""
    with commit_or_rollback():
        return services.schedule(services.ReminderRequest(**request), now or utcnow())


def scheduled(email="reader@example.org") -> Reminder:
    return schedule(email=email, due_at=utcnow() + timedelta(days=7))


def test_opening_the_cancel_link_only_asks_for_confirmation(client):
    reminder = scheduled()
    page = client.get(cancel_path(reminder))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Cancel this reminder?" in html and 'method="post"' in html
    db.session.refresh(reminder)
    assert reminder.status == "scheduled"


def test_one_click_post_cancels_without_csrf_and_is_idempotent(client):
    reminder = scheduled()
    first = client.post(cancel_path(reminder), data={"List-Unsubscribe": "One-Click"})
    second = client.post(cancel_path(reminder))

    assert first.status_code == 200 and "Your reminder is cancelled" in first.get_data(as_text=True)
    assert "no account" in first.get_data(as_text=True).lower() or "log in" in first.get_data(
        as_text=True
    )
    assert second.status_code == 200
    assert "already cancelled" in second.get_data(as_text=True)
    db.session.refresh(reminder)
    assert reminder.status == "cancelled" and reminder.cancelled_at is not None


def test_a_cancelled_reminder_is_not_sent(app, client, smtp_server):
    reminder = scheduled()
    client.post(cancel_path(reminder))
    worker.run_pending(now=utcnow() + timedelta(days=8))
    assert smtp_server.messages == []


def test_a_tampered_cancel_link_is_refused(client):
    reminder = scheduled()
    path = cancel_path(reminder)
    response = client.post(path[:-3] + ("abc" if not path.endswith("abc") else "xyz"))
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    db.session.refresh(reminder)
    assert reminder.status == "scheduled"


def test_an_expired_cancel_link_is_refused(client):
    reminder = scheduled()
    response = client.get(cancel_path(reminder, now=utcnow() - timedelta(days=181)))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_the_cancel_link_of_a_sent_reminder_says_so(app, client, smtp_server):
    reminder = scheduled()
    worker.run_pending(now=utcnow() + timedelta(days=8))
    response = client.post(cancel_path(reminder))
    assert "already sent" in response.get_data(as_text=True)


def test_the_reminder_link_opens_the_support_form_prefilled(app, client, smtp_server):
    reminder = schedule(
        email="reader@example.org",
        due_at=utcnow(),
        frequency=Frequency.ANNUAL,
        amount=5000,
        currency="GBP",
    )
    worker.run_pending(now=utcnow() + timedelta(minutes=1))
    [message] = smtp_server.messages
    link = message.get_body(("plain",)).get_content().split(f"{PUBLIC_URL}/?", 1)[1].split()[0]

    html = client.get(f"/?{link}").get_data(as_text=True)

    assert 'id="frequency-annual" value="annual" checked' in html
    assert 'value="50" checked' in html or 'value="50"' in html
    assert '<option value="GBP" selected>' in html
    assert f'name="reminder" value="{reminder.token}"' in html


def test_figures_count_reminders_by_outcome(app):
    now = datetime(2025, 3, 10, tzinfo=UTC)
    for number in range(4):
        schedule(now, email=f"r{number}@example.org", due_at=now)
    rows = stored()
    rows[0].status, rows[1].status, rows[2].status = "sent", "converted", "cancelled"
    db.session.commit()

    figures = reminder_figures(now)

    assert figures == {
        "scheduled": 1,
        "due_next_7_days": 1,
        "sent": 1,
        "converted": 1,
        "cancelled": 1,
        "failed": 0,
        "conversion_rate": 0.5,
    }
