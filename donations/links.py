"""Signed links in donors' emails: no account, no password, one purpose each.

Every link carries a token signed with the app's secret key, salted by its purpose (a
link to update a card cannot be used to manage gifts), naming the donor by id and the
address it was sent to, so a link stops working if the donor's address changes.
Each purpose has its own lifetime setting. Once a donor's data is erased, every link
naming them stops working and says so (``InvalidLink.erased``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from donations.config import public_url
from donations.db import db
from donations.models import Donor, Gift

MANAGE = "manage-gifts"
UPDATE_CARD = "update-card"
RESTART = "restart-gift"
#: the link in the email that confirms a donor's own request to erase their data
ERASE = "erase-data"

MAX_AGE_SETTINGS = {
    MANAGE: "MANAGE_LINK_MAX_AGE",
    UPDATE_CARD: "CARD_LINK_MAX_AGE",
    RESTART: "RESTART_LINK_MAX_AGE",
    ERASE: "ERASE_LINK_MAX_AGE",
}


class InvalidLink(ValueError):
    """A link that was tampered with, has expired or names someone else; ``erased`` when
    it is genuine but the donor it names has had their data erased since."""

    def __init__(self, message: str, *, expired: bool = False, erased: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.erased = erased


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def token(purpose: str, donor: Donor, gift: Gift | None = None) -> str:
    data = {"donor": donor.id, "email": donor.email}
    if gift is not None:
        data["gift"] = gift.id
    return _serializer(purpose).dumps(data)


def read(purpose: str, value: str) -> tuple[Donor, Gift | None]:
    """The donor (and gift) a link names; raises ``InvalidLink`` otherwise."""
    max_age = current_app.config[MAX_AGE_SETTINGS[purpose]]
    try:
        data = _serializer(purpose).loads(value, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidLink(_("This link has expired."), expired=True) from error
    except BadSignature as error:
        raise InvalidLink(_("This link is not valid.")) from error
    donor = db.session.get(Donor, data.get("donor"))
    if donor is not None and donor.erased_at is not None:
        raise InvalidLink(_("The data this link was for has been erased."), erased=True)
    if donor is None or donor.email != data.get("email"):
        raise InvalidLink(_("This link is not valid."))
    gift = None
    if "gift" in data:
        gift = db.session.get(Gift, data["gift"])
        if gift is None or gift.donor_id != donor.id:
            raise InvalidLink(_("This link is not valid."))
    return donor, gift


def _in_their_language(path: str, donor: Donor) -> str:
    """The link as an email gives it: the page opens in the language the email is in,
    whatever the browser that follows it prefers."""
    return f"{public_url()}{path}?{urlencode({'lang': donor.locale})}"


def manage_url(donor: Donor) -> str:
    return _in_their_language(f"/manage/{token(MANAGE, donor)}", donor)


def update_card_url(gift: Gift) -> str:
    return _in_their_language(f"/manage/card/{token(UPDATE_CARD, gift.donor, gift)}", gift.donor)


def restart_url(gift: Gift) -> str:
    return _in_their_language(f"/restart/{token(RESTART, gift.donor, gift)}", gift.donor)


def erase_url(donor: Donor) -> str:
    return _in_their_language(f"/manage/erase/{token(ERASE, donor)}", donor)
