"""What Continue records besides the gift itself: the campaign and A/B variant the reader
answered, the reader's language (also the Checkout page's), and a newsletter sign-up
ticked on the way."""

from __future__ import annotations

import sqlalchemy as sa

from donations.db import db
from donations.enums import SubscriberStatus
from donations.models import Gift, NewsletterSubscriber, OutboxEmail
from tests.helpers_campaigns import make_campaign, make_variant
from tests.helpers_support import SAME_ORIGIN, read_session


def continue_from(client, page_url: str, **fields):
    client.get(page_url)
    data = {
        "frequency": "once",
        "amount": "15",
        "currency": "USD",
        "email": "reader@example.org",
    }
    return client.post("/support", data=data | fields, headers=SAME_ORIGIN)


def test_a_gift_records_the_campaign_and_the_variant_the_reader_was_shown(client, sandbox):
    campaign = make_campaign("spring")
    variants = {make_variant(campaign, key).id for key in ("a", "b")}

    answer = continue_from(client, "/?campaign=spring", campaign="spring")

    assert answer.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert gift.campaign_id == campaign.id and gift.variant_id in variants


def test_a_forged_campaign_slug_gives_an_ordinary_gift(client, sandbox):
    answer = continue_from(client, "/", campaign="no-such-campaign")

    assert answer.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert (gift.campaign_id, gift.variant_id) == (None, None)


def test_a_russian_reader_gives_in_russian_and_checkout_opens_in_russian(client, sandbox):
    answer = continue_from(client, "/?lang=ru")

    assert answer.status_code == 303
    gift = db.session.scalar(sa.select(Gift))
    assert gift.locale == "ru"
    assert read_session(sandbox, gift.stripe_checkout_session_id)["locale"] == "ru"


def test_ticking_the_newsletter_box_asks_for_confirmation_and_subscribes_nobody_yet(
    client, sandbox
):
    answer = continue_from(client, "/", newsletter="1")

    assert answer.status_code == 303
    subscriber = db.session.scalar(sa.select(NewsletterSubscriber))
    assert subscriber.email == "reader@example.org"
    assert (subscriber.status, subscriber.source) == (SubscriberStatus.PENDING, "support")
    assert "newsletter" in subscriber.consent_text
    templates = db.session.scalars(sa.select(OutboxEmail.template)).all()
    assert templates == ["newsletter_confirm"]


def test_without_the_box_ticked_nobody_is_signed_up(client, sandbox):
    continue_from(client, "/")

    assert db.session.scalar(sa.select(sa.func.count(NewsletterSubscriber.id))) == 0
