""" "Remind me later": the sign-up form, its confirmation, and the one-click cancel pages."""

from flask import Blueprint, Flask

bp = Blueprint("remind", __name__, url_prefix="/remind")


def init_app(app: Flask) -> None:
    from donations.remind import views  # noqa: F401  (attaches the routes to bp)

    app.register_blueprint(bp)
