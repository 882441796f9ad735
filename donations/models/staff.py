"""Staff accounts and the audit trail of what they did."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from donations.extensions import db
from donations.models.core import utcnow


class StaffRole(enum.StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(10), default=StaffRole.VIEWER)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(sa.String(50))
    gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    amount: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    staff_user: Mapped[StaffUser | None] = relationship()
