"""All tables, importable from one place: ``from donations.models import Gift``.

The enums live in ``donations.enums`` and ``utcnow`` in ``donations.db``.
"""

from donations.models.core import (
    RUNNING_RECURRING,
    DailyRun,
    Dispute,
    Donor,
    Gift,
    Payment,
    ReceiptCounter,
    RefusedEvent,
    RenewalFailure,
    StripeEvent,
)
from donations.models.outbox import OutboxEmail
from donations.models.reminders import Reminder
from donations.models.staff import AuditLog, RecoveryCode, StaffUser

__all__ = [
    "RUNNING_RECURRING",
    "AuditLog",
    "DailyRun",
    "Dispute",
    "Donor",
    "Gift",
    "OutboxEmail",
    "Payment",
    "ReceiptCounter",
    "RecoveryCode",
    "RefusedEvent",
    "Reminder",
    "RenewalFailure",
    "StaffUser",
    "StripeEvent",
]
