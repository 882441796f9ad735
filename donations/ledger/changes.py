"""A record of what the ledger changed, so reconcile can print what it fixed.

Every mutation in the ledger goes through ``note``; outside ``collecting()`` the notes only
go to the log, inside it they are also gathered for the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("donations.ledger")

_collected: ContextVar[list[str] | None] = ContextVar("ledger_changes", default=None)


def note(message: str) -> None:
    """Record one change the ledger made."""
    log.info(message)
    collected = _collected.get()
    if collected is not None:
        collected.append(message)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Gather the notes made inside the block into the yielded list."""
    changes: list[str] = []
    token = _collected.set(changes)
    try:
        yield changes
    finally:
        _collected.reset(token)


def from_timestamp(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def update(obj: Any, label: str, **values: Any) -> bool:
    """Set attributes that differ, noting each change; return whether any changed."""
    changed = False
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            setattr(obj, name, value)
            note(f"{label}: {name} {shown(old)} → {shown(value)}")
            changed = True
    return changed


def shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)
