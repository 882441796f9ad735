"""Which recurring gifts need a word with their donor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from donations.db import db
from donations.enums import GiftStatus
from donations.ledger import rules
from donations.models import RUNNING_RECURRING, Gift

#: an annual gift renews at most a year and a month ahead of today
HORIZON_MONTHS = 13


def cards_expiring_before_renewal(now: datetime) -> Iterator[Gift]:
    """Running recurring gifts whose card on file stops working before the next payment.

    The database narrows to cards expiring within the horizon (by month number, the same
    on both databases); the exact rule (the card works to the end of its month, the next
    payment is the period end, or the end of a pause) is ``rules.card_expires_before``.
    """
    horizon = now.year * 12 + now.month + HORIZON_MONTHS
    query = (
        sa.select(Gift)
        .where(
            RUNNING_RECURRING,
            Gift.status == GiftStatus.ACTIVE,
            Gift.cancel_at_period_end.is_(False),
            Gift.card_exp_year.is_not(None),
            Gift.card_exp_year * 12 + Gift.card_exp_month <= horizon,
            Gift.current_period_end.is_not(None),
        )
        .options(joinedload(Gift.donor, innerjoin=True))
        .order_by(Gift.id)
    )
    for gift in db.session.scalars(query):
        next_payment = max(gift.current_period_end, gift.paused_until or gift.current_period_end)
        if rules.card_expires_before(gift.card_exp_month, gift.card_exp_year, next_payment):
            yield gift
