"""The reader-facing support page, Continue to Checkout, and the thank-you page."""

from flask import Blueprint, Flask

bp = Blueprint("support", __name__)


def init_app(app: Flask) -> None:
    from donations.support import views  # noqa: F401  (attaches the routes to bp)

    app.register_blueprint(bp)
