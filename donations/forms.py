"""Forms shared by the reader-facing features."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A one-click button that changes something: only its CSRF token is checked."""
