"""Forms for donor self-service."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from donations.forms import IntentForm


class ButtonForm(FlaskForm):
    """A button whose form carries nothing but its CSRF token (download my data, email me
    the link to erase it)."""


class ManageLinkForm(FlaskForm):
    email = StringField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter the email address you give with.")),
            Email(
                _l("Enter a valid email address, like name@example.com."),
                check_deliverability=False,
            ),
            Length(max=254),
        ],
    )


class CancelGiftForm(FlaskForm):
    when = RadioField(
        _l("When should it stop?"),
        choices=[
            SelectChoice("period_end", _l("At the end of the period I have paid for")),
            SelectChoice("now", _l("Now")),
        ],
        default="period_end",
        validators=[DataRequired(_l("Choose when your gift should stop."))],
    )


class ChangeAmountForm(IntentForm):
    """A new amount per period, checked against the gift's currency and the page's limits
    by the view (which knows the gift)."""

    amount = StringField(
        _l("New amount"),
        validators=[DataRequired(_l("Enter the amount you would like to give."))],
    )
    #: the gift's own currency, posted back so an amount meant in another one is refused
    currency = HiddenField()


class PauseForm(IntentForm):
    renewals = RadioField(
        _l("For how long?"),
        choices=[
            SelectChoice("1", _l("Skip the next payment")),
            SelectChoice("2", _l("Skip the next 2 payments")),
            SelectChoice("3", _l("Skip the next 3 payments")),
        ],
        default="1",
        validators=[DataRequired(_l("Choose how many payments to skip."))],
    )
