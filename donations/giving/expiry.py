"""Close the Checkout pages of pending gifts nobody finished, and mark the gifts abandoned.

Stripe closes each page itself at the ``expires_at`` the gift sent (``checkout_minutes``
after it began) and reports it (``checkout.session.expired``), which the ledger applies.
This sweep is the backstop, ``EXPIRY_MARGIN`` later: for a page whose event never came,
a page opened without an expiry, and a gift whose page never opened (the process stopped
between its two commits). It asks Stripe to expire the page; a page Stripe will not expire
(already expired, or completed) is read instead, and either way the session goes through
the ledger's own rule, so a page that was paid records its payment and only an unpaid one
marks its gift abandoned. An abandoned gift still becomes paid if money for it arrives.

The gift's email and dedication are then let go by the retention purge
(``RETAIN_ABANDONED_DAYS``, ``donations.privacy``), which covers every unpaid gift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from donations import ledger
from donations.db import commit_or_rollback, db
from donations.enums import GiftStatus
from donations.giving.checkout import checkout_minutes
from donations.models import Gift
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.types import CheckoutSession

#: how long after its page should have closed a pending gift is swept (Stripe's own
#: expiry and its event come first)
EXPIRY_MARGIN = timedelta(minutes=10)
#: gifts looked at per sweep, so one run stays short
BATCH_SIZE = 200


def stale_pending(now: datetime, limit: int = BATCH_SIZE) -> list[tuple[int, str | None]]:
    """(gift id, Checkout session id) of pending gifts whose page should be closed."""
    cutoff = now - timedelta(minutes=checkout_minutes()) - EXPIRY_MARGIN
    query = (
        sa.select(Gift.id, Gift.stripe_checkout_session_id)
        .where(Gift.status == GiftStatus.PENDING, Gift.created_at < cutoff)
        .order_by(Gift.id)
        .limit(limit)
    )
    return [(gift_id, session_id) for gift_id, session_id in db.session.execute(query)]


def expire_stale_checkouts(now: datetime, *, limit: int = BATCH_SIZE) -> int:
    """Expire at Stripe and mark abandoned the pending gifts older than their page's life
    plus the margin; return how many were marked abandoned (a second run finds none).

    A job that owns its transactions (the worker and ``flask defence expire-checkouts``
    call it): it commits after each gift, and holds none across a call to Stripe. A gift
    whose page Stripe cannot be asked about now is left for the next run.
    """
    abandoned = 0
    for gift_id, session_id in stale_pending(now, limit):
        db.session.commit()  # no transaction (or SQLite write lock) across the network call
        if session_id is None:
            abandoned += _abandon_unopened(gift_id)
            continue
        try:
            session = _closed_session(session_id)
        except GatewayUnavailable as error:
            current_app.logger.warning("gift %s: Stripe not reached (%s)", gift_id, error)
            continue
        except GatewayError as error:
            current_app.logger.warning(
                "gift %s: session %s unreadable (%s)", gift_id, session_id, error
            )
            abandoned += _abandon_unopened(gift_id, session_id)
            continue
        with commit_or_rollback():
            gift = ledger.apply_checkout_session(session)
            abandoned += gift is not None and gift.status == GiftStatus.ABANDONED
    return abandoned


def _closed_session(session_id: str) -> CheckoutSession:
    """The session, expired now if it was still open; read as it is if Stripe refuses to
    expire it (already expired or completed)."""
    try:
        return gateway().expire_checkout_session(session_id)
    except GatewayUnavailable:
        raise
    except GatewayError:
        return gateway().retrieve_checkout_session(session_id)


def _abandon_unopened(gift_id: int, session_id: str | None = None) -> int:
    """Mark a still-pending gift abandoned when it has no page Stripe can tell us about."""
    with commit_or_rollback():
        changed = db.session.execute(
            sa.update(Gift)
            .where(
                Gift.id == gift_id,
                Gift.status == GiftStatus.PENDING,
                Gift.stripe_checkout_session_id.is_(None)
                if session_id is None
                else Gift.stripe_checkout_session_id == session_id,
            )
            .values(status=GiftStatus.ABANDONED)
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed
