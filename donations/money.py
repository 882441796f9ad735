"""Money: integer minor units beside an ISO 4217 code, parsed and formatted in one place,
in the reader's language (``€7.50`` in English, ``7,50 €`` in Russian)."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from flask import has_app_context
from flask_babel import gettext as _

from donations.i18n import current_language


class InvalidAmount(ValueError):
    """An amount a reader typed that is not money."""


@cache
def precision(currency: str) -> int:
    """Number of decimal places the currency uses (2 for USD, 0 for JPY)."""
    return get_currency_precision(currency.upper())


#: what a person types: digits, optionally one decimal point or decimal comma and decimals
AMOUNT_PATTERN = re.compile(r"(\d{1,12})(?:[.,](\d{1,12}))?")
#: spaces a locale may group digits with, or a reader may leave beside a currency sign
SPACES = " \u00a0\u202f\u2009"
#: what English is formatted and parsed in when no language is chosen (CLI, no app)
FALLBACK_LOCALE = "en"


def to_minor(text: str | Decimal, currency: str, locale: str | None = None) -> int:
    """Turn ``"7.50"`` (or ``"7,50"``, or ``"7,50 €"`` as Russian writes it) into ``750``
    for a two-decimal currency.

    Typed text is read strictly: no signs, exponents or thousands separators, so nothing a
    reader types can be misread as a different amount. The currency's own sign or code
    may stand on either side. A point or a comma is a decimal separator in every language
    (``?amount=7.50`` links work whatever the reader's language), except the language's
    thousands separator followed by three digits, which is refused with a message saying
    so. A ``Decimal`` comes from our own settings and is only checked for its decimal
    places. Messages are in the current language (``locale`` by default).
    """
    places = precision(currency)
    if isinstance(text, Decimal):
        value = text
    else:
        locale = locale or _current_locale()
        typed = _without_currency(str(text), currency, locale)
        match = AMOUNT_PATTERN.fullmatch(typed)
        if match is None:
            if _is_grouped(typed, locale):
                raise InvalidAmount(_thousands_message(locale))
            raise InvalidAmount(
                _("Enter an amount such as 10 or %(example)s.", example=_example(locale))
            )
        whole, fraction = match.group(1), match.group(2) or ""
        if len(fraction) == 3 and places != 3 and _is_grouped(typed, locale):
            raise InvalidAmount(_thousands_message(locale))
        value = Decimal(f"{whole}.{fraction or 0}")
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        if places == 0:
            raise InvalidAmount(
                _("%(currency)s amounts have no decimal places.", currency=currency)
            )
        raise InvalidAmount(_("Use at most %(places)d decimal places.", places=places))
    return int(scaled)


def _without_currency(text: str, currency: str, locale: str) -> str:
    """The typed amount without surrounding spaces and the currency's sign or code."""
    text = text.strip(SPACES + "\t\n\r")
    for mark in _currency_marks(currency, locale):
        if text.startswith(mark):
            return text[len(mark) :].lstrip(SPACES)
        if text.endswith(mark):
            return text[: -len(mark)].rstrip(SPACES)
    return text


@lru_cache(maxsize=256)
def _currency_marks(currency: str, locale: str) -> tuple[str, ...]:
    """How the currency is written in the language, longest first (``US$`` before ``$``)."""
    upper = currency.upper()
    marks = {upper, get_currency_symbol(upper, locale).strip(SPACES)} - {""}
    return tuple(sorted(marks, key=len, reverse=True))


@lru_cache(maxsize=64)
def _grouping(locale: str) -> re.Pattern[str]:
    """A whole number in groups of three, the way the language separates thousands."""
    group = Locale.parse(locale).number_symbols["latn"]["group"]
    separators = SPACES if group in SPACES else re.escape(group)
    return re.compile(rf"\d{{1,3}}(?:[{separators}]\d{{3}})+(?:[.,]\d+)?")


def _is_grouped(typed: str, locale: str) -> bool:
    return _grouping(locale).fullmatch(typed) is not None


def _thousands_message(locale: str) -> str:
    return _(
        "Write the amount without thousands separators, like %(example)s.",
        example=format_decimal(1000, "0", locale=locale),
    )


@lru_cache(maxsize=64)
def _example(locale: str) -> str:
    """7.50 as the language writes it (7,50 in Russian)."""
    return format_decimal(Decimal("7.50"), "0.00", locale=locale)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-precision(currency))


def format_money(
    amount: int, currency: str, locale: str | None = None, *, trim: bool = False
) -> str:
    """Format minor units for people in the current language (or ``locale``):
    ``format_money(750, "EUR")`` → ``€7.50`` in English, ``7,50 €`` in Russian.

    ``trim`` drops a ``.00`` ending, for preset buttons such as ``$10``.
    """
    return _formatted(amount, currency.upper(), locale or _current_locale(), trim)


@lru_cache(maxsize=4096)
def _formatted(amount: int, currency: str, locale: str, trim: bool) -> str:
    """``format_money`` cached per amount and language: a support page shows the same
    few dozen amounts to every reader, and Babel takes microseconds for each."""
    value = from_minor(amount, currency)
    if trim and value == value.to_integral_value():
        return format_currency(
            value, currency, locale=locale, format=_whole_pattern(locale), currency_digits=False
        )
    return format_currency(value, currency, locale=locale)


@lru_cache(maxsize=64)
def _whole_pattern(locale: str) -> str:
    """The language's currency pattern without decimals (``¤#,##0``, ``#,##0 ¤``)."""
    standard = Locale.parse(locale).currency_formats["standard"].pattern
    return re.sub(r"0\.0+", "0", standard)


def _current_locale() -> str:
    return current_language() if has_app_context() else FALLBACK_LOCALE


def as_input(amount: int, currency: str) -> str:
    """The amount as a reader would type it: ``750`` → ``"7.50"``, ``1000`` → ``"10"``.

    Always with a point: it travels in links and form values, and every language reads it.
    """
    value = from_minor(amount, currency)
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.{precision(currency)}f}"
