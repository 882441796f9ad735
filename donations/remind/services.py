""" "Remind me later": schedule, cancel, suppress and build reminder emails.

A reader who cannot give today leaves an email and a time; the worker (``flask worker``)
sends one email on the due day with a button back to the support page prefilled. Rules:

- one pending reminder per email and due month: signing up again updates it;
- a gift by the same email after the sign-up suppresses the reminder (``converted``);
- cancelling needs no login: the link carries a signed token (salt ``reminder-cancel``),
  and cancelling twice is harmless.

Operations flush and never commit: the view or the worker owns the transaction.
Functions take ``now`` so tests control time instead of patching the clock.
"""

from __future__ import annotations

import calendar
import functools
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from donations.config import public_url
from donations.db import db
from donations.enums import GAVE_STATUSES, Frequency, ReminderStatus
from donations.mail import render_email
from donations.models import Donor, Gift, Reminder
from donations.money import as_input

CANCEL_SALT = "reminder-cancel"
MAX_MONTHS_AHEAD = 12
#: hour (UTC) at which a reminder for a chosen month goes out on the 1st
CHOSEN_MONTH_HOUR = 9
WHEN_CHOICES = {
    "week": _l("In one week"),
    "month": _l("In one month"),
    "three_months": _l("In three months"),
    "chosen": _l("In a month I choose"),
}
PENDING = (ReminderStatus.SCHEDULED, ReminderStatus.SENDING)
#: a gift in one of these states means the reader gave


class InvalidReminder(ValueError):
    """Input a reader can correct (the message says how)."""


class InvalidCancelLink(ValueError):
    """A cancel link that was tampered with, has expired, or names no reminder."""


@dataclass(frozen=True)
class ReminderRequest:
    """A validated sign-up."""

    email: str  #: normalised, lower-cased
    due_at: datetime
    frequency: Frequency = Frequency.ONCE
    amount: int | None = None  #: minor units
    currency: str = "USD"
    source: str = ""
    locale: str = "en"


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later, clamped to the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_month(text: str, now: datetime) -> tuple[int, int]:
    """Check a ``YYYY-MM`` month is this month or up to 12 months ahead."""
    try:
        chosen = datetime.strptime(text.strip(), "%Y-%m")
    except ValueError as error:
        raise InvalidReminder(_("Choose a month, such as 2025-09.")) from error
    offset = (chosen.year - now.year) * 12 + chosen.month - now.month
    if offset < 0:
        raise InvalidReminder(_("That month has passed: choose this month or a later one."))
    if offset > MAX_MONTHS_AHEAD:
        raise InvalidReminder(
            ngettext(
                "Choose a month at most %(num)d month from now.",
                "Choose a month at most %(num)d months from now.",
                MAX_MONTHS_AHEAD,
            )
        )
    return chosen.year, chosen.month


def due_date(when: str, month: str, now: datetime) -> datetime:
    """When to send, from the form's ``when`` choice (and ``month`` for "chosen")."""
    match when:
        case "week":
            return now + timedelta(days=7)
        case "month":
            return add_months(now, 1)
        case "three_months":
            return add_months(now, 3)
        case "chosen":
            year, number = parse_month(month, now)
            first = datetime(year, number, 1, CHOSEN_MONTH_HOUR, tzinfo=UTC)
            return max(first, now)
    raise InvalidReminder(_("Choose when we should remind you."))


def schedule(request: ReminderRequest, now: datetime) -> Reminder:
    """Create the reminder, or update the pending one for the same email and month; flush.

    Two sign-ups for one email and month at the same moment both try the insert; the
    loser's savepoint rolls back and it updates the winner's row instead.
    """
    due_month = _month_of(request.due_at)
    for _attempt in range(2):
        reminder = _pending_for(request.email, due_month)
        try:
            with db.session.begin_nested():
                if reminder is None:
                    reminder = Reminder(
                        email=request.email, token=secrets.token_urlsafe(24), created_at=now
                    )
                    db.session.add(reminder)
                _apply(reminder, request, due_month)
        except IntegrityError:
            continue
        return reminder
    raise InvalidReminder(_("Please try again."))


def _apply(reminder: Reminder, request: ReminderRequest, due_month: str) -> None:
    """Write the sign-up on the reminder; one being sent keeps its schedule."""
    if reminder.status != ReminderStatus.SENDING:
        reminder.status = ReminderStatus.SCHEDULED
        reminder.due_at = request.due_at
        reminder.due_month = due_month
        reminder.next_attempt_at = request.due_at
        reminder.attempts = 0
        reminder.last_error = ""
    reminder.frequency = request.frequency
    reminder.amount = request.amount
    reminder.currency = request.currency
    reminder.source = request.source[:1000]
    reminder.locale = request.locale


