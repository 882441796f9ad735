"""Validation of the support form (the page itself is rendered by hand, for speed)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from donations.enums import Frequency
from donations.money import InvalidAmount, format_money, to_minor
from donations.support import services


class DonationForm(FlaskForm):
    """The reader's choice. ``other_amount``, when filled, wins over a preset ``amount``."""

    frequency = RadioField(
        "How often",
        choices=[frequency.value for frequency in Frequency],
        validators=[InputRequired("Choose once, monthly or annual.")],
    )
    amount = StringField("Amount")
    other_amount = StringField("Other amount")
    currency = SelectField("Currency", validators=[InputRequired("Choose a currency.")])
    email = StringField(
        "Email",
        validators=[
            DataRequired("Enter your email address so we can send your receipt."),
            Email(
                "Enter a valid email address, like name@example.com.", check_deliverability=False
            ),
            Length(max=254),
        ],
    )
    name = StringField(
        "Name", validators=[Length(max=200, message="Keep the name under 200 characters.")]
    )
    source = HiddenField()
    reminder = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency.choices = list(services.currencies())
        self.amount_minor: int | None = None

    def validate_amount(self, field: StringField) -> None:
        raw = (self.other_amount.data or "").strip() or (field.data or "").strip()
        if not raw or raw == "other":
            raise ValidationError("Choose an amount or enter your own.")
        currency = self.currency.data
        if currency not in services.currencies():
            currency = services.default_currency()
        try:
            amount = to_minor(raw, currency)
        except InvalidAmount as error:
            raise ValidationError(str(error)) from error
        bounds = services.limits(currency)
        if amount < bounds.minimum:
            raise ValidationError(f"The minimum gift is {format_money(bounds.minimum, currency)}.")
        if amount > bounds.maximum:
            raise ValidationError(
                f"The maximum gift online is {format_money(bounds.maximum, currency)}."
            )
        self.amount_minor = amount
