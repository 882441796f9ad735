"""The reader-facing support page, Continue to Checkout, and the thank-you page."""

from flask import Blueprint, Flask

bp = Blueprint("support", __name__)


def init_app(app: Flask) -> None:
    from donations.support import checkout_views, views  # noqa: F401  (attach the routes)

    app.register_blueprint(bp)
