"""What the support page and the appeal box offer: currencies, preset amounts per
frequency, amount limits, what covering the card fees adds to a gift, a campaign's offer
and goal in words, and what the thank-you page says of a gift.

The site's offer is read from the app config, so a newsroom changes it without touching
code; a campaign's comes from ``donations.campaigns``. The gift itself is started by
``donations.giving.checkout``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from flask import current_app
from flask_babel import gettext, ngettext

from donations.campaigns.queries import GoalProgress
from donations.campaigns.services import CampaignPage
from donations.config import per_currency
from donations.enums import GAVE_STATUSES, UNPAID_STATUSES, Frequency, GiftStatus, GoalKind
from donations.i18n import current_language
from donations.ledger import rules
from donations.models import Gift
from donations.money import InvalidAmount, as_input, format_money, precision, to_minor
from donations.payments.types import CheckoutStatus

#: campaign offers kept per process (each campaign's page is rebuilt every
#: ``CAMPAIGN_GOAL_CACHE_SECONDS``, so old ones are dropped when the memo fills)
MEMO_SIZE = 512


@dataclass(frozen=True)
class Limits:
    minimum: int
    maximum: int


@dataclass(frozen=True)
class FeeModel:
    """A card fee: ``percent`` of the amount charged plus ``fixed`` minor units."""

    percent: Decimal
    fixed: int


def currencies() -> list[str]:
    return current_app.config["CURRENCIES"]


def default_currency() -> str:
    configured = current_app.config["DEFAULT_CURRENCY"]
    return configured if configured in currencies() else currencies()[0]


def limits(currency: str) -> Limits:
    """Minimum and maximum gift in minor units; ``MIN_AMOUNT_EUR`` style overrides win."""
    low = per_currency("MIN_AMOUNT", currency)
    high = per_currency("MAX_AMOUNT", currency)
    return Limits(to_minor(Decimal(str(low)), currency), to_minor(Decimal(str(high)), currency))


def preset_amounts(frequency: Frequency) -> list[str]:
    """The preset amounts of one frequency as configured (``PRESETS_MONTHLY``), major units."""
    return current_app.config[f"PRESETS_{frequency.name}"]


@dataclass(frozen=True)
class Offer:
    """What a support page or appeal box offers: the site's own choices (settings) or a
    campaign's. ``presets`` has every frequency's buttons (``preset_table``); ``defaults``
    each frequency's amount chosen until the reader picks one, as typed."""

    presets: dict[str, list[dict]]
    currencies: list[str]
    default_currency: str
    default_frequency: Frequency
    defaults: dict[str, str]


def preset_table(
    amounts: dict[Frequency, list[str]] | None = None,
    offered: list[str] | None = None,
    amount_currency: str | None = None,
) -> dict[str, list[dict]]:
    """Every preset button: its value as typed and its label in each offered currency.

    ``amounts`` are as typed (major units of ``amount_currency``), the site's presets
    unless given; a value that is not money in some currency (7.50 in yen) is labelled
    with its currency's code.
    """
    offered = offered or currencies()
    amount_currency = amount_currency or default_currency()
    table = {}
    for frequency in Frequency:
        raws = amounts[frequency] if amounts is not None else preset_amounts(frequency)
        buttons = []
        for raw in raws:
            labels = {currency: _preset_label(raw, currency) for currency in offered}
            value = as_input(to_minor(raw, amount_currency), amount_currency)
            buttons.append({"value": value, "labels": labels})
        table[frequency] = buttons
    return table


def _preset_label(raw: str, currency: str) -> str:
    try:
        return format_money(to_minor(raw, currency), currency, trim=True)
    except InvalidAmount:
        return f"{raw} {currency}"


def site_offer() -> Offer:
    """The site's own offer, built once per app and language (the labels are formatted in
    it)."""
    by_language = current_app.extensions.setdefault("support_offer", {})
    language = current_language()
    offer = by_language.get(language)
    if offer is None:
        presets = preset_table()
        offer = by_language[language] = Offer(
            presets=presets,
            currencies=currencies(),
            default_currency=default_currency(),
            default_frequency=Frequency.ONCE,
            defaults={frequency: _second(buttons) for frequency, buttons in presets.items()},
        )
    return offer


