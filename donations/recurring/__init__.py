"""Jobs that look after running recurring gifts: the daily card-expiry reminder."""

from flask import Flask


def init_app(app: Flask) -> None:
    """The ``flask recurring …`` commands."""
    from donations.recurring import cli

    cli.init_app(app)