def _pending_for(email: str, due_month: str) -> Reminder | None:
    return db.session.scalar(
        sa.select(Reminder).where(
            Reminder.email == email,
            Reminder.due_month == due_month,
            Reminder.status.in_(PENDING),
        )
    )


def _month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def _serializer(now: datetime | None) -> URLSafeTimedSerializer:
    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now.timestamp()) if now else int(time.time())

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CANCEL_SALT, signer=Signer)


def cancel_token(reminder: Reminder, now: datetime | None = None) -> str:
    """A signed, expiring token for the reminder's cancel link."""
    return _serializer(now).dumps(reminder.token)


def reminder_for_cancel_token(token: str, now: datetime | None = None) -> Reminder:
    """The reminder a cancel link names; raises ``InvalidCancelLink`` with a reason."""
    max_age = current_app.config["REMINDER_CANCEL_MAX_AGE"]
    try:
        reference = _serializer(now).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidCancelLink(
            _(
                "This cancel link has expired. Use the link in your most recent reminder "
                "email, or reply to it and we will cancel for you."
            )
        ) from error
    except BadSignature as error:
        raise InvalidCancelLink(
            _("This cancel link is not valid. Please copy the whole link from the email.")
        ) from error
    reminder = db.session.scalar(sa.select(Reminder).where(Reminder.token == str(reference)))
    if reminder is None:
        raise InvalidCancelLink(_("We could not find this reminder. It may have been removed."))
    return reminder


def cancel(reminder: Reminder, now: datetime) -> bool:
    """Cancel a reminder not sent yet; True if this call changed it. Flushes."""
    if reminder.status not in PENDING:
        return False
    changed = db.session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder.id, Reminder.status.in_(PENDING))
        .values(status=ReminderStatus.CANCELLED, cancelled_at=now)
    ).rowcount
    db.session.refresh(reminder)
    return bool(changed)


def suppress_if_gave(reminder_ids: list[int], now: datetime) -> set[int]:
    """Mark converted those reminders whose reader has given since signing up; flushes."""
    if not reminder_ids:
        return set()
    gave = (
        sa.select(Gift.id)
        .join(Donor, Gift.donor_id == Donor.id)
        .where(
            Donor.email == Reminder.email,
            Gift.created_at >= Reminder.created_at,
            sa.or_(Gift.status.in_(GAVE_STATUSES), Gift.paid_at.is_not(None)),
        )
        .exists()
    )
    ids = set(db.session.scalars(sa.select(Reminder.id).where(Reminder.id.in_(reminder_ids), gave)))
    if ids:
        db.session.execute(
            sa.update(Reminder)
            .where(Reminder.id.in_(ids))
            .values(status=ReminderStatus.CONVERTED, converted_at=now)
        )
    return ids


def email_for_token(token: str) -> str | None:
    """The address a reminder was for, so the support page its email links to is prefilled
    (the token is unguessable and travels only in that email)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Reminder.email).where(Reminder.token == token))


def support_url(reminder: Reminder) -> str:
    """The support page prefilled with the reader's choice and the reminder's reference,
    in the language the reader signed up in."""
    query = {"frequency": reminder.frequency}
    if reminder.amount:
        query["amount"] = _amount_text(reminder.amount, reminder.currency)
    query.update(
        currency=reminder.currency,
        reminder=reminder.token,
        source="reminder",
        lang=reminder.locale,
    )
    return f"{public_url()}/?{urlencode(query)}"


@functools.lru_cache(maxsize=1024)
def _amount_text(amount: int, currency: str) -> str:
    """``as_input`` cached: the worker formats the same few amounts thousands of times."""
    return as_input(amount, currency)


def cancel_url(reminder: Reminder, now: datetime | None = None) -> str:
    query = urlencode({"lang": reminder.locale})
    return f"{public_url()}/remind/cancel/{cancel_token(reminder, now)}?{query}"


def build_email(reminder: Reminder, now: datetime | None = None) -> Message:
    """The reminder email, with one-click unsubscribe headers (RFC 8058)."""
    unsubscribe = cancel_url(reminder, now)
    context = {
        "reminder": reminder,
        "support_url": support_url(reminder),
        "cancel_url": unsubscribe,
        "locale": reminder.locale,
    }
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    stamp = int(reminder.created_at.timestamp()) if reminder.created_at else 0
    return render_email(
        "reminder",
        context,
        to=reminder.email,
        headers=headers,
        message_id=f"reminder-{reminder.id}.{stamp}",
    )
