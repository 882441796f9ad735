"""Staff accounts: Argon2 password hashes, sign-in with a temporary lockout after repeated
failures, the second factor (TOTP and one-time recovery codes), and the account changes
the account page and the ``flask staff`` commands make.

Every change that must end an account's other sessions (password, second factor,
disabling) raises ``session_epoch``. Every function flushes; the view or command that
calls it commits.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from donations.db import db
from donations.enums import StaffRole
from donations.models import RecoveryCode, StaffUser

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
RECOVERY_CODE_COUNT = 10
#: recovery code letters: no 0/o, 1/l/i, so a code copied from paper reads one way
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOTP_STEP_SECONDS = 30
#: how many steps back a code is still recognised, to say "expired" rather than "wrong"
EXPIRED_STEPS = 10


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
    db.session.flush()
    return user


def is_locked(user: StaffUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: StaffUser, attribute: str, now: datetime) -> None:
    """One more failed password or code; the threshold locks the account for a while."""
    setattr(user, attribute, getattr(user, attribute) + 1)
    if getattr(user, attribute) >= current_app.config["STAFF_LOCKOUT_THRESHOLD"]:
        user.locked_until = now + timedelta(minutes=current_app.config["STAFF_LOCKOUT_MINUTES"])
        setattr(user, attribute, 0)


def signed_in(user: StaffUser, now: datetime) -> None:
    """Both steps passed: the account is signed in."""
    user.last_login_at = now
    user.locked_until = None
    db.session.flush()


# --- second factor -----------------------------------------------------------------------


def requires_two_factor(user: StaffUser) -> bool:
    """Admins always; viewers too when ``STAFF_2FA_REQUIRED`` is ``all``."""
    return user.is_admin or current_app.config["STAFF_2FA_REQUIRED"] == "all"


def has_two_factor(user: StaffUser) -> bool:
    return user.totp_secret is not None and user.totp_enabled_at is not None


def needs_second_step(user: StaffUser) -> bool:
    """A code after the password, or setting the second factor up first."""
    return has_two_factor(user) or requires_two_factor(user)


def pending_secret(user: StaffUser) -> str:
    """The secret being set up, kept on the account (not in the cookie) until a code
    confirms it; reloading the setup page shows the same one."""
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        db.session.flush()
    return user.totp_secret


def provisioning_uri(user: StaffUser, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(pending_secret(user)).provisioning_uri(name=user.email, issuer_name=issuer)


def _step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECONDS


def _digits(code: str) -> str:
    return "".join(code.split())


class CodeCheck(enum.Enum):
    """The outcome of a second-factor code, and what the person is told."""

    ACCEPTED = "accepted"
    RECOVERY_USED = "recovery"
    WRONG = "That code is wrong. Check the account in your authenticator app and try again."
    REUSED = "That code was already used. Wait for the next one in your app."
    EXPIRED = "That code has expired. Enter the one your app shows now (is its clock right?)."
    RECOVERY_REUSED = "That recovery code was already used. Each one works once."
    LOCKED = "Too many attempts: wait a few minutes and sign in again."

    @property
    def passed(self) -> bool:
        return self in (CodeCheck.ACCEPTED, CodeCheck.RECOVERY_USED)


def _totp_check(user: StaffUser, code: str, now: datetime) -> tuple[CodeCheck, int | None]:
    """Match ``code`` against the steps around ``now`` (one either side), then the
    recently expired ones; a step at or before ``totp_last_step`` is a reused code."""
    totp, current = pyotp.TOTP(user.totp_secret), _step(now)
    for step in range(current + 1, current - EXPIRED_STEPS - 1, -1):
        if not hmac.compare_digest(totp.generate_otp(step), code):
            continue
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return CodeCheck.REUSED, None
        if step < current - 1:
            return CodeCheck.EXPIRED, None
        return CodeCheck.ACCEPTED, step
    return CodeCheck.WRONG, None


def _recovery_check(user: StaffUser, code: str, now: datetime) -> CodeCheck:
    """Spend the unused recovery code ``code`` is, if any."""
    typed = code.lower().replace("-", "")
    codes = sorted(user.recovery_codes, key=lambda row: row.used_at is not None)
    for row in codes:
        try:
            _hasher.verify(row.code_hash, typed)
        except (VerificationError, InvalidHashError):
            continue
        if row.used_at is not None:
            return CodeCheck.RECOVERY_REUSED
        row.used_at = now
        return CodeCheck.RECOVERY_USED
    return CodeCheck.WRONG


def check_code(
    user: StaffUser, code: str, *, now: datetime, allow_recovery: bool = True
) -> CodeCheck:
    """Check a second-factor code (or, where allowed, a recovery code) of an enrolled
    account. A TOTP code is accepted once; every failure counts toward the lockout, as a
    wrong password does. The caller commits whatever the outcome."""
    if is_locked(user, now):
        return CodeCheck.LOCKED
    code = _digits(code)
    if code.isdigit() and len(code) == 6:
        result, step = _totp_check(user, code, now)
        if step is not None:
            user.totp_last_step = step
    elif allow_recovery and code:
        result = _recovery_check(user, code, now)
    else:
        result = CodeCheck.WRONG
    if result.passed:
        user.failed_codes = 0
    else:
        _count_failure(user, "failed_codes", now)
        if is_locked(user, now):
            result = CodeCheck.LOCKED
    db.session.flush()
    return result


def confirm_enrolment(user: StaffUser, code: str, *, now: datetime) -> list[str] | None:
    """Turn the second factor on when ``code`` matches the pending secret; the new
    recovery codes (shown once), or None for a wrong code. Other sessions end."""
    result, step = _totp_check(user, _digits(code), now)
    if result is not CodeCheck.ACCEPTED:
        return None
    user.totp_enabled_at = now
    user.totp_last_step = step
    user.failed_codes = 0
    user.session_epoch += 1
    return replace_recovery_codes(user, now=now)


def _new_recovery_code() -> str:
    letters = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{letters[:5]}-{letters[5:]}"


def replace_recovery_codes(user: StaffUser, *, now: datetime) -> list[str]:
    """Ten new one-time codes in place of the old ones; only their hashes are kept."""
    for row in list(user.recovery_codes):
        db.session.delete(row)
    user.recovery_codes.clear()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        user.recovery_codes.append(
            RecoveryCode(code_hash=_hasher.hash(code.replace("-", "")), created_at=now)
        )
    db.session.flush()
    return codes


def unused_recovery_codes(user: StaffUser) -> int:
    return sum(1 for row in user.recovery_codes if row.used_at is None)


def remove_two_factor(user: StaffUser) -> int:
    """Remove the second factor and the recovery codes (how many), ending every session."""
    removed = len(user.recovery_codes)
    for row in list(user.recovery_codes):
        db.session.delete(row)
    user.recovery_codes.clear()
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.failed_codes = 0
    user.session_epoch += 1
    db.session.flush()
    return removed


def create_account(email: str, role: StaffRole, password: str) -> StaffUser:
    """A new staff account; ``email`` must already be normalised and unused."""
    user = StaffUser(email=email, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Replace the password and lift any lockout; every session of the account ends."""
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.failed_codes = 0
    user.locked_until = None
    user.session_epoch += 1
    db.session.flush()


def disable_account(user: StaffUser) -> None:
    """The account can no longer sign in, and its open sessions end."""
    user.active = False
    user.session_epoch += 1
    db.session.flush()
