"""Small factory functions and a sign-in helper shared by the staff tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from donations.extensions import db
from donations.models import Donor, Gift, Payment, StaffUser
from donations.staff.auth import hash_password
from tests.conftest import csrf_token_from

PASSWORD = "correct horse battery staple"
_ids = itertools.count(1)


def at(text: str) -> datetime:
    """``at("2025-03-15 10:00")`` → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_staff(email: str = "admin@example.org", role: str = "admin", **fields) -> StaffUser:
    user = StaffUser(email=email, role=role, password_hash=hash_password(PASSWORD), **fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_donor(email: str, name: str = "") -> Donor:
    donor = Donor(email=email, name=name, created_at=at("2024-01-01 00:00"))
    db.session.add(donor)
    db.session.flush()
    return donor


def make_gift(
    donor: Donor,
    amount: int,
    *,
    currency: str = "USD",
    frequency: str = "once",
    status: str = "paid",
    created: str = "2025-01-01 12:00",
    cancelled: str | None = None,
    **fields,
) -> Gift:
    gift = Gift(
        donor=donor,
        amount=amount,
        currency=currency,
        frequency=frequency,
        status=status,
        created_at=at(created),
        cancelled_at=at(cancelled) if cancelled else None,
        **fields,
    )
    db.session.add(gift)
    db.session.flush()
    return gift


def make_payment(
    gift: Gift, amount: int, when: str, *, refund_of: Payment | None = None
) -> Payment:
    """A charge (positive) or, with ``refund_of``, a refund (pass a negative amount)."""
    number = next(_ids)
    payment = Payment(
        gift=gift,
        kind="refund" if refund_of else "charge",
        amount=amount,
        currency=gift.currency,
        stripe_id=f"re_test{number}" if refund_of else f"pi_test{number}",
        stripe_payment_intent_id=None if refund_of else f"pi_test{number}",
        refunded_payment_id=refund_of.id if refund_of else None,
        created_at=at(when),
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def sign_in(client, email: str = "admin@example.org", password: str = PASSWORD, next_url=None):
    """Post the login form the way a browser would; return the response."""
    page = client.get("/staff/login")
    query = f"?next={next_url}" if next_url else ""
    return client.post(
        f"/staff/login{query}",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
    )
