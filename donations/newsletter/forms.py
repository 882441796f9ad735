"""The newsletter sign-up form and the staff list's filter."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from donations.enums import SubscriberStatus
from donations.newsletter.services import InvalidEmail, clean_source, normalise_email


class SignupForm(FlaskForm):
    """An address and where the form was shown; ``email.data`` is normalised once valid.

    No CSRF token: the form is posted from the appeal box, an iframe on other sites, where
    browsers send no SameSite=Lax session cookie, so no session-bound token could ever
    match. Nothing needs one either: a sign-up uses no one's session, and a forged one
    can do no more than its sender could directly (queue one confirmation email a day,
    which subscribes nobody until its link is clicked); the IP rate limit bounds the rest.
    """

    class Meta:
        csrf = False

    email = StringField(_l("Email"))
    source = HiddenField()

    def validate_email(self, field: StringField) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except InvalidEmail as error:
            raise ValidationError(str(error)) from error

    def validate_source(self, field: HiddenField) -> None:
        field.data = clean_source(field.data)


class SubscriberFilterForm(FlaskForm):
    """Query-string filters for the staff list and its CSV export (no CSRF: GET)."""

    class Meta:
        csrf = False

    q = SearchField("Email", validators=[Optional(), Length(max=320)])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", "Any")]
        + [SelectChoice(str(s), str(s)) for s in SubscriberStatus],
        validate_choice=True,
        default="",
    )
