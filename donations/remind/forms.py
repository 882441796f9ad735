"""The "remind me later" sign-up form.

The reader's choice from the support page (frequency, amount, currency) travels in hidden
fields so the reminder can bring them back to the same choice; it is checked like any
other input, and a tampered value is reported instead of stored.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from donations.enums import Frequency
from donations.money import InvalidAmount, to_minor
from donations.remind.services import WHEN_CHOICES, InvalidReminder, due_date


class RemindForm(FlaskForm):
    """Sign-up; after ``validate()``, ``due_at`` and ``amount_minor`` hold the parsed values."""

    email = StringField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address so we can remind you.")),
            Email(
                _l("Enter a valid email address, like name@example.com."),
                check_deliverability=False,
            ),
            Length(max=254, message=_l("That email address is too long.")),
        ],
    )
    when = RadioField(
        _l("When should we remind you?"),
        choices=[SelectChoice(value, label) for value, label in WHEN_CHOICES.items()],
        default="month",
        validators=[InputRequired(_l("Choose when we should remind you."))],
    )
    month = StringField(_l("Month"))
    frequency = HiddenField(default=Frequency.ONCE)
    amount = HiddenField()
    currency = HiddenField()
    source = HiddenField()
    consent = BooleanField(
        _l("Email me this one reminder"),
        validators=[DataRequired(_l("Tick the box so we may send you the reminder."))],
    )

    def __init__(self, *args, now: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.due_at: datetime | None = None
        self.amount_minor: int | None = None

    def validate_month(self, field: StringField) -> None:
        if self.when.data not in WHEN_CHOICES:
            return
        if self.when.data == "chosen" and not (field.data or "").strip():
            raise ValidationError(_("Choose a month."))
        try:
            self.due_at = due_date(self.when.data, field.data or "", self.now)
        except InvalidReminder as error:
            raise ValidationError(str(error)) from error

    def validate_frequency(self, field: HiddenField) -> None:
        if field.data not in set(Frequency):
            raise ValidationError(_("Unknown frequency: choose once, monthly or annual."))

    def validate_currency(self, field: HiddenField) -> None:
        field.data = (field.data or current_app.config["DEFAULT_CURRENCY"]).upper()
        if field.data not in current_app.config["CURRENCIES"]:
            raise ValidationError(_("We do not accept %(currency)s.", currency=field.data[:3]))

    def validate_amount(self, field: HiddenField) -> None:
        raw = (field.data or "").strip()
        if not raw:
            return
        currency = (self.currency.data or current_app.config["DEFAULT_CURRENCY"]).upper()
        if currency not in current_app.config["CURRENCIES"]:
            return
        try:
            amount = to_minor(raw, currency)
        except InvalidAmount as error:
            raise ValidationError(
                _("The amount is not valid: %(reason)s", reason=str(error))
            ) from error
        if amount <= 0:
            raise ValidationError(_("The amount must be more than zero."))
        self.amount_minor = amount

    def carried_amount(self) -> int | None:
        """The amount from the support page in minor units, or None if absent or not valid."""
        if self.amount_minor is not None:
            return self.amount_minor
        currency = (self.currency.data or "").upper()
        if currency not in current_app.config["CURRENCIES"]:
            return None
        try:
            amount = to_minor((self.amount.data or "").strip(), currency)
        except InvalidAmount:
            return None
        return amount if amount > 0 else None

    def validate_source(self, field: HiddenField) -> None:
        field.data = (field.data or "")[:1000]
