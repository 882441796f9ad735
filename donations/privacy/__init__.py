"""Retention: personal data kept only as long as the settings say (``flask privacy …``)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """The ``flask privacy …`` commands."""
    from donations.privacy import cli

    cli.init_app(app)
