"""Several workers share the work without sending anything twice; SIGTERM stops cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from donations import worker
from donations.db import db
from donations.enums import Frequency, ReminderStatus
from donations.models import Reminder

#: the workers run in threads and processes with connections of their own
pytestmark = pytest.mark.committing

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, "SMTP_PORT": smtp_server.port, "PUBLIC_URL": "https://example.org"}


def insert_due_reminders(count: int, due_at: datetime) -> None:
    rows = [
        {
            "email": f"reader{number}@example.org",
            "due_at": due_at,
            "due_month": due_at.strftime("%Y-%m"),
            "status": ReminderStatus.SCHEDULED,
            "token": secrets.token_urlsafe(24),
            "frequency": Frequency.MONTHLY,
            "amount": 500,
            "currency": "USD",
            "next_attempt_at": due_at,
            "created_at": due_at - timedelta(days=30),
        }
        for number in range(count)
    ]
    db.session.execute(sa.insert(Reminder), rows)
    db.session.commit()


def status_counts() -> Counter:
    return Counter(
        dict(
            db.session.execute(
                sa.select(Reminder.status, sa.func.count()).group_by(Reminder.status)
            ).all()
        )
    )


@pytest.mark.postgres
def test_four_workers_send_a_thousand_reminders_exactly_once(app, smtp_server):
    insert_due_reminders(1000, NOW)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            with app.app_context():
                start.wait()
                while worker.run_batch(now=NOW, batch_size=25).claimed:
                    pass
                db.session.remove()
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    sent_to = Counter(message["To"] for message in smtp_server.messages)
    assert len(sent_to) == 1000
    assert max(sent_to.values()) == 1
    assert status_counts() == Counter({"sent": 1000})


def test_sigterm_finishes_the_batch_in_hand_and_exits_zero(app, smtp_server, database_url):
    insert_due_reminders(60, datetime.now(UTC) - timedelta(minutes=1))
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": str(smtp_server.port),
        "PUBLIC_URL": "https://example.org",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "donations:create_app",
            "worker",
            "--batch-size",
            "5",
            "--interval",
            "0.2",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, output
    db.session.expire_all()
    counts = status_counts()
    assert counts["sending"] == 0
    assert counts["sent"] == len(smtp_server.messages) >= 1
    assert counts["sent"] + counts["scheduled"] == 60
    assert len({m["To"] for m in smtp_server.messages}) == len(smtp_server.messages)
