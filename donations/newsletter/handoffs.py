"""Hand-offs: each newsletter confirmation and unsubscription, POSTed to the newsroom's
email service at ``NEWSLETTER_HANDOFF_URL``, signed with ``NEWSLETTER_HANDOFF_SECRET``.

The request::

    POST <NEWSLETTER_HANDOFF_URL>
    Content-Type: application/json
    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

    {"event": "subscribed" | "unsubscribed", "email": …, "language": "en",
     "source": "appeal", "consented_at": <ISO 8601 UTC, when the reader confirmed>,
     "consent_text": <the words the reader agreed to>, "occurred_at": <ISO 8601 UTC>,
     "id": <hand-off number, the same on every retry>}

The receiver recomputes the HMAC over ``<t>.`` and the raw body with the shared secret,
compares it in constant time, refuses a ``t`` more than a few minutes old (a replay), and
answers 2xx once it has the fact. Retries carry the same ``id``; a receiver that sees an
``id`` twice can ignore the second.

Delivery follows the outbox (``donations.worker``): claim due rows with one ``UPDATE``
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) that sets ``sending`` and pushes
``next_attempt_at`` one lease ahead, commit, POST each with a short timeout, then record:
2xx is ``sent``; anything else is retried after the worker's back-off, and ``failed``
with its last error after ``WORKER_MAX_ATTEMPTS`` tries (staff see it and can retry it).
When the service does not answer at all (refused, timed out), the rest of the batch is
released without counting an attempt, so an outage costs one timeout, not one per row.
One subscriber's hand-offs go out in order: one waits while an earlier one is undelivered,
so the service never hears "unsubscribed" before "subscribed"; a batch takes the oldest
undelivered hand-off of each subscriber, and the next call (the worker's next round) the
one after it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from donations.db import commit_or_rollback, db, utcnow
from donations.enums import HandOffEvent, OutboxStatus
from donations.models import HandOff, NewsletterSubscriber

log = logging.getLogger(__name__)

#: seconds to wait for the email service to connect and answer
TIMEOUT = 10
SIGNATURE_HEADER = "X-Signature"
USER_AGENT = "donations-newsletter-handoff/1"
AWAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def queue(subscriber: NewsletterSubscriber, event: HandOffEvent, now: datetime) -> HandOff | None:
    """Queue the hand-off of what just happened to ``subscriber`` (once per fact), when an
    email service is configured; flushes. None if not configured or already queued."""
    if not current_app.config["NEWSLETTER_HANDOFF_URL"]:
        return None
    handoff = HandOff(
        event=event,
        payload="",
        dedupe_key=f"{event}:{subscriber.id}:{now.isoformat()}",
        subscriber_id=subscriber.id,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(handoff)
    except IntegrityError:
        return None
    handoff.payload = json.dumps(_payload(subscriber, event, now, handoff.id))
    db.session.flush()
    return handoff


def _payload(subscriber: NewsletterSubscriber, event: HandOffEvent, now: datetime, id_: int):
    confirmed = subscriber.confirmed_at
    return {
        "event": str(event),
        "email": subscriber.email,
        "language": subscriber.locale,
        "source": subscriber.source,
        "consented_at": confirmed.isoformat() if confirmed else None,
        "consent_text": subscriber.consent_text,
        "occurred_at": now.isoformat(),
        "id": id_,
    }


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Signature`` header's value for ``body`` sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class _Claimed:
    id: int
    attempts: int
    payload: str
    error: str = ""


def deliver_handoffs(now: datetime | None = None, limit: int = 50) -> dict:
    """POST up to ``limit`` due hand-offs and record each outcome; the counts of what
    happened (``claimed``, ``sent``, ``retrying``, ``failed``, ``released``), and
    ``error`` when the email service is configured without a secret."""
    now = now or utcnow()
    config = current_app.config
    result = dict.fromkeys(("claimed", "sent", "retrying", "failed", "released"), 0)
    url, secret = config["NEWSLETTER_HANDOFF_URL"], config["NEWSLETTER_HANDOFF_SECRET"]
    if not url:
        return result
    if not secret or not url.startswith(("http://", "https://")):
        return result | {
            "error": "hand-offs wait: NEWSLETTER_HANDOFF_URL must be an http(s) URL and "
            "NEWSLETTER_HANDOFF_SECRET must be set"
        }
    lease_end = time.monotonic() + 0.8 * config["WORKER_LEASE"]
    claimed = _claim(now, limit)
    result["claimed"] = len(claimed)
    sent, failed, released, why = [], [], [], ""
    for index, job in enumerate(claimed):
        if time.monotonic() > lease_end:
            released, why = claimed[index:], "the worker's lease ran out"
            break
        job.error, answered = _post(url, secret, job.payload.encode())
        (failed if job.error else sent).append(job)
        if not answered:
            # the service is down or hanging: spare the rest of the batch a timeout each
            released, why = claimed[index + 1 :], job.error
            break
    if claimed:
        _record(sent, failed, (released, why), now, result)
    return result


def _claim(now: datetime, limit: int) -> list[_Claimed]:
    """Lease up to ``limit`` due hand-offs (each the oldest undelivered of its subscriber)
    and commit, so no lock is held while the email service answers."""
    config = current_app.config
    earlier = orm.aliased(HandOff)
    waits_for_earlier = (
        sa.select(earlier.id)
        .where(
            earlier.subscriber_id == HandOff.subscriber_id,
            earlier.id < HandOff.id,
            earlier.status.in_(AWAITING),
        )
        .exists()
    )
    due = (
        sa.select(HandOff.id)
        .where(HandOff.status.in_(AWAITING), HandOff.next_attempt_at <= now, ~waits_for_earlier)
        .order_by(HandOff.next_attempt_at, HandOff.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=HandOff)
    with commit_or_rollback():
        _give_up_on_abandoned(now)
        rows = db.session.execute(
            sa.update(HandOff)
            .where(HandOff.id.in_(due.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING,
                next_attempt_at=now + timedelta(seconds=config["WORKER_LEASE"]),
                attempts=HandOff.attempts + 1,
            )
            .returning(HandOff.id, HandOff.attempts, HandOff.payload)
            .execution_options(synchronize_session=False)
        ).all()
    return sorted((_Claimed(*row) for row in rows), key=lambda job: job.id)


def _give_up_on_abandoned(now: datetime) -> None:
    """Fail hand-offs whose lease keeps running out (a worker died sending each time)."""
    db.session.execute(
        sa.update(HandOff)
        .where(
            HandOff.status == OutboxStatus.SENDING,
            HandOff.next_attempt_at <= now,
            HandOff.attempts >= current_app.config["WORKER_MAX_ATTEMPTS"],
        )
        .values(
            status=OutboxStatus.FAILED, last_error="Gave up: the worker stopped while sending it."
        )
        .execution_options(synchronize_session=False)
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: report it instead of re-sending the body."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, secret: str, body: bytes) -> tuple[str, bool]:
    """POST one signed body; what went wrong ("" on a 2xx answer, one line otherwise) and
    whether the service answered at all."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature(body, secret, int(time.time())),
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT):
            return "", True
    except urllib.error.HTTPError as error:
        with error:
            detail = " ".join(error.read(300).decode(errors="replace").split())
        return f"HTTP {error.code} {error.reason}: {detail}".strip(": ")[:1000], True
    except urllib.error.URLError as error:
        return f"Cannot reach the email service: {error.reason}"[:1000], False
    except (OSError, http.client.HTTPException) as error:
        return f"No answer from the email service: {type(error).__name__}: {error}"[:1000], False


