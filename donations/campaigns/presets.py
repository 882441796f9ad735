"""A campaign's preset amounts and currencies: stored as JSON of minor units per
frequency, typed by staff as "5, 10, 25" in major units, merged with the site's own.

A campaign's amounts are in its *amount currency*: the default currency when the campaign
offers it, else the first it offers; a newsroom offering currencies of one precision (as
the default USD, EUR, GBP) sees the same buttons in each.
"""

from __future__ import annotations

import json

from flask import current_app

from donations.enums import Frequency
from donations.money import InvalidAmount, as_input, to_minor

#: preset buttons one frequency may have
MAX_PRESETS = 8


def parse(stored: str) -> dict[Frequency, list[int]]:
    """A stored presets column (``{"once": [500, 1000]}``); "" or "{}" is none."""
    if not stored:
        return {}
    raw = json.loads(stored)
    return {Frequency(name): [int(amount) for amount in amounts] for name, amounts in raw.items()}


def dump(presets: dict[Frequency, list[int]]) -> str:
    """The column's JSON of the frequencies that have amounts."""
    return json.dumps(
        {frequency.value: amounts for frequency, amounts in presets.items() if amounts},
        separators=(",", ":"),
    )


def site_presets() -> dict[Frequency, list[int]]:
    """The site's own presets (``PRESETS_ONCE`` …) in minor units of the default currency."""
    currency = current_app.config["DEFAULT_CURRENCY"]
    return {
        frequency: [
            to_minor(raw, currency) for raw in current_app.config[f"PRESETS_{frequency.name}"]
        ]
        for frequency in Frequency
    }


def merged(
    own: dict[Frequency, list[int]], fallback: dict[Frequency, list[int]]
) -> dict[Frequency, list[int]]:
    """Every frequency's presets: ``own`` where it has some, else ``fallback``'s."""
    return {frequency: own.get(frequency) or fallback.get(frequency, []) for frequency in Frequency}


def offered(stored: str) -> list[str]:
    """The currencies a campaign offers, in the site's order: those it names that the
    site still takes, or every one (also when it names none the site takes)."""
    site = current_app.config["CURRENCIES"]
    named = {code.strip().upper() for code in stored.split(",") if code.strip()}
    chosen = [code for code in site if code in named]
    return chosen or list(site)


def amount_currency(currencies: list[str]) -> str:
    """The currency a campaign's amounts are typed and stored in."""
    default = current_app.config["DEFAULT_CURRENCY"]
    return default if default in currencies else currencies[0]


def parse_amounts(text: str, currency: str) -> list[int]:
    """ "5, 10, 25" → ``[500, 1000, 2500]``; raises ``InvalidAmount`` with a message."""
    amounts = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            amount = to_minor(part.strip(), currency)
        except InvalidAmount as error:
            raise InvalidAmount(f"“{part.strip()[:20]}”: {error}") from None
        if amount <= 0:
            raise InvalidAmount("Preset amounts must be more than zero.")
        amounts.append(amount)
    if len(amounts) > MAX_PRESETS:
        raise InvalidAmount(f"Give at most {MAX_PRESETS} amounts.")
    return amounts


def as_text(amounts: list[int], currency: str) -> str:
    """``[500, 1000]`` → "5, 10", as staff type them."""
    return ", ".join(as_input(amount, currency) for amount in amounts)
