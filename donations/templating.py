"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_datetime
from flask import Flask

from donations.enums import Frequency, GiftStatus
from donations.money import format_money

FREQUENCY_LABELS = {
    Frequency.ONCE: "One-time",
    Frequency.MONTHLY: "Monthly",
    Frequency.ANNUAL: "Annual",
}
PER_PERIOD = {Frequency.ONCE: "", Frequency.MONTHLY: " per month", Frequency.ANNUAL: " per year"}
#: the frequency choices a reader picks from, in order
FREQUENCY_CHOICES = {
    Frequency.ONCE: "Once",
    Frequency.MONTHLY: "Monthly",
    Frequency.ANNUAL: "Annual",
}

#: a gift's status as its donor reads it
GIFT_STATUS_LABELS = {
    GiftStatus.PENDING: "waiting for payment",
    GiftStatus.PAID: "paid",
    GiftStatus.ACTIVE: "active",
    GiftStatus.PAST_DUE: "payment due",
    GiftStatus.CANCELLED: "cancelled",
    GiftStatus.ABANDONED: "not completed",
    GiftStatus.FAILED: "payment failed",
    GiftStatus.REFUNDED: "refunded",
    GiftStatus.LAPSED: "stopped: card declined",
}
#: card brands as printed on cards; others are capitalised
CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}


def card_brand(brand: str | None) -> str:
    if not brand:
        return "Card"
    return CARD_BRANDS.get(brand, brand.replace("_", " ").title())


def money(amount: int | None, currency: str, trim: bool = False) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, trim=trim)


def date(value: datetime | None, format: str = "medium") -> str:
    return format_date(value, format=format, locale="en_US") if value else ""


def datetime_(value: datetime | None, format: str = "medium") -> str:
    return format_datetime(value, format=format, locale="en_US") if value else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, date=date, datetime=datetime_, card_brand=card_brand)
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
