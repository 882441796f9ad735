"""The card-testing alarm and the refused starts, as the gate and the dashboard read them.

The alarm is on when, among the gifts started in the last ``ALARM_WINDOW`` seconds, at
least ``ALARM_MIN_STARTS`` were started and more than ``ALARM_THRESHOLD`` of them went
nowhere: abandoned (their Checkout page expired or never opened), failed, or with a card
declined in their Checkout (``declined_at``). One range scan of ``ix_gifts_created_id``,
read at most once every ``ALARM_CACHE_SECONDS`` per process, so an attack on the form
does not turn into a query per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from donations.db import db, utcnow
from donations.enums import BlockReason, GiftStatus
from donations.models import BlockedAttempt, Gift

ALARM_CACHE_SECONDS = 5
#: what the dashboard counts refused starts over
BLOCKED_PERIOD = timedelta(hours=24)
WENT_NOWHERE = sa.or_(
    Gift.status.in_((GiftStatus.ABANDONED, GiftStatus.FAILED)), Gift.declined_at.is_not(None)
)


@dataclass(frozen=True)
class Alarm:
    on: bool
    started: int  #: gifts started in the window
    went_nowhere: int  #: of those, abandoned, failed or declined
    window: timedelta
    threshold: float  #: the share above which it is on
    min_starts: int  #: the starts needed before it can be on

    @property
    def share(self) -> float:
        return self.went_nowhere / self.started if self.started else 0.0


def alarm(now: datetime) -> Alarm:
    """The alarm as the gifts started in the window before ``now`` say."""
    config = current_app.config
    window = timedelta(seconds=config["ALARM_WINDOW"])
    started, went_nowhere = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((WENT_NOWHERE, 1), else_=0)), 0),
        ).where(Gift.created_at >= now - window, Gift.created_at <= now)
    ).one()
    threshold, min_starts = config["ALARM_THRESHOLD"], max(config["ALARM_MIN_STARTS"], 1)
    on = started >= min_starts and went_nowhere / started > threshold
    return Alarm(on, started, int(went_nowhere), window, threshold, min_starts)


def current_alarm() -> Alarm:
    """The alarm now, read from the database at most every ``ALARM_CACHE_SECONDS``."""
    cached = current_app.extensions.get("defence_alarm")
    moment = time.monotonic()
    if cached is None or moment - cached[0] > ALARM_CACHE_SECONDS:
        cached = current_app.extensions["defence_alarm"] = (moment, alarm(utcnow()))
    return cached[1]


def blocked_counts(now: datetime) -> dict[BlockReason, int]:
    """Refused starts in the 24 hours before ``now``, per reason (every reason listed)."""
    query = (
        sa.select(BlockedAttempt.reason, sa.func.count())
        .where(BlockedAttempt.created_at > now - BLOCKED_PERIOD, BlockedAttempt.created_at <= now)
        .group_by(BlockedAttempt.reason)
    )
    counts = dict(db.session.execute(query).all())
    return {reason: counts.get(reason, 0) for reason in BlockReason}
