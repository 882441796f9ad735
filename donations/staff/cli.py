"""``flask staff``: create staff accounts, reset passwords, disable accounts, remove a
lost second factor."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from donations.db import commit_or_rollback
from donations.enums import StaffRole
from donations.models import StaffUser
from donations.staff import services
from donations.staff.services import MIN_PASSWORD_LENGTH

staff_cli = AppGroup("staff", help="Manage staff accounts.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return password


def _find(email: str) -> StaffUser:
    user = services.find_account(email)
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    return user


@staff_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in StaffRole]),
    default=StaffRole.VIEWER.value,
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--exist-ok", is_flag=True, help="Succeed quietly if the account exists.")
def create(email: str, role: str, password_stdin: bool, exist_ok: bool) -> None:
    """Create a staff account (prompts for the password twice)."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.ClickException(f"Not a valid email address: {error}") from error
    if services.find_account(email) is not None:
        if exist_ok:
            click.echo(f"A staff account for {email} already exists.")
            return
        raise click.ClickException(f"A staff account for {email} already exists.")
    password = _read_password(password_stdin)
    with commit_or_rollback():
        services.create_account(email, StaffRole(role), password)
    click.echo(f"Created {role} account {email}.")


@staff_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a new password and lift any lockout."""
    user = _find(email)
    with commit_or_rollback():
        services.set_password(user, _read_password(password_stdin))
    click.echo(f"Password changed for {user.email}.")


@staff_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account: it can no longer sign in, and open sessions end."""
    user = _find(email)
    with commit_or_rollback():
        services.disable_account(user)
    click.echo(f"Disabled {user.email}.")


@staff_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Remove a lost second factor and its recovery codes; the account's sessions end."""
    user = _find(email)
    had_two_factor = services.has_two_factor(user)
    with commit_or_rollback():
        removed = services.remove_two_factor(user)
    what = "Removed the second factor" if had_two_factor else "No second factor was set up"
    click.echo(
        f"{what} of {user.email}; deleted {removed} recovery codes; signed out its sessions."
    )
    if services.requires_two_factor(user):
        click.echo("It must set up a new one at its next sign-in.")
