"""Money: integer minor units beside an ISO 4217 code, parsed and formatted in one place."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, get_currency_precision


class InvalidAmount(ValueError):
    """An amount a reader typed that is not money."""


@cache
def precision(currency: str) -> int:
    """Number of decimal places the currency uses (2 for USD, 0 for JPY)."""
    return get_currency_precision(currency.upper())


def to_minor(text: str | Decimal, currency: str) -> int:
    """Turn ``"7.50"`` into ``750`` for a two-decimal currency; reject anything else."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation as error:
        raise InvalidAmount("Enter an amount such as 10 or 7.50.") from error
    if not value.is_finite():
        raise InvalidAmount("Enter an amount such as 10 or 7.50.")
    places = precision(currency)
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
