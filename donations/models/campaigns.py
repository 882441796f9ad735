"""Appeals staff run (campaigns), their A/B variants and the variants' counters."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from donations.db import db, enum_type, utcnow
from donations.enums import Frequency, GoalKind


class Campaign(db.Model):
    """An appeal: its words, preset amounts and dates, and an optional goal."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    headline: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: JSON object: frequency value -> list of preset amounts in minor units
    presets: Mapped[str] = mapped_column(sa.Text, default="{}")
    default_frequency: Mapped[Frequency] = mapped_column(default=Frequency.ONCE)
    #: minor units of the default currency; None: the middle preset
    default_amount: Mapped[int | None]
    #: comma-separated ISO codes offered; "" means every configured currency
    currencies: Mapped[str] = mapped_column(sa.String(100), default="")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    goal_kind: Mapped[GoalKind | None] = mapped_column(enum_type(GoalKind, length=10))
    #: for an amount goal: minor units of ``goal_currency``; for a donors goal: a count
    goal_target: Mapped[int | None] = mapped_column(sa.BigInteger)
    goal_currency: Mapped[str | None] = mapped_column(sa.String(3))
    #: when staff ended the A/B test (the winner's copy became the campaign's)
    test_ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    variants: Mapped[list[CampaignVariant]] = relationship(
        back_populates="campaign", order_by="CampaignVariant.id"
    )


class CampaignVariant(db.Model):
    """One version of a campaign's copy and/or presets in an A/B test.

    ``views`` and ``continues`` are added to in batches (``UPDATE … SET views = views + n``),
    so counts from many processes may lag but never double.
    """

    __tablename__ = "campaign_variants"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    #: short stable label carried in the reader's cookie: "a", "b", …
    key: Mapped[str] = mapped_column(sa.String(16))
    headline: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: JSON like ``Campaign.presets``; "" means the campaign's own
    presets: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    views: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    continues: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="variants")
