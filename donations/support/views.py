"""Support page → Continue (Stripe Checkout) → thank-you page."""

from __future__ import annotations

import time

import sqlalchemy as sa
from babel.dates import format_timedelta
from flask import (
    abort,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from donations import ledger
from donations.campaigns import services as campaigns
from donations.db import commit_or_rollback, db
from donations.enums import GiftStatus
from donations.forms import ConfirmForm
from donations.i18n import current_language
from donations.models import Gift
from donations.money import as_input
from donations.payments import GatewayError, gateway
from donations.payments.types import CheckoutSession, CheckoutStatus
from donations.privacy import services as retention
from donations.support import bp, pages, services

MAX_CONFIRM_REFRESHES = 10


@bp.get("/")
@bp.get("/support")
def support_page():
    page, cookie = pages.campaign_for(request.args.get("campaign"))
    notice = ""
    if request.args.get("cancelled"):
        notice = _("Your payment was not completed and you have not been charged.")
    response = make_response(pages.cached_form(request.args, notice, page))
    if page is not None:
        campaigns.count_view(page)
    return pages.with_variant_cookie(response, cookie)


@bp.get("/thanks")
def thank_you():
    session_id = request.args.get("session_id", "")
    gift = db.session.scalar(sa.select(Gift).where(Gift.stripe_checkout_session_id == session_id))
    if gift is None:
        abort(404)
    checkout_session = _confirm_from_stripe(gift) if gift.status == GiftStatus.PENDING else None
    state = services.thanks_state(
        gift.status, checkout_session.status if checkout_session else None
    )
    refreshes = request.args.get("refresh", 0, type=int)
    next_refresh = None
    if state == "confirming" and refreshes < MAX_CONFIRM_REFRESHES:
        next_refresh = url_for("support.thank_you", session_id=session_id, refresh=refreshes + 1)
    return render_template(
        "support/thanks.html",
        gift=gift,
        state=state,
        confirmed=state == "confirmed",
        next_refresh=next_refresh,
        payment_page=checkout_session.url if state == "open" else None,
        again_url=_again_url(gift),
        upsell=services.upsell_offer(gift),
        upsell_form=ConfirmForm(),
    )


def _again_url(gift: Gift) -> str:
    """The support page with the gift's choice, to try again."""
    query = {
        "frequency": gift.frequency,
        "amount": as_input(gift.amount - gift.covered_fee, gift.currency),
        "currency": gift.currency,
    }
    if gift.covered_fee:
        query["cover_fees"] = "1"
    return url_for("support.support_page", **query)


def _confirm_from_stripe(gift: Gift) -> CheckoutSession | None:
    """Read the session once: if Stripe says it is paid, or expired unpaid, record it now
    (idempotent); None when Stripe could not be read."""
    session_id = gift.stripe_checkout_session_id
    db.session.rollback()  # no transaction (or SQLite write lock) held across the network call
    checkout_session = None
    try:
        checkout_session = gateway().retrieve_checkout_session(session_id)
        if checkout_session.is_paid or checkout_session.status is CheckoutStatus.EXPIRED:
            with commit_or_rollback():
                ledger.apply_checkout_session(checkout_session, paid_at=int(time.time()))
    except GatewayError as error:
        # The webhook will record it; the page keeps saying "confirming…" meanwhile.
        current_app.logger.warning("could not confirm %s from Stripe: %s", session_id, error)
    db.session.refresh(gift)
    return checkout_session


@bp.get("/privacy")
def privacy():
    """What is kept and for how long, in the words and days of the retention settings."""
    return render_template(
        "support/privacy.html",
        retention=retention.retention_days(),
        rate_limit_window=format_timedelta(
            retention.longest_rate_limit_window(), threshold=1, locale=current_language()
        ),
    )


@bp.get("/appeal")
def appeal_box():
    """The end-of-article box, embeddable in an iframe on any newsroom page (see
    ``security.FRAMEABLE_ENDPOINTS`` and docs/appeal-box.md); rendered once per choice,
    language and campaign page (``pages.appeal_box``)."""
    page, cookie = pages.campaign_for(request.args.get("campaign"))
    html = pages.appeal_box(request.args, page)
    if page is not None:
        campaigns.count_view(page)
    return pages.with_variant_cookie(make_response(html), cookie)
