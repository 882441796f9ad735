"""Ask for a link, see your gifts, cancel a recurring one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for

from donations.db import commit_or_rollback, db
from donations.extensions import limiter
from donations.giving.admin import ActionRefused, Actor, cancel_gift
from donations.manage import bp
from donations.manage.forms import CancelGiftForm, ManageLinkForm
from donations.manage.services import InvalidManageLink, donor_for_token, send_manage_link
from donations.models import Donor, Gift
from donations.payments import GatewayError


def _link_limit() -> str:
    return current_app.config["MANAGE_RATE_LIMIT"]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_link_limit, methods=["POST"])
def request_link():
    form = ManageLinkForm()
    if form.validate_on_submit():
        with commit_or_rollback():
            send_manage_link(form.email.data)
        return render_template("manage/sent.html", email=form.email.data.strip())
    status = 422 if form.errors else 200
    return render_template("manage/request.html", form=form), status


def _donor_or_error(token: str):
    try:
        return donor_for_token(token), None
    except InvalidManageLink as error:
        page = render_template("manage/invalid.html", error=error, form=ManageLinkForm())
        return None, (page, 400)


@bp.get("/<token>")
def gifts(token: str):
    donor, error_page = _donor_or_error(token)
    if error_page:
        return error_page
    return render_template("manage/gifts.html", donor=donor, token=token)


def _donor_gift(donor: Donor, gift_id: int) -> Gift:
    gift = db.session.get(Gift, gift_id)
    if gift is None or gift.donor_id != donor.id:
        abort(404)
    return gift


@bp.route("/<token>/gifts/<int:gift_id>/cancel", methods=["GET", "POST"])
def cancel(token: str, gift_id: int):
    donor, error_page = _donor_or_error(token)
    if error_page:
        return error_page
    gift = _donor_gift(donor, gift_id)
    form = CancelGiftForm()
    if form.validate_on_submit():
        at_period_end = form.when.data == "period_end"
        try:
            with commit_or_rollback():
                cancel_gift(gift, at_period_end=at_period_end, actor=Actor.donor(donor))
        except ActionRefused as error:
            flash(str(error), "error")
        except GatewayError as error:
            flash(f"{error.message} Nothing was changed; please try again.", "error")
        else:
            flash(
                "Your gift will stop at the end of the period you have paid for. Thank you!"
                if at_period_end
                else "Your gift is cancelled. Thank you for your support.",
                "success",
            )
        return redirect(url_for("manage.gifts", token=token), code=303)
    return render_template("manage/cancel.html", gift=gift, form=form, token=token)
