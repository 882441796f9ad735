"""Staff sign-in in two steps, the second factor's setup, the account page, and the rules
that end a session.

Sign-in: the password step leaves only a *pending* sign-in in the session (the user id,
when, and the account's ``session_epoch``); the user is signed in once the code step
passes, or, for an account that must have a second factor and has none, once it is set
up. A session records its epoch, when it began and when it was last used: it ends after
``STAFF_IDLE_TIMEOUT`` seconds unused, ``STAFF_SESSION_LIFETIME`` seconds after sign-in,
and as soon as the account's epoch moves (password or second factor changed, account
disabled). There is no remember-me cookie: a staff session lives in the session cookie.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import segno
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from donations.db import commit_or_rollback, db, utcnow
from donations.extensions import limiter
from donations.models import StaffUser
from donations.staff import bp, services
from donations.staff.forms import CodeForm, LoginForm, PasswordChangeForm

SIGN_IN_FAILED = "Wrong email or password, or too many attempts: wait a few minutes and try again."
SESSION_ENDED = "Your session has ended: please sign in again."
NEW_CODES_HINT = "You can make new ones on your account page."
#: seconds between the password step and the code step
PENDING_MAX_AGE = 300

PENDING = "staff_pending"
EPOCH = "staff_epoch"
SIGNED_IN_AT = "staff_signed_in_at"
SEEN_AT = "staff_seen_at"


def clock() -> float:
    """Seconds since the epoch: the session's times (tests move it)."""
    return time.time()


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
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


# --- the session's rules -----------------------------------------------------------------


def session_is_current(user: StaffUser) -> bool:
    """Whether this session of ``user`` may go on: same epoch, used recently, not too old."""
    now, config = clock(), current_app.config
    if session.get(EPOCH) != user.session_epoch:
        return False
    if now - session.get(SEEN_AT, 0) > config["STAFF_IDLE_TIMEOUT"]:
        return False
    return now - session.get(SIGNED_IN_AT, 0) <= config["STAFF_SESSION_LIFETIME"]


def seen() -> None:
    """Note that the session was just used (the idle timeout counts from here)."""
    session[SEEN_AT] = clock()


def end_stale_session() -> None:
    """Sign out a session that is no longer accepted and, if it was signed in, say why."""
    signed_in = "_user_id" in session
    logout_user()
    if signed_in:
        _fresh_session()
        flash(SESSION_ENDED, "info")


def _begin_session(user: StaffUser) -> None:
    """Sign ``user`` in: a new session stamped with the account's epoch and the time."""
    _fresh_session()
    login_user(user)
    now = clock()
    session.update({EPOCH: user.session_epoch, SIGNED_IN_AT: now, SEEN_AT: now})


def _keep_session(user: StaffUser) -> None:
    """This session survives a change it made itself (the other sessions end)."""
    session[EPOCH] = user.session_epoch


