"""Business operations on gifts, shared by the reader, donor and staff features.

``checkout`` starts a gift; ``admin`` refunds, cancels and resends receipts. They call
the gateway and the ledger, flush, and leave the commit to the calling view or command.
"""

from __future__ import annotations

from donations.db import commit_or_rollback
from donations.giving.checkout import GiftChoice, create_pending_gift, open_checkout
from donations.models import Gift


def start_gift(choice: GiftChoice, success_url: str, cancel_url: str) -> tuple[Gift, str]:
    """TEMPORARY, for tests/helpers_events.py and tests/test_staff_actions.py until the test
    kit starts gifts itself; delete then. Both steps of the support view, each committed."""
    with commit_or_rollback():
        gift = create_pending_gift(choice)
    with commit_or_rollback():
        url = open_checkout(gift, success_url=success_url, cancel_url=cancel_url)
    return gift, url


__all__ = ["GiftChoice", "start_gift"]
