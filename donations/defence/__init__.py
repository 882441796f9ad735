"""Card-testing defence on every route that starts a gift: limits per address, network,
email and domain, a platform-wide ceiling, and an alarm that asks for proof of work."""

from flask import Blueprint, Flask

bp = Blueprint("defence", __name__)


def init_app(app: Flask) -> None:
    """The challenge endpoint and the ``flask defence …`` commands."""
    from donations.defence import cli, views  # noqa: F401  (attach the routes)

    app.register_blueprint(bp)
    cli.init_app(app)
