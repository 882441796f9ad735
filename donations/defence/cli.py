"""``flask defence expire-checkouts``: close the Checkout pages of pending gifts nobody
finished and mark them abandoned now (the worker does it on its own as it loops)."""

from __future__ import annotations

import click
from flask import Flask

from donations.db import utcnow
from donations.giving.expiry import expire_stale_checkouts


def init_app(app: Flask) -> None:
    group = click.Group("defence", help="The card-testing defence.")

    @group.command("expire-checkouts")
    def expire_checkouts_command() -> None:
        """Expire at Stripe the Checkout pages of stale pending gifts; mark them abandoned."""
        total = 0
        while abandoned := expire_stale_checkouts(utcnow()):
            total += abandoned
        click.echo(f"{total} pending gift{'' if total == 1 else 's'} marked abandoned")

    app.cli.add_command(group)
