"""Fixtures shared by every test: the app from the factory, its database, clients, and a
live HTTP server for the sandbox's webhooks and the browser. Factories and browser-like
helpers are in ``tests/factories.py``; nothing imports this module.

The database is SQLite in a temporary file, or PostgreSQL when ``TEST_DATABASE_URL`` is
set; the schema is created once per run. Each test's rows are undone in one of two ways:

* **Rolled back** (the default). The test runs inside one transaction on one connection,
  rolled back at the end. ``db.session`` is bound to that connection and joins the
  transaction with a savepoint, so the code's own ``commit()`` and ``rollback()`` release
  or roll back savepoints: they behave as in production, and nothing is kept.
* **Committing**, for tests whose rows another connection must see: a live server's
  threads, workers in threads or processes. Commits are real and every table is emptied
  after the test. A test is committing when it uses ``live_server`` (so also
  ``registered_webhook`` and the browser tests), which the ``app`` fixture detects, or
  when it is marked ``@pytest.mark.committing``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from werkzeug.serving import make_server

from donations import create_app
from donations.db import db

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
        #: the gateway still retries, but without seconds of back-off per test
        "STRIPE_RETRY_BASE": 0.01,
        #: the card-testing limits and alarm have their own tests (test_card_testing.py);
        #: elsewhere many gifts start from one address and email
        "START_RATE_LIMIT_IP": "1000 per minute",
        "START_RATE_LIMIT_NETWORK": "1000 per minute",
        "START_RATE_LIMIT_EMAIL": "1000 per minute",
        "START_RATE_LIMIT_DOMAIN": "1000 per minute",
        "START_SESSION_CEILING": "1000 per minute",
        "ALARM_MIN_STARTS": 1_000_000,
    }


@pytest.fixture
def app_config(database_url, stripe_sandbox) -> dict:
    """Override or extend in a test module to change settings before the app is built."""
    return _test_config(database_url, stripe_sandbox.url)


@pytest.fixture
def app(_schema, app_config, request):
    app = create_app(app_config)
    with app.app_context():
        if _is_committing(request):
            yield app
            db.session.remove()
            _empty_all_tables()
        else:
            with _rolled_back_transaction():
                yield app
        db.engine.dispose()


def _is_committing(request: pytest.FixtureRequest) -> bool:
    return (
        "live_server" in request.fixturenames
        or request.node.get_closest_marker("committing") is not None
    )


@contextmanager
def _rolled_back_transaction() -> Iterator[None]:
    """Bind ``db.session`` to one connection's outer transaction, then roll it back."""
    connection = db.engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # pysqlite emits BEGIN only before INSERT/UPDATE/DELETE, so a SAVEPOINT would
        # escape the outer transaction: emit BEGIN ourselves (SQLAlchemy's SQLite recipe)
        connection.connection.driver_connection.isolation_level = None
    transaction = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    app_session = db.session
    db.session = orm.scoped_session(
        orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=app_session.registry.scopefunc,
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = app_session
        transaction.rollback()
        connection.close()


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


@pytest.fixture
def live_server(app):
    """Serve the app over HTTP on a free port (for the browser and sandbox webhooks).

    A test using it is committing (see the module docstring): the server's threads have
    connections of their own. Requests still in flight when the test ends (webhooks the
    sandbox keeps sending) finish before the tables are emptied."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # so server_close() waits for the requests in flight
    port = server.server_port
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    # a short poll, so shutting the server down takes milliseconds, not half a second
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield app.config["PUBLIC_URL"]
    server.shutdown()
    thread.join(timeout=5)
    db.session.remove()  # release the test's locks, which a request in flight may wait for
    server.server_close()


@pytest.fixture
def registered_webhook(app, live_server, sandbox):
    """Register the live app's webhook with the sandbox and use the secret it returns."""
    from donations.payments import gateway

    endpoint = gateway().create_webhook_endpoint(
        f"{live_server}/webhooks/stripe", idempotency_key=f"test-endpoint-{live_server}"
    )
    app.config["STRIPE_WEBHOOK_SECRET"] = endpoint.secret
    return endpoint