def campaign_offer(
    presets: dict[Frequency, list[int]],
    offered: list[str],
    default_frequency: Frequency,
    default_amount: int | None,
) -> Offer:
    """A campaign's offer: its presets (minor units of its amount currency, the first it
    offers unless the site's default is among them) and default choice."""
    amount_currency = default_currency() if default_currency() in offered else offered[0]
    typed = {
        frequency: [as_input(amount, amount_currency) for amount in amounts]
        for frequency, amounts in presets.items()
    }
    table = preset_table(typed, offered, amount_currency)
    defaults = {frequency: _second(buttons) for frequency, buttons in table.items()}
    if default_amount:
        defaults[default_frequency] = as_input(default_amount, amount_currency)
    return Offer(table, offered, amount_currency, default_frequency, defaults)


def _second(buttons: list[dict]) -> str:
    """The preset chosen until the reader picks one: the second, as readers pick most."""
    return buttons[min(1, len(buttons) - 1)]["value"] if buttons else ""


def page_defaults() -> dict:
    """The limits in words and the fee models, computed once per app and language (Babel
    formatting is not free)."""
    by_language = current_app.extensions.setdefault("support_page", {})
    language = current_language()
    cached = by_language.get(language)
    if cached is None:
        labels = {}
        for currency in currencies():
            bounds = limits(currency)
            labels[currency] = {
                "minimum": format_money(bounds.minimum, currency),
                "minimum_short": format_money(bounds.minimum, currency, trim=True),
                "maximum": format_money(bounds.maximum, currency, trim=True),
            }
        cached = by_language[language] = {
            "limit_labels": labels,
            "minimum_labels": {
                currency: each["minimum_short"] for currency, each in labels.items()
            },
            "fee_models_json": fee_models_json(),
        }
    return cached


def offer_for(page: CampaignPage | None) -> tuple[Offer, tuple | None]:
    """What the page offers, and a key that changes whenever the campaign's page does
    (copy, presets, goal progress), for the rendered-page caches.

    Built once per campaign snapshot and language: the memo keeps the page it was built
    from, so an ``id`` is never mistaken for a later page's.
    """
    if page is None:
        return site_offer(), None
    memo = current_app.extensions.setdefault("support_campaign_offers", {})
    memo_key = (id(page), current_language())
    entry = memo.get(memo_key)
    if entry is None or entry[0] is not page:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        offer = campaign_offer(
            page.presets, page.currencies, page.default_frequency, page.default_amount
        )
        content = (
            page.campaign_id,
            page.variant_id,
            page.headline,
            page.body,
            page.goal,
            tuple((frequency, tuple(amounts)) for frequency, amounts in page.presets.items()),
            tuple(page.currencies),
            page.default_frequency,
            page.default_amount,
        )
        entry = memo[memo_key] = (page, offer, content)
    return entry[1], entry[2]


def checked_presets(frequency: str, amount: str, offer: Offer) -> dict[str, str]:
    """The preset checked in each frequency's group of the appeal box: ``amount`` in the
    chosen ``frequency`` when it is one of its presets, else the group's default when it is
    one, else its second. Every group has one checked, so switching frequency always shows
    the amount that will be asked, and nothing unseen is sent."""
    checked = {}
    for each, buttons in offer.presets.items():
        offered = [button["value"] for button in buttons]
        wanted = [amount] if each == frequency else []
        candidates = [*wanted, offer.defaults[each], _second(buttons)]
        checked[each] = next((value for value in candidates if value in offered), "")
    return checked


def amount_hints(limit_labels: dict[str, dict]) -> dict[str, str]:
    """ "From $2.00 to $10,000." in every currency, for the page's script to switch to."""
    return {
        currency: gettext("From %(minimum)s to %(maximum)s.", **labels)
        for currency, labels in limit_labels.items()
    }


