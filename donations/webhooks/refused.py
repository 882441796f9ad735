"""Events refused because Stripe wrote them in an API version the gateway does not read.

Stripe writes each event in its endpoint's API version. An endpoint created in Stripe's
dashboard uses the account's default version, and from 2025-03-31.basil on an invoice no
longer carries its subscription: read as the pinned version, recurring payments would lose
their gift without an error. So such events are refused (Stripe retries them for three
days, which leaves time to fix the endpoint), noted once each without their body, and the
staff dashboard warns with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from donations.db import db, dialect_insert, utcnow
from donations.models import RefusedEvent
from donations.payments import gateway
from donations.payments.types import Event

#: how far back the dashboard looks for refused events
RECENT = timedelta(days=7)
FIX = (
    "An endpoint created in Stripe's dashboard sends the account's default API version, "
    "in which invoices no longer carry their subscription. Delete it and run "
    "`flask stripe register-webhook`, which pins the version."
)


def refusal_reason(event: Event, pinned: str) -> str:
    """What the 400 says, for whoever reads Stripe's delivery log."""
    if event.api_version:
        version = f"event api_version {event.api_version}"
    else:
        version = "event without an api_version"
    return f"{version}; this endpoint reads {pinned} — {FIX}"


def record(event: Event) -> None:
    """Note a refused event once, however often Stripe delivers it; flushes."""
    statement = dialect_insert(RefusedEvent.__table__).on_conflict_do_nothing(
        index_elements=["stripe_id"]
    )
    db.session.execute(
        statement,
        {
            "stripe_id": event.id,
            "type": event.type[:100],
            "api_version": event.api_version[:64],
            "received_at": utcnow(),
        },
    )


@dataclass(frozen=True)
class RefusedVersions:
    """Events refused lately, for the dashboard's warning."""

    count: int = 0
    #: the API versions they came in ("" for an event that named none)
    versions: tuple[str, ...] = ()
    #: the version the gateway reads (only looked up when there is something to warn about)
    pinned: str = ""


def recent_refusals(now: datetime) -> RefusedVersions:
    """Events refused in the last seven days up to ``now``."""
    query = (
        sa.select(RefusedEvent.api_version, sa.func.count())
        .where(RefusedEvent.received_at >= now - RECENT)
        .group_by(RefusedEvent.api_version)
        .order_by(RefusedEvent.api_version)
    )
    rows = db.session.execute(query).all()
    if not rows:
        return RefusedVersions()
    return RefusedVersions(
        count=sum(count for _, count in rows),
        versions=tuple(version for version, _ in rows),
        pinned=gateway().api_version,
    )
