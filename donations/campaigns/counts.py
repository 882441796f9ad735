"""A/B views and Continue clicks, counted in memory and added to the database in batches.

Counting a view must cost the support page almost nothing, so each process keeps its
counts in a dict and adds them with one ``UPDATE … SET views = views + n`` per variant
when ``AB_FLUSH_SECONDS`` have passed, checked on the next count (no thread inside web
workers), and once more when the process exits. A batch is taken out of the dict before
it is written, in a transaction of its own: if the write fails, that batch is lost (a few
seconds of counts), never written twice. Counts therefore lag by up to
``AB_FLUSH_SECONDS`` while the page is visited; an idle process holds its last counts
until its next visitor or its exit. A tally is made at the first count, in the process
that serves it, so workers forked from one parent never share (and double) one.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import Counter

import sqlalchemy as sa
from flask import Flask, current_app

from donations.db import db
from donations.models import CampaignVariant

ADD_COUNTS = (
    sa.update(CampaignVariant)
    .where(CampaignVariant.id == sa.bindparam("variant_id"))
    .values(
        views=CampaignVariant.views + sa.bindparam("add_views"),
        continues=CampaignVariant.continues + sa.bindparam("add_continues"),
    )
)


class Tally:
    """One process's (one app's) counts not yet in the database."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.views: Counter[int] = Counter()
        self.continues: Counter[int] = Counter()
        self.last_flush = time.monotonic()

    def add(self, counter: str, variant_id: int, every: float) -> bool:
        """Count one; True when a flush is due (the caller then makes it)."""
        with self.lock:
            getattr(self, counter)[variant_id] += 1
            return time.monotonic() - self.last_flush >= every

    def take(self) -> list[dict]:
        """Empty the tally and return its counts as rows for ``ADD_COUNTS``, by variant
        id (so concurrent flushes lock rows in one order)."""
        with self.lock:
            views, continues = self.views, self.continues
            self.views, self.continues = Counter(), Counter()
            self.last_flush = time.monotonic()
        return [
            {"variant_id": key, "add_views": views[key], "add_continues": continues[key]}
            for key in sorted(views.keys() | continues.keys())
        ]


_apps: weakref.WeakSet[Flask] = weakref.WeakSet()
_registry_lock = threading.Lock()


def _tally() -> Tally:
    tally = current_app.extensions.get("campaign_tally")
    if tally is None:
        with _registry_lock:
            tally = current_app.extensions.setdefault("campaign_tally", Tally())
            _apps.add(current_app._get_current_object())
    return tally


def count(counter: str, variant_id: int) -> None:
    """Count one view or Continue of a variant; flush the batch when it is due."""
    if _tally().add(counter, variant_id, current_app.config["AB_FLUSH_SECONDS"]):
        flush_counts()


def flush_counts() -> None:
    """Add this process's counts to the database now, in a transaction of their own."""
    rows = _tally().take()
    if not rows:
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(ADD_COUNTS, rows)
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.warning("A/B counts lost (%d variants): %s", len(rows), error)


@atexit.register
def _flush_at_exit() -> None:
    """A process that ends cleanly writes what it still holds."""
    for app in list(_apps):
        with app.app_context():
            flush_counts()
