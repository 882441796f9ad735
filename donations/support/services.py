"""What the support page offers: currencies, preset amounts per frequency, amount limits,
and what covering the card fees adds to a gift.

All read from the app config, so a newsroom changes them without touching code; the
gift itself is started by ``donations.giving.checkout``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from flask import current_app

from donations.config import per_currency
from donations.enums import Frequency
from donations.ledger import rules
from donations.money import as_input, format_money, precision, to_minor


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


def preset_table() -> dict[str, list[dict]]:
    """Every preset button: its value as typed and its label in each currency."""
    table = {}
    for frequency in Frequency:
        buttons = []
        for raw in preset_amounts(frequency):
            labels = {
                currency: format_money(to_minor(raw, currency), currency, trim=True)
                for currency in currencies()
            }
            value = as_input(to_minor(raw, default_currency()), default_currency())
            buttons.append({"value": value, "labels": labels, "labels_json": json.dumps(labels)})
        table[frequency] = buttons
    return table


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
