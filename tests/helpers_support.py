"""Posting the support form and reading what it started, shared by the support tests."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from donations.db import db
from donations.models import Gift
from tests.factories import csrf_token_from


def post_donation(client, **fields):
    page = client.get("/")
    data = {
        "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        "frequency": "once",
        "amount": "10",
        "currency": "USD",
        "email": "reader@example.org",
        "name": "Ada Reader",
    }
    data.update(fields)
    return client.post("/support", data=data)


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
