"""Staff area: login, dashboard, contributions, donors, accounting, CSV exports and admin
actions.

Every route of the blueprint is guarded once, in ``before_request``: anonymous users go
to the login page (a session that has ended says so), an account that must have a second
factor and has none goes to set it up, and views marked ``admin_only`` answer 403 to
viewers. The session rules themselves are in ``donations.staff.auth``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from donations.db import db
from donations.enums import DisputeState, GiftStatus, PaymentKind
from donations.extensions import login_manager
from donations.models import StaffUser
from donations.payments import dashboard_url

#: how staff pages name a gift status: its value in words, unless that would mislead
STATUS_LABELS = {status: status.value.replace("_", " ") for status in GiftStatus} | {
    GiftStatus.LAPSED: "ended for non-payment",
}

#: how staff pages name a money movement (a positive refund row is a refund reversed)
MOVEMENT_LABELS = {
    PaymentKind.CHARGE: "charge",
    PaymentKind.REFUND: "refund",
    PaymentKind.DISPUTE: "dispute: money withdrawn",
    PaymentKind.DISPUTE_REVERSAL: "dispute won: money reinstated",
}
DISPUTE_LABELS = {
    DisputeState.OPEN: "open: awaiting the bank",
    DisputeState.WON: "won",
    DisputeState.LOST: "lost",
    DisputeState.CLOSED: "inquiry closed, no money moved",
}

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.add_app_template_global(dashboard_url)
bp.add_app_template_global(STATUS_LABELS, "status_labels")
bp.add_app_template_global(MOVEMENT_LABELS, "movement_labels")
bp.add_app_template_global(DISPUTE_LABELS, "dispute_labels")

#: endpoints reachable without a session (the two-factor ones check the pending sign-in)
PUBLIC_ENDPOINTS = {"staff.login", "staff.login_code", "staff.two_factor_setup"}
#: what an account that must set up its second factor may still do
BEFORE_SETUP_ENDPOINTS = {"staff.logout"}


def admin_only(view):
    """Mark a view as an admin action; the blueprint guard enforces it."""
    view.admin_only = True
    return view


@bp.before_request
def require_staff():
    """Send anonymous users to login and those who must to the second factor's setup;
    refuse admin actions to viewers; note the session's use."""
    from donations.staff import auth, services

    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated or not auth.session_is_current(current_user):
        auth.end_stale_session()
        return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
    auth.seen()
    if request.endpoint not in BEFORE_SETUP_ENDPOINTS and not services.has_two_factor(current_user):
        if services.requires_two_factor(current_user):
            return redirect(url_for("staff.two_factor_setup"))
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "admin_only", False) and not current_user.is_admin:
        abort(403)
    return None


@bp.after_request
def no_store(response):
    """Staff pages hold donors' personal data: keep them out of shared caches."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _load_user(user_id: str) -> StaffUser | None:
    """The signed-in staff user of a session, while the account stays active and the
    session within its rules (``auth.session_is_current``)."""
    from donations.staff import auth

    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or not user.active or not auth.session_is_current(user):
        return None
    return user


def init_app(app: Flask) -> None:
    from donations.staff import auth, cli, views  # noqa: F401  (registers the routes)

    login_manager.login_view = "staff.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.user_loader(_load_user)
    app.register_blueprint(bp)
    app.cli.add_command(cli.staff_cli)
