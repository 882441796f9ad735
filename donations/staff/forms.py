"""Staff forms: sign-in and the account page, the contributions filter, the accounting
range, and the admin action confirmations (each carrying a one-time intent,
``donations.forms.IntentForm``)."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from donations.enums import Collection, Frequency, GiftStatus
from donations.forms import IntentForm
from donations.staff import STATUS_LABELS
from donations.staff.accounting import MAX_RANGE_YEARS, years_after
from donations.staff.services import MIN_PASSWORD_LENGTH

SORTS = [
    SelectChoice("date_desc", "Newest first"),
    SelectChoice("date_asc", "Oldest first"),
    SelectChoice("amount_desc", "Largest first"),
    SelectChoice("amount_asc", "Smallest first"),
]


def _choices(values, labels: dict | None = None) -> list[SelectChoice]:
    """ "Any" then one choice per value (enum members or plain strings), named by
    ``labels`` where it has a name for it."""
    labels = labels or {}
    return [SelectChoice("", "Any")] + [SelectChoice(str(v), labels.get(v, str(v))) for v in values]


COLLECTION_LABELS = {Collection.PAST_DUE: "Past due (Stripe retrying)", Collection.PAUSED: "Paused"}
DISPUTE_CHOICES = [
    SelectChoice("", "Any"),
    SelectChoice("any", "Disputed"),
    SelectChoice("open", "Dispute open"),
]


#: filter amounts in major units: finite and far inside the database's integer range
AMOUNT_RANGE = NumberRange(0, 10**9, message="Enter an amount between 0 and 1,000,000,000.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class CodeForm(FlaskForm):
    """A second-factor code: six digits from the app, or (where allowed) a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code your app shows."), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1000,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", "The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class GiftFilterForm(FlaskForm):
    """Query-string filters for the contributions list and its CSV export (no CSRF: GET)."""

    class Meta:
        csrf = False

    q = SearchField("Email or name", validators=[Optional(), Length(max=320)])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    frequency = SelectField("Frequency", choices=_choices(Frequency), default="")
    status = SelectField("Status", choices=_choices(GiftStatus, STATUS_LABELS), default="")
    collection = SelectField(
        "Collection", choices=_choices(Collection, COLLECTION_LABELS), default=""
    )
    currency = SelectField("Currency", choices=_choices([]), default="")
    dispute = SelectField("Dispute", choices=DISPUTE_CHOICES, default="")
    amount_min = DecimalField("Min amount", places=None, validators=[Optional(), AMOUNT_RANGE])
    amount_max = DecimalField("Max amount", places=None, validators=[Optional(), AMOUNT_RANGE])
    sort = SelectField("Sort", choices=SORTS, default="date_desc")
    cursor = HiddenField()

    def __init__(self, *args, currencies: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.currency.choices = _choices(currencies)

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")

    def validate_amount_max(self, field) -> None:
        low: Decimal | None = self.amount_min.data
        if field.data is not None and low is not None and field.data < low:
            raise ValidationError("The maximum is below the minimum.")


class DonorSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Email or name", validators=[Optional(), Length(max=320)])
    cursor = HiddenField()


class AccountingForm(FlaskForm):
    """The date range (UTC days, both included) of the payments export and the monthly
    summary (no CSRF: GET)."""

    class Meta:
        csrf = False

    date_from = DateField("From", validators=[InputRequired("Enter the first day.")])
    date_to = DateField("To", validators=[InputRequired("Enter the last day.")])
    bom = BooleanField("Byte-order mark (for Excel)")

    def validate_date_to(self, field) -> None:
        first = self.date_from.data
        if field.data is None or first is None:
            return
        if field.data < first:
            raise ValidationError("The last day is before the first day.")
        if field.data >= years_after(first, MAX_RANGE_YEARS):
            raise ValidationError(f"Choose at most {MAX_RANGE_YEARS} years.")


class RefundForm(IntentForm):
    """Refund amount in major units; empty means everything that remains."""

    amount = StringField("Amount to refund", validators=[Optional(), Length(max=20)])
    confirmed = HiddenField()


class CancelForm(IntentForm):
    when = RadioField(
        "When",
        choices=[
            SelectChoice("period_end", "At the end of the paid period"),
            SelectChoice("now", "Now"),
        ],
        default="period_end",
    )
    confirmed = HiddenField()


class ConfirmForm(IntentForm):
    """A bare confirmation (resend receipt, erase a donor's data)."""

    confirmed = HiddenField()


class DownloadForm(FlaskForm):
    """A download that is written to the audit trail (a donor's data): a POST whose only
    field is its CSRF token."""
