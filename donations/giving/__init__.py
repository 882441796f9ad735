"""Business operations on gifts: start one, and (staff) refund, cancel, resend receipts.

Views call these; these call the gateway and the database. Money rules live here.
"""

from donations.giving.checkout import GiftChoice, find_or_create_donor, start_gift

__all__ = ["GiftChoice", "find_or_create_donor", "start_gift"]
