"""Start a gift: record what the reader chose and open a Stripe Checkout page for it.

Two steps with a commit between them, which the caller (the support view) makes: the
pending gift is committed before the gateway is called, so no database lock is held
during the network call. If the gateway fails, ``abandon_gift`` marks the gift abandoned
and keeps it: deleting it would let SQLite give its id to a later gift, on which a late
event for this gift's session would then land. Operations flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.exc import IntegrityError

from donations.db import db
from donations.enums import Frequency, GiftStatus, TributeKind
from donations.models import Donor, Gift, Reminder
from donations.payments import gateway
from donations.templating import FREQUENCY_LABELS


@dataclass(frozen=True)
class GiftChoice:
    """A validated choice from the support form."""

    frequency: Frequency
    amount: int  #: minor units, as the reader chose it
    currency: str
    email: str  #: normalised by email-validator
    name: str = ""
    source: str = "support"
    source_url: str = ""
    reminder_token: str = ""
    #: the one-time gift whose thank-you page offered this monthly one
    upsell_of_gift_id: int | None = None
    #: what the reader added to ``amount`` to cover card fees; the gift charges both
    covered_fee: int = 0
    tribute_kind: TributeKind | None = None
    tribute_name: str = ""
    tribute_message: str = ""
    tribute_notify_email: str = ""
    #: "keep my name private"
    anonymous: bool = False
    #: the reader's language: the Checkout page and every later email use it
    locale: str = "en"
    #: the campaign and A/B variant the reader answered
    campaign_id: int | None = None
    variant_id: int | None = None


def find_or_create_donor(email: str, name: str = "") -> Donor:
    """The donor with this address (case-insensitive), created if new.

    Two first gifts from one new address at the same moment both try the insert; the
    loser's savepoint rolls back and it reads the winner's row.
    """
    email = email.strip().lower()
    query = sa.select(Donor).where(Donor.email == email)
    donor = db.session.scalar(query)
    if donor is None:
        try:
            with db.session.begin_nested():
                donor = Donor(email=email, name=name)
                db.session.add(donor)
        except IntegrityError:
            donor = db.session.scalar(query)
    elif name and not donor.name:
        donor.name = name
    return donor


def create_pending_gift(choice: GiftChoice) -> Gift:
    """Record the choice as a pending gift of its donor (created if new); flushes.

    The gift's amount is what each payment charges: the chosen amount plus any fee the
    reader covers. A dedication needs a name: without one the gift has none.
    """
    dedicated = bool(choice.tribute_name)
    gift = Gift(
        donor=find_or_create_donor(choice.email, choice.name),
        amount=choice.amount + choice.covered_fee,
        covered_fee=choice.covered_fee,
        currency=choice.currency,
        frequency=choice.frequency,
        status=GiftStatus.PENDING,
        source=choice.source,
        source_url=choice.source_url[:1000],
        reminder_id=_reminder_id(choice.reminder_token),
        upsell_of_gift_id=choice.upsell_of_gift_id,
        tribute_kind=choice.tribute_kind if dedicated else None,
        tribute_name=choice.tribute_name,
        tribute_message=choice.tribute_message if dedicated else "",
        tribute_notify_email=choice.tribute_notify_email if dedicated else "",
        anonymous=choice.anonymous,
        locale=choice.locale,
        campaign_id=choice.campaign_id,
        variant_id=choice.variant_id,
    )
    gift.donor.locale = choice.locale  # later emails and statements follow the last gift
    db.session.add(gift)
    db.session.flush()
    return gift


def open_checkout(gift: Gift, *, success_url: str, cancel_url: str) -> str:
    """Open the Checkout page for a committed pending gift; return its address.

    The idempotency key is the gift's own (its id and creation time), so a retried
    creation returns the same session, while a gift that got a reused id (a restored or
    emptied database) cannot collide with a key Stripe still remembers.
    Raises ``GatewayError`` if the gateway refuses or cannot be reached.
    """
    organization = current_app.config["ORGANIZATION_NAME"]
    session = gateway().create_checkout_session(
        gift_id=gift.id,
        frequency=gift.frequency,
        amount=gift.amount,
        currency=gift.currency,
        product_name=_product_name(gift, organization),
        customer_email=gift.donor.email,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=checkout_key(gift),
        locale=gift.locale,
        expires_at=_expires_at(gift),
    )
    gift.stripe_checkout_session_id = session.id
    return session.url or ""


def checkout_minutes() -> int:
    """How long a Checkout page stays open: ``CHECKOUT_EXPIRY_MINUTES``, within what
    Stripe takes (30 minutes to 24 hours from the request: 35 leaves five minutes for
    retries)."""
    return min(max(current_app.config["CHECKOUT_EXPIRY_MINUTES"], 35), 1440)


def _expires_at(gift: Gift) -> int:
    """When an unpaid Checkout page closes: ``checkout_minutes`` after the gift began
    (fixed by the gift, so a retried creation sends the same parameters)."""
    return int(gift.created_at.timestamp()) + checkout_minutes() * 60


def _product_name(gift: Gift, organization: str) -> str:
    """What Checkout says is being paid for, in the gift's language."""
    with force_locale(gift.locale):
        return gettext(
            "%(frequency)s donation to %(organization)s",
            frequency=FREQUENCY_LABELS[gift.frequency],
            organization=organization,
        )


def checkout_key(gift: Gift) -> str:
    return f"checkout-{gift.id}-{gift.created_at:%Y%m%d%H%M%S%f}"


def abandon_gift(gift: Gift) -> None:
    """Mark a gift whose Checkout page never opened as abandoned; flushes. It is kept, so
    its id is never given to another gift."""
    gift.status = GiftStatus.ABANDONED
    db.session.flush()


def _reminder_id(token: str) -> int | None:
    if not token:
        return None
    return db.session.scalar(sa.select(Reminder.id).where(Reminder.token == token))
