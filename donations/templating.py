"""Jinja filters and globals shared by every template.

Labels are lazy translations: each is read in the language of the page or email being
rendered. In Russian a label stands for a neuter "пожертвование" (gift), so "your
{{ label|lower }} gift" sentences translate whole, with the label inside.
"""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime

from babel.dates import format_date, format_datetime
from flask import Flask
from flask_babel import get_locale, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from donations.enums import Frequency, GiftStatus
from donations.money import format_money

FREQUENCY_LABELS = {
    Frequency.ONCE: _l("One-time"),
    Frequency.MONTHLY: _l("Monthly"),
    Frequency.ANNUAL: _l("Annual"),
}
PER_PERIOD = {
    Frequency.ONCE: "",
    Frequency.MONTHLY: _l(" per month"),
    Frequency.ANNUAL: _l(" per year"),
}
#: the frequency choices a reader picks from, in order
FREQUENCY_CHOICES = {
    Frequency.ONCE: lazy_pgettext("how often to give", "Once"),
    Frequency.MONTHLY: lazy_pgettext("how often to give", "Monthly"),
    Frequency.ANNUAL: lazy_pgettext("how often to give", "Annual"),
}

#: a gift's status as its donor reads it
GIFT_STATUS_LABELS = {
    GiftStatus.PENDING: _l("waiting for payment"),
    GiftStatus.PAID: _l("paid"),
    GiftStatus.ACTIVE: _l("active"),
    GiftStatus.PAST_DUE: _l("payment due"),
    GiftStatus.CANCELLED: _l("cancelled"),
    GiftStatus.ABANDONED: _l("not completed"),
    GiftStatus.FAILED: _l("payment failed"),
    GiftStatus.REFUNDED: _l("refunded"),
    GiftStatus.LAPSED: _l("stopped: card declined"),
}
#: card brands as printed on cards; others are capitalised
CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}
#: a day as a reader reads it in a sentence: "5 March 2027", "5 марта 2027"; a language
#: not listed uses its own long form
DAY_PATTERNS = {"en": "d MMMM y", "ru": "d MMMM y"}


def card_brand(brand: str | None) -> str:
    if not brand:
        return _("Card")
    return CARD_BRANDS.get(brand, brand.replace("_", " ").title())


def money(amount: int | None, currency: str, trim: bool = False) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, trim=trim)


def _locale():
    return get_locale() or "en"


def date(value: datetime | None, format: str = "medium") -> str:
    return format_date(value, format=format, locale=_locale()) if value else ""


def datetime_(value: datetime | None, format: str = "medium") -> str:
    return format_datetime(value, format=format, locale=_locale()) if value else ""


def day(value: str | Date | datetime | None) -> str:
    """A day for a reader: ``"2027-03-05"`` (as email contexts carry dates) or a date →
    "5 March 2027" in English, "5 марта 2027" in Russian."""
    if not value:
        return ""
    if isinstance(value, str):
        value = Date.fromisoformat(value[:10])
    locale = _locale()
    return format_date(value, DAY_PATTERNS.get(str(locale), "long"), locale=locale)


def attribute_json(value) -> Markup:
    """JSON for a single-quoted HTML attribute, as short as it can be: ``tojson`` written
    in UTF-8 and without spaces (labels like "5 €" repeat for each preset and currency,
    and every byte reaches a reader's phone)."""
    return htmlsafe_json_dumps(value, ensure_ascii=False, separators=(",", ":"))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        date=date,
        datetime=datetime_,
        day=day,
        card_brand=card_brand,
        attribute_json=attribute_json,
    )
    app.jinja_env.globals.update(
        Frequency=Frequency,
        frequency_choices=FREQUENCY_CHOICES,
        frequency_labels=FREQUENCY_LABELS,
        per_period=PER_PERIOD,
        gift_status_labels=GIFT_STATUS_LABELS,
        organization_name=app.config["ORGANIZATION_NAME"],
        privacy_policy_url=app.config["PRIVACY_POLICY_URL"],
        #: what a tax receipt names: who received the gift, where, under which number
        organization_legal_name=app.config["ORGANIZATION_LEGAL_NAME"],
        organization_address=app.config["ORGANIZATION_ADDRESS"],
        organization_tax_id=app.config["ORGANIZATION_TAX_ID"],
        receipt_statement=app.config["RECEIPT_STATEMENT"],
    )
