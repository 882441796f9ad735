"""Staff forms for a campaign, its A/B variants and the end of a test.

Amounts are typed in major units ("5, 10, 25") of the campaign's amount currency
(``presets.amount_currency``) and kept in minor units; dates are UTC days, both included.
Each form checks everything before anything is saved and says what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from donations.campaigns import presets as preset_rules
from donations.campaigns.services import SLUG_PATTERN
from donations.db import db
from donations.enums import Frequency, GoalKind
from donations.forms import IntentForm
from donations.models import Campaign
from donations.money import InvalidAmount, format_money, to_minor
from donations.support.services import limits

FREQUENCY_NAMES = {
    Frequency.ONCE: "One-time",
    Frequency.MONTHLY: "Monthly",
    Frequency.ANNUAL: "Annual",
}
GOAL_CHOICES = [
    SelectChoice("", "No goal"),
    SelectChoice(GoalKind.AMOUNT.value, "An amount raised"),
    SelectChoice(GoalKind.DONORS.value, "A number of new recurring donors"),
]


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _preset_field(frequency: Frequency) -> StringField:
    return StringField(
        f"{FREQUENCY_NAMES[frequency]} presets",
        validators=[Length(max=200)],
        render_kw={"inputmode": "decimal", "placeholder": "e.g. 5, 10, 25"},
    )


class PresetFields(FlaskForm):
    """Preset amounts per frequency, read as minor units by ``read_presets``."""

    presets_once = _preset_field(Frequency.ONCE)
    presets_monthly = _preset_field(Frequency.MONTHLY)
    presets_annual = _preset_field(Frequency.ANNUAL)

    def preset_fields(self) -> dict[Frequency, StringField]:
        return {frequency: self[f"presets_{frequency.value}"] for frequency in Frequency}

    def fill_presets(self, stored: str, currency: str) -> None:
        for frequency, amounts in preset_rules.parse(stored).items():
            self.preset_fields()[frequency].data = preset_rules.as_text(amounts, currency)

    def read_presets(self, currency: str) -> dict[Frequency, list[int]] | None:
        """The typed presets; None (with the fields' errors added) when any is wrong."""
        read, bounds = {}, limits(currency)
        for frequency, field in self.preset_fields().items():
            try:
                amounts = preset_rules.parse_amounts(field.data or "", currency)
            except InvalidAmount as error:
                field.errors.append(str(error))
                continue
            outside = [a for a in amounts if not bounds.minimum <= a <= bounds.maximum]
            if outside:
                field.errors.append(_outside_message(outside[0], currency))
                continue
            if amounts:
                read[frequency] = amounts
        if any(field.errors for field in self.preset_fields().values()):
            return None
        return read


def _outside_message(amount: int, currency: str) -> str:
    bounds = limits(currency)
    return (
        f"{format_money(amount, currency)} is outside the gifts readers may make: "
        f"{format_money(bounds.minimum, currency)} to {format_money(bounds.maximum, currency)}."
    )


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign's settings as a valid form gives them."""

    slug: str
    headline: str
    body: str
    presets: dict[Frequency, list[int]]
    default_frequency: Frequency
    default_amount: int | None
    currencies: list[str]  #: [] offers every currency
    starts_at: datetime | None
    ends_at: datetime | None
    goal_kind: GoalKind | None
    goal_target: int | None
    goal_currency: str | None


def day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day else None


class CampaignForm(PresetFields):
    slug = StringField(
        "Slug",
        validators=[
            DataRequired("Enter a slug, like spring-2025."),
            Length(max=64, message="Keep the slug under 64 characters."),
            Regexp(
                SLUG_PATTERN,
                message="Use lower-case letters, digits and hyphens, like spring-2025.",
            ),
        ],
    )
    headline = StringField(
        "Headline",
        validators=[
            DataRequired("Enter a headline."),
            Length(max=200, message="Keep the headline under 200 characters."),
        ],
    )
    body = TextAreaField(
        "Text", validators=[Length(max=5000, message="Keep the text under 5,000 characters.")]
    )
    default_frequency = RadioField(
        "Default frequency",
        choices=[SelectChoice(f.value, FREQUENCY_NAMES[f]) for f in Frequency],
        default=Frequency.ONCE.value,
    )
    default_amount = StringField(
        "Default amount", validators=[Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    currencies = CheckboxesField("Currencies")
    starts_on = DateField("Starts on", validators=[Optional()])
    ends_on = DateField("Ends on (included)", validators=[Optional()])
    goal_kind = RadioField("Goal", choices=GOAL_CHOICES, default="", validate_choice=False)
    goal_target = StringField(
        "Goal target", validators=[Length(max=20)], render_kw={"inputmode": "decimal"}
    )
    goal_currency = SelectField("Goal currency", validate_choice=False)

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        site = current_app.config["CURRENCIES"]
        self.currencies.choices = [SelectChoice(code, code) for code in site]
        self.goal_currency.choices = [SelectChoice(code, code) for code in site]
        self.spec: CampaignSpec | None = None

    def fill(self, campaign: Campaign) -> None:
        """Show a saved campaign as staff typed it."""
        currency = preset_rules.amount_currency(preset_rules.offered(campaign.currencies))
        for name in ("slug", "headline", "body"):
            self[name].data = getattr(campaign, name)
        self.fill_presets(campaign.presets, currency)
        self.default_frequency.data = campaign.default_frequency
        if campaign.default_amount is not None:
            self.default_amount.data = preset_rules.as_text([campaign.default_amount], currency)
        self.currencies.data = [c for c in campaign.currencies.split(",") if c]
        self.starts_on.data = campaign.starts_at.date() if campaign.starts_at else None
        self.ends_on.data = (
            (campaign.ends_at - timedelta(days=1)).date() if campaign.ends_at else None
        )
        self.goal_kind.data = campaign.goal_kind or ""
        self.goal_currency.data = campaign.goal_currency
        if campaign.goal_kind == GoalKind.AMOUNT and campaign.goal_target:
            self.goal_target.data = preset_rules.as_text(
                [campaign.goal_target], campaign.goal_currency
            )
        elif campaign.goal_target:
            self.goal_target.data = str(campaign.goal_target)

    def validate_slug(self, field) -> None:
        taken = sa.select(Campaign.id).where(Campaign.slug == field.data)
        if self.campaign is not None:
            taken = taken.where(Campaign.id != self.campaign.id)
        if db.session.scalar(taken) is not None:
            raise ValidationError("Another campaign has this slug: choose another.")

    def validate_currencies(self, field) -> None:
        unknown = [
            code for code in field.data or [] if code not in current_app.config["CURRENCIES"]
        ]
        if unknown:
            raise ValidationError(f"{', '.join(unknown)[:40]} is not a currency this site takes.")

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The end date is before the start date.")

    def validate(self, extra_validators=None) -> bool:
        fields_valid = super().validate(extra_validators)
        offered = [c for c in current_app.config["CURRENCIES"] if c in (self.currencies.data or [])]
        currency = preset_rules.amount_currency(offered or current_app.config["CURRENCIES"])
        presets = self.read_presets(currency)
        if presets is not None and not presets:
            self.presets_once.errors.append(
                "Give preset amounts for at least one frequency, like 5, 10, 25."
            )
        default_amount = self._default_amount(currency)
        goal = self._goal(offered)
        if not fields_valid or not presets or default_amount is False or goal is None:
            return False
        self.spec = CampaignSpec(
            slug=self.slug.data,
            headline=self.headline.data.strip(),
            body=(self.body.data or "").strip(),
            presets=presets,
            default_frequency=Frequency(self.default_frequency.data),
            default_amount=default_amount,
            currencies=offered,
            starts_at=day_start(self.starts_on.data),
            ends_at=day_start(self.ends_on.data + timedelta(days=1)) if self.ends_on.data else None,
            goal_kind=goal[0],
            goal_target=goal[1],
            goal_currency=goal[2],
        )
        return True

    def _default_amount(self, currency: str) -> int | None | bool:
        """The default amount in minor units, None when empty, False when wrong."""
        text = (self.default_amount.data or "").strip()
        if not text:
            return None
        try:
            amount = to_minor(text, currency)
        except InvalidAmount as error:
            self.default_amount.errors.append(str(error))
            return False
        bounds = limits(currency)
        if not bounds.minimum <= amount <= bounds.maximum:
            self.default_amount.errors.append(_outside_message(amount, currency))
            return False
        return amount

    def _goal(self, offered: list[str]) -> tuple | None:
        """(kind, target, currency) of the goal, all None without one; None when wrong."""
        kind, text = self.goal_kind.data or "", (self.goal_target.data or "").strip()
        if kind == "":
            return None, None, None
        if kind not in set(GoalKind):
            self.goal_kind.errors.append("Choose no goal, an amount or a number of donors.")
            return None
        if kind == GoalKind.DONORS:
            if not re.fullmatch(r"\d{1,12}", text) or int(text) == 0:
                self.goal_target.errors.append(
                    "Enter the number of new recurring donors, like 250."
                )
                return None
            return GoalKind.DONORS, int(text), None
        currency = self.goal_currency.data or ""
        site = current_app.config["CURRENCIES"]
        if currency not in site:
            self.goal_currency.errors.append(
                f"Choose the goal's currency: one of {', '.join(site)}."
            )
            return None
        if offered and currency not in offered:
            self.goal_currency.errors.append(
                f"The campaign does not offer {currency}: "
                "tick it under Currencies or choose another."
            )
            return None
        try:
            target = to_minor(text, currency)
        except InvalidAmount as error:
            self.goal_target.errors.append(f"Enter the amount to raise, like 20000 ({error}).")
            return None
        if target <= 0:
            self.goal_target.errors.append("Enter an amount to raise of more than zero.")
            return None
        return GoalKind.AMOUNT, target, currency


class VariantForm(PresetFields):
    """A variant's copy and presets; what is left empty is the campaign's."""

    headline = StringField(
        "Headline", validators=[Length(max=200, message="Keep the headline under 200 characters.")]
    )
    body = TextAreaField(
        "Text", validators=[Length(max=5000, message="Keep the text under 5,000 characters.")]
    )


class EndTestForm(IntentForm):
    """Which variant's copy and presets become the campaign's when the test ends."""

    winner = RadioField("Make this variant the campaign's copy", validate_choice=False)
    confirmed = HiddenField()


class ToggleForm(IntentForm):
    """Deactivate or reactivate a variant (a one-click button)."""
