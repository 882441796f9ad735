"""A donor's own data, from their gifts page: download it, or erase it.

Downloading needs the signed link to the gifts page. Erasing cannot be undone, so the
gifts page only asks for a second link, emailed to the donor's address; that link opens
a page that asks once more, and only its form erases. A link used again after the
erasure, or one that was tampered with, changes nothing and says why.
"""

from __future__ import annotations

from flask import Response, abort, current_app, render_template
from flask_babel import gettext as _

from donations import links
from donations.audit import Actor
from donations.db import commit_or_rollback, utcnow
from donations.extensions import limiter
from donations.forms import ConfirmForm
from donations.manage import bp
from donations.manage.forms import ButtonForm
from donations.manage.services import send_erase_link
from donations.manage.views import invalid_link
from donations.payments import GatewayError, GatewayUnavailable
from donations.privacy import erasure, export


def _link_limit() -> str:
    return current_app.config["MANAGE_RATE_LIMIT"]


@bp.post("/<token>/data")
def download_data(token: str):
    """Everything held about the donor, as a JSON file."""
    try:
        donor, _gift = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    if not ButtonForm().validate_on_submit():
        abort(400)
    now = utcnow()
    body = export.as_json(export.donor_data(donor, now))
    with commit_or_rollback():
        export.record_export(donor, actor=Actor.donor(donor))
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(now)}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/<token>/erase", methods=["GET", "POST"])
@limiter.limit(_link_limit, methods=["POST"])
def request_erasure(token: str):
    """What erasing means, and a button that emails the link that confirms it."""
    try:
        donor, _gift = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    form = ButtonForm()
    if form.validate_on_submit():
        with commit_or_rollback():
            send_erase_link(donor)
        return render_template("manage/erase_sent.html", email=donor.email, token=token)
    return render_template(
        "manage/erase_request.html",
        form=form,
        token=token,
        ending=erasure.ends_now(donor),
        max_age=current_app.config["ERASE_LINK_MAX_AGE"],
    )


@bp.route("/erase/<erase_token>", methods=["GET", "POST"])
def erase(erase_token: str):
    """The emailed link: a page that asks once more, and the erasure itself."""
    try:
        donor, _gift = links.read(links.ERASE, erase_token)
    except links.InvalidLink as error:
        return invalid_link(error)
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            with commit_or_rollback():
                erasure.erase_donor(donor, actor=Actor.donor(donor), intent=form.intent.data)
        except GatewayUnavailable:
            error = _(
                "We could not reach our payment processor, so nothing has been erased yet. "
                "Please try again in a few minutes: trying again is safe."
            )
        except GatewayError:
            error = _(
                "Our payment processor refused to delete your details, so nothing has been "
                "erased. Please reply to any email from us and we will do it by hand."
            )
        else:
            return render_template("manage/erased.html")
    page = render_template(
        "manage/erase_confirm.html", form=form, ending=erasure.ends_now(donor), error=error
    )
    return page, 503 if error else 400 if form.errors else 200
