"""``flask stripe …``: look at the webhook inbox, replay events, reconcile with Stripe.

- ``events [--failed] [--limit N]``: the newest stored events and whether they applied.
- ``replay EVENT_ID`` / ``replay --failed``: apply stored events again (idempotent).
- ``reconcile --since YYYY-MM-DD``: repair what missed webhooks left out; prints each fix.
- ``register-webhook URL``: create the endpoint; prints only its signing secret.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from donations import ledger
from donations.db import commit_or_rollback
from donations.payments import GatewayError, gateway

stripe_cli = AppGroup("stripe", help="Stripe webhook inbox and reconciliation.")


@stripe_cli.command("events")
@click.option("--failed", is_flag=True, help="Only events not applied yet.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def events_command(failed: bool, limit: int) -> None:
    """List recent webhook events, newest first."""
    rows = ledger.recent_events(failed=failed, limit=limit)
    if not rows:
        click.echo("No events." if not failed else "No failed events.")
        return
    for row in rows:
        state = "applied" if row.processed_at else "FAILED" if row.error else "pending"
        received = row.received_at.strftime("%Y-%m-%d %H:%M:%S")
        line = f"{received}  {row.stripe_id}  {row.type:<36} {state:<8} attempts={row.attempts}"
        click.echo(line)
        if row.error and not row.processed_at:
            click.echo(f"    error: {row.error.splitlines()[0][:200]}")


@stripe_cli.command("replay")
@click.argument("event_id", required=False)
@click.option("--failed", "all_failed", is_flag=True, help="Replay every event not applied yet.")
def replay_command(event_id: str | None, all_failed: bool) -> None:
    """Apply stored events again (EVENT_ID, or --failed for all not applied)."""
    if bool(event_id) == all_failed:
        raise click.UsageError("give either EVENT_ID or --failed")
    event_ids = ledger.failed_event_ids() if all_failed else [event_id]
    if not event_ids:
        click.echo("No failed events.")
        return
    failures = 0
    for stripe_id in event_ids:
        try:
            with commit_or_rollback():
                outcome = ledger.replay(stripe_id)
        except Exception as error:
            with commit_or_rollback():
                ledger.record_failure(stripe_id, error)
            outcome = ledger.Outcome.FAILED
        if outcome is None:
            raise click.ClickException(f"no stored event {stripe_id}")
        click.echo(f"{stripe_id}: {outcome}")
        failures += outcome is ledger.Outcome.FAILED
    if failures:
        raise click.ClickException(f"{failures} event(s) failed again; see `flask stripe events`")


def _parse_date(_ctx, _param, value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        message = f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01"
        raise click.BadParameter(message) from None


@stripe_cli.command("reconcile")
@click.option(
    "--since", required=True, callback=_parse_date, help="First day to check (YYYY-MM-DD, UTC)."
)
def reconcile_command(since: datetime) -> None:
    """Repair payments, refunds and gift states the webhooks missed."""
    try:
        with commit_or_rollback():
            changes = ledger.reconcile(int(since.timestamp()))
    except GatewayError as error:
        raise click.ClickException(f"Stripe: {error.message}") from error
    day = since.date().isoformat()
    if not changes:
        click.echo(f"Nothing to fix since {day}: the ledger matches Stripe.")
        return
    for change in changes:
        click.echo(change)
    click.echo(f"{len(changes)} change(s) made to match Stripe since {day}.")


@stripe_cli.command("register-webhook")
@click.argument("url")
def register_webhook_command(url: str) -> None:
    """Create a webhook endpoint for URL and print its signing secret (only that)."""
    try:
        endpoint = gateway().create_webhook_endpoint(
            url, idempotency_key=f"webhook-endpoint-{uuid.uuid4()}"
        )
    except GatewayError as error:
        raise click.ClickException(f"Stripe: {error.message}") from error
    if not endpoint.secret:
        raise click.ClickException("Stripe returned no signing secret")
    click.echo(endpoint.secret)


def init_app(app: Flask) -> None:
    app.cli.add_command(stripe_cli)
