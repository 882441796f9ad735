"""``flask recurring card-expiring``: run the card-expiry reminder now (the worker runs it
once a day on its own)."""

from __future__ import annotations

import click
from flask import Flask

from donations.db import commit_or_rollback, utcnow
from donations.recurring.services import remind_expiring_cards


def init_app(app: Flask) -> None:
    group = click.Group("recurring", help="Look after running recurring gifts.")

    @group.command("card-expiring")
    def card_expiring() -> None:
        """Email donors whose card expires before their next payment (once per card)."""
        with commit_or_rollback():
            queued = remind_expiring_cards(utcnow())
        click.echo(f"{queued} card-expiry emails queued")

    app.cli.add_command(group)
