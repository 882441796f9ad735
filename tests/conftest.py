"""Fixtures shared by every test: the app from the factory, its database, clients,
a live HTTP server for the sandbox's webhooks and the browser, and helpers.

The database is SQLite in a temporary file, or PostgreSQL when ``TEST_DATABASE_URL`` is
set; the schema is created once per run and every table is emptied after each test.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from donations import create_app
from donations.extensions import db

pytest_plugins = ["tests.fixtures.sandbox", "tests.smtp_server"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    if TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL pointing at PostgreSQL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url, stripe_sandbox) -> Iterator[None]:
    """Create every table once per run (dropping leftovers from an aborted run)."""
    app = create_app(_test_config(database_url, stripe_sandbox.url))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def _test_config(database_url: str, sandbox_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "STRIPE_SECRET_KEY": "sk_test_platform",
        "STRIPE_API_BASE": sandbox_url,
        "STRIPE_WEBHOOK_SECRET": "whsec_test_secret",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": 1,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_URL": "",
    }


@pytest.fixture
def app_config(database_url, stripe_sandbox) -> dict:
    """Override or extend in a test module to change settings before the app is built."""
    return _test_config(database_url, stripe_sandbox.url)


@pytest.fixture
def app(_schema, app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()


def _empty_all_tables() -> None:
    tables = db.metadata.sorted_tables
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(table.name for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_PATTERN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@pytest.fixture
def live_server(app):
    """Serve the app over HTTP on a free port (for the browser and sandbox webhooks)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app.config["PUBLIC_URL"]
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def registered_webhook(app, live_server, sandbox):
    """Register the live app's webhook with the sandbox and use the secret it returns."""
    from donations.payments import gateway

    endpoint = gateway().create_webhook_endpoint(
        f"{live_server}/webhooks/stripe", idempotency_key=f"test-endpoint-{live_server}"
    )
    app.config["STRIPE_WEBHOOK_SECRET"] = endpoint.secret
    return endpoint
