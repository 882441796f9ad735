"""Forms shared by the reader-facing features."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Regexp

#: what a page's one-time intent value looks like
INTENT_PATTERN = r"^[0-9a-f]{32}$"


class IntentForm(FlaskForm):
    """A form whose submission asks Stripe to change something.

    ``intent`` is a one-time value written into the page when it is shown and sent back
    with the form: a double click or a browser's retry repeats the same intent (and so
    the same idempotency key), a new visit to the page is a new intent.
    """

    intent = HiddenField(
        default=lambda: secrets.token_hex(16),
        validators=[Regexp(INTENT_PATTERN, message="This page has expired; please try again.")],
    )


class ConfirmForm(IntentForm):
    """A one-click button that changes something: its CSRF token and intent are checked."""
