"""Staff accounts and the audit trail of who did what to a gift."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from donations.db import db, enum_type, utcnow
from donations.enums import ActorKind, AuditAction, StaffRole
from donations.models.core import Donor


class StaffUser(UserMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[StaffRole] = mapped_column(default=StaffRole.VIEWER)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the TOTP secret (base32) once two-factor sign-in is set up; None without it
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: the last TOTP time step accepted, so a code cannot be used twice
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: failed second-factor attempts since the last success (locks like the password)
    failed_codes: Mapped[int] = mapped_column(default=0, server_default="0")
    #: raised whenever the password or second factor changes or the account is disabled:
    #: a session remembers the value it started with and ends when they differ
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="staff_user", order_by="RecoveryCode.id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


class RecoveryCode(db.Model):
    """A one-time code that stands in for the second factor; only its hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff_user: Mapped[StaffUser] = relationship(back_populates="recovery_codes")


class AuditLog(db.Model):
    """One action on a gift or payment, and who took it: ``actor_kind`` says which of
    ``staff_user_id`` (staff) or ``donor_id`` (a donor through their own link) is set;
    Stripe and the system act without one."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_kind: Mapped[ActorKind] = mapped_column(default=ActorKind.SYSTEM)
    staff_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    donor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("donors.id"), index=True)
    action: Mapped[AuditAction] = mapped_column(enum_type(AuditAction, length=50))
    gift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gifts.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    amount: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff_user: Mapped[StaffUser | None] = relationship()
    donor: Mapped[Donor | None] = relationship()
