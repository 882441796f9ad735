"""Donor self-service: a signed link by email instead of an account.

A reader who gives does not get a password. To see or cancel their gifts they ask for a
link; the link carries a signed, time-limited token naming their donor record.
Operations flush and never commit: the view owns the transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from donations import outbox
from donations.config import public_url
from donations.db import db
from donations.models import Donor

TOKEN_SALT = "manage-gifts"


class InvalidManageLink(ValueError):
    """A link that was tampered with or has expired; ``expired`` tells which."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def manage_token(donor: Donor) -> str:
    """A token naming the donor and the address it was sent to."""
    return _serializer().dumps({"donor": donor.id, "email": donor.email})


def manage_url(donor: Donor) -> str:
    return f"{public_url()}/manage/{manage_token(donor)}"


def donor_for_token(token: str) -> Donor:
    """The donor a link belongs to; raises ``InvalidManageLink`` otherwise."""
    max_age = current_app.config["MANAGE_LINK_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidManageLink("This link has expired.", expired=True) from error
    except BadSignature as error:
        raise InvalidManageLink("This link is not valid.") from error
    donor = db.session.get(Donor, data.get("donor"))
    if donor is None or donor.email != data.get("email"):
        raise InvalidManageLink("This link is not valid.")
    return donor


def send_manage_link(email: str) -> bool:
    """Queue a link to the donor with this address, if there is one; flushes.

    Returns whether a link was queued; callers must not tell the reader, so that the
    form does not reveal who gives.
    """
    donor = db.session.scalar(sa.select(Donor).where(Donor.email == email.strip().lower()))
    if donor is None or not donor.gifts:
        return False
    outbox.enqueue(
        donor.email,
        "manage_link",
        {"name": donor.name, "manage_url": manage_url(donor)},
    )
    return True
