"""Retention: the purge lets go of exactly what the RETAIN_* settings say, and nothing
else; the books add up the same afterwards; the worker runs it once a day."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from donations.db import db, utcnow
from donations.enums import GiftStatus, OutboxStatus, ReminderStatus
from donations.models import DailyRun, Donor, Gift, OutboxEmail, Payment, Reminder, StripeEvent
from donations.privacy import services as privacy
from donations.worker import run_daily_jobs
from tests.factories import (
    at,
    make_donor,
    make_gift,
    make_outbox_email,
    make_payment,
    make_reminder,
    make_stripe_event,
)

#: with the default settings: abandoned gifts and webhook bodies before 2025-05-31 12:00
#: go, reminders and email bodies before 2025-04-01 12:00
NOW = at("2025-06-30 12:00")
OLD = "2025-03-01 10:00"  #: past every period
RECENT = "2025-06-20 10:00"  #: within every period
CONTEXT = json.dumps({"name": "Ada Reader", "amount": "$25.00"})


def counts_by_name(counts: dict) -> dict[str, int]:
    return {category.name: count for category, count in counts.items()}


@pytest.fixture
def rows(app):
    """Rows on both sides of each period, by what the purge should do with them."""
    lapsed = make_donor("gone@example.org", "Gone Reader")
    make_gift(lapsed, status=GiftStatus.ABANDONED, created=OLD, tribute_name="Grandma")
    stale_pending = make_donor("pending@example.org", "Pen Ding")
    make_gift(stale_pending, status=GiftStatus.PENDING, created=OLD)
    make_gift(stale_pending, status=GiftStatus.FAILED, created="2025-05-01 10:00")

    gave = make_donor("gave@example.org", "Gave Reader")
    make_gift(gave, status=GiftStatus.ABANDONED, created=OLD)
    paid = make_gift(gave, status=GiftStatus.PAID, created=OLD, tribute_name="Aunt May")
    make_payment(paid)
    cancelled = make_donor("ended@example.org", "Ended Reader")
    make_gift(cancelled, status=GiftStatus.ABANDONED, created=OLD)
    make_gift(cancelled, status=GiftStatus.CANCELLED, frequency="monthly", created=OLD)
    fresh = make_donor("fresh@example.org", "Fresh Reader")
    make_gift(fresh, status=GiftStatus.ABANDONED, created=RECENT, tribute_name="Dad")
    retrying = make_donor("retrying@example.org", "Re Trying")
    make_gift(retrying, status=GiftStatus.ABANDONED, created=OLD)
    make_gift(retrying, status=GiftStatus.PENDING, created=RECENT)

    converted = make_reminder(
        "converted@example.org",
        due="2025-02-01 09:00",
        status=ReminderStatus.CONVERTED,
        converted_at=at("2025-02-03 10:00"),
    )
    from_reminder = make_gift(make_donor(), status=GiftStatus.PAID, reminder_id=converted.id)
    make_payment(from_reminder)
    old_reminders = [
        converted,
        make_reminder(due=OLD, status=ReminderStatus.SENT, sent_at=at(OLD)),
        make_reminder(
            due="2025-05-01 09:00", status=ReminderStatus.CANCELLED, cancelled_at=at(OLD)
        ),
        make_reminder(due=OLD, status=ReminderStatus.FAILED),
    ]
    kept_reminders = [
        make_reminder(due="2025-05-01 09:00", status=ReminderStatus.SENT, sent_at=at("2025-05-01")),
        make_reminder(due=OLD, status=ReminderStatus.SCHEDULED),
        make_reminder(due="2025-09-01 09:00", status=ReminderStatus.SCHEDULED),
    ]

    old_event = make_stripe_event("2025-05-01 10:00", gift_id=paid.id)
    kept_events = [
        make_stripe_event("2025-06-10 10:00"),
        make_stripe_event(OLD, processed=False),
    ]

    sent_long_ago = make_outbox_email(paid, "receipt", OLD, sent=OLD, context=CONTEXT)
    failed_long_ago = make_outbox_email(paid, "receipt", OLD, context=CONTEXT)
    failed_long_ago.status = OutboxStatus.FAILED
    kept_emails = [
        make_outbox_email(paid, "receipt", "2025-05-01", sent="2025-05-01", context=CONTEXT),
        make_outbox_email(paid, "receipt", OLD, context=CONTEXT),
    ]
    db.session.flush()
    return {
        "erased": [lapsed, stale_pending],
        "named": [gave, cancelled, fresh, retrying],
        "paid": paid,
        "from_reminder": from_reminder,
        "old_reminders": [r.id for r in old_reminders],
        "kept_reminders": [r.id for r in kept_reminders],
        "old_event": old_event,
        "kept_events": kept_events,
        "old_emails": [sent_long_ago, failed_long_ago],
        "kept_emails": kept_emails,
    }


EXPECTED = {
    "abandoned_donors": 2,
    "abandoned_dedications": 1,
    "finished_reminders": 4,
    "webhook_payloads": 1,
    "email_bodies": 2,
}


def test_the_purge_lets_go_of_exactly_what_the_settings_say(app, rows):
    counts = privacy.purge(NOW)
    db.session.expire_all()

    assert counts_by_name(counts) == EXPECTED
    for donor in rows["erased"]:
        assert (donor.email, donor.name) == (f"erased-{donor.id}@invalid", "")
        assert donor.gifts and all(gift.amount == 2500 for gift in donor.gifts)
    assert [(d.email, d.name) for d in rows["named"]] == [
        ("gave@example.org", "Gave Reader"),
        ("ended@example.org", "Ended Reader"),
        ("fresh@example.org", "Fresh Reader"),
        ("retrying@example.org", "Re Trying"),
    ]
    tributes = dict(db.session.execute(sa.select(Gift.id, Gift.tribute_name)).all())
    assert sorted(name for name in tributes.values() if name) == ["Aunt May", "Dad"]

    reminders = set(db.session.scalars(sa.select(Reminder.id)))
    assert reminders == set(rows["kept_reminders"])
    assert rows["from_reminder"].reminder_id is None
    assert rows["from_reminder"].status == GiftStatus.PAID

    old_event = rows["old_event"]
    assert old_event.payload == "{}"
    assert (old_event.type, old_event.object_id, old_event.gift_id) == (
        "checkout.session.completed",
        old_event.object_id,
        rows["paid"].id,
    )
    assert old_event.processed_at is not None and old_event.stripe_id.startswith("evt_")
    assert all("reader@example.org" in event.payload for event in rows["kept_events"])

    for email in rows["old_emails"]:
        assert email.context == "{}"
        assert (email.to, email.template) == ("gave@example.org", "receipt")
    assert all(email.context == CONTEXT for email in rows["kept_emails"])


def test_a_dry_run_changes_nothing_and_counts_what_a_purge_would_change(app, rows):
    def snapshot():
        db.session.expire_all()
        return (
            sorted(db.session.execute(sa.select(Donor.id, Donor.email, Donor.name)).all()),
            sorted(
                db.session.execute(sa.select(Gift.id, Gift.tribute_name, Gift.reminder_id)).all()
            ),
            sorted(db.session.scalars(sa.select(Reminder.id))),
            sorted(db.session.execute(sa.select(StripeEvent.id, StripeEvent.payload)).all()),
            sorted(db.session.execute(sa.select(OutboxEmail.id, OutboxEmail.context)).all()),
        )

    before = snapshot()
    dry = privacy.purge(NOW, dry_run=True)
    assert snapshot() == before
    assert counts_by_name(dry) == EXPECTED
    assert counts_by_name(privacy.purge(NOW)) == EXPECTED


def test_purging_twice_is_purging_once(app, rows):
    privacy.purge(NOW, batch_size=1)
    db.session.expire_all()
    assert counts_by_name(privacy.purge(NOW)) == dict.fromkeys(EXPECTED, 0)
    assert counts_by_name(privacy.purge(NOW, dry_run=True)) == dict.fromkeys(EXPECTED, 0)


def test_small_batches_purge_the_same_rows(app, rows):
    assert counts_by_name(privacy.purge(NOW, batch_size=1)) == EXPECTED


def test_the_books_add_up_the_same_after_a_purge(app, rows, client):
    def totals():
        db.session.expire_all()
        payments = db.session.execute(
            sa.select(Payment.currency, sa.func.sum(Payment.amount), sa.func.count()).group_by(
                Payment.currency
            )
        ).all()
        gifts = db.session.execute(
            sa.select(Gift.status, Gift.currency, sa.func.sum(Gift.amount), sa.func.count())
            .group_by(Gift.status, Gift.currency)
            .order_by(Gift.status, Gift.currency)
        ).all()
        return payments, gifts, db.session.scalar(sa.select(sa.func.count()).select_from(Donor))

    before = totals()
    privacy.purge(NOW)
    assert totals() == before


def test_a_setting_moves_the_line(app, rows):
    app.config["RETAIN_ABANDONED_DAYS"] = 5
    app.config["RETAIN_SENT_REMINDERS_DAYS"] = 3650
    counts = counts_by_name(privacy.purge(NOW, dry_run=True))
    assert counts["abandoned_donors"] == 4  # the fresh and the retrying readers too
    assert counts["finished_reminders"] == 0


def test_the_worker_purges_once_a_day(app):
    donor = make_donor("late@example.org", "Late Reader")
    make_gift(donor, status=GiftStatus.ABANDONED, created=OLD)
    run_daily_jobs(NOW)
    db.session.expire_all()
    assert donor.email == f"erased-{donor.id}@invalid"

    second = make_donor("later@example.org", "Later Reader")
    make_gift(second, status=GiftStatus.ABANDONED, created=OLD)
    run_daily_jobs(NOW + timedelta(hours=3))
    db.session.expire_all()
    assert second.email == "later@example.org"

    run_daily_jobs(NOW + timedelta(days=1))
    db.session.expire_all()
    assert second.email == f"erased-{second.id}@invalid"
    runs = db.session.scalars(
        sa.select(DailyRun.day).where(DailyRun.job == privacy.PRIVACY_PURGE).order_by(DailyRun.day)
    )
    assert list(runs) == [NOW.date(), (NOW + timedelta(days=1)).date()]


def test_a_failed_purge_is_logged_and_tried_again_on_the_next_loop(app, monkeypatch, caplog):
    donor = make_donor("late@example.org", "Late Reader")
    make_gift(donor, status=GiftStatus.ABANDONED, created=OLD)
    real_purge = privacy.purge

    def broken(now, **options):
        raise RuntimeError("database went away")

    monkeypatch.setattr(privacy, "purge", broken)
    with caplog.at_level(logging.INFO, logger="donations.worker"):
        run_daily_jobs(NOW)
    assert "daily privacy_purge failed" in caplog.text
    jobs = set(db.session.scalars(sa.select(DailyRun.job)))
    assert jobs == {"card_expiring"}

    monkeypatch.setattr(privacy, "purge", real_purge)
    with caplog.at_level(logging.INFO, logger="donations.worker"):
        run_daily_jobs(NOW + timedelta(minutes=1))
    db.session.expire_all()
    assert donor.email == f"erased-{donor.id}@invalid"
    assert "daily privacy_purge: abandoned_donors 1, abandoned_dedications 0" in caplog.text


def test_flask_privacy_purge_prints_counts_and_a_dry_run_keeps_everything(app, runner):
    now = utcnow()
    donor = make_donor("gone@example.org", "Gone Reader")
    make_gift(donor, status=GiftStatus.ABANDONED, created=now - timedelta(days=31))
    make_reminder(
        due=now - timedelta(days=91), status=ReminderStatus.SENT, sent_at=now - timedelta(days=91)
    )
    make_stripe_event(now - timedelta(days=31))
    db.session.commit()

    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "abandoned_donors: would remove 1 (" in dry.output
    assert "finished_reminders: would remove 1 (" in dry.output
    assert "webhook_payloads: would remove 1 (" in dry.output
    assert "email_bodies: would remove 0 (" in dry.output
    db.session.expire_all()
    assert donor.email == "gone@example.org"

    done = runner.invoke(args=["privacy", "purge"])
    assert "abandoned_donors: removed 1 (" in done.output
    assert "after 30 days" in done.output
    db.session.expire_all()
    assert donor.email == f"erased-{donor.id}@invalid"
    again = runner.invoke(args=["privacy", "purge"])
    assert re.findall(r"removed (\d+)", again.output) == ["0"] * 5


def test_no_table_has_a_column_for_ip_addresses(app):
    pattern = re.compile(r"(^|_)ip($|_)|ip_?addr|remote_?addr|client_?addr|user_?agent", re.I)
    columns = [
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
    ]
    assert columns and not [name for name in columns if pattern.search(name)]


def test_the_privacy_page_states_the_periods_from_the_settings(app, client):
    app.config.update(RETAIN_ABANDONED_DAYS=7, RETAIN_SENT_REMINDERS_DAYS=1)
    html = client.get("/privacy").get_data(as_text=True)
    assert "7 days" in html and "1 day<" in html
    assert html.count("30 days") == 1 and html.count("90 days") == 1
    assert "IP address is never written to our database" in html
    assert "expire within 1 day" in html  # the longest window: REMIND_RATE_LIMIT_EMAIL
    assert "Card details go straight to our payment processor, Stripe" in html
