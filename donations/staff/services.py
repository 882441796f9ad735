"""Staff accounts: Argon2 password hashes, sign-in with a temporary lockout after repeated
failures, and the account changes the ``flask staff`` commands make.

Every function flushes; the view or command that calls it commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from donations.db import db
from donations.enums import StaffRole
from donations.models import StaffUser

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so both paths take the same time. Made on first
    use: Argon2 takes 64 MiB for a moment, which processes that never sign in can skip."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    """Check ``password``, upgrading the stored hash when Argon2's parameters changed."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def find_account(email: str) -> StaffUser | None:
    """The staff account of ``email`` (compared in lower case), or None."""
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))


def authenticate(email: str, password: str, *, now: datetime) -> StaffUser | None:
    """The active user with these credentials, or None; counts failures and locks.

    After ``STAFF_LOCKOUT_THRESHOLD`` failures in a row the account refuses every
    password, the right one included, for ``STAFF_LOCKOUT_MINUTES``. The caller commits
    whatever the outcome, so failures are counted.
    """
    user = find_account(email)
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not verify_password(user, password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["STAFF_LOCKOUT_THRESHOLD"]:
            minutes = current_app.config["STAFF_LOCKOUT_MINUTES"]
            user.locked_until = now + timedelta(minutes=minutes)
            user.failed_logins = 0
        db.session.flush()
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def create_account(email: str, role: StaffRole, password: str) -> StaffUser:
    """A new staff account; ``email`` must already be normalised and unused."""
    user = StaffUser(email=email, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Replace the password and lift any lockout."""
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()


def disable_account(user: StaffUser) -> None:
    """The account can no longer sign in, and its open sessions end."""
    user.active = False
    db.session.flush()
