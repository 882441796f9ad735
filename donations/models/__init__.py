"""All tables, importable from one place: ``from donations.models import Gift``.

The enums and ``utcnow`` are re-exported for callers that import them from here; their
home is ``donations.enums`` and ``donations.db``.
"""

from donations.db import utcnow
from donations.enums import (
    ActorKind,
    Frequency,
    GiftStatus,
    OutboxStatus,
    PaymentKind,
    ReminderStatus,
    StaffRole,
)
from donations.models.core import RUNNING_RECURRING, Donor, Gift, Payment, StripeEvent
from donations.models.outbox import OutboxEmail
from donations.models.reminders import Reminder
from donations.models.staff import AuditLog, StaffUser

__all__ = [
    "RUNNING_RECURRING",
    "ActorKind",
    "AuditLog",
    "Donor",
    "Frequency",
    "Gift",
    "GiftStatus",
    "OutboxEmail",
    "OutboxStatus",
    "Payment",
    "PaymentKind",
    "Reminder",
    "ReminderStatus",
    "StaffRole",
    "StaffUser",
    "StripeEvent",
    "utcnow",
]
