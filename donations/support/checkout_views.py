"""The routes that open a Stripe Checkout page: Continue on the support page, "make it
monthly" on the thank-you page, and the one-click restart link.

Each start passes the card-testing gate (``donations.defence.services.admit_start``)
after its form is valid and before anything is recorded: a refused start shows its page
again with status 429, and makes no pending gift and no Checkout session.
"""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext

from donations import links
from donations.campaigns import services as campaigns
from donations.config import public_url
from donations.db import commit_or_rollback, db
from donations.defence import services as defence
from donations.enums import (
    GAVE_STATUSES,
    RUNNING_STATUSES,
    BlockReason,
    Frequency,
    GiftStatus,
    TributeKind,
)
from donations.extensions import csrf
from donations.forms import ConfirmForm
from donations.giving import checkout
from donations.i18n import current_language
from donations.models import Gift
from donations.money import as_input
from donations.newsletter import services as newsletter
from donations.payments import GatewayError, gateway
from donations.payments.types import CheckoutStatus
from donations.security import require_same_origin
from donations.support import bp, pages, services
from donations.support.forms import DonationForm

UNAVAILABLE = lazy_gettext(
    "The payment service is unavailable. You have not been charged. Please try again in a moment."
)


@bp.post("/support")
@bp.post("/")
@csrf.exempt
def continue_to_checkout():
    require_same_origin()
    form = DonationForm()
    if not form.validate():
        errors = {name: field.errors[0] for name, field in form._fields.items() if field.errors}
        return pages.render_form(request.form, errors=errors, status=422)
    with commit_or_rollback():
        refusal = defence.admit_start(form.email.data, open_form=True)
    if refusal is not None:
        if refusal.reason is BlockReason.CHALLENGE:
            g.challenge_widget = defence.widget()
        page, status = pages.render_form(request.form, notice=refusal.message, status=429)
        return page, status, refusal.headers
    amount, currency = form.amount_minor, form.currency.data
    campaign_id, variant_id = campaigns.attribution(
        request.form.get("campaign"), request.cookies.get(campaigns.VARIANT_COOKIE)
    )
    campaigns.count_continue(campaign_id, variant_id)
    if form.newsletter.data:
        _sign_up_for_newsletter(form.email.data)
    choice = checkout.GiftChoice(
        frequency=Frequency(form.frequency.data),
        amount=amount,
        currency=currency,
        email=form.email.data.strip(),
        name=(form.name.data or "").strip(),
        source=(form.source.data or "support")[:32],
        source_url=request.referrer or "",
        reminder_token=form.reminder.data or "",
        covered_fee=services.covered_fee(amount, currency) if form.cover_fees.data else 0,
        tribute_kind=TributeKind(form.tribute_kind.data),
        tribute_name=form.tribute_name.data or "",
        tribute_message=form.tribute_message.data or "",
        tribute_notify_email=form.tribute_notify_email.data or "",
        anonymous=form.anonymous.data,
        locale=current_language(),
        campaign_id=campaign_id,
        variant_id=variant_id,
    )
    session["donor_email"], session["donor_name"] = choice.email, choice.name
    response = _checkout_redirect(choice)
    if response is None:
        return pages.render_form(request.form, notice=UNAVAILABLE, status=503)
    return response


def _sign_up_for_newsletter(email: str) -> None:
    """The support page's newsletter box: the same double opt-in as the sign-up form (a
    confirmation email; nothing is subscribed until its link is clicked)."""
    try:
        with commit_or_rollback():
            newsletter.request_subscription(
                email,
                locale=current_language(),
                source="support",
                consent_text=newsletter.consent_text(),
            )
    except newsletter.InvalidEmail as error:
        current_app.logger.info("newsletter sign-up with the gift refused: %s", error)


def _checkout_redirect(choice: checkout.GiftChoice):
    """Record the choice as a pending gift and send the reader to its Checkout page; None
    if the payment service refused or could not be reached (the gift is kept, abandoned,
    and nothing is charged)."""
    kept = {
        "frequency": choice.frequency,
        "amount": as_input(choice.amount, choice.currency),
        "currency": choice.currency,
        "cancelled": "1",
    }
    if choice.covered_fee:
        kept["cover_fees"] = "1"
    with commit_or_rollback():
        gift = checkout.create_pending_gift(choice)
    try:
        with commit_or_rollback():
            checkout_url = checkout.open_checkout(
                gift,
                success_url=_external("support.thank_you"),
                cancel_url=_external("support.support_page") + "?" + urlencode(kept),
            )
    except GatewayError as error:
        current_app.logger.warning("checkout could not start: %s", error)
        with commit_or_rollback():
            checkout.abandon_gift(gift)
        return None
    except BaseException:
        with commit_or_rollback():
            checkout.abandon_gift(gift)
        raise
    return redirect(checkout_url, code=303)


