"""Campaign figures read from the ledger: goal progress, and each A/B variant's results.

Money raised is the sum of the campaign's payments (charges minus refunds and disputes,
plus disputes won back), never of gift amounts; a paid gift is one with a paid time.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from donations.db import db
from donations.enums import GoalKind
from donations.models import Campaign, CampaignVariant, Gift, Payment
from donations.models.core import RUNNING_RECURRING


@dataclass(frozen=True)
class GoalProgress:
    kind: GoalKind
    raised: int  #: minor units (AMOUNT) or new recurring donors (DONORS)
    target: int
    currency: str | None  #: AMOUNT only
    readers: int  #: distinct donors who gave to the campaign
    percent: int  #: 0..100, capped


def goal_progress(campaign: Campaign) -> GoalProgress | None:
    """How far the campaign is towards its goal; None when it has none."""
    if campaign.goal_kind is None or not campaign.goal_target:
        return None
    kind = GoalKind(campaign.goal_kind)
    currency = campaign.goal_currency if kind is GoalKind.AMOUNT else None
    if kind is GoalKind.AMOUNT:
        raised = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0))
            .join(Gift, Payment.gift_id == Gift.id)
            .where(Gift.campaign_id == campaign.id, Payment.currency == currency)
        )
    else:
        raised = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Gift.donor_id))).where(
                Gift.campaign_id == campaign.id, RUNNING_RECURRING
            )
        )
    target = campaign.goal_target
    percent = min(100, max(0, raised) * 100 // target)
    return GoalProgress(kind, raised, target, currency, _readers(campaign.id, currency), percent)


def _readers(campaign_id: int, currency: str | None) -> int:
    """Donors whose campaign gifts still hold money (in ``currency`` when given)."""
    per_donor = (
        sa.select(Gift.donor_id)
        .join(Payment, Payment.gift_id == Gift.id)
        .where(Gift.campaign_id == campaign_id)
        .group_by(Gift.donor_id, Payment.currency)
        .having(sa.func.sum(Payment.amount) > 0)
    )
    if currency:
        per_donor = per_donor.where(Payment.currency == currency)
    subquery = per_donor.subquery()
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(subquery.c.donor_id))))


@dataclass(frozen=True)
class VariantResult:
    variant_id: int
    key: str
    headline: str  #: "" when it shows the campaign's
    own_presets: bool
    active: bool
    views: int
    continues: int
    paid_gifts: int
    revenue: dict[str, int]  #: net minor units per currency

    @property
    def conversion(self) -> float | None:
        """Paid gifts per view, or None before any view."""
        return self.paid_gifts / self.views if self.views else None

    def revenue_per_view(self, currency: str) -> int | None:
        """Net revenue per view in minor units, rounded half up; None before any view."""
        if not self.views:
            return None
        return (2 * self.revenue.get(currency, 0) + self.views) // (2 * self.views)


def variant_results(campaign_id: int) -> list[VariantResult]:
    """Every variant of a campaign with its counters, paid gifts and net revenue."""
    variants = db.session.scalars(
        sa.select(CampaignVariant)
        .where(CampaignVariant.campaign_id == campaign_id)
        .order_by(CampaignVariant.id)
    ).all()
    paid = dict(
        db.session.execute(
            sa.select(Gift.variant_id, sa.func.count(Gift.id))
            .where(Gift.campaign_id == campaign_id, Gift.paid_at.is_not(None))
            .group_by(Gift.variant_id)
        ).all()
    )
    revenue: dict[int, dict[str, int]] = {}
    for variant_id, currency, amount in db.session.execute(
        sa.select(Gift.variant_id, Payment.currency, sa.func.sum(Payment.amount))
        .join(Payment, Payment.gift_id == Gift.id)
        .where(Gift.campaign_id == campaign_id, Gift.variant_id.is_not(None))
        .group_by(Gift.variant_id, Payment.currency)
    ):
        revenue.setdefault(variant_id, {})[currency] = int(amount)
    return [
        VariantResult(
            variant_id=variant.id,
            key=variant.key,
            headline=variant.headline,
            own_presets=bool(variant.presets),
            active=variant.active,
            views=variant.views,
            continues=variant.continues,
            paid_gifts=paid.get(variant.id, 0),
            revenue=revenue.get(variant.id, {}),
        )
        for variant in variants
    ]
