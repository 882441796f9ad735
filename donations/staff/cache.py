"""Per-app memo for expensive staff figures, each entry checked by a cheap freshness test.

Entries live in ``app.extensions`` (one app per process in production, one per test),
expire after ``CACHE_SECONDS`` whatever happens, and are dropped wholesale past 256.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app

from donations.extensions import db
from donations.models import Gift

CACHE_SECONDS = 600


def cached(key: tuple, is_fresh: Callable[[Any], bool], compute: Callable[[], tuple]):
    """Remembered per app: ``compute()`` returns (value, stamp); the value is reused while
    ``is_fresh(stamp)`` holds and it is younger than ``CACHE_SECONDS``."""
    store: dict = current_app.extensions.setdefault("staff_figures", {})
    hit = store.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS and is_fresh(hit[1]):
        return hit[2]
    value, stamp = compute()
    if len(store) > 256:
        store.clear()
    store[key] = (time.monotonic(), stamp, value)
    return value


def gifts_stamp() -> tuple:
    """Changes whenever a gift is added or updated (two index lookups)."""
    return (
        db.session.scalar(sa.select(sa.func.max(Gift.id))),
        db.session.scalar(sa.select(sa.func.max(Gift.updated_at))),
    )


def cached_by_gifts(key: tuple, compute: Callable[[], Any]):
    """``compute()`` remembered until any gift changes."""
    stamp = gifts_stamp()
    return cached(key, lambda old: old == stamp, lambda: (compute(), stamp))
