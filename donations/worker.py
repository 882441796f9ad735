"""The worker: sends due reminders and queued outbox emails over SMTP, and runs the
daily jobs (the card-expiry reminder, the retention purge) once a day.

``flask worker`` loops until SIGTERM/SIGINT (finishing the batch in hand, then exit 0);
``flask worker --once`` sends what is due and exits, for cron.

Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING``
that sets ``status = 'sending'`` and pushes ``next_attempt_at`` one lease into the future,
then commits. So no row lock is held while SMTP is slow, and another worker never sees a
claimed row as due: on PostgreSQL SKIP LOCKED lets any number of workers claim disjoint
batches; on SQLite the UPDATE takes the database write lock, so claims are serialised. A
worker stops sending when its lease is nearly over (the rows go back unclaimed), so a lease
runs out only if the worker died, and then the rows are retried.

Failures: a message the server refuses counts an attempt and is retried after an
exponential back-off, up to ``WORKER_MAX_ATTEMPTS``, then ``failed`` with the error (5xx
answers and broken templates fail at once). A server that cannot be reached counts no
attempt: the batch is released and retried later, so an SMTP outage loses nothing.
"""

from __future__ import annotations

import json
import logging
import signal
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message

import click
import sqlalchemy as sa
from flask import Flask, current_app

from donations.db import commit_or_rollback, db, utcnow
from donations.enums import OutboxStatus, ReminderStatus
from donations.giving.expiry import expire_stale_checkouts
from donations.ledger.emails import complete_context
from donations.mail import (
    CONNECTION_ERRORS,
    Attachment,
    SmtpSender,
    describe,
    is_permanent,
    render_email,
)
from donations.models import OutboxEmail, Reminder
from donations.newsletter import handoffs
from donations.privacy import services as privacy
from donations.privacy.services import PRIVACY_PURGE
from donations.recurring.services import CARD_EXPIRING, claim_daily, remind_expiring_cards
from donations.remind import services as reminders
from donations.statements.services import EMAIL_TEMPLATE as STATEMENT_EMAIL
from donations.statements.services import statement_attachments

log = logging.getLogger(__name__)

SEND_ERRORS = (smtplib.SMTPException, OSError)
#: each queue's statuses (both have SENDING, SENT and FAILED) and a waiting row's status
STATUSES = {OutboxEmail: OutboxStatus, Reminder: ReminderStatus}
WAITING = {OutboxEmail: OutboxStatus.PENDING, Reminder: ReminderStatus.SCHEDULED}
#: files an outbox email carries, built from its context when it is sent (so each worker
#: draws the annual statements of the batch it claimed); one that fails fails the email
ATTACHMENTS: dict[str, Callable[[dict], list[Attachment]]] = {
    STATEMENT_EMAIL: statement_attachments,
}


@dataclass
class Job:
    """One claimed row and the message to send for it (None if it could not be rendered)."""

    model: type[Reminder] | type[OutboxEmail]
    id: int
    attempts: int
    message: Message | None = None
    error: str = ""
    permanent: bool = False  #: retrying cannot help (5xx answer, broken template)


