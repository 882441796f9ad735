"""What the card-testing defence keeps: refused starts (counted on the dashboard, with no
address or email) and spent proof-of-work challenges (so a solution works once)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from donations.db import db, enum_type, utcnow
from donations.enums import BlockReason


class BlockedAttempt(db.Model):
    __tablename__ = "blocked_attempts"
    __table_args__ = (sa.Index("ix_blocked_attempts_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[BlockReason] = mapped_column(enum_type(BlockReason, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpentChallenge(db.Model):
    """A proof-of-work solution already used; kept until its challenge would expire."""

    __tablename__ = "spent_challenges"
    __table_args__ = (sa.Index("ix_spent_challenges_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the challenge's signature (unique per challenge)
    signature: Mapped[str] = mapped_column(sa.String(128), unique=True)
    expires_at: Mapped[datetime]
