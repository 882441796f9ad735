"""All tables, importable from one place: ``from donations.models import Gift``.

The enums live in ``donations.enums`` and ``utcnow`` in ``donations.db``.
"""

from donations.models.campaigns import Campaign, CampaignVariant
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
from donations.models.defence import BlockedAttempt, SpentChallenge
from donations.models.newsletter import HandOff, NewsletterSubscriber
from donations.models.outbox import OutboxEmail
from donations.models.reminders import Reminder
from donations.models.staff import AuditLog, RecoveryCode, StaffUser

__all__ = [
    "RUNNING_RECURRING",
    "AuditLog",
    "BlockedAttempt",
    "Campaign",
    "CampaignVariant",
    "DailyRun",
    "Dispute",
    "Donor",
    "Gift",
    "HandOff",
    "NewsletterSubscriber",
    "OutboxEmail",
    "Payment",
    "ReceiptCounter",
    "RecoveryCode",
    "RefusedEvent",
    "Reminder",
    "RenewalFailure",
    "SpentChallenge",
    "StaffUser",
    "StripeEvent",
]
