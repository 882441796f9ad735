"""What the reader pages ask of a campaign: its page (copy, presets, goal) for a slug and
the reader's A/B variant, the cookie that keeps the variant, and the attribution of a gift.

Campaign rows change rarely and the support page is the busiest page, so each process
keeps a snapshot per slug (the campaign, its variants and its goal progress, with every
reader's page already built) for ``CAMPAIGN_GOAL_CACHE_SECONDS``; a staff edit clears this
process's snapshot at once (``forget``), other processes see it when theirs expires.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import random
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from flask import Response, current_app
from werkzeug.http import dump_cookie

from donations.campaigns import presets as preset_rules
from donations.campaigns.counts import count, flush_counts
from donations.campaigns.queries import GoalProgress, goal_progress
from donations.db import db, utcnow
from donations.enums import Frequency
from donations.models import Campaign

__all__ = [
    "VARIANT_COOKIE",
    "CampaignPage",
    "GoalProgress",
    "attribution",
    "count_continue",
    "count_view",
    "flush_counts",
    "forget",
    "page_for",
    "set_variant_cookie",
]

#: the cookie keeping a reader's variants: ``<campaign id>-<variant key>`` entries joined
#: by ``_``, then ``.`` and a signature, so a forged variant is ignored (and reassigned)
VARIANT_COOKIE = "ab"
#: campaigns one cookie remembers (the most recent ones)
MAX_COOKIE_ENTRIES = 8
#: snapshots kept per process (unknown slugs too, so made-up ones cost one query each)
MAX_SNAPSHOTS = 256
ENTRY = re.compile(r"(\d{1,12})-([a-z0-9]{1,16})")
#: what a slug looks like: lower-case letters, digits and inner hyphens, at most 64
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z"
SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True)
class CampaignPage:
    """What a reader sees of a campaign: a variant's copy and presets, or the campaign's."""

    campaign_id: int
    slug: str
    variant_id: int | None
    variant_key: str | None
    headline: str
    body: str
    presets: dict[Frequency, list[int]]  #: minor units per frequency, every frequency
    default_frequency: Frequency
    default_amount: int | None
    currencies: list[str]  #: offered (subset of config CURRENCIES)
    goal: GoalProgress | None
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def is_running(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )


@dataclass(frozen=True)
class Snapshot:
    """A campaign as one process caches it: its own page and one per active variant."""

    page: CampaignPage | None  #: None: no campaign has this slug
    variants: dict[str, CampaignPage]  #: by key; empty when no test is running
    loaded_at: float


def _load(slug: str) -> Snapshot:
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        return Snapshot(None, {}, time.monotonic())
    site = preset_rules.site_presets()
    own = preset_rules.merged(preset_rules.parse(campaign.presets), site)
    page = CampaignPage(
        campaign_id=campaign.id,
        slug=campaign.slug,
        variant_id=None,
        variant_key=None,
        headline=campaign.headline,
        body=campaign.body,
        presets=own,
        default_frequency=Frequency(campaign.default_frequency),
        default_amount=campaign.default_amount,
        currencies=preset_rules.offered(campaign.currencies),
        goal=goal_progress(campaign),
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
    )
    variants = {}
    if campaign.test_ended_at is None:
        for variant in campaign.variants:
            if variant.active:
                variants[variant.key] = replace(
                    page,
                    variant_id=variant.id,
                    variant_key=variant.key,
                    headline=variant.headline or campaign.headline,
                    body=variant.body or campaign.body,
                    presets=preset_rules.merged(preset_rules.parse(variant.presets), own),
                )
    return Snapshot(page, variants, time.monotonic())


def _snapshot(slug: str) -> Snapshot:
    cache: dict[str, Snapshot] = current_app.extensions.setdefault("campaign_snapshots", {})
    snapshot = cache.get(slug)
    ttl = current_app.config["CAMPAIGN_GOAL_CACHE_SECONDS"]
    if snapshot is None or time.monotonic() - snapshot.loaded_at >= ttl:
        if len(cache) >= MAX_SNAPSHOTS:
            cache.clear()
        snapshot = cache[slug] = _load(slug)
    return snapshot


def forget(slug: str | None = None) -> None:
    """Drop this process's snapshot of a campaign (every campaign without a slug)."""
    cache = current_app.extensions.get("campaign_snapshots", {})
    if slug is None:
        cache.clear()
    else:
        cache.pop(slug, None)


