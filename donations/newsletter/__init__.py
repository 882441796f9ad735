"""The weekly newsletter sign-up: double opt-in, consent kept, hand-offs to the newsroom's
email service."""

from flask import Blueprint, Flask

bp = Blueprint("newsletter", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
