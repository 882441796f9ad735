"""The ledger: every Stripe fact about a gift, applied exactly once and in any order.

Webhook events (through the inbox), the thank-you page, staff actions and ``reconcile``
all go through the same idempotent functions below, which decide by the pure rules in
``rules``; none of them commits, the caller does. Each new payment queues a receipt and
each refund a notice in the outbox, in the same transaction.
"""

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from donations.ledger.cards import CardUpdate, apply_setup_session
from donations.ledger.changes import collecting
from donations.ledger.charges import apply_checkout_session
from donations.ledger.emails import receipt_context, returned_of
from donations.ledger.events import UnexpectedEvent, apply_event
from donations.ledger.inbox import (
    Outcome,
    failed_event_ids,
    receive,
    recent_events,
    record_failure,
    replay,
)
from donations.ledger.reconcile import reconcile
from donations.ledger.records import forget_pending_receipts, number_pending_receipts
from donations.ledger.refunds import record_refund
from donations.ledger.subscriptions import apply_subscription

__all__ = [
    "CardUpdate",
    "Outcome",
    "UnexpectedEvent",
    "apply_checkout_session",
    "apply_event",
    "apply_setup_session",
    "apply_subscription",
    "collecting",
    "failed_event_ids",
    "receipt_context",
    "receive",
    "recent_events",
    "record_failure",
    "reconcile",
    "record_refund",
    "replay",
    "returned_of",
]


def init_app(app: Flask) -> None:
    """Receipt numbering at commit, and the ``flask stripe …`` commands."""
    from donations.ledger import cli

    for name, listener in (
        ("before_commit", number_pending_receipts),
        ("after_transaction_end", forget_pending_receipts),
    ):
        if not sa.event.contains(Session, name, listener):
            sa.event.listen(Session, name, listener)
    cli.init_app(app)
