"""The audit trail: who did what to a gift (a staff member, a donor through their own
link, Stripe, or the platform), written in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass

from donations.db import db
from donations.enums import ActorKind, AuditAction
from donations.models import AuditLog, Donor, Gift, StaffUser


@dataclass(frozen=True)
class Actor:
    """Who takes an action, as its audit entry records it."""

    kind: ActorKind
    staff_user_id: int | None = None
    donor_id: int | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(ActorKind.STAFF, staff_user_id=user.id)

    @classmethod
    def donor(cls, donor: Donor) -> Actor:
        return cls(ActorKind.DONOR, donor_id=donor.id)


#: a fact Stripe reported that nobody here asked for (its retries ended, its dashboard)
STRIPE = Actor(ActorKind.STRIPE)


def record_audit(actor: Actor, action: AuditAction, gift: Gift, **fields) -> AuditLog:
    """Add one audit entry for ``gift``; flushed with the caller's other changes."""
    entry = AuditLog(
        actor_kind=actor.kind,
        staff_user_id=actor.staff_user_id,
        donor_id=actor.donor_id,
        action=action,
        gift_id=gift.id,
        **fields,
    )
    db.session.add(entry)
    return entry