def _record(sent, failed, release: tuple[list, str], now: datetime, result: dict) -> None:
    """Mark each claimed hand-off sent, retrying, failed, or released (no attempt counted)."""
    from donations.worker import backoff  # late: the worker loop imports this module

    max_attempts = current_app.config["WORKER_MAX_ATTEMPTS"]
    with commit_or_rollback():
        if sent:
            _update_claimed(
                [job.id for job in sent], status=OutboxStatus.SENT, sent_at=now, last_error=""
            )
        for job in failed:
            if job.attempts >= max_attempts:
                _update_claimed([job.id], status=OutboxStatus.FAILED, last_error=job.error)
                result["failed"] += 1
                log.warning("hand-off %s failed for good: %s", job.id, job.error)
            else:
                retry_at = now + backoff(job.attempts)
                values = {"status": OutboxStatus.PENDING, "next_attempt_at": retry_at}
                _update_claimed([job.id], last_error=job.error, **values)
                result["retrying"] += 1
        released, why = release
        if released:
            _update_claimed(
                [job.id for job in released],
                status=OutboxStatus.PENDING,
                next_attempt_at=now + backoff(1),
                attempts=HandOff.attempts - 1,
                last_error=f"Not tried yet: {why}"[:1000],
            )
    result["sent"] += len(sent)
    result["released"] += len(release[0])


def _update_claimed(ids: list[int], **values) -> None:
    db.session.execute(
        sa.update(HandOff)
        .where(HandOff.id.in_(ids), HandOff.status == OutboxStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def retry(handoff_id: int, now: datetime) -> bool:
    """Send a failed hand-off again from its first attempt; True if it was failed. Flushes."""
    return bool(
        db.session.execute(
            sa.update(HandOff)
            .where(HandOff.id == handoff_id, HandOff.status == OutboxStatus.FAILED)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
