"""Money: integer minor units beside an ISO 4217 code, parsed and formatted in one place."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision


class InvalidAmount(ValueError):
    """An amount a reader typed that is not money."""


@cache
def precision(currency: str) -> int:
    """Number of decimal places the currency uses (2 for USD, 0 for JPY)."""
    return get_currency_precision(currency.upper())


#: what a person types: digits, optionally one decimal point or decimal comma and decimals
AMOUNT_PATTERN = re.compile(r"(\d{1,12})(?:[.,](\d{1,12}))?")
ENTER_AN_AMOUNT = "Enter an amount such as 10 or 7.50."


def to_minor(text: str | Decimal, currency: str) -> int:
    """Turn ``"7.50"`` (or ``"7,50"``) into ``750`` for a two-decimal currency.

    Typed text is read strictly: no signs, exponents or thousands separators, so nothing a
    reader types can be misread as a different amount. A ``Decimal`` comes from our own
    settings and is only checked for its decimal places.
    """
    places = precision(currency)
    if isinstance(text, Decimal):
        value = text
    else:
        match = AMOUNT_PATTERN.fullmatch(str(text).strip())
        if match is None:
            raise InvalidAmount(ENTER_AN_AMOUNT)
        whole, fraction = match.group(1), match.group(2) or ""
        if len(fraction) == 3 and places != 3 and "," in text:
            raise InvalidAmount("Write the amount without thousands separators, like 1000.")
        value = Decimal(f"{whole}.{fraction or 0}")
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        if places == 0:
            raise InvalidAmount(f"{currency} amounts have no decimal places.")
        raise InvalidAmount(f"Use at most {places} decimal places.")
    return int(scaled)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-precision(currency))


def format_money(amount: int, currency: str, locale: str = "en_US", *, trim: bool = False) -> str:
    """Format minor units for people: ``format_money(750, "EUR")`` → ``€7.50``.

    ``trim`` drops a ``.00`` ending, for preset buttons such as ``$10``.
    """
    value = from_minor(amount, currency)
    if trim and value == value.to_integral_value():
        return format_currency(
            value, currency, locale=locale, format="¤#,##0", currency_digits=False
        )
    return format_currency(value, currency, locale=locale)


def as_input(amount: int, currency: str) -> str:
    """The amount as a reader would type it: ``750`` → ``"7.50"``, ``1000`` → ``"10"``."""
    value = from_minor(amount, currency)
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.{precision(currency)}f}"
