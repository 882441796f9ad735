"""Queue an email in the outbox, inside the caller's transaction.

The worker (``flask worker``) renders ``templates/email/<template>.txt`` and ``.html`` with
the stored context and sends it; a ``dedupe_key`` makes the same email impossible to queue
twice (one receipt per payment, whatever replays happen).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from donations.extensions import db
from donations.models import OutboxEmail


def enqueue(
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    gift_id: int | None = None,
) -> OutboxEmail | None:
    """Add an email to the session; returns None if ``dedupe_key`` was already queued."""
    if dedupe_key is not None:
        existing = db.session.scalar(
            sa.select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    email = OutboxEmail(
        to=to,
        template=template,
        context=json.dumps(context, default=str),
        dedupe_key=dedupe_key,
        gift_id=gift_id,
    )
    db.session.add(email)
    return email
