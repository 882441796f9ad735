"""The support form as a page: the reader's choices read back from a query string or a
posted form, the page rendered (and, for an anonymous first visit, cached), and the
campaign variant cookie. Shared by the page's own view and by Continue when it shows the
form again."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, make_response, render_template, request, session, url_for

from donations.campaigns import services as campaigns
from donations.enums import Frequency, TributeKind
from donations.i18n import current_language
from donations.money import InvalidAmount, as_input, format_money, to_minor
from donations.remind import services as reminders
from donations.support import services

RENDER_CACHE_SIZE = 512
#: how much of a reader's own text is shown back when the form is shown again
ECHO_LIMIT = 2000
TRIBUTE_KINDS = frozenset(TributeKind)


def campaign_for(slug: str | None) -> tuple[campaigns.CampaignPage | None, str | None]:
    """The running campaign a page shows (None: the site's own page, also for an unknown
    slug) as this reader sees it, and the variant cookie to set (None: unchanged)."""
    if not slug:
        return None, None
    return campaigns.page_for(slug, request.cookies.get(campaigns.VARIANT_COOKIE))


def goal_text(page: campaigns.CampaignPage | None) -> str:
    return services.goal_text(page.goal) if page is not None and page.goal else ""


def prefill(values, offer: services.Offer, *, keep_mistyped: bool = False) -> dict:
    """The reader's choices from a query string or a posted form, cleaned for display.

    The amount is the typed one, else the chosen frequency's own preset (``amount_monthly``,
    as the appeal box sends), else ``amount``; so a preset picked under another frequency
    is never carried over unseen. An amount that is not money is dropped, unless the form
    is shown again with its error (``keep_mistyped``), so the reader sees what they typed
    next to the message.
    """
    # a plain dict: a MultiDict builds an exception for every absent key it is asked for,
    # and a first visit asks for twenty (bench/support_page.py)
    values = values.to_dict() if hasattr(values, "to_dict") else dict(values)
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


def fee_label(choice: dict) -> str:
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


def _page(choice: dict, page, offer: services.Offer, *, errors: dict, notice: str) -> str:
    defaults = services.page_defaults()
    return render_template(
        "support/index.html",
        choice=choice,
        campaign=page,
        goal_text=goal_text(page),
        presets=offer.presets,
        checked_presets=services.checked_presets(
            choice["frequency"], choice["valid_amount"], offer
        ),
        currencies=offer.currencies,
        remind_url=_remind_url(choice),
        fee_label=fee_label(choice),
        amount_hints=services.amount_hints(defaults["limit_labels"]),
        errors=errors,
        notice=notice,
        **defaults,
    )


def render_form(values, *, errors=None, notice: str = "", status: int = 200):
    """The form again after a refused Continue, with the reader's choices and messages."""
    page, cookie = campaign_for(values.get("campaign"))
    offer, _content = services.offer_for(page)
    choice = prefill(values, offer, keep_mistyped=bool(errors))
    html = _page(choice, page, offer, errors=errors or {}, notice=notice)
    return with_variant_cookie(make_response(html), cookie), status


def with_variant_cookie(response: Response, cookie: str | None) -> Response:
    if cookie:
        campaigns.set_variant_cookie(response, cookie)
    return response


def cached_form(values, notice: str, page) -> str:
    """The form for an anonymous first visit, rendered once per choice and reused.

    It carries no CSRF token (Continue checks the post's origin instead), so such a visit
    sets no cookie and its page is the same for every reader; pages with a reader's own
    details (email, name, reminder, privacy, a dedication) are always rendered afresh. The
    key holds the reader's language and the campaign's page.
    """
    offer, content = services.offer_for(page)
    choice = prefill(values, offer)
    if _is_personal(choice):
        return _page(choice, page, offer, errors={}, notice=notice)
    key = (*_shown(choice, content), choice["source"], notice)
    return _cached(
        "support_page_html", key, lambda: _page(choice, page, offer, errors={}, notice=notice)
    )


def appeal_box(values, page) -> str:
    """The end-of-article box for a choice, rendered once per choice, language and
    campaign page: it holds nothing of the reader's and no form token (its forms are a GET
    to the support page and the newsletter's double opt-in)."""
    offer, content = services.offer_for(page)
    choice = prefill(values, offer)
    checked = services.checked_presets(choice["frequency"], choice["valid_amount"], offer)
    choice["amount"] = choice["valid_amount"] = checked[choice["frequency"]]
    return _cached(
        "appeal_box_html",
        _shown(choice, content),
        lambda: render_template(
            "support/appeal.html",
            choice=choice,
            campaign=page,
            goal_text=goal_text(page),
            presets=offer.presets,
            checked=checked,
            fee_label=fee_label(choice),
            **services.page_defaults(),
        ),
    )


def _shown(choice: dict, content: tuple | None) -> tuple:
    """What a cached page shows of a choice: the part of its key both pages share."""
    return (
        current_language(),
        content,
        choice["frequency"],
        choice["currency"],
        choice["amount"],
        choice["cover_fees"],
    )


def _cached(name: str, key: tuple, render: Callable[[], str]) -> str:
    """The page kept under ``key`` in the app's cache ``name``, rendered on first use; a
    full cache is emptied rather than grown (the keys are the readers' choices)."""
    cache = current_app.extensions.setdefault(name, {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= RENDER_CACHE_SIZE:
            cache.clear()
        html = cache[key] = render()
    return html
