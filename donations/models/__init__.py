"""All tables, importable from one place: ``from donations.models import Gift``."""

from donations.models.core import (
    Donor,
    Frequency,
    Gift,
    GiftStatus,
    Payment,
    PaymentKind,
    StripeEvent,
    utcnow,
)
from donations.models.outbox import OutboxEmail, OutboxStatus
from donations.models.reminders import Reminder, ReminderStatus
from donations.models.staff import AuditLog, StaffRole, StaffUser

__all__ = [
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
