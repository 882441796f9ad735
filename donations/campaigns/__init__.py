"""Appeals staff run: campaigns with their copy, presets, dates and goal, and A/B tests."""

from flask import Blueprint, Flask

bp = Blueprint("campaigns", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