def thanks_state(status: GiftStatus, checkout: CheckoutStatus | None) -> str:
    """What the thank-you page says of a gift: ``confirmed`` (the reader gave), ``ended``
    (gave, since refunded or stopped), ``not_completed`` (abandoned, expired or failed),
    ``open`` (its payment page is still open, unpaid), or ``confirming`` (completed at
    Stripe but not paid yet, or Stripe could not be read: the webhook will tell)."""
    if status in GAVE_STATUSES:
        return "confirmed"
    if status in UNPAID_STATUSES and status != GiftStatus.PENDING:
        return "not_completed"
    if status != GiftStatus.PENDING:
        return "ended"
    if checkout is CheckoutStatus.OPEN:
        return "open"
    if checkout is CheckoutStatus.EXPIRED:
        return "not_completed"
    return "confirming"


def goal_text(goal: GoalProgress) -> str:
    """A campaign's progress in words: "€12,340 of €20,000 from 312 readers" (whole units:
    it is a progress bar, not a statement), or "45 of 100 new regular supporters"."""
    if goal.kind is GoalKind.AMOUNT:
        return ngettext(
            "%(raised)s of %(target)s from %(num)d reader",
            "%(raised)s of %(target)s from %(num)d readers",
            goal.readers,
            raised=_whole_money(goal.raised, goal.currency),
            target=_whole_money(goal.target, goal.currency),
        )
    return ngettext(
        "%(raised)d of %(num)d new regular supporter",
        "%(raised)d of %(num)d new regular supporters",
        goal.target,
        raised=goal.raised,
    )


def _whole_money(amount: int, currency: str) -> str:
    unit = 10 ** precision(currency)
    return format_money(max(0, amount) // unit * unit, currency, trim=True)


def upsell_amount(one_time_amount: int, currency: str) -> int:
    """The monthly amount "make it monthly?" suggests after a one-time gift."""
    presets = [to_minor(raw, currency) for raw in preset_amounts(Frequency.MONTHLY)]
    return rules.upsell_amount(one_time_amount, presets, limits(currency).minimum)


def fee_model(currency: str) -> FeeModel:
    """The card fee of a currency as configured (``FEE_PERCENT_EUR`` style overrides win).

    The fixed part is rounded up to a whole minor unit, so a general ``FEE_FIXED`` of 0.30
    still means something in a currency without decimals.
    """
    percent = Decimal(str(per_currency("FEE_PERCENT", currency)))
    fixed = Decimal(str(per_currency("FEE_FIXED", currency))).scaleb(precision(currency))
    return FeeModel(percent, int(fixed.to_integral_value(rounding=ROUND_CEILING)))


def fee_to_cover(amount: int, model: FeeModel) -> int:
    """What to add to ``amount`` (minor units) so that the newsroom keeps all of it once the
    card fee on the total is taken.

    The fee is charged on the total, so the total is ``(amount + fixed) / (1 − percent/100)``
    rounded up to a whole minor unit (rounding down could leave the newsroom a unit short).
    """
    total = (amount + model.fixed) / (1 - model.percent / 100)
    return int(total.to_integral_value(rounding=ROUND_CEILING)) - amount


def covered_fee(amount: int, currency: str) -> int:
    """What "cover the fees" adds to a gift of ``amount`` in ``currency``."""
    return fee_to_cover(amount, fee_model(currency))


def fee_models_json() -> str:
    """Every currency's fee model for the page's script, with the percentage as an exact
    fraction (``[29, 1000]`` for 2.9%) so the script computes in whole numbers."""
    models = {}
    for currency in currencies():
        model = fee_model(currency)
        numerator, denominator = (model.percent / 100).as_integer_ratio()
        models[currency] = {
            "rate": [numerator, denominator],
            "fixed": model.fixed,
            "places": precision(currency),
        }
    return json.dumps(models, separators=(",", ":"))


def upsell_offer(gift: Gift) -> int | None:
    """ "Make it monthly?" after a paid one-time gift: the monthly amount to suggest."""
    if gift.frequency != Frequency.ONCE or gift.status != GiftStatus.PAID:
        return None
    return upsell_amount(gift.amount - gift.covered_fee, gift.currency)
