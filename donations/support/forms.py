"""Validation of the support form (the page itself is rendered by hand, for speed)."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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


def _no_markup(message: str):
    """Refuse ``<`` and ``>``: a dedication is plain words, shown in emails and receipts."""

    def check(form: FlaskForm, field: StringField) -> None:
        if field.data and ("<" in field.data or ">" in field.data):
            raise ValidationError(str(message))  # a lazy string would skip escaping

    return check


def _one_line(form: FlaskForm, field: StringField) -> None:
    """Refuse line breaks and other control characters (the name goes in a subject line)."""
    if field.data and any(ord(character) < 32 or ord(character) == 127 for character in field.data):
        raise ValidationError(_("Write the name on one line."))


class DonationForm(FlaskForm):
    """The reader's choice. ``other_amount``, when filled, wins over a preset ``amount``.

    No CSRF token: the page that shows it sets no cookie, and Continue refuses a post from
    another site by its origin (``security.require_same_origin``)."""

    class Meta:
        csrf = False

    frequency = RadioField(
        _l("How often"),
        choices=[frequency.value for frequency in Frequency],
        validators=[InputRequired(_l("Choose once, monthly or annual."))],
    )
    amount = StringField(_l("Amount"))
    other_amount = StringField(_l("Other amount"))
    currency = SelectField(_l("Currency"), validators=[InputRequired(_l("Choose a currency."))])
    email = StringField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address so we can send your receipt.")),
            Email(
                _l("Enter a valid email address, like name@example.com."),
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )
    name = StringField(
        _l("Name"),
        validators=[Length(max=200, message=_l("Keep the name under 200 characters."))],
    )
    source = HiddenField()
    reminder = HiddenField()
    #: only a yes: the fee itself is always computed here, never read from the form
    cover_fees = BooleanField(_l("Cover the card fees"))
    anonymous = BooleanField(_l("Give anonymously"))
    #: "send me the newsletter": a confirmation email, subscribed only once confirmed
    newsletter = BooleanField(_l("Newsletter"))
    tribute_kind = RadioField(
        _l("Dedication"),
        choices=[kind.value for kind in TributeKind],
        default=TributeKind.HONOUR.value,
    )
    tribute_name = StringField(
        _l("Dedicated to"),
        filters=[_stripped],
        validators=[
            Length(max=120, message=_l("Keep the name to 120 characters or fewer.")),
            _no_markup(_l("Remove the < and > characters from the name.")),
            _one_line,
        ],
    )
    tribute_message = TextAreaField(
        _l("A short message"),
        filters=[_stripped],
        validators=[
            Length(max=500, message=_l("Keep the message to 500 characters or fewer.")),
            _no_markup(_l("Remove the < and > characters from the message.")),
        ],
    )
    tribute_notify_email = StringField(
        _l("Let someone know"),
        filters=[_stripped],
        validators=[
            Optional(),
            Email(
                _l("Enter a valid email address to tell, like name@example.com."),
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
            raise ValidationError(_("Choose an amount or enter your own."))
        currency = self.currency.data
        if currency not in services.currencies():
            currency = services.default_currency()
        try:
            amount = to_minor(raw, currency)
        except InvalidAmount as error:
            raise ValidationError(str(error)) from error
        bounds = services.limits(currency)
        if amount < bounds.minimum:
            raise ValidationError(
                _("The minimum gift is %(amount)s.", amount=format_money(bounds.minimum, currency))
            )
        if amount > bounds.maximum:
            raise ValidationError(
                _(
                    "The maximum gift online is %(amount)s.",
                    amount=format_money(bounds.maximum, currency),
                )
            )
        self.amount_minor = amount

    def validate_tribute_name(self, field: StringField) -> None:
        if not field.data and (self.tribute_message.data or self.tribute_notify_email.data):
            raise ValidationError(_("Enter the name of the person you dedicate this gift to."))
