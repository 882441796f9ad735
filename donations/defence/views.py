"""``GET /challenge``: a fresh proof-of-work challenge for the ALTCHA widget."""

from __future__ import annotations

from flask import current_app, jsonify

from donations.defence import bp, challenge
from donations.extensions import limiter


def _challenge_limit() -> str:
    """A reader needs one challenge per start; one address gets at most what its whole
    network may start."""
    return current_app.config["START_RATE_LIMIT_NETWORK"]


@bp.get("/challenge")
@limiter.limit(_challenge_limit)
def new_challenge():
    response = jsonify(challenge.new_challenge())
    response.headers["Cache-Control"] = "no-store"
    return response
