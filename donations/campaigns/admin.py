"""What staff do to campaigns: save one, add and edit its A/B variants, switch a variant
off or on, and end a test by making a variant's copy the campaign's.

Operations flush, never commit (the views own the transaction), and drop this process's
cached page of the campaign so the change shows here at once.
"""

from __future__ import annotations

import string

from donations.campaigns import presets as preset_rules
from donations.campaigns.forms import CampaignSpec
from donations.campaigns.services import forget
from donations.db import db, utcnow
from donations.enums import Frequency
from donations.models import Campaign, CampaignVariant


class TestEnded(Exception):
    """The campaign's A/B test has already ended: its variants no longer change."""


def save_campaign(spec: CampaignSpec, campaign: Campaign | None = None) -> Campaign:
    """Create a campaign from a valid form's spec, or update ``campaign`` with it."""
    if campaign is None:
        campaign = Campaign()
        db.session.add(campaign)
    old_slug = campaign.slug
    campaign.slug = spec.slug
    campaign.headline = spec.headline
    campaign.body = spec.body
    campaign.presets = preset_rules.dump(spec.presets)
    campaign.default_frequency = spec.default_frequency
    campaign.default_amount = spec.default_amount
    campaign.currencies = ",".join(spec.currencies)
    campaign.starts_at = spec.starts_at
    campaign.ends_at = spec.ends_at
    campaign.goal_kind = spec.goal_kind
    campaign.goal_target = spec.goal_target
    campaign.goal_currency = spec.goal_currency
    db.session.flush()
    if old_slug:
        forget(old_slug)
    forget(campaign.slug)
    return campaign


def next_key(campaign: Campaign) -> str:
    """The first letter no variant of the campaign uses ("a", "b", …), then "v27" on."""
    used = {variant.key for variant in campaign.variants}
    candidates = [*string.ascii_lowercase, *(f"v{n}" for n in range(27, 27 + len(used) + 1))]
    return next(key for key in candidates if key not in used)


def save_variant(
    campaign: Campaign,
    headline: str,
    body: str,
    presets: dict[Frequency, list[int]],
    variant: CampaignVariant | None = None,
) -> CampaignVariant:
    """Add a variant to the campaign's test, or change ``variant``; raises ``TestEnded``."""
    if campaign.test_ended_at is not None:
        raise TestEnded
    if variant is None:
        variant = CampaignVariant(campaign=campaign, key=next_key(campaign))
        db.session.add(variant)
    variant.headline = headline.strip()
    variant.body = body.strip()
    variant.presets = preset_rules.dump(presets) if any(presets.values()) else ""
    db.session.flush()
    forget(campaign.slug)
    return variant


def set_active(variant: CampaignVariant, active: bool) -> None:
    """Take a variant out of the test (its readers move to another) or put it back."""
    if variant.campaign.test_ended_at is not None:
        raise TestEnded
    variant.active = active
    db.session.flush()
    forget(variant.campaign.slug)


def end_test(campaign: Campaign, winner: CampaignVariant) -> None:
    """End the test: the winner's copy and presets (what it set) become the campaign's,
    and every reader sees the campaign from now on. Raises ``TestEnded`` the second time."""
    if campaign.test_ended_at is not None:
        raise TestEnded
    campaign.headline = winner.headline or campaign.headline
    campaign.body = winner.body or campaign.body
    if winner.presets:
        own = preset_rules.parse(campaign.presets)
        campaign.presets = preset_rules.dump(own | preset_rules.parse(winner.presets))
    campaign.test_ended_at = utcnow()
    db.session.flush()
    forget(campaign.slug)
