"""The gate every start of a gift passes before a pending gift or a Checkout session is
made: the limits (``limits``), then, while the alarm is on (``queries``), the proof that a
person is there (``challenge``). A refusal is recorded as a ``BlockedAttempt`` with its
reason only: never the address or the email. Operations flush; the view commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_babel import gettext as _

from donations.db import db
from donations.defence import challenge, limits, queries
from donations.enums import BlockReason
from donations.models import BlockedAttempt

#: what a refused reader is told to wait, in seconds (the ``Retry-After`` header)
RETRY_AFTER = {BlockReason.CHALLENGE: 60}
RETRY_AFTER_DEFAULT = 300


@dataclass(frozen=True)
class Refusal:
    reason: BlockReason

    @property
    def message(self) -> str:
        if self.reason is BlockReason.CHALLENGE:
            return _("We are seeing unusual activity. Please try again in a minute.")
        return _(
            "Too many attempts from your network. You have not been charged. "
            "Please try again in a few minutes."
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER.get(self.reason, RETRY_AFTER_DEFAULT))}


def admit_start(email: str, *, open_form: bool) -> Refusal | None:
    """Let a validated start through, or refuse it (and record why); flushes.

    ``open_form`` is the support form, which anyone can post: while the alarm is on it
    needs a solved challenge. The other starts (the thank-you page's "make it monthly",
    a signed restart link) need a paid gift or a link from our email, which a card tester
    does not have; they pass the limits only.
    """
    counted = limits.counters(email) if limits.enabled() else []
    reason = limits.first_exceeded(counted)
    if reason is None and open_form and queries.current_alarm().on and not _proved():
        reason = BlockReason.CHALLENGE
    if reason is None:
        reason = limits.spend(counted)
    if reason is None:
        return None
    db.session.add(BlockedAttempt(reason=reason))
    db.session.flush()
    return Refusal(reason)


def _proved() -> bool:
    """Whether the request carries a solved challenge (spent now) or a hosted token."""
    if challenge.hosted_configured():
        return challenge.verify_hosted(challenge.hosted_token(request.form), request.remote_addr)
    return challenge.spend_solution(request.form.get(challenge.PAYLOAD_FIELD, ""))


def widget() -> dict:
    """What ``support/_challenge.html`` needs to show the challenge in use.

    The form continues by itself once the ALTCHA widget has solved a challenge, unless
    this refusal already came with a solution (expired on the way, say): then the reader
    presses Continue, so a solution refused for good cannot send the page round in a loop.
    """
    config = current_app.config
    if challenge.hosted_configured():
        return {
            "hosted": True,
            "script_url": config["CAPTCHA_SCRIPT_URL"],
            "site_key": config["CAPTCHA_SITE_KEY"],
        }
    return {"hosted": False, "auto_continue": not request.form.get(challenge.PAYLOAD_FIELD)}
