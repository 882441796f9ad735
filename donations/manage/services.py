"""Donor self-service: a signed link by email instead of an account.

A reader who gives does not get a password. To see or change their gifts they ask for a
link; the link carries a signed, time-limited token naming their donor record
(``donations.links``). Operations flush and never commit: the view owns the transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from donations import links, outbox
from donations.db import db
from donations.giving.admin import ActionRefused
from donations.models import Donor, Gift
from donations.money import InvalidAmount, format_money, to_minor
from donations.support.services import limits


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
        {"name": donor.name, "manage_url": links.manage_url(donor)},
    )
    return True


def send_erase_link(donor: Donor) -> None:
    """Queue the email whose link confirms the donor's request to erase their data; flushes.

    The confirmation goes to the address itself, so nobody holding a forwarded link to
    someone's gifts can erase them, and a click in a mail scanner erases nothing (the link
    opens a page that asks once more).
    """
    hours = current_app.config["ERASE_LINK_MAX_AGE"] // 3600
    outbox.enqueue(
        donor.email,
        "erase_confirm",
        {"name": donor.name, "erase_url": links.erase_url(donor), "hours": hours},
    )


def new_amount(gift: Gift, typed: str) -> int:
    """The amount a donor typed for ``gift``, in its currency and within the page's limits."""
    try:
        amount = to_minor(typed, gift.currency)
    except InvalidAmount as error:
        raise ActionRefused(str(error)) from error
    bounds = limits(gift.currency)
    if amount < bounds.minimum:
        raise ActionRefused(
            _(
                "The smallest gift is %(amount)s.",
                amount=format_money(bounds.minimum, gift.currency),
            )
        )
    if amount > bounds.maximum:
        raise ActionRefused(
            _("The largest gift is %(amount)s.", amount=format_money(bounds.maximum, gift.currency))
        )
    return amount
