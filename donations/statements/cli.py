"""``flask statements send --year 2025``: queue the annual statement email to every donor
who gave that year; the worker draws each PDF and sends it.

Donors are read a batch at a time in id order (keyset) and each batch is committed with
its emails, so a run that stops part-way keeps what it queued, and running again queues
only the rest: each email's dedupe key is the donor and the year.
"""

from __future__ import annotations

import click
from flask import Flask

from donations.db import commit_or_rollback, utcnow
from donations.statements import queries, services


def _ended_year(_context, _parameter, year: int) -> int:
    this_year = utcnow().year
    if year >= this_year:
        raise click.BadParameter(
            f"{year} has not ended yet: its statements can be sent from 1 January {year + 1}."
            if year == this_year
            else f"{year} has not begun yet."
        )
    return year


def init_app(app: Flask) -> None:
    group = click.Group("statements", help="Annual statements for donors.")

    @group.command("send")
    @click.option(
        "--year",
        required=True,
        type=click.IntRange(min=1),
        callback=_ended_year,
        help="The calendar year to send statements for (a year that has ended).",
    )
    @click.option("--batch-size", type=click.IntRange(1, 10_000), default=1000, show_default=True)
    def send(year: int, batch_size: int) -> None:
        """Queue the annual statement email to every donor who gave in YEAR (once each)."""
        start, end = services.year_bounds(year)
        total = queries.count_donors_who_gave(start, end)
        if not total:
            click.echo(f"No donor gave in {year}: nothing to send.")
            return
        seen = queued = after_id = 0
        while True:
            with commit_or_rollback():
                donors = queries.donors_who_gave(start, end, after_id=after_id, limit=batch_size)
                queued += services.queue_statements(year, donors)
            if not donors:
                break
            after_id = donors[-1][0]
            seen += len(donors)
            click.echo(f"queued {seen:,} of {total:,} donors…")
        click.echo(
            f"{queued:,} statements for {year} queued; "
            f"{seen - queued:,} donors had theirs queued already."
        )

    app.cli.add_command(group)
