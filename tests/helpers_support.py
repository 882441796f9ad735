"""Posting the support form and reading what it started, shared by the support tests."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from donations.db import db
from donations.models import Gift

#: what a browser sends with a form posted from one of our own pages (the test client's
#: host is ``localhost``); Continue refuses a post without it
SAME_ORIGIN = {"Origin": "http://localhost"}


def post_donation(client, **fields):
    data = {
        "frequency": "once",
        "amount": "10",
        "currency": "USD",
        "email": "reader@example.org",
        "name": "Ada Reader",
    }
    data.update(fields)
    return client.post("/support", data=data, headers=SAME_ORIGIN)


def gift_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Gift.id)))


def read_session(sandbox, session_id: str) -> dict:
    response = requests.get(
        f"{sandbox.url}/v1/checkout/sessions/{session_id}",
        auth=("sk_test_platform", ""),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()
