"""Campaign rows for the campaign tests: a running campaign and its A/B variants."""

from __future__ import annotations

import json

from donations.db import db
from donations.models import Campaign, CampaignVariant
from tests.factories import at


def make_campaign(slug: str = "spring", **fields) -> Campaign:
    """A campaign running from 2025-01-01 with presets for one-time gifts only."""
    fields.setdefault("headline", "Keep local news free")
    fields.setdefault("body", "Our reporters answer to readers.")
    fields.setdefault("presets", json.dumps({"once": [1500, 3000, 6000]}))
    fields.setdefault("starts_at", at("2025-01-01 00:00"))
    campaign = Campaign(slug=slug, **fields)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_variant(campaign: Campaign, key: str, **fields) -> CampaignVariant:
    variant = CampaignVariant(campaign=campaign, key=key, **fields)
    db.session.add(variant)
    db.session.flush()
    return variant
