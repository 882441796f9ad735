"""Forms for donor self-service."""

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length


class ManageLinkForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[
            DataRequired("Enter the email address you give with."),
            Email(
                "Enter a valid email address, like name@example.com.", check_deliverability=False
            ),
            Length(max=254),
        ],
    )


class CancelGiftForm(FlaskForm):
    when = RadioField(
        "When should it stop?",
        choices=[
            SelectChoice("period_end", "At the end of the period I have paid for"),
            SelectChoice("now", "Now"),
        ],
        default="period_end",
        validators=[DataRequired("Choose when your gift should stop.")],
    )
