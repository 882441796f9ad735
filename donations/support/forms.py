"""Validation of the support form (the page itself is rendered by hand, for speed)."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from donations.enums import Frequency, TributeKind
from donations.money import InvalidAmount, format_money, to_minor
from donations.support import services


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


def _no_markup(what: str):
    """Refuse ``<`` and ``>``: a dedication is plain words, shown in emails and receipts."""

    def check(form: FlaskForm, field: StringField) -> None:
        if field.data and ("<" in field.data or ">" in field.data):
            raise ValidationError(f"Remove the < and > characters from the {what}.")

    return check


def _one_line(form: FlaskForm, field: StringField) -> None:
    """Refuse line breaks and other control characters (the name goes in a subject line)."""
    if field.data and any(ord(character) < 32 or ord(character) == 127 for character in field.data):
        raise ValidationError("Write the name on one line.")


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
    #: only a yes: the fee itself is always computed here, never read from the form
    cover_fees = BooleanField("Cover the card fees")
    anonymous = BooleanField("Give anonymously")
    #: "send me the newsletter": a confirmation email, subscribed only once confirmed
    newsletter = BooleanField("Newsletter")
    tribute_kind = RadioField(
        "Dedication",
        choices=[kind.value for kind in TributeKind],
        default=TributeKind.HONOUR.value,
    )
    tribute_name = StringField(
        "Dedicated to",
        filters=[_stripped],
        validators=[
            Length(max=120, message="Keep the name to 120 characters or fewer."),
            _no_markup("name"),
            _one_line,
        ],
    )
    tribute_message = TextAreaField(
        "A short message",
        filters=[_stripped],
        validators=[
            Length(max=500, message="Keep the message to 500 characters or fewer."),
            _no_markup("message"),
        ],
    )
    tribute_notify_email = StringField(
        "Let someone know",
        filters=[_stripped],
        validators=[
            Optional(),
            Email(
                "Enter a valid email address to tell, like name@example.com.",
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency.choices = list(services.currencies())
        self.amount_minor: int | None = None

    def validate_amount(self, field: StringField) -> None:
        """The typed amount, else the preset checked under the chosen frequency (each
        frequency has its own group, ``amount_monthly``…, so a preset picked under another
        frequency is never sent unseen), else ``amount``."""
        preset = request.form.get(f"amount_{self.frequency.data}", "")
        raw = next(
            (text for text in (self.other_amount.data, preset, field.data) if (text or "").strip()),
            "",
        ).strip()
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

    def validate_tribute_name(self, field: StringField) -> None:
        if not field.data and (self.tribute_message.data or self.tribute_notify_email.data):
            raise ValidationError("Enter the name of the person you dedicate this gift to.")
