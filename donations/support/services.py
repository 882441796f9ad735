"""What the support page offers: currencies, preset amounts per frequency, amount limits.

All read from the app config, so a newsroom changes them without touching code; the
gift itself is started by ``donations.giving.checkout``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from donations.config import per_currency
from donations.enums import Frequency
from donations.ledger import rules
from donations.money import as_input, format_money, to_minor


@dataclass(frozen=True)
class Limits:
    minimum: int
    maximum: int


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