@dataclass
class Result:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    released: int = 0
    smtp_error: str = ""

    def add(self, other: Result) -> None:
        for name in ("claimed", "sent", "retrying", "failed", "suppressed", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.smtp_error = other.smtp_error or self.smtp_error


@dataclass
class _Outcome:
    sent: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)
    released: list[Job] = field(default_factory=list)
    smtp_error: str = ""


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts``: base, 2×base, 4×base … capped."""
    config = current_app.config
    delay = config["WORKER_RETRY_BASE"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(delay, config["WORKER_RETRY_MAX"]))


def _claim(model, now: datetime, limit: int) -> list:
    sending = STATUSES[model].SENDING
    due = (
        sa.select(model.id)
        .where(model.status.in_([WAITING[model], sending]), model.next_attempt_at <= now)
        .order_by(model.next_attempt_at, model.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        sa.update(model)
        .where(model.id.in_(due.scalar_subquery()))
        .values(
            status=sending,
            next_attempt_at=now + timedelta(seconds=current_app.config["WORKER_LEASE"]),
            attempts=model.attempts + 1,
        )
        .returning(model)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list(db.session.scalars(statement))


def _give_up_on_abandoned(model, now: datetime) -> None:
    """Fail rows whose claims keep expiring (each time a worker died while sending them),
    so one poisonous email cannot crash worker after worker forever."""
    statuses = STATUSES[model]
    db.session.execute(
        sa.update(model)
        .where(
            model.status == statuses.SENDING,
            model.next_attempt_at <= now,
            model.attempts >= current_app.config["WORKER_MAX_ATTEMPTS"],
        )
        .values(status=statuses.FAILED, last_error="Gave up: the worker stopped while sending it.")
        .execution_options(synchronize_session=False)
    )


def claim(now: datetime, limit: int) -> tuple[list[Job], int]:
    """Claim up to ``limit`` due rows (outbox first) and commit; return jobs and suppressed.

    The rows are detached before the commit, so rendering afterwards needs no query and
    holds no lock.
    """
    with commit_or_rollback():
        for model in (OutboxEmail, Reminder):
            _give_up_on_abandoned(model, now)
        outbox = _claim(OutboxEmail, now, limit)
        rows = _claim(Reminder, now, limit - len(outbox))
        suppressed = reminders.suppress_if_gave([row.id for row in rows], now)
        rows = [row for row in rows if row.id not in suppressed]
        for row in (*outbox, *rows):
            db.session.expunge(row)
    jobs = [_job(email, lambda e=email: _outbox_message(e)) for email in outbox]
    jobs += [_job(r, lambda r=r: reminders.build_email(r, now)) for r in rows]
    return jobs, len(suppressed)


def _job(row, build: Callable[[], Message]) -> Job:
    job = Job(model=type(row), id=row.id, attempts=row.attempts)
    try:
        job.message = build()
    except Exception as error:  # a broken template or context must not stop the batch
        log.exception("cannot render %s %s", type(row).__name__, row.id)
        job.error = f"Cannot render the email: {type(error).__name__}: {error}"[:1000]
        job.permanent = True
    return job


def _outbox_message(email: OutboxEmail) -> Message:
    stamp = int(email.created_at.timestamp()) if email.created_at else 0
    context = complete_context(email.template, json.loads(email.context or "{}"))
    attachments: list[Attachment] = []
    build_attachments = ATTACHMENTS.get(email.template)
    if build_attachments:
        attachments = build_attachments(context)
        db.session.rollback()  # end the reads' transaction: none stays open during SMTP
    return render_email(
        email.template,
        context,
        to=email.to,
        message_id=f"outbox-{email.id}.{stamp}",
        attachments=attachments,
    )


def _send(jobs: list[Job], lease_end: float) -> _Outcome:
    outcome = _Outcome()
    sendable = [job for job in jobs if job.message is not None]
    outcome.failed.extend(job for job in jobs if job.message is None)
    if not sendable:
        return outcome
    sender = SmtpSender()
    try:
        sender.connect()
    except SEND_ERRORS as error:
        outcome.smtp_error = f"SMTP server unavailable: {describe(error)}"
        outcome.released.extend(sendable)
        return outcome
    try:
        for index, job in enumerate(sendable):
            if time.monotonic() > lease_end:
                outcome.released.extend(sendable[index:])
                break
            try:
                sender.send(job.message)
            except SEND_ERRORS as error:
                job.error = describe(error)
                job.permanent = is_permanent(error)
                outcome.failed.append(job)
                if isinstance(error, CONNECTION_ERRORS) and not _reconnect(sender):
                    outcome.smtp_error = f"SMTP server unavailable: {job.error}"
                    outcome.released.extend(sendable[index + 1 :])
                    break
            except (UnicodeError, ValueError) as error:
                # this message cannot be sent as it is (e.g. an address no SMTP encoding
                # can carry): fail it for good, never the whole batch
                job.error = f"Cannot send to this address: {error}"[:1000]
                job.permanent = True
                outcome.failed.append(job)
            else:
                outcome.sent.append(job)
    finally:
        sender.close()
    return outcome


def _reconnect(sender: SmtpSender) -> bool:
    try:
        sender.connect()
    except SEND_ERRORS:
        return False
    return True


def _record(outcome: _Outcome, now: datetime, result: Result) -> None:
    """Mark each claimed row sent, retrying, failed, or released (no attempt counted)."""
    with commit_or_rollback():
        config = current_app.config
        for model, statuses in STATUSES.items():
            ids = [job.id for job in outcome.sent if job.model is model]
            if ids:
                db.session.execute(
                    sa.update(model)
                    .where(model.id.in_(ids), model.status == statuses.SENDING)
                    .values(status=statuses.SENT, sent_at=now, last_error="")
                )
        for job in outcome.failed:
            if job.permanent or job.attempts >= config["WORKER_MAX_ATTEMPTS"]:
                values = {"status": STATUSES[job.model].FAILED}
                result.failed += 1
            else:
                retry_at = now + backoff(job.attempts)
                values = {"status": WAITING[job.model], "next_attempt_at": retry_at}
                result.retrying += 1
            _update_claimed(job, last_error=job.error, **values)
        for job in outcome.released:
            _update_claimed(
                job,
                status=WAITING[job.model],
                next_attempt_at=now + timedelta(seconds=config["WORKER_RETRY_BASE"]),
                attempts=job.model.attempts - 1,
                last_error=outcome.smtp_error or job.error,
            )
    result.sent += len(outcome.sent)
    result.released += len(outcome.released)


def _update_claimed(job: Job, **values) -> None:
    model = job.model
    claimed = model.status == STATUSES[model].SENDING
    db.session.execute(sa.update(model).where(model.id == job.id, claimed).values(**values))


def run_batch(now: datetime | None = None, batch_size: int | None = None) -> Result:
    """Claim, send over one SMTP connection, and mark one batch of due emails."""
    now = now or utcnow()
    size = batch_size or current_app.config["WORKER_BATCH_SIZE"]
    lease_end = time.monotonic() + 0.8 * current_app.config["WORKER_LEASE"]
    result = Result()
    jobs, result.suppressed = claim(now, size)
    result.claimed = len(jobs) + result.suppressed
    if jobs:
        outcome = _send(jobs, lease_end)
        _record(outcome, now, result)
        result.smtp_error = outcome.smtp_error
    return result


def run_pending(
    now: datetime | None = None,
    batch_size: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Result:
    """Send batches until nothing is due, the SMTP server is unreachable, or told to stop."""
    size = batch_size or current_app.config["WORKER_BATCH_SIZE"]
    total = Result()
    while not should_stop():
        batch = run_batch(now, size)
        total.add(batch)
        if batch.claimed < size or batch.smtp_error:
            break
    return total


def run_daily_jobs(now: datetime | None = None) -> None:
    """Run each daily job if no worker has run it today (see ``recurring.services``): the
    card-expiry reminder and the retention purge.

    Each job runs in its own transaction; one that fails is logged and its claim rolled
    back, so the next loop tries it again and the emails already due still go out.
    """
    now = now or utcnow()
    _run_daily(CARD_EXPIRING, now, lambda: f"{remind_expiring_cards(now)} emails queued")
    _run_daily(PRIVACY_PURGE, now, lambda: privacy.describe(privacy.purge(now)))


def expire_checkouts(now: datetime | None = None) -> None:
    """Close the Checkout pages of gifts started too long ago and mark them abandoned
    (``giving.expiry``); a failure is logged and tried again on the next loop."""
    try:
        expired = expire_stale_checkouts(now or utcnow())
    except Exception:
        db.session.rollback()
        log.exception("checkout expiry failed; it will be tried again")
    else:
        if expired:
            log.info("abandoned %d stale checkouts", expired)


def _run_daily(job: str, now: datetime, work: Callable[[], str]) -> None:
    try:
        with commit_or_rollback():
            if claim_daily(job, now.date()):
                log.info("daily %s: %s", job, work())
    except Exception:
        log.exception("daily %s failed; it will be tried again", job)


def init_app(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Send what is due, then exit (for cron).")
    @click.option("--batch-size", type=click.IntRange(1, 1000), default=None)
    @click.option("--interval", type=click.FloatRange(0.1, 3600), default=None)
    def worker_command(once: bool, batch_size: int | None, interval: float | None) -> None:
        """Send due reminders and queued emails over SMTP."""
        stop = threading.Event()
        pause = interval or current_app.config["WORKER_INTERVAL"]

        def request_stop(signum, _frame):
            log.info("signal %s: finishing the batch in hand", signum)
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            while not stop.is_set():
                run_daily_jobs()
                expire_checkouts()
                result = run_pending(batch_size=batch_size, should_stop=stop.is_set)
                _report(result)
                _report_handoffs(handoffs.deliver_handoffs(limit=batch_size or 50))
                if once:
                    if result.smtp_error:
                        raise click.ClickException(
                            f"{result.smtp_error}; {result.released} emails will be retried."
                        )
                    return
                stop.wait(pause)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _report_handoffs(delivered: dict) -> None:
    if delivered["claimed"] or delivered.get("error"):
        click.echo(
            "newsletter hand-offs: "
            + ", ".join(f"{key} {value}" for key, value in delivered.items())
        )


def _report(result: Result) -> None:
    if result.claimed or result.smtp_error:
        click.echo(
            f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}, "
            f"suppressed {result.suppressed}, released {result.released}"
            + (f" ({result.smtp_error})" if result.smtp_error else "")
        )
