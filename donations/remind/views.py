"""Sign up for a reminder, see it confirmed, and cancel it from the email's link.

Cancelling follows RFC 8058: a POST to the cancel URL (what mail providers send for the
one-click ``List-Unsubscribe-Post`` header) cancels at once without CSRF, since the
signed token is the authority; a GET only shows a confirm button, because mail scanners
follow links and must not cancel anything.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address

from donations.db import commit_or_rollback, utcnow
from donations.enums import Frequency, ReminderStatus
from donations.extensions import csrf, limiter
from donations.i18n import current_language
from donations.remind import bp, services
from donations.remind.forms import RemindForm

DONE_KEY = "remind_done"


def _ip_limit() -> str:
    return current_app.config["REMIND_RATE_LIMIT_IP"]


def _email_limit() -> str:
    return current_app.config["REMIND_RATE_LIMIT_EMAIL"]


def _email_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"remind-email:{email or get_remote_address()}"


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_email_limit, key_func=_email_key, methods=["POST"])
def signup():
    """The form; on success the reminder is stored and the reader sees the confirmation."""
    now = utcnow()
    if request.method == "POST":
        form = RemindForm(now=now)
    else:
        args = request.args
        frequency = args.get("frequency", Frequency.ONCE)
        form = RemindForm(
            now=now,
            frequency=frequency,
            amount=args.get(f"amount_{frequency}") or args.get("amount", ""),
            currency=args.get("currency", ""),
            source=args.get("source", "support"),
            email=args.get("email", ""),
        )
    if form.validate_on_submit():
        with commit_or_rollback():
            reminder = services.schedule(
                services.ReminderRequest(
                    email=form.email.data.strip().lower(),
                    due_at=form.due_at,
                    frequency=Frequency(form.frequency.data),
                    amount=form.amount_minor,
                    currency=form.currency.data,
                    source=form.source.data or "",
                    locale=current_language(),
                ),
                now,
            )
        session[DONE_KEY] = {
            "email": reminder.email,
            "due_at": form.due_at.isoformat(),
            "chosen_month": form.when.data == "chosen",
            "cancel_token": services.cancel_token(reminder),
        }
        return redirect(url_for("remind.done"))
    status = 400 if request.method == "POST" else 200
    return render_template("remind/form.html", form=form, **_month_bounds(now)), status


def _month_bounds(now) -> dict:
    last = services.add_months(now.replace(day=1), services.MAX_MONTHS_AHEAD)
    return {"month_min": now.strftime("%Y-%m"), "month_max": last.strftime("%Y-%m")}


@bp.route("/done")
def done():
    """Confirmation of the reminder just scheduled."""
    details = session.get(DONE_KEY)
    if not details:
        return redirect(url_for("remind.signup"))
    due_at = datetime.fromisoformat(details["due_at"])
    return render_template("remind/done.html", **{**details, "due_at": due_at})


@bp.route("/cancel/<token>", methods=["GET", "POST"])
@csrf.exempt
def cancel(token: str):
    """GET: confirm page (never cancels). POST: cancel, idempotently."""
    try:
        reminder = services.reminder_for_cancel_token(token)
    except services.InvalidCancelLink as error:
        return render_template("remind/cancel.html", state="invalid", message=str(error)), 400
    if request.method == "GET":
        state = "confirm" if reminder.status in services.PENDING else reminder.status
        return render_template("remind/cancel.html", state=state, reminder=reminder, token=token)
    with commit_or_rollback():
        cancelled = services.cancel(reminder, utcnow())
    if cancelled:
        state = "cancelled"
    elif reminder.status == ReminderStatus.CANCELLED:
        state = "already"
    else:
        state = reminder.status
    return render_template("remind/cancel.html", state=state, reminder=reminder)
