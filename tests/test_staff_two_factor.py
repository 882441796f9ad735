"""Staff two-factor sign-in: setting it up, codes and recovery codes, lockout and rate
limits on the code step, ``flask staff reset-2fa``, and the rules that end a session."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from flask import g

from donations.db import db, utcnow
from donations.models import RecoveryCode, StaffUser
from donations.staff import auth, services
from tests.factories import PASSWORD, csrf_token_from, make_staff, sign_in

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CODE_PATTERN = re.compile(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>")


@pytest.fixture
def app_config(app_config):
    return app_config | {"WTF_CSRF_ENABLED": True}


def make_enrolled(email="admin@example.org", role="admin", **fields) -> StaffUser:
    return make_staff(email, role=role, totp_secret=SECRET, totp_enabled_at=utcnow(), **fields)


def password_step(client, email="admin@example.org", password=PASSWORD):
    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
    )


def post_form(client, path: str, data: dict, page_path: str | None = None):
    """POST ``data`` with the CSRF token of the page at ``page_path`` (``path`` itself by
    default), as a browser submitting that page's form."""
    page = client.get(page_path or path)
    return client.post(path, data=data | {"csrf_token": csrf_token_from(page.text)})


def code_step(client, code: str):
    return post_form(client, "/staff/login/code", {"code": code})


def code_at(offset_seconds: int) -> str:
    return pyotp.TOTP(SECRET).at(time.time() + offset_seconds)


def is_signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def sign_out(client) -> None:
    token = csrf_token_from(client.get("/staff/account").text)
    client.post("/staff/logout", data={"csrf_token": token})


# --- setting it up -----------------------------------------------------------------------


def test_an_admin_without_a_second_factor_must_set_it_up_before_anything_else(app, client):
    user = make_staff()
    response = password_step(client)
    assert response.headers["Location"] == "/staff/two-factor/setup"
    assert client.get("/staff/").status_code == 302

    page = client.get("/staff/two-factor/setup")
    assert "<svg" in page.text
    assert "otpauth" not in page.text.split("<svg")[0]
    grouped = " ".join(user.totp_secret[i : i + 4] for i in range(0, len(user.totp_secret), 4))
    assert grouped in page.text
    assert user.totp_enabled_at is None

    token = csrf_token_from(page.text)
    code = pyotp.TOTP(user.totp_secret).now()
    done = client.post("/staff/two-factor/setup", data={"code": code, "csrf_token": token})
    codes = CODE_PATTERN.findall(done.text)
    assert len(codes) == 10 == len(set(codes))
    assert is_signed_in(client)
    db.session.refresh(user)
    assert user.totp_enabled_at is not None
    hashes = [row.code_hash for row in user.recovery_codes]
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)


def test_setup_with_a_wrong_code_turns_nothing_on(app, client):
    user = make_staff()
    password_step(client)
    response = post_form(client, "/staff/two-factor/setup", {"code": "000000"})
    assert "That code is wrong" in response.text
    assert user.totp_enabled_at is None
    assert not is_signed_in(client)


def test_a_viewer_signs_in_with_the_password_alone(app, client):
    make_staff("viewer@example.org", role="viewer")
    response = password_step(client, "viewer@example.org")
    assert response.headers["Location"] == "/staff/"
    assert is_signed_in(client)


def test_when_required_for_all_a_viewer_must_set_it_up_too(app, client):
    app.config["STAFF_2FA_REQUIRED"] = "all"
    make_staff("viewer@example.org", role="viewer")
    response = password_step(client, "viewer@example.org")
    assert response.headers["Location"] == "/staff/two-factor/setup"


def test_a_signed_in_viewer_is_sent_to_set_it_up_once_it_becomes_required(app, client):
    make_staff("viewer@example.org", role="viewer")
    password_step(client, "viewer@example.org")
    app.config["STAFF_2FA_REQUIRED"] = "all"
    response = client.get("/staff/gifts")
    assert response.headers["Location"] == "/staff/two-factor/setup"


