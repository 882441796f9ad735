"""Staff sign-in, the blueprint guard, roles, lockout and the ``flask staff`` CLI."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from donations.db import db, utcnow
from donations.models import StaffUser
from donations.staff import PUBLIC_ENDPOINTS
from tests.factories import PASSWORD, csrf_token_from, make_staff, sign_in


def _staff_urls(app, *, admin_only: bool | None = None) -> list[tuple[str, str]]:
    """(method, concrete URL) for every staff route except the sign-in pages."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        if admin_only is not None and getattr(view, "admin_only", False) != admin_only:
            continue
        path = re.sub(r"<(?:int:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def _all_routes():
    from donations import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    return _staff_urls(app)


def _admin_routes():
    from donations import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    return _staff_urls(app, admin_only=True)


@pytest.fixture
def app_config(app_config):
    return app_config | {"WTF_CSRF_ENABLED": True}


@pytest.mark.parametrize(("method", "path"), _all_routes())
def test_every_staff_route_sends_anonymous_users_to_login(client, method, path):
    token = csrf_token_from(client.get("/staff/login").text)
    response = client.open(path, method=method, data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize(("method", "path"), _admin_routes())
def test_viewer_is_refused_every_admin_action(app, client, method, path):
    make_staff("viewer@example.org", role="viewer")
    sign_in(client, "viewer@example.org")
    token = csrf_token_from(client.get("/staff/login").text)
    response = client.open(path, method=method, data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 403


def test_admin_actions_are_refund_cancel_resend_and_a_donors_data(app):
    paths = {path for _, path in _staff_urls(app, admin_only=True)}
    assert paths == {
        "/staff/payments/1/refund",
        "/staff/gifts/1/cancel",
        "/staff/payments/1/resend-receipt",
        "/staff/donors/1/data.json",
        "/staff/donors/1/erase",
    }


def test_sign_in_then_dashboard_then_sign_out(app, client):
    make_staff()
    response = sign_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    page = client.get("/staff/gifts").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/staff/").status_code == 302


def test_logout_by_get_is_not_allowed(app, client):
    make_staff()
    sign_in(client)
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff/").status_code == 200


def test_login_without_csrf_token_is_rejected(app, client):
    make_staff()
    response = client.post(
        "/staff/login", data={"email": "admin@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_wrong_password_is_refused_with_a_message(app, client):
    make_staff()
    response = sign_in(client, password="wrong password!!")
    assert response.status_code == 200
    assert "Wrong email or password" in response.text
    assert client.get("/staff/").status_code == 302


def test_next_goes_back_to_the_requested_staff_page(app, client):
    make_staff()
    response = sign_in(client, next_url="/staff/gifts?status=paid")
    assert response.headers["Location"] == "/staff/gifts?status=paid"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_off_site_is_ignored(app, client, target):
    make_staff()
    response = sign_in(client, next_url=target)
    assert response.headers["Location"] == "/staff/"


def test_five_failures_lock_the_account_even_for_the_right_password(app, client):
    user = make_staff()
    for _ in range(5):
        sign_in(client, password="not the password")
    db.session.refresh(user)
    assert user.locked_until is not None
    response = sign_in(client)
    assert "Wrong email or password" in response.text
    assert client.get("/staff/").status_code == 302


def test_lockout_expires(app, client):
    make_staff(locked_until=utcnow() - timedelta(seconds=1))
    assert sign_in(client).status_code == 302


def test_login_attempts_are_rate_limited_per_address(app, client):
    app.config["STAFF_LOGIN_RATE_LIMIT"] = "3 per minute"
    make_staff()
    statuses = [sign_in(client, password="nope nope nope").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_disabled_account_cannot_sign_in_and_loses_its_session(app, client, runner):
    make_staff()
    sign_in(client)
    result = runner.invoke(args=["staff", "disable", "admin@example.org"])
    assert result.exit_code == 0
    assert client.get("/staff/").status_code == 302
    assert sign_in(client).status_code == 200


def test_session_cookie_is_httponly_and_lax(app, client):
    make_staff()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_cli_creates_an_admin_with_an_argon2_hash(app, runner):
    result = runner.invoke(
        args=["staff", "create", "Boss@Example.org", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(StaffUser))
    assert user.email == "boss@example.org"
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in result.output


def test_cli_create_reads_the_password_from_stdin_and_can_be_rerun(app, runner):
    args = ["staff", "create", "demo@example.org", "--role", "admin", "--password-stdin"]
    assert runner.invoke(args=args, input=f"{PASSWORD}\n").exit_code == 0
    assert runner.invoke(args=args, input=f"{PASSWORD}\n").exit_code == 1
    assert runner.invoke(args=[*args, "--exist-ok"], input=f"{PASSWORD}\n").exit_code == 0


def test_cli_refuses_short_passwords_and_bad_emails(app, runner):
    short = runner.invoke(
        args=["staff", "create", "a@example.org", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1
    assert "at least 12" in short.output
    bad = runner.invoke(
        args=["staff", "create", "not-an-email", "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert bad.exit_code == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0


def test_cli_set_password_replaces_it_and_lifts_the_lockout(app, client, runner):
    make_staff(locked_until=utcnow() + timedelta(minutes=10))
    new = "a brand new passphrase"
    result = runner.invoke(
        args=["staff", "set-password", "admin@example.org", "--password-stdin"], input=f"{new}\n"
    )
    assert result.exit_code == 0
    assert sign_in(client, password=new).status_code == 302


def test_cli_reports_unknown_accounts(app, runner):
    result = runner.invoke(args=["staff", "disable", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No staff account" in result.output
