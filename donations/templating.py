"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_datetime
from flask import Flask

from donations.enums import Frequency
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


def money(amount: int | None, currency: str, trim: bool = False) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency, trim=trim)


def date(value: datetime | None, format: str = "medium") -> str:
    return format_date(value, format=format, locale="en_US") if value else ""


def datetime_(value: datetime | None, format: str = "medium") -> str:
    return format_datetime(value, format=format, locale="en_US") if value else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, date=date, datetime=datetime_)
    app.jinja_env.globals.update(
        Frequency=Frequency,
        frequency_choices=FREQUENCY_CHOICES,
        frequency_labels=FREQUENCY_LABELS,
        per_period=PER_PERIOD,
        organization_name=app.config["ORGANIZATION_NAME"],
        privacy_policy_url=app.config["PRIVACY_POLICY_URL"],
    )
