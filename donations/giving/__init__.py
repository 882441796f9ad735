"""Business operations on gifts: start one, and (staff) refund, cancel, resend receipts.

Views call these; these call the gateway and the database. Money rules live here.
"""

from donations.giving.admin import (
    ActionRefused,
    cancel_gift,
    refund_payment,
    remaining_refundable,
    resend_receipt,
)
from donations.giving.checkout import GiftChoice, find_or_create_donor, start_gift

__all__ = [
    "ActionRefused",
    "GiftChoice",
    "cancel_gift",
    "find_or_create_donor",
    "refund_payment",
    "remaining_refundable",
    "resend_receipt",
    "start_gift",
]
