"""Support page → Continue (Stripe Checkout) → thank-you page."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from donations import ledger
from donations.campaigns import services as campaigns
from donations.db import commit_or_rollback, db
from donations.enums import Frequency, GiftStatus, TributeKind
from donations.forms import ConfirmForm
from donations.i18n import current_language
from donations.models import Gift
from donations.money import InvalidAmount, as_input, format_money, to_minor
from donations.payments import GatewayError, gateway
from donations.payments.types import CheckoutSession, CheckoutStatus
from donations.remind import services as reminders
from donations.support import bp, services

MAX_CONFIRM_REFRESHES = 10
RENDER_CACHE_SIZE = 512
CSRF_PLACEHOLDER = "csrf-token-placeholder"
#: how much of a reader's own text is shown back when the form is shown again
ECHO_LIMIT = 2000
TRIBUTE_KINDS = frozenset(TributeKind)


def _campaign(slug: str | None) -> tuple[campaigns.CampaignPage | None, str | None]:
    """The running campaign a page shows (None: the site's own page, also for an unknown
    slug) as this reader sees it, and the variant cookie to set (None: unchanged)."""
    if not slug:
        return None, None
    return campaigns.page_for(slug, request.cookies.get(campaigns.VARIANT_COOKIE))


def _goal_text(page: campaigns.CampaignPage | None) -> str:
    return services.goal_text(page.goal) if page is not None and page.goal else ""


def _prefill(values, offer: services.Offer, *, keep_mistyped: bool = False) -> dict:
    """The reader's choices from a query string or a posted form, cleaned for display.

    The amount is the typed one, else the chosen frequency's own preset (``amount_monthly``,
    as the appeal box sends), else ``amount``; so a preset picked under another frequency
    is never carried over unseen. An amount that is not money is dropped, unless the form
    is shown again with its error (``keep_mistyped``), so the reader sees what they typed
    next to the message.
    """
    frequency = values.get("frequency", offer.default_frequency)
    if frequency not in set(Frequency):
        frequency = offer.default_frequency
    currency = (values.get("currency") or "").upper()
    if currency not in offer.currencies:
        currency = offer.default_currency
    typed = next(
        (
            text
            for name in ("other_amount", f"amount_{frequency}", "amount")
            if (text := (values.get(name) or "").strip())
        ),
        "",
    )
    mistyped = ""
    try:
        amount = as_input(to_minor(typed, currency), currency) if typed else ""
    except InvalidAmount:
        amount, mistyped = "", typed[:32] if keep_mistyped and typed != "other" else ""
    amount = amount or offer.defaults[frequency]
    source = values.get("source", "")[:32]
    reminder = values.get("reminder", "")[:64]
    return {
        "frequency": frequency,
        "currency": currency,
        "amount": mistyped or amount,
        "valid_amount": amount,
        "email": values.get("email")
        or (reminders.email_for_token(reminder) if reminder else "")
        or session.get("donor_email", ""),
        "name": values.get("name") or session.get("donor_name", ""),
        "source": source,
        "reminder": reminder,
        "from_reminder": bool(reminder) or source == "reminder",
        "cover_fees": bool(values.get("cover_fees")),
        "anonymous": bool(values.get("anonymous")),
        "newsletter": bool(values.get("newsletter")),
        "tribute": {
            "kind": kind if (kind := values.get("tribute_kind", "")) in TRIBUTE_KINDS else "",
            "name": values.get("tribute_name", "")[:ECHO_LIMIT],
            "message": values.get("tribute_message", "")[:ECHO_LIMIT],
            "notify_email": values.get("tribute_notify_email", "")[:ECHO_LIMIT],
        },
    }


def _is_personal(choice: dict) -> bool:
    """Whether the choice carries the reader's own details (never cached or shared)."""
    return bool(
        choice["email"]
        or choice["name"]
        or choice["reminder"]
        or choice["anonymous"]
        or choice["newsletter"]
        or any(choice["tribute"].values())
    )


def _fee_label(choice: dict) -> str:
    """The fee "cover the fees" adds to the amount shown, formatted; "" when the amount
    shown is not money (the form is shown again with that error)."""
    try:
        amount = to_minor(choice["amount"], choice["currency"])
    except InvalidAmount:
        return ""
    return format_money(services.covered_fee(amount, choice["currency"]), choice["currency"])


def _remind_url(choice: dict) -> str:
    """ "Remind me later", carrying the reader's choice to the reminder form."""
    return url_for(
        "remind.signup",
        frequency=choice["frequency"],
        amount=choice["valid_amount"],
        currency=choice["currency"],
        source=choice["source"],
    )


