"""All tables, importable from one place: ``from donations.models import Gift``.

The enums live in ``donations.enums`` and ``utcnow`` in ``donations.db``.
"""

from donations.models.core import (
    RUNNING_RECURRING,
    DailyRun,
    Donor,
    Gift,
    Payment,
    RenewalFailure,
    StripeEvent,
)
from donations.models.outbox import OutboxEmail
from donations.models.reminders import Reminder
from donations.models.staff import AuditLog, StaffUser

__all__ = [
    "RUNNING_RECURRING",
    "AuditLog",
    "DailyRun",
    "Donor",
    "Gift",
    "OutboxEmail",
    "Payment",
    "Reminder",
    "RenewalFailure",
    "StaffUser",
    "StripeEvent",
]
