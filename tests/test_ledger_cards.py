"""The card on file comes from each successful charge, newest first, and never holds
more of the card than its brand, last four digits and expiry."""

from __future__ import annotations

from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.models import Gift
from tests.factories import make_gift, make_payment
from tests.helpers_events import event_for, post_applied


def charge(payment_intent: str, created: int, last4: str = "4242", exp=(4, 2030)) -> dict:
    return {
        "id": f"ch_{payment_intent}_{created}",
        "object": "charge",
        "amount": 1000,
        "amount_refunded": 0,
        "currency": "usd",
        "created": created,
        "paid": True,
        "status": "succeeded",
        "payment_intent": payment_intent,
        "invoice": None,
        "customer": "cus_test",
        "metadata": {},
        "payment_method": "pm_test",
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": "visa",
                "last4": last4,
                "exp_month": exp[0],
                "exp_year": exp[1],
                "fingerprint": "fp_secret",
                "country": "US",
                "funding": "credit",
            },
        },
    }


def test_a_successful_charge_records_the_card_and_nothing_more_of_it(client):
    gift = make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    payment = make_payment(gift)
    db.session.commit()

    post_applied(
        client,
        event_for(charge(payment.stripe_payment_intent_id, 1_700_000_000), "charge.succeeded"),
    )

    gift = db.session.get(Gift, gift.id)
    assert (gift.card_brand, gift.card_last4, gift.card_exp_month, gift.card_exp_year) == (
        "visa",
        "4242",
        4,
        2030,
    )
    card_columns = {c.name for c in Gift.__table__.columns if c.name.startswith("card_")}
    assert card_columns == {
        "card_brand",
        "card_last4",
        "card_exp_month",
        "card_exp_year",
        "card_as_of",
    }


def test_a_late_event_about_an_older_charge_keeps_the_newer_card(client):
    gift = make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    older, newer = make_payment(gift), make_payment(gift)
    db.session.commit()

    post_applied(
        client,
        event_for(
            charge(newer.stripe_payment_intent_id, 1_700_100_000, "1881", (9, 2031)),
            "charge.succeeded",
        ),
    )
    post_applied(
        client,
        event_for(
            charge(older.stripe_payment_intent_id, 1_700_000_000, "4242"), "charge.succeeded"
        ),
    )

    gift = db.session.get(Gift, gift.id)
    assert (gift.card_last4, gift.card_exp_month, gift.card_exp_year) == ("1881", 9, 2031)
