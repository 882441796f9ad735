"""The payment provider's webhooks: verified, stored in the ledger's inbox, applied."""

from flask import Blueprint, Flask

from donations.extensions import csrf, limiter

bp = Blueprint("webhooks", __name__)


def init_app(app: Flask) -> None:
    from donations.webhooks import views  # noqa: F401  (attaches the route to bp)

    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