def _running(slug: str | None, now: datetime | None) -> Snapshot | None:
    if not slug or SLUG.match(slug) is None:
        return None
    snapshot = _snapshot(slug)
    if snapshot.page is None or not snapshot.page.is_running(now or utcnow()):
        return None
    return snapshot


def page_for(
    slug: str | None, variant_cookie: str | None, *, now: datetime | None = None
) -> tuple[CampaignPage | None, str | None]:
    """The running campaign named by ``slug`` (None if unknown or not running) as this
    reader sees it, and the cookie value to set (None when unchanged).

    A reader without a valid variant for the campaign (no cookie, a forged one, or a
    variant since deactivated) is given one at random among the active ones.
    """
    snapshot = _running(slug, now)
    if snapshot is None:
        return None, None
    if not snapshot.variants:
        return snapshot.page, None
    entries = _read_cookie(variant_cookie)
    campaign_id = snapshot.page.campaign_id
    chosen = snapshot.variants.get(entries.get(campaign_id, ""))
    if chosen is not None:
        return chosen, None
    key = random.choice(list(snapshot.variants))
    entries.pop(campaign_id, None)
    entries[campaign_id] = key
    return snapshot.variants[key], _write_cookie(entries)


def attribution(
    slug: str | None, variant_cookie: str | None, *, now: datetime | None = None
) -> tuple[int | None, int | None]:
    """The campaign and variant a gift started from the Continue button answers:
    ``(campaign id, variant id)``, each None unless the campaign is running and the
    cookie's variant is genuine and still in its test."""
    snapshot = _running(slug, now)
    if snapshot is None:
        return None, None
    key = _read_cookie(variant_cookie).get(snapshot.page.campaign_id, "")
    variant = snapshot.variants.get(key)
    return snapshot.page.campaign_id, variant.variant_id if variant else None


def count_view(page: CampaignPage) -> None:
    """Count a view of the reader's variant (nothing outside an A/B test)."""
    if page.variant_id is not None:
        count("views", page.variant_id)


def count_continue(campaign_id: int | None, variant_id: int | None) -> None:
    """Count a Continue click of a variant (nothing outside an A/B test)."""
    if campaign_id is not None and variant_id is not None:
        count("continues", variant_id)


def set_variant_cookie(response: Response, value: str) -> None:
    """Give the reader their variant cookie (``page_for``'s value). Every new reader of a
    variant gets the same value, so its header is built once (``bench/support_page.py``)."""
    config = current_app.config
    response.headers.add(
        "Set-Cookie",
        _cookie_header(value, config["AB_COOKIE_DAYS"] * 86400, config["SESSION_COOKIE_SECURE"]),
    )


@functools.lru_cache(maxsize=256)
def _cookie_header(value: str, max_age: int, secure: bool) -> str:
    return dump_cookie(
        VARIANT_COOKIE, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure
    )


def _signature(text: str) -> str:
    return _keyed_signature(current_app.config["SECRET_KEY"], text)


@functools.lru_cache(maxsize=4096)
def _keyed_signature(secret: str, text: str) -> str:
    """Remembered: a page view checks (or makes) one of a few signatures every time."""
    digest = hmac.new(secret.encode(), b"ab-variant:" + text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _read_cookie(value: str | None) -> dict[int, str]:
    """The cookie's campaign id → variant key entries; none when it is not ours."""
    if not value or len(value) > 512:
        return {}
    text, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature, _signature(text)):
        return {}
    entries = {}
    for part in text.split("_"):
        match = ENTRY.fullmatch(part)
        if match is None:
            return {}
        entries[int(match.group(1))] = match.group(2)
    return entries


def _write_cookie(entries: dict[int, str]) -> str:
    kept = list(entries.items())[-MAX_COOKIE_ENTRIES:]
    text = "_".join(f"{campaign_id}-{key}" for campaign_id, key in kept)
    return f"{text}.{_signature(text)}"
