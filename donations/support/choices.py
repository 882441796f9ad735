"""What the support page offers: frequencies, currencies, presets and amount limits.

All read from the app config, so a newsroom changes them without touching code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from donations.money import as_input, format_money, to_minor

FREQUENCIES = ("once", "monthly", "annual")


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
    config = current_app.config
    low = config.get(f"MIN_AMOUNT_{currency}", config["MIN_AMOUNT"])
    high = config.get(f"MAX_AMOUNT_{currency}", config["MAX_AMOUNT"])
    return Limits(to_minor(Decimal(str(low)), currency), to_minor(Decimal(str(high)), currency))


def presets(frequency: str, currency: str) -> list[int]:
    """Preset amounts in minor units for one frequency and currency."""
    return [to_minor(value, currency) for value in current_app.config["PRESET_AMOUNTS"][frequency]]


def preset_table() -> dict[str, list[dict]]:
    """Every preset button: its value as typed and its label in each currency."""
    table = {}
    for frequency in FREQUENCIES:
        buttons = []
        for raw in current_app.config["PRESET_AMOUNTS"][frequency]:
            labels = {
                currency: format_money(to_minor(raw, currency), currency, trim=True)
                for currency in currencies()
            }
            value = as_input(to_minor(raw, default_currency()), default_currency())
            buttons.append({"value": value, "labels": labels, "labels_json": json.dumps(labels)})
        table[frequency] = buttons
    return table
