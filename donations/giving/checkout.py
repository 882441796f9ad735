"""Start a gift: record what the reader chose and open a Stripe Checkout page for it.

Two steps with a commit between them, which the caller (the support view) makes: the
pending gift is committed before the gateway is called, so no database lock is held
during the network call; if the gateway fails, ``forget_gift`` removes it again.
Operations flush, never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.models import Donor, Gift, Reminder
from donations.payments import gateway
from donations.templating import FREQUENCY_LABELS


@dataclass(frozen=True)
class GiftChoice:
    """A validated choice from the support form."""

    frequency: Frequency
    amount: int  #: minor units
    currency: str
    email: str  #: normalised by email-validator
    name: str = ""
    source: str = "support"
    source_url: str = ""
    reminder_token: str = ""
    #: the one-time gift whose thank-you page offered this monthly one
    upsell_of_gift_id: int | None = None


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
    """Record the choice as a pending gift of its donor (created if new); flushes."""
    gift = Gift(
        donor=find_or_create_donor(choice.email, choice.name),
        amount=choice.amount,
        currency=choice.currency,
        frequency=choice.frequency,
        status=GiftStatus.PENDING,
        source=choice.source,
        source_url=choice.source_url[:1000],
        reminder_id=_reminder_id(choice.reminder_token),
        upsell_of_gift_id=choice.upsell_of_gift_id,
    )
    db.session.add(gift)
    db.session.flush()
    return gift


def open_checkout(gift: Gift, *, success_url: str, cancel_url: str) -> str:
    """Open the Checkout page for a committed pending gift; return its address.

    Raises ``GatewayError`` if the gateway refuses or cannot be reached.
    """
    organization = current_app.config["ORGANIZATION_NAME"]
    session = gateway().create_checkout_session(
        gift_id=gift.id,
        frequency=gift.frequency,
        amount=gift.amount,
        currency=gift.currency,
        product_name=f"{FREQUENCY_LABELS[gift.frequency]} donation to {organization}",
        customer_email=gift.donor.email,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"checkout-{uuid.uuid4()}",
    )
    gift.stripe_checkout_session_id = session.id
    return session.url or ""


def forget_gift(gift: Gift) -> None:
    """Delete a gift whose checkout never opened, and its donor if it has no other gift."""
    donor = gift.donor
    db.session.delete(gift)
    db.session.flush()
    if not db.session.scalar(sa.select(Gift.id).where(Gift.donor_id == donor.id).limit(1)):
        db.session.delete(donor)


def _reminder_id(token: str) -> int | None:
    if not token:
        return None
    return db.session.scalar(sa.select(Reminder.id).where(Reminder.token == token))
