"""Flask extensions, created unbound here and bound to the app by ``init_app``.

``db`` itself lives in ``donations.db`` (models import that, not this module); it is bound
here with the others.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from sqlalchemy import event

import donations.models  # noqa: F401  (registers the tables on db.metadata)
from donations.config import PROJECT_ROOT
from donations.db import db

#: batch mode, so SQLite can alter a table (Alembic copies it); column types compared
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()
#: pages shown to every reader on every article view, and Stripe's webhooks (signed, and
#: answered 4xx/5xx by their own rules): never rate limited, and skipped before the
#: limiter's own checks, a large share of the support page's time (bench/support_page.py)
UNLIMITED_ENDPOINTS = frozenset({"support.support_page", "support.appeal_box"})
UNLIMITED_POSTS = frozenset({"webhooks.stripe_webhook"})


def _is_unlimited() -> bool:
    if request.method == "GET":
        return request.endpoint in UNLIMITED_ENDPOINTS
    return request.endpoint in UNLIMITED_POSTS


class UnlimitedFirstLimiter(Limiter):
    """Flask-Limiter that leaves the unlimited endpoints before any of its own work: its
    request filter runs only after it has looked up and evaluated the limits, about a
    tenth of a support page view (bench/support_page.py). Overrides the hook Flask-Limiter
    registers as its ``before_request`` (its major version is pinned in pyproject.toml)."""

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        if in_middleware and _is_unlimited():
            return
        super()._check_request_limit(callable_name, in_middleware)


limiter = UnlimitedFirstLimiter(key_func=get_remote_address)
limiter.request_filter(_is_unlimited)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the cookie signer for requests
    that carry no session cookie (webhooks, most first visits), which never need it."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Bind every extension to ``app``."""
    app.session_interface = CookieSessionInterface()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_connect)


def _sqlite_connect(dbapi_connection, _record) -> None:
    """Foreign keys on, WAL so the worker and web can share the file, wait on locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")  # longer than a Stripe call may take
    cursor.close()


__all__ = ["csrf", "limiter", "login_manager", "migrate"]
