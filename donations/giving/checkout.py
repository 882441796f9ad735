"""Start a gift: record what the reader chose and open a Stripe Checkout page for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from donations.extensions import db
from donations.models import Donor, Gift, GiftStatus, Reminder
from donations.payments import gateway

PRODUCT_NAMES = {
    "once": "One-time donation to {org}",
    "monthly": "Monthly donation to {org}",
    "annual": "Annual donation to {org}",
}


@dataclass(frozen=True)
class GiftChoice:
    """A validated choice from the support form."""

    frequency: str  #: once, monthly, annual
    amount: int  #: minor units
    currency: str
    email: str  #: normalised by email-validator
    name: str = ""
    source: str = "support"
    source_url: str = ""
    reminder_token: str = ""


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


def start_gift(choice: GiftChoice, success_url: str, cancel_url: str) -> tuple[Gift, str]:
    """Create the gift and its Checkout Session; return the gift and the page to send to.

    The pending gift is committed before Stripe is called, so no database lock is held
    during the network call; if Stripe fails (``GatewayError``) the gift is deleted again
    (and the donor, if this was their first), leaving nothing half-written behind.
    """
    donor = find_or_create_donor(choice.email, choice.name)
    gift = Gift(
        donor=donor,
        amount=choice.amount,
        currency=choice.currency,
        frequency=choice.frequency,
        status=GiftStatus.PENDING,
        source=choice.source,
        source_url=choice.source_url[:1000],
        reminder_id=_reminder_id(choice.reminder_token),
    )
    db.session.add(gift)
    db.session.commit()
    try:
        organization = current_app.config["ORGANIZATION_NAME"]
        session = gateway().create_checkout_session(
            gift_id=gift.id,
            frequency=choice.frequency,
            amount=choice.amount,
            currency=choice.currency,
            product_name=PRODUCT_NAMES[choice.frequency].format(org=organization),
            customer_email=donor.email,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{uuid.uuid4()}",
        )
    except BaseException:
        db.session.rollback()
        _forget(gift)
        raise
    gift.stripe_checkout_session_id = session.id
    db.session.commit()
    return gift, session.url or ""


def _forget(gift: Gift) -> None:
    """Delete a gift whose checkout never opened, and its donor if it has no other gift."""
    donor = gift.donor
    db.session.delete(gift)
    db.session.flush()
    if not db.session.scalar(sa.select(Gift.id).where(Gift.donor_id == donor.id).limit(1)):
        db.session.delete(donor)
    db.session.commit()


def _reminder_id(token: str) -> int | None:
    if not token:
        return None
    return db.session.scalar(sa.select(Reminder.id).where(Reminder.token == token))