def _pending_user() -> StaffUser | None:
    """The account whose password was just given, while that step is recent and the
    account unchanged since."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or clock() - pending.get("at", 0) > PENDING_MAX_AGE:
        return None
    user = db.session.get(StaffUser, pending.get("user_id") or 0)
    if user is None or not user.active or user.session_epoch != pending.get("epoch"):
        return None
    return user


def _pending_next() -> str:
    return safe_next(session.get(PENDING, {}).get("next"))


# --- sign-in -----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        now = utcnow()
        with commit_or_rollback():
            user = services.authenticate(form.email.data, form.password.data, now=now)
            one_step = user is not None and not services.needs_second_step(user)
            if one_step:
                services.signed_in(user, now)
        if user is not None:
            target = safe_next(request.args.get("next"))
            if one_step:
                _begin_session(user)
                return redirect(target)
            _fresh_session()
            pending = {"user_id": user.id, "at": clock(), "epoch": user.session_epoch}
            session[PENDING] = pending | {"next": target}
            if services.has_two_factor(user):
                return redirect(url_for("staff.login_code"))
            return redirect(url_for("staff.two_factor_setup"))
        flash(SIGN_IN_FAILED, "error")
    return render_template("staff/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login_code():
    user = _pending_user()
    if user is None:
        flash("Please sign in again: the first step was too long ago.", "info")
        return redirect(url_for("staff.login"))
    if not services.has_two_factor(user):
        return redirect(url_for("staff.two_factor_setup"))
    form = CodeForm()
    if form.validate_on_submit():
        now = utcnow()
        with commit_or_rollback():
            result = services.check_code(user, form.code.data, now=now)
            if result.passed:
                services.signed_in(user, now)
        if result.passed:
            target = _pending_next()
            _begin_session(user)
            if result is services.CodeCheck.RECOVERY_USED:
                left = services.unused_recovery_codes(user)
                flash(f"You used a recovery code: {left} left. {NEW_CODES_HINT}", "info")
            return redirect(target)
        if result is services.CodeCheck.LOCKED:
            _fresh_session()
            flash(SIGN_IN_FAILED, "error")
            return redirect(url_for("staff.login"))
        form.code.errors = [result.value]
    return render_template("staff/login_code.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    _fresh_session()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


# --- setting up the second factor --------------------------------------------------------


def _qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG, drawn here (no image service, no script)."""
    qr = segno.make(uri, error="m")
    return qr.svg_inline(scale=4, border=2, dark="#111", light="#fff", title="QR code")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def two_factor_setup():
    signed_in = current_user.is_authenticated
    user = current_user if signed_in else _pending_user()
    if user is None:
        return redirect(url_for("staff.login"))
    if services.has_two_factor(user):
        return redirect(url_for("staff.account" if signed_in else "staff.login_code"))
    form = CodeForm()
    if form.validate_on_submit():
        now = utcnow()
        with commit_or_rollback():
            codes = services.confirm_enrolment(user, form.code.data, now=now)
            if codes is not None and not signed_in:
                services.signed_in(user, now)
        if codes is not None:
            target = url_for("staff.account") if signed_in else _pending_next()
            if signed_in:
                _keep_session(user)
            else:
                _begin_session(user)
            return render_template("staff/two_factor_codes.html", codes=codes, next_url=target)
        form.code.errors = [services.CodeCheck.WRONG.value]
    with commit_or_rollback():
        uri = services.provisioning_uri(user, current_app.config["ORGANIZATION_NAME"])
    return render_template(
        "staff/two_factor_setup.html",
        form=form,
        qr=_qr_svg(uri),
        secret=_grouped(user.totp_secret),
        required=services.requires_two_factor(user),
        signed_in=signed_in,
    )


# --- the account page --------------------------------------------------------------------


def _account_page(codes_form=None, password_form=None, status=200):
    user = current_user._get_current_object()
    page = render_template(
        "staff/account.html",
        user=user,
        enrolled=services.has_two_factor(user),
        required=services.requires_two_factor(user),
        codes_left=services.unused_recovery_codes(user),
        codes_form=codes_form or CodeForm(prefix="codes"),
        password_form=password_form or PasswordChangeForm(prefix="password"),
    )
    return page, status


@bp.route("/account")
def account():
    return _account_page()


@bp.route("/account/recovery-codes", methods=["POST"])
@limiter.limit(_login_rate)
def regenerate_codes():
    user = current_user._get_current_object()
    form = CodeForm(prefix="codes")
    if not services.has_two_factor(user) or not form.validate_on_submit():
        return _account_page(codes_form=form, status=400)
    now = utcnow()
    with commit_or_rollback():
        result = services.check_code(user, form.code.data, now=now, allow_recovery=False)
        codes = services.replace_recovery_codes(user, now=now) if result.passed else None
    if codes is None:
        form.code.errors = [result.value]
        return _account_page(codes_form=form, status=400)
    return render_template(
        "staff/two_factor_codes.html", codes=codes, next_url=url_for("staff.account")
    )


@bp.route("/account/password", methods=["POST"])
@limiter.limit(_login_rate)
def change_password():
    user = current_user._get_current_object()
    form = PasswordChangeForm(prefix="password")
    if not form.validate_on_submit():
        return _account_page(password_form=form, status=400)
    if not services.verify_password(user, form.current.data):
        form.current.errors = ["That is not your current password."]
        return _account_page(password_form=form, status=400)
    with commit_or_rollback():
        services.set_password(user, form.new.data)
    _keep_session(user)
    flash("Your password is changed. Your other sessions are signed out.", "success")
    return redirect(url_for("staff.account"))
