"""Reader-support donation platform: the application factory."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from donations import config as settings


def create_app(config: dict | None = None) -> Flask:
    """Build the app from environment settings, overridden by ``config`` (tests pass it)."""
    app = Flask(
        __name__,
        template_folder=str(settings.PROJECT_ROOT / "templates"),
        static_folder=str(settings.PROJECT_ROOT / "static"),
        instance_path=str(settings.INSTANCE_DIR),
    )
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    settings.derive(app.config)
    settings.check_production_safety(app.config)
    if (
        app.config["ENV_NAME"] == "production"
        and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    ):
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is memory://: each web process counts rate limits on its "
            "own; use redis://… when running several"
        )

    from donations import (
        campaigns,
        defence,
        errors,
        extensions,
        i18n,
        ledger,
        manage,
        newsletter,
        payments,
        privacy,
        recurring,
        remind,
        security,
        staff,
        statements,
        support,
        templating,
        webhooks,
        worker,
    )

    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    extensions.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    payments.init_app(app)
    errors.init_app(app)
    support.init_app(app)
    manage.init_app(app)
    webhooks.init_app(app)
    remind.init_app(app)
    staff.init_app(app)
    ledger.init_app(app)
    worker.init_app(app)
    recurring.init_app(app)
    statements.init_app(app)
    privacy.init_app(app)
    defence.init_app(app)
    campaigns.init_app(app)
    newsletter.init_app(app)
    return app
