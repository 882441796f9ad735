"""Staff sign-in: Argon2 password hashes, a temporary lockout after repeated failures,
a rate limit per address, and a ``next`` redirect that can never leave the site.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from donations.extensions import db, limiter, login_manager
from donations.models import StaffUser, utcnow
from donations.staff import bp
from donations.staff.forms import LoginForm

_hasher = PasswordHasher()
FAILED = "Wrong email or password, or too many attempts: wait a few minutes and try again."


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


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they are stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def authenticate(email: str, password: str, *, now: datetime) -> StaffUser | None:
    """The active user with these credentials, or None; counts failures and locks.

    After ``STAFF_LOCKOUT_THRESHOLD`` failures in a row the account refuses every
    password, the right one included, for ``STAFF_LOCKOUT_MINUTES``. Commits.
    """
    email = email.strip().lower()
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return None
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return None
    if not verify_password(user, password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config.get("STAFF_LOCKOUT_THRESHOLD", 5):
            minutes = current_app.config.get("STAFF_LOCKOUT_MINUTES", 15)
            user.locked_until = now + timedelta(minutes=minutes)
            user.failed_logins = 0
        db.session.commit()
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    return user


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the dashboard."""
    fallback = url_for("staff.dashboard")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(char) < 32 for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _fresh_session() -> None:
    """Drop everything from before sign-in/out, the CSRF token included (a new one is
    issued on the next form), so nothing planted in a session survives the change."""
    session.clear()
    g.pop("csrf_token", None)


def _login_rate() -> str:
    return current_app.config.get("STAFF_LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, now=utcnow())
        if user is not None:
            _fresh_session()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        flash(FAILED, "error")
    return render_template("staff/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    _fresh_session()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


def _load_user(user_id: str) -> StaffUser | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


def init_login(app: Flask) -> None:
    """Point Flask-Login at the staff login page and user table."""
    login_manager.login_view = "staff.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.user_loader(_load_user)
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE"))