def _external(endpoint: str) -> str:
    return public_url() + url_for(endpoint)


@bp.post("/thanks/monthly")
def make_it_monthly():
    """One click from the thank-you page to Checkout for a monthly gift, same email."""
    form = ConfirmForm()
    session_id = request.form.get("session_id", "")
    gift = db.session.scalar(sa.select(Gift).where(Gift.stripe_checkout_session_id == session_id))
    if gift is None or not form.validate_on_submit():
        abort(400)
    amount = services.upsell_offer(gift)
    if amount is None:
        abort(409)
    earlier = _earlier_upsell(gift)
    if earlier is not None:
        return earlier
    refused = _refused(gift.donor.email)
    if refused is not None:
        return refused
    choice = checkout.GiftChoice(
        frequency=Frequency.MONTHLY,
        amount=amount,
        currency=gift.currency,
        email=gift.donor.email,
        name=gift.donor.name,
        source="upsell",
        source_url=request.referrer or "",
        upsell_of_gift_id=gift.id,
        anonymous=gift.anonymous,
        locale=gift.locale,
    )
    return _checkout_redirect(choice) or _unavailable_page()


def _earlier_upsell(gift: Gift):
    """A second click on "make it monthly?" goes where the first one did: the monthly
    gift's Checkout page while it is open, or its thank-you page once paid."""
    monthly = db.session.scalar(
        sa.select(Gift).where(Gift.upsell_of_gift_id == gift.id).order_by(Gift.id.desc()).limit(1)
    )
    if monthly is None or monthly.stripe_checkout_session_id is None:
        return None
    if monthly.status in GAVE_STATUSES:
        return redirect(url_for("support.thank_you", session_id=monthly.stripe_checkout_session_id))
    if monthly.status != GiftStatus.PENDING:
        return None
    db.session.rollback()  # no transaction held across the network call
    try:
        session = gateway().retrieve_checkout_session(monthly.stripe_checkout_session_id)
    except GatewayError:
        return None
    if session.status is CheckoutStatus.OPEN and session.url:
        return redirect(session.url, code=303)
    return None


@bp.route("/restart/<token>", methods=["GET", "POST"])
def restart(token: str):
    """The "start again" link in a cancelled or stopped email: the same gift, one click."""
    try:
        _, gift = links.read(links.RESTART, token)
    except links.InvalidLink as error:
        return render_template("support/restart.html", error=error), 400
    if gift.status in RUNNING_STATUSES:
        return render_template("support/restart.html", gift=gift, running=True)
    form = ConfirmForm()
    if form.validate_on_submit():
        refused = _refused(gift.donor.email)
        if refused is not None:
            return refused
        choice = checkout.GiftChoice(
            frequency=Frequency(gift.frequency),
            amount=gift.amount - gift.covered_fee,
            currency=gift.currency,
            email=gift.donor.email,
            name=gift.donor.name,
            source="restart",
            covered_fee=gift.covered_fee,
            anonymous=gift.anonymous,
            locale=gift.locale,
        )
        return _checkout_redirect(choice) or _unavailable_page()
    change_url = url_for(
        "support.support_page",
        frequency=gift.frequency,
        amount=as_input(gift.amount - gift.covered_fee, gift.currency),
        currency=gift.currency,
        email=gift.donor.email,
        source="restart",
        **({"cover_fees": "1"} if gift.covered_fee else {}),
    )
    return render_template("support/restart.html", gift=gift, form=form, change_url=change_url)


def _unavailable_page():
    return render_template("error.html", status=503, message=UNAVAILABLE), 503


def _refused(email: str):
    """The refusal page of a start the card-testing limits stop, or None to go on."""
    with commit_or_rollback():
        refusal = defence.admit_start(email, open_form=False)
    if refusal is None:
        return None
    page = render_template("error.html", status=429, message=refusal.message)
    return page, 429, refusal.headers
