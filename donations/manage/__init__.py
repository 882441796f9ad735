"""Readers see and cancel their own gifts through an emailed link (no account)."""

from flask import Blueprint, Flask

bp = Blueprint("manage", __name__, url_prefix="/manage")


def init_app(app: Flask) -> None:
    from donations.manage import data_views, views  # noqa: F401  (attach the routes to bp)

    app.register_blueprint(bp)
