"""Start a gift: record what the reader chose and open a Stripe Checkout page for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

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
    """The donor with this address (case-insensitive), created if new."""
    email = email.strip().lower()
    donor = db.session.scalar(sa.select(Donor).where(Donor.email == email))
    if donor is None:
        donor = Donor(email=email, name=name)
        db.session.add(donor)
    elif name and not donor.name:
        donor.name = name
    return donor


def start_gift(choice: GiftChoice, success_url: str, cancel_url: str) -> tuple[Gift, str]:
    """Create the gift and its Checkout Session; return the gift and the page to send to.

    The gift is committed only once Stripe has answered, so a Stripe failure
    (``GatewayError``) leaves no half-written gift behind.
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
    try:
        db.session.flush()
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
        gift.stripe_checkout_session_id = session.id
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return gift, session.url or ""


def _reminder_id(token: str) -> int | None:
    if not token:
        return None
    return db.session.scalar(sa.select(Reminder.id).where(Reminder.token == token))
