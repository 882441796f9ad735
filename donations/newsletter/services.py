"""The newsletter's double opt-in: sign-up, confirmation, unsubscription and their links.

Rules:

- one subscriber per address (lower-cased); nothing is subscribed until the reader opens
  the link in the confirmation email and confirms (the subscriber is ``pending`` until then);
- at most one confirmation email per address and day: the outbox's dedupe key carries the
  date, so nobody can use the form to flood someone's inbox. An unsubscription starts a
  new allowance, so a reader who unsubscribed by mistake can sign up again at once;
- the consent record (the words shown, where, in which language) is that of the sign-up
  whose email was sent, so it matches the email the reader confirms from; a repeated
  sign-up that sends nothing changes nothing. The moment of consent is ``confirmed_at``,
  when the reader proved the address is theirs and said yes;
- confirming and unsubscribing are idempotent, and each change queues one hand-off to the
  newsroom's email service (``handoffs``);
- links carry a token signed with the app's secret and salted by purpose, naming the
  subscriber by id and address (so a link stops working once the address is erased): the
  confirmation link expires after ``NEWSLETTER_LINK_MAX_AGE`` seconds, the unsubscribe
  link never does.

Operations flush and never commit: the view or the worker owns the transaction. Functions
take ``now`` so tests control time instead of patching the clock.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from sqlalchemy.exc import IntegrityError

from donations import outbox
from donations.config import public_url
from donations.db import db, utcnow
from donations.enums import HandOffEvent, SubscriberStatus
from donations.models import NewsletterSubscriber
from donations.newsletter import handoffs

CONFIRM_SALT = "newsletter-confirm"
UNSUBSCRIBE_SALT = "newsletter-unsubscribe"
CONFIRM_TEMPLATE = "newsletter_confirm"
#: where a sign-up came from when the form does not say (the newsletter's own page)
DEFAULT_SOURCE = "newsletter"
SOURCE_LENGTH = 32
MAX_EMAIL_LENGTH = 254
_NOT_SOURCE = re.compile(r"[^a-z0-9_-]")


class InvalidEmail(ValueError):
    """An address a reader can correct (the message, in their language, says how)."""


class InvalidLink(ValueError):
    """A confirmation or unsubscribe link that was tampered with, has expired or names no
    subscriber."""


def normalise_email(raw: str) -> str:
    """The address lower-cased and checked (syntax only, no DNS); raises ``InvalidEmail``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidEmail(_("Enter your email address."))
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(_("That email address is too long."))
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidEmail(_("Enter a valid email address, like name@example.com.")) from error


def clean_source(raw: str | None) -> str:
    """A sign-up's source as stored: a short lower-case word (``appeal``, ``support``)."""
    source = _NOT_SOURCE.sub("", (raw or "").strip().lower())[:SOURCE_LENGTH]
    return source or DEFAULT_SOURCE


def consent_text() -> str:
    """The consent the sign-up form shows beside its button, in the reader's language; the
    same words are stored with the sign-up."""
    return _(
        "Send me the free weekly newsletter of %(organization)s by email. "
        "I can unsubscribe at any time with the link in every email.",
        organization=current_app.config["ORGANIZATION_NAME"],
    )


def signup_action() -> str:
    """Where sign-up forms post: the form's page in the reader's language, which the
    appeal box must name since its POST comes from another site without our cookies."""
    return url_for("newsletter.signup", lang=str(get_locale()))


