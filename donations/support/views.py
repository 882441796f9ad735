"""Support page → Continue (Stripe Checkout) → thank-you page."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf

from donations import ledger
from donations.db import commit_or_rollback, db
from donations.enums import GAVE_STATUSES, Frequency, GiftStatus, TributeKind
from donations.forms import ConfirmForm
from donations.models import Gift
from donations.money import InvalidAmount, as_input, format_money, to_minor
from donations.payments import GatewayError, gateway
from donations.support import bp, services

MAX_CONFIRM_REFRESHES = 10
RENDER_CACHE_SIZE = 512
CSRF_PLACEHOLDER = "csrf-token-placeholder"
#: how much of a reader's own text is shown back when the form is shown again
ECHO_LIMIT = 2000
TRIBUTE_KINDS = frozenset(TributeKind)


def _page_defaults() -> dict:
    """Preset buttons and limits, computed once per app (Babel formatting is not free)."""
    cached = current_app.extensions.get("support_page")
    if cached is None:
        limits = {c: services.limits(c) for c in services.currencies()}
        cached = {
            "presets": services.preset_table(),
            "currencies": services.currencies(),
            "limits": limits,
            "limit_labels": {
                currency: {
                    "minimum": format_money(bounds.minimum, currency),
                    "minimum_short": format_money(bounds.minimum, currency, trim=True),
                    "maximum": format_money(bounds.maximum, currency, trim=True),
                }
                for currency, bounds in limits.items()
            },
            "fee_models_json": services.fee_models_json(),
        }
        current_app.extensions["support_page"] = cached
    return cached


def _prefill(values, *, keep_mistyped: bool = False) -> dict:
    """The reader's choices from a query string or a posted form, cleaned for display.

    An amount that is not money is dropped, unless the form is shown again with its error
    (``keep_mistyped``), so the reader sees what they typed next to the message.
    """
    frequency = values.get("frequency", Frequency.ONCE)
    if frequency not in set(Frequency):
        frequency = Frequency.ONCE
    currency = (values.get("currency") or "").upper()
    if currency not in services.currencies():
        currency = services.default_currency()
    typed = (values.get("other_amount") or "").strip() or (values.get("amount") or "").strip()
    mistyped = ""
    try:
        amount = as_input(to_minor(typed, currency), currency) if typed else ""
    except InvalidAmount:
        amount, mistyped = "", typed[:32] if keep_mistyped and typed != "other" else ""
    if not amount:
        presets = _page_defaults()["presets"][frequency]
        amount = presets[1]["value"] if len(presets) > 1 else ""
    source = values.get("source", "")[:32]
    return {
        "frequency": frequency,
        "currency": currency,
        "amount": mistyped or amount,
        "valid_amount": amount,
        "email": values.get("email") or session.get("donor_email", ""),
        "name": values.get("name") or session.get("donor_name", ""),
        "source": source,
        "reminder": values.get("reminder", ""),
        "cover_fees": bool(values.get("cover_fees")),
        "anonymous": bool(values.get("anonymous")),
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


def _page(choice: dict, *, errors: dict, notice: str, csrf_token: str) -> str:
    return render_template(
        "support/index.html",
        choice=choice,
        remind_url=_remind_url(choice),
        fee_label=_fee_label(choice),
        errors=errors,
        notice=notice,
        csrf_token=csrf_token,
        **_page_defaults(),
    )


def _render_form(values, *, errors=None, notice: str = "", status: int = 200):
    choice = _prefill(values, keep_mistyped=bool(errors))
    return _page(choice, errors=errors or {}, notice=notice, csrf_token=generate_csrf()), status


def _cached_form(values, notice: str):
    """The form for an anonymous first visit, rendered once per choice and reused.

    Only the CSRF token differs between such visits, so it is put in per request; pages
    with a reader's own details (email, name, reminder, privacy, a dedication) are always
    rendered afresh.
    """
    choice = _prefill(values)
    if _is_personal(choice):
        return _render_form(values, notice=notice)
    cache = current_app.extensions.setdefault("support_page_html", {})
    key = (
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
        html = cache[key] = _page(choice, errors={}, notice=notice, csrf_token=CSRF_PLACEHOLDER)
    return html.replace(CSRF_PLACEHOLDER, generate_csrf(), 1)


@bp.get("/")
@bp.get("/support")
def support_page():
    notice = ""
    if request.args.get("cancelled"):
        notice = "Your payment was not completed and you have not been charged."
    return _cached_form(request.args, notice)


@bp.get("/thanks")
def thank_you():
    session_id = request.args.get("session_id", "")
    gift = db.session.scalar(sa.select(Gift).where(Gift.stripe_checkout_session_id == session_id))
    if gift is None:
        abort(404)
    if gift.status == GiftStatus.PENDING:
        _confirm_from_stripe(gift)
    refreshes = request.args.get("refresh", 0, type=int)
    next_refresh = None
    if gift.status not in GAVE_STATUSES and refreshes < MAX_CONFIRM_REFRESHES:
        next_refresh = url_for("support.thank_you", session_id=session_id, refresh=refreshes + 1)
    return render_template(
        "support/thanks.html",
        gift=gift,
        confirmed=gift.status in GAVE_STATUSES,
        next_refresh=next_refresh,
        upsell=_upsell_offer(gift),
        upsell_form=ConfirmForm(),
    )


def _upsell_offer(gift: Gift) -> int | None:
    """ "Make it monthly?" after a paid one-time gift: the monthly amount to suggest."""
    if gift.frequency != Frequency.ONCE or gift.status != GiftStatus.PAID:
        return None
    return services.upsell_amount(gift.amount - gift.covered_fee, gift.currency)


def _confirm_from_stripe(gift: Gift) -> None:
    """Read the session once: if Stripe says it is paid, record it now (idempotent)."""
    session_id = gift.stripe_checkout_session_id
    db.session.rollback()  # no transaction (or SQLite write lock) held across the network call
    try:
        checkout_session = gateway().retrieve_checkout_session(session_id)
        if checkout_session.is_paid:
            with commit_or_rollback():
                ledger.apply_checkout_session(checkout_session, paid_at=int(time.time()))
    except GatewayError as error:
        # The webhook will record it; the page keeps saying "confirming…" meanwhile.
        current_app.logger.warning("could not confirm %s from Stripe: %s", session_id, error)
    db.session.refresh(gift)


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
    ``security.FRAMEABLE_ENDPOINTS``)."""
    choice = _prefill(request.args)
    return render_template(
        "support/appeal.html", choice=choice, fee_label=_fee_label(choice), **_page_defaults()
    )
