"""Queue an email in the outbox, inside the caller's transaction.

The worker (``flask worker``) renders ``templates/email/<template>.txt`` and ``.html`` with
the stored context, in the language it names (``locale``), and sends it; a ``dedupe_key``
makes the same email impossible to queue twice (one receipt per payment, whatever replays
happen).

An email is written with one ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING`` (no key,
no conflict) rather than a look-up then an insert: the ledger queues one per payment, and
the unique index, not a prior read, is what makes concurrent duplicates safe.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from donations.db import db, dialect_insert, per_dialect, utcnow
from donations.enums import OutboxStatus
from donations.i18n import current_language
from donations.models import OutboxEmail
from donations.privacy.queries import TOMBSTONE_DOMAIN

_TABLE = OutboxEmail.__table__


def enqueue(
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    gift_id: int | None = None,
    locale: str | None = None,
) -> int | None:
    """Queue an email in the caller's transaction; its id, or None if ``dedupe_key`` was
    queued before. Written on the connection: the caller's pending changes are flushed
    with the rest of its transaction, not one statement early.

    The email goes out in ``locale``: the recipient's language as stored with their gift,
    reminder or subscription. Without one, in the language of the reader whose request
    queues it (a reader asking for a link reads the email in the page's language), else
    the default language.
    """
    if to.endswith(TOMBSTONE_DOMAIN):
        return None  # an erased donor's tombstone: a late refund notice has nobody to go to
    now = utcnow()
    context = context | {"locale": locale or context.get("locale") or current_language()}
    values = {
        "to": to,
        "template": template,
        "context": json.dumps(context, default=str),
        "dedupe_key": dedupe_key,
        "gift_id": gift_id,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
        "sent_at": None,
    }
    return db.session.connection().execute(_insert_statement(), values).scalar()


@per_dialect
def _insert_statement() -> sa.Insert:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``."""
    insert = dialect_insert(_TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return insert.returning(_TABLE.c.id)
