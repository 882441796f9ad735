"""Ask for a link, see your gifts, and change, pause, resume, cancel a recurring one or
update its card; download a year's statement. Downloading and erasing your data are in
``data_views``."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from donations import ledger, links
from donations.audit import Actor
from donations.config import public_url
from donations.db import commit_or_rollback, db, utcnow
from donations.extensions import limiter
from donations.forms import ConfirmForm
from donations.giving.admin import (
    ActionRefused,
    cancel_gift,
    change_amount,
    open_card_update,
    pause_gift,
    resume_gift,
)
from donations.manage import bp
from donations.manage.forms import (
    ButtonForm,
    CancelGiftForm,
    ChangeAmountForm,
    ManageLinkForm,
    PauseForm,
)
from donations.manage.services import new_amount, send_manage_link
from donations.models import Donor, Gift
from donations.money import as_input
from donations.payments import GatewayError, gateway
from donations.payments.types import CheckoutMode, GatewayUnavailable
from donations.statements.download import statement_download
from donations.statements.services import NoStatement, statement_years
from donations.support.services import limits

NOTHING_CHANGED = _l("Nothing was changed; please try again in a moment.")
UNREACHABLE = _l(
    "The payment service could not be reached. Nothing was changed; please try again in a moment."
)


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


def invalid_link(error: links.InvalidLink):
    """The page for a link that cannot be used: 410 once the donor's data is erased (the
    link was genuine), else 400, with a form to ask for a new link."""
    page = render_template("manage/invalid.html", error=error, form=ManageLinkForm())
    return page, 410 if error.erased else 400


def _donor_gift(donor: Donor, gift_id: int) -> Gift:
    gift = db.session.get(Gift, gift_id)
    if gift is None or gift.donor_id != donor.id:
        abort(404)
    return gift


def _payment_service_refusal(error: GatewayError) -> str:
    """What the donor reads when Stripe refused (in Stripe's words, which are English) or
    could not be reached (in ours)."""
    if isinstance(error, GatewayUnavailable):
        return str(UNREACHABLE)
    return f"{error.message} {NOTHING_CHANGED}"


def _act(token: str, action, success: str):
    """Run one action on a gift in its own transaction and go back to the gifts page
    with what happened; a refusal or an unreachable Stripe changes nothing."""
    try:
        with commit_or_rollback():
            action()
    except ActionRefused as error:
        flash(str(error), "error")
    except GatewayError as error:
        flash(_payment_service_refusal(error), "error")
    else:
        flash(success, "success")
    return redirect(url_for("manage.gifts", token=token), code=303)


@bp.get("/<token>")
def gifts(token: str):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    return render_template(
        "manage/gifts.html",
        donor=donor,
        token=token,
        resume_form=ConfirmForm(),
        data_form=ButtonForm(),
        statement_years=statement_years(donor),
        this_year=utcnow().year,
    )


@bp.get("/<token>/statements/<int:year>.pdf")
def statement(token: str, year: int):
    """The donor's annual statement for ``year`` (the link names the donor)."""
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    try:
        response = statement_download(donor, year)
    except NoStatement as error:
        page = render_template("manage/statement_missing.html", error=error, token=token)
        return page, 404
    current_app.logger.info("donor %s downloaded their %s statement", donor.id, year)
    return response


@bp.route("/<token>/gifts/<int:gift_id>/cancel", methods=["GET", "POST"])
def cancel(token: str, gift_id: int):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    gift = _donor_gift(donor, gift_id)
    form = CancelGiftForm()
    if form.validate_on_submit():
        at_period_end = form.when.data == "period_end"
        return _act(
            token,
            lambda: cancel_gift(gift, at_period_end=at_period_end, actor=Actor.donor(donor)),
            gettext("Your gift will stop at the end of the period you have paid for. Thank you!")
            if at_period_end
            else gettext("Your gift is cancelled. Thank you for your support."),
        )
    return render_template("manage/cancel.html", gift=gift, form=form, token=token)


@bp.route("/<token>/gifts/<int:gift_id>/amount", methods=["GET", "POST"])
def change(token: str, gift_id: int):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    gift = _donor_gift(donor, gift_id)
    form = ChangeAmountForm(amount=as_input(gift.amount, gift.currency), currency=gift.currency)
    if form.validate_on_submit():
        try:
            if (form.currency.data or gift.currency) != gift.currency:
                raise ActionRefused(
                    gettext(
                        "Your gift is in %(currency)s: its amount can change, not its currency.",
                        currency=gift.currency,
                    )
                )
            amount = new_amount(gift, form.amount.data)
        except ActionRefused as error:
            form.amount.errors.append(str(error))
        else:
            return _act(
                token,
                lambda: change_amount(
                    gift, amount, actor=Actor.donor(donor), intent=form.intent.data
                ),
                gettext("Your gift's new amount applies from your next payment. Thank you!"),
            )
    status = 422 if form.errors else 200
    page = render_template(
        "manage/change.html", gift=gift, form=form, token=token, limits=limits(gift.currency)
    )
    return page, status


@bp.route("/<token>/gifts/<int:gift_id>/pause", methods=["GET", "POST"])
def pause(token: str, gift_id: int):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    gift = _donor_gift(donor, gift_id)
    form = PauseForm()
    if form.validate_on_submit():
        renewals = int(form.renewals.data)
        return _act(
            token,
            lambda: pause_gift(gift, renewals, actor=Actor.donor(donor), intent=form.intent.data),
            gettext("Your gift is paused. It will start again on its own."),
        )
    status = 422 if form.errors else 200
    return render_template("manage/pause.html", gift=gift, form=form, token=token), status


@bp.post("/<token>/gifts/<int:gift_id>/resume")
def resume(token: str, gift_id: int):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    gift = _donor_gift(donor, gift_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(
        token,
        lambda: resume_gift(gift, actor=Actor.donor(donor), intent=form.intent.data),
        gettext("Your gift continues. Thank you!"),
    )


@bp.post("/<token>/gifts/<int:gift_id>/card")
def card_from_gifts(token: str, gift_id: int):
    try:
        donor, _ = links.read(links.MANAGE, token)
    except links.InvalidLink as error:
        return invalid_link(error)
    gift = _donor_gift(donor, gift_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _open_card_page(gift, back=url_for("manage.gifts", token=token))


def _open_card_page(gift: Gift, *, back: str):
    """Send the donor to Stripe's page to save a card, or back to ``back`` with why not."""
    card_token = links.token(links.UPDATE_CARD, gift.donor, gift)
    try:
        url = open_card_update(
            gift,
            success_url=public_url() + url_for("manage.card_saved", card_token=card_token),
            cancel_url=public_url() + url_for("manage.card", card_token=card_token, left=1),
        )
    except ActionRefused as error:
        flash(str(error), "error")
    except GatewayError as error:
        flash(_payment_service_refusal(error), "error")
    else:
        return redirect(url, code=303)
    return redirect(back, code=303)


@bp.route("/card/<card_token>", methods=["GET", "POST"])
def card(card_token: str):
    """The "update your card" link from a renewal-failed or card-expiring email."""
    try:
        _, gift = links.read(links.UPDATE_CARD, card_token)
    except links.InvalidLink as error:
        return invalid_link(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        return _open_card_page(gift, back=url_for("manage.card", card_token=card_token))
    return render_template(
        "manage/card.html", gift=gift, form=form, left=bool(request.args.get("left"))
    )


@bp.get("/card/<card_token>/saved")
def card_saved(card_token: str):
    """Where Stripe sends the donor after saving a card: apply it now (the webhook may
    come later or not yet), collecting an unpaid renewal with it."""
    try:
        _, gift = links.read(links.UPDATE_CARD, card_token)
    except links.InvalidLink as error:
        return invalid_link(error)
    db.session.rollback()  # no transaction (or SQLite write lock) held across the network call
    try:
        session = gateway().retrieve_checkout_session(request.args.get("session_id", ""))
    except GatewayError:
        abort(404)
    if session.mode is not CheckoutMode.SETUP or session.gift_id != gift.id:
        abort(404)
    try:
        with commit_or_rollback():
            result = ledger.apply_setup_session(session, as_of=session.created)
    except GatewayError as error:
        current_app.logger.warning("card update %s not applied yet: %s", session.id, error)
        result = ledger.CardUpdate(gift, payment_error=_payment_service_refusal(error))
    db.session.refresh(gift)
    return render_template(
        "manage/card_saved.html",
        gift=gift,
        result=result,
        token=card_token,
        restart_url=links.restart_url(gift),
    )
