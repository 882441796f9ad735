"""Annual statements: a PDF per donor and calendar year, downloaded from the gifts page or
the staff donor page, and emailed to every donor who gave by ``flask statements send``."""

from flask import Flask


def init_app(app: Flask) -> None:
    """The ``flask statements …`` commands."""
    from donations.statements import cli

    cli.init_app(app)