def test_a_viewer_may_turn_it_on_from_the_account_page_and_then_needs_a_code(app, client):
    user = make_staff("viewer@example.org", role="viewer")
    password_step(client, "viewer@example.org")
    assert "Set up two-factor sign-in" in client.get("/staff/account").text
    page = client.get("/staff/two-factor/setup")
    code = pyotp.TOTP(user.totp_secret).now()
    post = client.post(
        "/staff/two-factor/setup", data={"code": code, "csrf_token": csrf_token_from(page.text)}
    )
    assert len(CODE_PATTERN.findall(post.text)) == 10
    assert is_signed_in(client), "the session that set it up goes on"
    sign_out(client)
    assert password_step(client, "viewer@example.org").headers["Location"] == "/staff/login/code"


def test_the_two_factor_pages_send_strangers_to_the_login_page(app, client):
    for path in ("/staff/login/code", "/staff/two-factor/setup"):
        assert client.get(path).headers["Location"] == "/staff/login"


# --- signing in with a code --------------------------------------------------------------


def test_the_password_alone_does_not_sign_an_enrolled_admin_in(app, client):
    make_enrolled()
    assert password_step(client).headers["Location"] == "/staff/login/code"
    assert not is_signed_in(client)


def test_a_code_signs_in_once_and_the_same_code_is_refused_the_next_time(app, client):
    user = make_enrolled()
    code = code_at(0)
    password_step(client)
    assert code_step(client, code).headers["Location"] == "/staff/"
    assert is_signed_in(client)
    sign_out(client)
    password_step(client)
    response = code_step(client, code)
    assert "That code was already used" in response.text
    assert not is_signed_in(client)
    assert user.failed_codes == 1


def test_an_old_code_is_refused_as_expired(app, client):
    make_enrolled()
    password_step(client)
    response = code_step(client, code_at(-120))
    assert "That code has expired" in response.text
    assert not is_signed_in(client)


def test_a_wrong_code_is_refused_and_counted(app, client):
    user = make_enrolled()
    password_step(client)
    response = code_step(client, "123 456" if code_at(0) != "123456" else "654321")
    assert "That code is wrong" in response.text
    assert user.failed_codes == 1
    assert not is_signed_in(client)


def test_a_recovery_code_signs_in_once(app, client):
    user = make_enrolled()
    codes = services.replace_recovery_codes(user, now=utcnow())
    password_step(client)
    response = code_step(client, codes[0].upper())
    assert response.headers["Location"] == "/staff/"
    assert "9 left" in client.get("/staff/").text
    sign_out(client)
    password_step(client)
    again = code_step(client, codes[0])
    assert "That recovery code was already used" in again.text
    assert not is_signed_in(client)
    assert services.unused_recovery_codes(user) == 9


def test_bad_codes_lock_the_account_like_bad_passwords(app, client):
    user = make_enrolled()
    password_step(client)
    for _ in range(4):
        assert code_step(client, "000000").status_code == 200
    locked = code_step(client, "000000")
    assert locked.headers["Location"] == "/staff/login"
    db.session.refresh(user)
    assert user.locked_until is not None
    assert "Wrong email or password" in password_step(client).text


