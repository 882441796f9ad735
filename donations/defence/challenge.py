"""The proof asked for while the alarm is on: an ALTCHA proof of work, or, when a hosted
captcha is configured (``CAPTCHA_VERIFY_URL`` and ``CAPTCHA_SECRET``), its token.

ALTCHA (the ``altcha`` package, challenge format 2): the server picks a random counter
below ``ALTCHA_MAX_NUMBER`` and publishes the first half of SHA-256(salt, nonce, counter)
with an HMAC signature (``ALTCHA_HMAC_KEY``) and an expiry (``ALTCHA_EXPIRES``); the
browser tries counters until the hash matches, so a solution costs it up to that many
hashes while checking it costs us one. A solution is spent once: its challenge's
signature is written to ``SpentChallenge`` (unique), kept until the challenge expires.
"""

from __future__ import annotations

import binascii
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import altcha
import sqlalchemy as sa
from flask import current_app

from donations.db import db, dialect_insert, utcnow
from donations.models import SpentChallenge

ALGORITHM = "SHA-256"
#: the form field the ALTCHA widget fills in
PAYLOAD_FIELD = "altcha"
#: a genuine payload is under 1 kB; anything much larger is not worth decoding
MAX_PAYLOAD = 4096
#: the form fields hCaptcha, Cloudflare Turnstile and reCAPTCHA put their token in
HOSTED_TOKEN_FIELDS = ("h-captcha-response", "cf-turnstile-response", "g-recaptcha-response")
#: how long the hosted captcha's verification may take before the start is refused
HOSTED_TIMEOUT = 5


def new_challenge() -> dict:
    """A signed challenge for the widget, as JSON-ready data."""
    config = current_app.config
    challenge = altcha.create_challenge(
        ALGORITHM,
        1,
        counter=secrets.randbelow(max(config["ALTCHA_MAX_NUMBER"], 1)),
        expires_at=int(time.time()) + config["ALTCHA_EXPIRES"],
        hmac_secret=config["ALTCHA_HMAC_KEY"],
    )
    return challenge.to_dict()


def _payload(text: str) -> altcha.Payload | None:
    if not text or len(text) > MAX_PAYLOAD:
        return None
    try:
        return altcha.Payload.from_base64(text)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, RecursionError):
        return None


def spend_solution(text: str) -> bool:
    """Whether ``text`` is a valid solution of a challenge we signed, not expired and not
    used before; a valid one is marked spent (flushes)."""
    payload = _payload(text)
    if payload is None:
        return False
    expires_at = payload.challenge.parameters.expires_at
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        return False
    try:
        result = altcha.verify_solution(payload, current_app.config["ALTCHA_HMAC_KEY"])
    except (ValueError, TypeError):
        return False
    if not result.verified:
        return False
    now = utcnow()
    db.session.execute(sa.delete(SpentChallenge).where(SpentChallenge.expires_at < now))
    spent = db.session.execute(
        dialect_insert(SpentChallenge.__table__)
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(SpentChallenge.id),
        {
            "signature": payload.challenge.signature,
            "expires_at": datetime.fromtimestamp(expires_at, UTC),
        },
    ).first()
    return spent is not None


def hosted_configured() -> bool:
    config = current_app.config
    return bool(config["CAPTCHA_VERIFY_URL"] and config["CAPTCHA_SECRET"])


def hosted_token(form) -> str:
    return next((form[name] for name in HOSTED_TOKEN_FIELDS if form.get(name)), "")


def verify_hosted(token: str, remote_address: str | None) -> bool:
    """Ask the hosted captcha whether ``token`` is a solved one: a form POST of ``secret``
    and ``response`` (the shape hCaptcha, Turnstile and reCAPTCHA share), answered with
    JSON ``{"success": true}``. Unreachable or unclear counts as not solved."""
    if not token:
        return False
    config = current_app.config
    fields = {"secret": config["CAPTCHA_SECRET"], "response": token}
    if remote_address:
        fields["remoteip"] = remote_address
    request = urllib.request.Request(
        config["CAPTCHA_VERIFY_URL"],
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HOSTED_TIMEOUT) as response:
            answer = json.load(response)
    except (OSError, ValueError) as error:
        current_app.logger.warning("hosted captcha not verified: %s", error)
        return False
    return isinstance(answer, dict) and answer.get("success") is True
