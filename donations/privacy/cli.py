"""``flask privacy purge [--dry-run]``: apply the retention settings now (the worker does
it once a day on its own)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from donations.db import commit_or_rollback, utcnow
from donations.privacy.services import purge


def init_app(app: Flask) -> None:
    group = click.Group("privacy", help="Keep personal data only as long as the settings say.")

    @group.command("purge")
    @click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
    def purge_command(dry_run: bool) -> None:
        """Drop personal data older than the RETAIN_* settings allow, and print counts."""
        verb = "would remove" if dry_run else "removed"
        if dry_run:
            counts = purge(utcnow(), dry_run=True)
        else:
            with commit_or_rollback():
                counts = purge(utcnow())
        for category, count in counts.items():
            days = current_app.config[category.setting]
            click.echo(
                f"{category.name}: {verb} {count} ({category.description}, after {days} days)"
            )

    app.cli.add_command(group)