def request_subscription(
    email: str,
    *,
    locale: str,
    source: str,
    consent_text: str,
    now: datetime | None = None,
) -> NewsletterSubscriber:
    """Record a sign-up and queue its confirmation email (at most one a day); flush.

    A confirmed subscriber is left as it is and gets no email: the reader sees the same
    neutral page either way, so the form does not tell who is subscribed. Raises
    ``InvalidEmail`` before storing anything.
    """
    now = now or utcnow()
    address = normalise_email(email)
    subscriber = _find_or_create(address, now)
    if subscriber.status == SubscriberStatus.CONFIRMED:
        return subscriber
    leave = unsubscribe_url(subscriber, locale)
    context = {
        "locale": locale,
        "email": address,
        "confirm_url": confirm_url(subscriber, locale, now),
        "unsubscribe_url": leave,
        #: the worker turns it into RFC 8058 List-Unsubscribe headers (one click)
        "list_unsubscribe_url": leave,
        "link_days": max(1, current_app.config["NEWSLETTER_LINK_MAX_AGE"] // 86400),
    }
    queued = outbox.enqueue(
        address, CONFIRM_TEMPLATE, context, dedupe_key=_confirmation_key(subscriber, now)
    )
    if queued is None:
        return subscriber
    db.session.execute(
        sa.update(NewsletterSubscriber)
        .where(
            NewsletterSubscriber.id == subscriber.id,
            NewsletterSubscriber.status != SubscriberStatus.CONFIRMED,
        )
        .values(
            status=SubscriberStatus.PENDING,
            locale=locale[:16],
            source=clean_source(source),
            consent_text=consent_text,
            confirmation_sent_at=now,
        )
    )
    db.session.refresh(subscriber)
    return subscriber


def _find_or_create(address: str, now: datetime) -> NewsletterSubscriber:
    """The subscriber with this address, created (pending) if new.

    Two sign-ups of one new address at the same moment both try the insert; the loser's
    savepoint rolls back and it reads the winner's row.
    """
    query = sa.select(NewsletterSubscriber).where(NewsletterSubscriber.email == address)
    subscriber = db.session.scalar(query)
    if subscriber is None:
        try:
            with db.session.begin_nested():
                subscriber = NewsletterSubscriber(
                    email=address, status=SubscriberStatus.PENDING, created_at=now
                )
                db.session.add(subscriber)
        except IntegrityError:
            subscriber = db.session.scalar(query)
    return subscriber


def _confirmation_key(subscriber: NewsletterSubscriber, now: datetime) -> str:
    """One confirmation email per subscriber and UTC day (and per unsubscription)."""
    since = subscriber.unsubscribed_at
    generation = int(since.timestamp()) if since else 0
    return f"newsletter-confirm:{subscriber.id}:{now:%Y-%m-%d}:{generation}"


def confirm(subscriber: NewsletterSubscriber, now: datetime) -> bool:
    """Subscribe a pending subscriber; True if this call did. Queues the ``subscribed``
    hand-off. An unsubscribed reader must sign up again (a new consent). Flushes."""
    changed = db.session.execute(
        sa.update(NewsletterSubscriber)
        .where(
            NewsletterSubscriber.id == subscriber.id,
            NewsletterSubscriber.status == SubscriberStatus.PENDING,
        )
        .values(status=SubscriberStatus.CONFIRMED, confirmed_at=now)
    ).rowcount
    db.session.refresh(subscriber)
    if changed:
        handoffs.queue(subscriber, HandOffEvent.SUBSCRIBED, now)
    return bool(changed)


def unsubscribe(subscriber: NewsletterSubscriber, now: datetime) -> bool:
    """Unsubscribe; True if this call did. Only a confirmed subscriber's unsubscription is
    handed off: the email service never heard of a pending one. Flushes."""
    was_confirmed = _set_unsubscribed(subscriber, SubscriberStatus.CONFIRMED, now)
    changed = was_confirmed or _set_unsubscribed(subscriber, SubscriberStatus.PENDING, now)
    db.session.refresh(subscriber)
    if was_confirmed:
        handoffs.queue(subscriber, HandOffEvent.UNSUBSCRIBED, now)
    return changed


def _set_unsubscribed(
    subscriber: NewsletterSubscriber, status: SubscriberStatus, now: datetime
) -> bool:
    return bool(
        db.session.execute(
            sa.update(NewsletterSubscriber)
            .where(NewsletterSubscriber.id == subscriber.id, NewsletterSubscriber.status == status)
            .values(status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=now)
        ).rowcount
    )


# --- links -------------------------------------------------------------------------------


def _timed_serializer(now: datetime | None) -> URLSafeTimedSerializer:
    """The confirmation links' serializer, reading the clock from ``now`` when given."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now.timestamp()) if now else int(time.time())

    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=CONFIRM_SALT, signer=Signer
    )


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def _claims(subscriber: NewsletterSubscriber) -> dict:
    return {"s": subscriber.id, "e": subscriber.email}


def confirm_token(subscriber: NewsletterSubscriber, now: datetime | None = None) -> str:
    return _timed_serializer(now).dumps(_claims(subscriber))


def unsubscribe_token(subscriber: NewsletterSubscriber) -> str:
    return _unsubscribe_serializer().dumps(_claims(subscriber))


def _with_language(path: str, locale: str) -> str:
    """An absolute link that opens its page in the language of the email it is in."""
    return f"{public_url()}{path}?{urlencode({'lang': locale})}" if locale else public_url() + path


def confirm_url(subscriber: NewsletterSubscriber, locale: str = "", now=None) -> str:
    return _with_language(f"/newsletter/confirm/{confirm_token(subscriber, now)}", locale)


def unsubscribe_url(subscriber: NewsletterSubscriber, locale: str = "") -> str:
    return _with_language(f"/newsletter/unsubscribe/{unsubscribe_token(subscriber)}", locale)


def subscriber_for_confirm_token(token: str, now: datetime | None = None) -> NewsletterSubscriber:
    """The subscriber a confirmation link names; raises ``InvalidLink`` with a reason."""
    try:
        claims = _timed_serializer(now).loads(
            token, max_age=current_app.config["NEWSLETTER_LINK_MAX_AGE"]
        )
    except SignatureExpired as error:
        raise InvalidLink(
            _("This confirmation link has expired. Sign up again and we will send a new one.")
        ) from error
    except BadSignature as error:
        raise InvalidLink(_bad_link()) from error
    return _named_by(claims)


def subscriber_for_unsubscribe_token(token: str) -> NewsletterSubscriber:
    """The subscriber an unsubscribe link names; raises ``InvalidLink`` with a reason."""
    try:
        claims = _unsubscribe_serializer().loads(token)
    except BadSignature as error:
        raise InvalidLink(_bad_link()) from error
    return _named_by(claims)


def _bad_link() -> str:
    return _("This link is not valid. Please copy the whole link from the email.")


def _named_by(claims) -> NewsletterSubscriber:
    subscriber = None
    if isinstance(claims, dict) and isinstance(claims.get("s"), int):
        subscriber = db.session.get(NewsletterSubscriber, claims["s"])
    if subscriber is None or subscriber.email != claims.get("e"):
        raise InvalidLink(_("We could not find this subscription. It may have been removed."))
    return subscriber
