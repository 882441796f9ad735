"""The worker sends due reminders and outbox emails once, over a real SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from donations import outbox, worker
from donations.db import commit_or_rollback, db
from donations.enums import Frequency, GiftStatus, OutboxStatus
from donations.models import Donor, Gift, OutboxEmail, Reminder
from donations.remind import services

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
PUBLIC_URL = "https://news.example.org"


@pytest.fixture
def app_config(app_config, smtp_server):
    return {
        **app_config,
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": smtp_server.port,
        "PUBLIC_URL": PUBLIC_URL,
        "WORKER_RETRY_BASE": 60,
        "WORKER_MAX_ATTEMPTS": 3,
    }


def remind(email="reader@example.org", due_at=NOW, created_at=NOW - timedelta(days=7), **kw):
    """Schedule a reminder as a sign-up would (at ``created_at``)."""
    request = services.ReminderRequest(email=email, due_at=due_at, **kw)
    with commit_or_rollback():
        return services.schedule(request, created_at)


def soon() -> datetime:
    """Just after now on the real clock (``outbox.enqueue`` stamps rows with it)."""
    return datetime.now(UTC) + timedelta(minutes=1)


def statuses() -> dict[str, str]:
    rows = db.session.execute(sa.select(Reminder.email, Reminder.status)).all()
    return dict(rows)


def test_only_due_reminders_are_sent_and_only_once(app, smtp_server):
    remind("due@example.org", due_at=NOW - timedelta(minutes=1))
    remind("later@example.org", due_at=NOW + timedelta(days=1))

    first = worker.run_pending(now=NOW)
    again = worker.run_pending(now=NOW + timedelta(hours=1))

    assert (first.sent, again.sent) == (1, 0)
    assert [m["To"] for m in smtp_server.messages] == ["due@example.org"]
    assert statuses() == {"due@example.org": "sent", "later@example.org": "scheduled"}
    sent = db.session.scalar(sa.select(Reminder).where(Reminder.email == "due@example.org"))
    assert sent.sent_at is not None and sent.attempts == 1


def test_reminder_email_has_prefilled_link_cancel_link_and_one_click_headers(app, smtp_server):
    reminder = remind(frequency=Frequency.MONTHLY, amount=1000, currency="EUR")
    worker.run_pending(now=NOW)

    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    support = (
        f"{PUBLIC_URL}/?frequency=monthly&amount=10&currency=EUR"
        f"&reminder={reminder.token}&source=reminder"
    )
    assert message.get_content_type() == "multipart/alternative"
    assert "support" in message["Subject"].lower()
    assert support in text and support.replace("&", "&amp;") in html
    assert "€10.00 per month" in text
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{PUBLIC_URL}/remind/cancel/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe in html
    token, query = unsubscribe.rsplit("/", 1)[1].split("?")
    assert query == "lang=en"
    assert services.reminder_for_cancel_token(token, now=NOW).id == reminder.id


def test_one_smtp_connection_carries_a_whole_batch(app, smtp_server):
    for number in range(5):
        remind(f"reader{number}@example.org")

    result = worker.run_batch(now=NOW, batch_size=10)

    assert result.sent == 5 and len(smtp_server.messages) == 5
    assert smtp_server.connections == 1


def test_a_gift_before_the_due_date_suppresses_the_reminder(app, smtp_server):
    remind("giver@example.org")
    remind("other@example.org")
    donor = Donor(email="giver@example.org")
    db.session.add(
        Gift(
            donor=donor,
            amount=500,
            currency="USD",
            frequency="once",
            status=GiftStatus.PAID,
            created_at=NOW - timedelta(days=1),
            paid_at=NOW,
        )
    )
    db.session.commit()

    result = worker.run_pending(now=NOW)

    assert result.suppressed == 1
    assert [m["To"] for m in smtp_server.messages] == ["other@example.org"]
    assert statuses()["giver@example.org"] == "converted"


def test_an_unpaid_or_older_gift_does_not_suppress(app, smtp_server):
    remind("abandoned@example.org")
    remind("old@example.org")
    for email, status, created in [
        ("abandoned@example.org", GiftStatus.ABANDONED, NOW - timedelta(days=1)),
        ("old@example.org", GiftStatus.PAID, NOW - timedelta(days=30)),
    ]:
        db.session.add(
            Gift(
                donor=Donor(email=email),
                amount=500,
                currency="USD",
                frequency="once",
                status=status,
                created_at=created,
            )
        )
    db.session.commit()

    worker.run_pending(now=NOW)

    assert len(smtp_server.messages) == 2


def test_smtp_refusing_then_recovering_loses_nothing(app, smtp_server):
    remind("patient@example.org")
    smtp_server.refuse(True)

    refused = worker.run_pending(now=NOW)
    reminder = db.session.scalar(sa.select(Reminder))
    assert refused.retrying == 1 and smtp_server.messages == []
    assert reminder.status == "scheduled" and reminder.attempts == 1
    assert "451" in reminder.last_error

    smtp_server.refuse(False)
    too_early = worker.run_pending(now=NOW + timedelta(seconds=30))
    recovered = worker.run_pending(now=NOW + timedelta(seconds=61))

    assert too_early.sent == 0 and recovered.sent == 1
    assert [m["To"] for m in smtp_server.messages] == ["patient@example.org"]
    assert statuses() == {"patient@example.org": "sent"}


def test_retries_back_off_exponentially_then_fail_with_the_error(app, smtp_server):
    remind("bounce@example.org")
    smtp_server.refuse(True)
    moment = NOW
    waits = []
    for _ in range(3):
        worker.run_pending(now=moment)
        reminder = db.session.scalar(sa.select(Reminder))
        db.session.refresh(reminder)
        waits.append(reminder.next_attempt_at - moment)
        moment = reminder.next_attempt_at

    assert waits[:2] == [timedelta(seconds=60), timedelta(seconds=120)]
    assert reminder.status == "failed" and reminder.attempts == 3
    assert "451" in reminder.last_error
    assert worker.run_pending(now=moment + timedelta(days=1)).claimed == 0


def test_smtp_server_down_counts_no_attempt_and_sends_when_back(app, smtp_server):
    remind("waiting@example.org")
    remind("queued@example.org")
    app.config["SMTP_PORT"] = 1  # nothing listens there

    down = worker.run_pending(now=NOW)
    reminder = db.session.scalar(sa.select(Reminder))
    assert down.smtp_error and down.released == 2
    assert reminder.status == "scheduled" and reminder.attempts == 0
    assert "unavailable" in reminder.last_error

    app.config["SMTP_PORT"] = smtp_server.port
    back = worker.run_pending(now=NOW + timedelta(minutes=2))
    assert back.sent == 2
    assert statuses() == {"waiting@example.org": "sent", "queued@example.org": "sent"}


def test_outbox_emails_are_sent_once_with_their_template(app, smtp_server):
    outbox.enqueue("donor@example.org", "reminder", _reminder_context(), dedupe_key="k1")
    outbox.enqueue("donor@example.org", "reminder", _reminder_context(), dedupe_key="k1")
    db.session.commit()

    worker.run_pending(now=soon())
    worker.run_pending(now=soon() + timedelta(days=1))

    [message] = smtp_server.messages
    assert message["To"] == "donor@example.org"
    email = db.session.scalar(sa.select(OutboxEmail))
    assert email.status == OutboxStatus.SENT and email.sent_at is not None


def test_an_outbox_email_whose_template_is_missing_fails_at_once(app, smtp_server):
    outbox.enqueue("donor@example.org", "no_such_template", {"x": 1})
    db.session.commit()

    result = worker.run_pending(now=soon())

    email = db.session.scalar(sa.select(OutboxEmail))
    assert result.failed == 1 and smtp_server.messages == []
    assert email.status == "failed" and "no_such_template" in email.last_error


def test_a_cancelled_or_sent_reminder_is_never_claimed(app, smtp_server):
    cancelled = remind("cancelled@example.org")
    with commit_or_rollback():
        services.cancel(cancelled, NOW - timedelta(days=1))

    assert worker.run_pending(now=NOW).claimed == 0
    assert smtp_server.messages == []


def test_an_expired_lease_makes_a_claimed_row_claimable_again(app, smtp_server):
    remind("crashed@example.org")
    worker.claim(NOW, 10)  # a worker claimed it, then died before sending

    assert worker.run_pending(now=NOW + timedelta(minutes=1)).sent == 0
    assert worker.run_pending(now=NOW + timedelta(minutes=6)).sent == 1
    assert len(smtp_server.messages) == 1


def test_worker_once_command_reports_what_it_sent(app, runner, smtp_server):
    remind("cli@example.org", due_at=datetime.now(UTC) - timedelta(minutes=1))

    result = runner.invoke(args=["worker", "--once", "--batch-size", "10"])

    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(smtp_server.messages) == 1


def test_worker_once_exits_non_zero_when_smtp_is_unreachable(app, runner):
    remind("cli@example.org", due_at=datetime.now(UTC) - timedelta(minutes=1))
    app.config["SMTP_PORT"] = 1

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 1
    assert "SMTP server unavailable" in result.output and "will be retried" in result.output
    assert statuses() == {"cli@example.org": "scheduled"}


def test_worker_rejects_a_bad_batch_size(app, runner):
    result = runner.invoke(args=["worker", "--once", "--batch-size", "0"])
    assert result.exit_code == 2 and "batch-size" in result.output


def _reminder_context() -> dict:
    """A context the reminder templates accept, as plain JSON would carry it."""
    return json.loads(
        json.dumps(
            {
                "reminder": {"frequency": "once", "amount": 500, "currency": "USD"},
                "support_url": f"{PUBLIC_URL}/",
                "cancel_url": f"{PUBLIC_URL}/remind/cancel/x",
            }
        )
    )


def test_an_internationalised_domain_is_sent_in_its_ascii_form(app, smtp_server):
    outbox.enqueue("leser@bücher.de", "reminder", _reminder_context())
    db.session.commit()

    assert worker.run_pending(now=soon()).sent == 1
    assert smtp_server.recipients == [["leser@xn--bcher-kva.de"]]


def test_a_non_ascii_address_is_sent_with_smtputf8_beside_the_others(app, smtp_server):
    outbox.enqueue("josé@example.org", "reminder", _reminder_context())
    outbox.enqueue("ana@example.org", "reminder", _reminder_context())
    db.session.commit()

    result = worker.run_pending(now=soon())

    rows = dict(db.session.execute(sa.select(OutboxEmail.to, OutboxEmail.status)).all())
    assert rows == {"josé@example.org": "sent", "ana@example.org": "sent"}
    assert result.sent == 2
    assert sorted(smtp_server.recipients) == [["ana@example.org"], ["josé@example.org"]]


def test_a_row_abandoned_mid_send_too_often_is_given_up(app, smtp_server):
    remind("poison@example.org")
    for minutes in (0, 6, 12):  # three workers claimed it and died before recording
        worker.claim(NOW + timedelta(minutes=minutes), 10)

    assert worker.run_pending(now=NOW + timedelta(minutes=18)).sent == 0
    row = db.session.scalar(sa.select(Reminder))
    assert row.status == "failed" and "stopped while sending" in row.last_error
    assert smtp_server.messages == []