def test_code_attempts_are_rate_limited_like_the_password(app, client):
    app.config["STAFF_LOGIN_RATE_LIMIT"] = "3 per minute"
    make_enrolled()
    password_step(client)
    statuses = [code_step(client, "000000").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_code_step_must_follow_the_password_step_within_minutes(app, client, monkeypatch):
    make_enrolled()
    password_step(client)
    token = csrf_token_from(client.get("/staff/login/code").text)
    later = time.time() + auth.PENDING_MAX_AGE + 1
    monkeypatch.setattr(auth, "clock", lambda: later)
    response = client.post("/staff/login/code", data={"code": code_at(0), "csrf_token": token})
    assert response.headers["Location"] == "/staff/login"
    assert not is_signed_in(client)


# --- recovery codes and the account page -------------------------------------------------


def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(app, client):
    user = make_enrolled()
    old = services.replace_recovery_codes(user, now=utcnow())
    password_step(client)
    code_step(client, code_at(0))
    path = "/staff/account/recovery-codes"
    refused = post_form(client, path, {"codes-code": "000000"}, "/staff/account")
    assert refused.status_code == 400
    assert "That code is wrong" in refused.text
    assert services.unused_recovery_codes(user) == 10
    done = post_form(client, path, {"codes-code": code_at(30)}, "/staff/account")
    new = CODE_PATTERN.findall(done.text)
    assert len(new) == 10 and not set(new) & set(old)
    db.session.refresh(user)
    assert len(user.recovery_codes) == 10


# --- flask staff reset-2fa ---------------------------------------------------------------


def test_reset_2fa_removes_the_second_factor_and_ends_the_sessions(app, client, runner):
    user = make_enrolled()
    services.replace_recovery_codes(user, now=utcnow())
    sign_in(client)
    result = runner.invoke(args=["staff", "reset-2fa", "admin@example.org"])
    assert result.exit_code == 0, result.output
    assert "Removed the second factor of admin@example.org" in result.output
    assert "deleted 10 recovery codes" in result.output
    db.session.refresh(user)
    assert user.totp_secret is None and user.totp_enabled_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert not is_signed_in(client)
    assert password_step(client).headers["Location"] == "/staff/two-factor/setup"


def test_reset_2fa_of_an_unknown_email_says_so(app, runner):
    result = runner.invoke(args=["staff", "reset-2fa", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No staff account for nobody@example.org" in result.output


# --- when sessions end -------------------------------------------------------------------


def switch_browser() -> None:
    """Forget what the test's shared app context caches from the last request (the
    signed-in user, the CSRF token), as a request from another browser would not see it."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def test_a_password_change_signs_out_the_other_sessions(app, client):
    make_enrolled()
    other = app.test_client()
    sign_in(client)
    switch_browser()
    sign_in(other)
    assert is_signed_in(other)
    switch_browser()
    response = post_form(
        client,
        "/staff/account/password",
        {
            "password-current": PASSWORD,
            "password-new": "a brand new passphrase",
            "password-repeat": "a brand new passphrase",
        },
        "/staff/account",
    )
    assert response.headers["Location"] == "/staff/account"
    assert is_signed_in(client)
    switch_browser()
    ended = other.get("/staff/gifts")
    assert ended.headers["Location"].startswith("/staff/login")
    assert "Your session has ended" in other.get(ended.headers["Location"]).text
    assert password_step(other, password="a brand new passphrase").status_code == 302


def test_a_wrong_current_password_changes_nothing(app, client):
    user = make_staff("viewer@example.org", role="viewer")
    before = user.password_hash
    password_step(client, "viewer@example.org")
    response = post_form(
        client,
        "/staff/account/password",
        {
            "password-current": "not my password",
            "password-new": "a brand new passphrase",
            "password-repeat": "a brand new passphrase",
        },
        "/staff/account",
    )
    assert response.status_code == 400
    assert "That is not your current password" in response.text
    assert user.password_hash == before
    assert user.session_epoch == 0


def test_an_idle_session_ends(app, client):
    make_staff("viewer@example.org", role="viewer")
    password_step(client, "viewer@example.org")
    with client.session_transaction() as session:
        session[auth.SEEN_AT] -= app.config["STAFF_IDLE_TIMEOUT"] + 1
    assert not is_signed_in(client)


def test_a_session_in_use_ends_at_its_absolute_lifetime(app, client):
    make_staff("viewer@example.org", role="viewer")
    password_step(client, "viewer@example.org")
    with client.session_transaction() as session:
        session[auth.SIGNED_IN_AT] -= app.config["STAFF_SESSION_LIFETIME"] - 60
    assert is_signed_in(client), "used recently and younger than the lifetime"
    with client.session_transaction() as session:
        session[auth.SIGNED_IN_AT] -= 61
    assert not is_signed_in(client)


def test_use_keeps_a_session_from_going_idle(app, client, monkeypatch):
    make_staff("viewer@example.org", role="viewer")
    password_step(client, "viewer@example.org")
    start, idle = time.time(), app.config["STAFF_IDLE_TIMEOUT"]
    for minutes in (idle * 0.9, idle * 1.8):
        monkeypatch.setattr(auth, "clock", lambda m=minutes: start + m)
        assert is_signed_in(client)