def _page(
    choice: dict, page, offer: services.Offer, *, errors: dict, notice: str, csrf_token: str
) -> str:
    defaults = services.page_defaults()
    return render_template(
        "support/index.html",
        choice=choice,
        campaign=page,
        goal_text=_goal_text(page),
        presets=offer.presets,
        checked_presets=services.checked_presets(
            choice["frequency"], choice["valid_amount"], offer
        ),
        currencies=offer.currencies,
        remind_url=_remind_url(choice),
        fee_label=_fee_label(choice),
        amount_hints=services.amount_hints(defaults["limit_labels"]),
        errors=errors,
        notice=notice,
        csrf_token=csrf_token,
        **defaults,
    )


def _render_form(values, *, errors=None, notice: str = "", status: int = 200):
    """The form again after a refused Continue, with the reader's choices and messages."""
    page, cookie = _campaign(values.get("campaign"))
    offer, _content = services.offer_for(page)
    choice = _prefill(values, offer, keep_mistyped=bool(errors))
    html = _page(
        choice, page, offer, errors=errors or {}, notice=notice, csrf_token=generate_csrf()
    )
    return _with_variant_cookie(make_response(html), cookie), status


def _with_variant_cookie(response: Response, cookie: str | None) -> Response:
    if cookie:
        response.set_cookie(campaigns.VARIANT_COOKIE, cookie, **campaigns.cookie_options())
    return response


def _cached_form(values, notice: str, page) -> str:
    """The form for an anonymous first visit, rendered once per choice and reused.

    Only the CSRF token differs between such visits, so it is put in per request; pages
    with a reader's own details (email, name, reminder, privacy, a dedication) are always
    rendered afresh. The key holds the reader's language and the campaign's page.
    """
    offer, content = services.offer_for(page)
    choice = _prefill(values, offer)
    if _is_personal(choice):
        return _page(choice, page, offer, errors={}, notice=notice, csrf_token=generate_csrf())
    cache = current_app.extensions.setdefault("support_page_html", {})
    key = (
        current_language(),
        content,
        choice["frequency"],
        choice["currency"],
        choice["amount"],
        choice["source"],
        choice["cover_fees"],
        notice,
    )
    html = cache.get(key)
    if html is None:
        if len(cache) >= RENDER_CACHE_SIZE:
            cache.clear()
        html = cache[key] = _page(
            choice, page, offer, errors={}, notice=notice, csrf_token=CSRF_PLACEHOLDER
        )
    return html.replace(CSRF_PLACEHOLDER, generate_csrf(), 1)


@bp.get("/")
@bp.get("/support")
def support_page():
    page, cookie = _campaign(request.args.get("campaign"))
    notice = ""
    if request.args.get("cancelled"):
        notice = _("Your payment was not completed and you have not been charged.")
    response = make_response(_cached_form(request.args, notice, page))
    if page is not None:
        campaigns.count_view(page)
    return _with_variant_cookie(response, cookie)


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
        upsell=_upsell_offer(gift),
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


def _upsell_offer(gift: Gift) -> int | None:
    """ "Make it monthly?" after a paid one-time gift: the monthly amount to suggest."""
    if gift.frequency != Frequency.ONCE or gift.status != GiftStatus.PAID:
        return None
    return services.upsell_amount(gift.amount - gift.covered_fee, gift.currency)


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
    from babel.dates import format_timedelta

    from donations.privacy import services as retention

    return render_template(
        "support/privacy.html",
        retention=retention.retention_days(),
        rate_limit_window=format_timedelta(
            retention.longest_rate_limit_window(), threshold=1, locale="en"
        ),
    )


@bp.get("/appeal")
def appeal_box():
    """The end-of-article box, embeddable in an iframe on any newsroom page (see
    ``security.FRAMEABLE_ENDPOINTS`` and docs/appeal-box.md); rendered once per choice,
    language and campaign page, as it holds nothing of the reader's."""
    page, cookie = _campaign(request.args.get("campaign"))
    offer, content = services.offer_for(page)
    choice = _prefill(request.args, offer)
    checked = services.checked_presets(choice["frequency"], choice["valid_amount"], offer)
    choice["amount"] = choice["valid_amount"] = checked[choice["frequency"]]
    key = (
        current_language(),
        content,
        choice["frequency"],
        choice["currency"],
        choice["amount"],
        choice["cover_fees"],
    )
    cache = current_app.extensions.setdefault("appeal_box_html", {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= RENDER_CACHE_SIZE:
            cache.clear()
        html = cache[key] = render_template(
            "support/appeal.html",
            choice=choice,
            campaign=page,
            goal_text=_goal_text(page),
            presets=offer.presets,
            checked=checked,
            fee_label=_fee_label(choice),
            **services.page_defaults(),
        )
    if page is not None:
        campaigns.count_view(page)
    return _with_variant_cookie(make_response(html), cookie)
