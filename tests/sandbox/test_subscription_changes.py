"""A recurring gift changed over time: its card (a new default, a new expiry date), its price,
a pause, a cancellation, driven as the product drives them (the ``stripe`` SDK), with renewals
on demand standing for time passing."""

import time

import pytest
import stripe

from .helpers import DAY, near, one_time_session, sandbox_post, saved_card, subscribed


def charge_of(invoice):
    return stripe.Charge.retrieve(stripe.Invoice.retrieve(invoice["id"]).charge)


def test_checkout_gives_the_subscription_its_card_and_every_charge_carries_it(
    sandbox, api, receiver
):
    subscription = subscribed(sandbox, card="4242424242424242", exp="04/30")

    item = subscription["items"].data[0]
    assert item.id.startswith("si_") and item.price.product.startswith("prod_")
    card = stripe.PaymentMethod.retrieve(subscription.default_payment_method).card
    assert (card.last4, card.exp_month, card.exp_year) == ("4242", 4, 2030)
    first = stripe.Charge.retrieve(stripe.Invoice.retrieve(subscription.latest_invoice).charge)
    assert first.payment_method == subscription.default_payment_method
    details = first.payment_method_details
    assert details.type == "card"
    assert (details.card.brand, details.card.last4, details.card.exp_month) == ("visa", "4242", 4)
    once = one_time_session()
    sandbox.pay(once.id, card="5555555555554444", exp="11/29")
    pi = stripe.PaymentIntent.retrieve(stripe.checkout.Session.retrieve(once.id).payment_intent)
    one_time = stripe.Charge.retrieve(pi.latest_charge)
    assert (
        one_time.payment_method_details.card.brand,
        one_time.payment_method_details.card.exp_year,
    ) == (
        "mastercard",
        2029,
    )
    assert stripe.PaymentMethod.retrieve(pi.payment_method).card.exp_month == 11
    charged = receiver.wait_for("charge.succeeded", count=2)["charge.succeeded"]
    assert {event.data.object.id for event in charged} == {first.id, one_time.id}


def test_renewals_charge_the_new_default_card(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    new_card = saved_card(sandbox, subscription, card="5555555555554444", exp="09/31")

    updated = stripe.Subscription.modify(
        subscription.id, default_payment_method=new_card, idempotency_key="new-card"
    )
    renewal = sandbox.renew(subscription.id)

    assert updated.default_payment_method == new_card
    event = receiver.wait_for("customer.subscription.updated")["customer.subscription.updated"][0]
    assert event.data.previous_attributes == {
        "default_payment_method": subscription.default_payment_method
    }
    charge = charge_of(renewal)
    assert charge.payment_method == new_card
    assert (
        charge.payment_method_details.card.last4,
        charge.payment_method_details.card.exp_year,
    ) == (
        "4444",
        2031,
    )


def test_a_card_of_another_customer_cannot_become_the_default(sandbox, api):
    subscription = subscribed(sandbox)
    other = subscribed(sandbox)

    with pytest.raises(stripe.error.InvalidRequestError) as error:
        stripe.Subscription.modify(
            subscription.id, default_payment_method=other.default_payment_method
        )
    with pytest.raises(stripe.error.InvalidRequestError) as missing:
        stripe.Subscription.modify(subscription.id, default_payment_method="pm_missing")

    assert error.value.http_status == 400 and error.value.param == "default_payment_method"
    assert "The payment method must be attached to the customer." in str(error.value)
    assert missing.value.code == "resource_missing"
    assert stripe.Subscription.retrieve(subscription.id).default_payment_method == (
        subscription.default_payment_method
    )


def test_a_new_price_without_proration_is_charged_from_the_next_renewal(sandbox, api, receiver):
    subscription = subscribed(sandbox, amount=1000)
    item = subscription["items"].data[0]

    updated = stripe.Subscription.modify(
        subscription.id,
        items=[
            {
                "id": item.id,
                "price_data": {
                    "currency": "usd",
                    "product": item.price.product,
                    "unit_amount": 1550,
                    "recurring": {"interval": "month"},
                },
            }
        ],
        proration_behavior="none",
        idempotency_key="new-amount",
    )
    renewal = sandbox.renew(subscription.id)

    new_item = updated["items"].data[0]
    assert new_item.id == item.id and new_item.price.id != item.price.id
    assert (new_item.price.unit_amount, new_item.price.product) == (1550, item.price.product)
    event = receiver.wait_for("customer.subscription.updated")["customer.subscription.updated"][0]
    assert event.data.previous_attributes["items"]["data"][0]["price"]["unit_amount"] == 1000
    assert (renewal["amount_paid"], len(renewal["lines"]["data"])) == (1550, 1)
    assert renewal["lines"]["data"][0]["proration"] is False
    assert stripe.InvoiceItem.list(customer=subscription.customer).data == []
    assert charge_of(renewal).amount == 1550


@pytest.mark.parametrize(
    ("item_change", "proration", "param", "message"),
    [
        (
            {"unit_amount": 900, "currency": "eur"},
            "none",
            "items[0][price_data]",
            "only supports `eur`",
        ),
        ({"unit_amount": 900}, None, "proration_behavior", "proration_behavior=none"),
        (
            {"unit_amount": 900, "id": "si_unknown"},
            "none",
            "items[0][id]",
            "No such subscription_item",
        ),
    ],
)
def test_a_price_change_stripe_refuses_changes_nothing(
    sandbox, api, item_change, proration, param, message
):
    subscription = subscribed(sandbox)
    item = subscription["items"].data[0]
    price_data = {
        "currency": item_change.get("currency", "usd"),
        "product": item.price.product,
        "unit_amount": item_change["unit_amount"],
        "recurring": {"interval": "month"},
    }
    params = {"items": [{"id": item_change.get("id", item.id), "price_data": price_data}]}
    if proration:
        params["proration_behavior"] = proration

    with pytest.raises(stripe.error.InvalidRequestError) as error:
        stripe.Subscription.modify(subscription.id, **params)

    assert error.value.param == param and message in str(error.value)
    assert stripe.Subscription.retrieve(subscription.id)["items"].data[0].price.id == item.price.id


def test_a_pause_voids_the_renewals_due_before_it_ends(sandbox, api, receiver):
    subscription = subscribed(sandbox, amount=1000)
    resumes_at = subscription.current_period_end + 31 * DAY + DAY

    paused = stripe.Subscription.modify(
        subscription.id,
        pause_collection={"behavior": "void", "resumes_at": resumes_at},
        idempotency_key="pause",
    )
    skipped = [sandbox.renew(subscription.id) for _ in range(2)]
    during = stripe.Subscription.retrieve(subscription.id)
    charged = sandbox.renew(subscription.id)

    assert paused.status == "active"
    assert (paused.pause_collection.behavior, paused.pause_collection.resumes_at) == (
        "void",
        resumes_at,
    )
    event = receiver.wait_for("customer.subscription.updated")["customer.subscription.updated"][0]
    assert event.data.previous_attributes == {"pause_collection": None}
    assert [(i["status"], i["amount_paid"], i["charge"]) for i in skipped] == [
        ("void", 0, None),
        ("void", 0, None),
    ]
    assert during.status == "active" and during.pause_collection is not None
    assert (charged["status"], charged["amount_paid"]) == ("paid", 1000)
    resumed = stripe.Subscription.retrieve(subscription.id)
    assert resumed.pause_collection is None
    receiver.wait_for("invoice.voided", count=2)
    paid_ids = {
        e.data.object.id for e in receiver.wait_for("invoice.paid", count=2)["invoice.paid"]
    }
    assert paid_ids == {subscription.latest_invoice, charged["id"]}
    updates = receiver.wait_for("customer.subscription.updated", count=4)
    assert updates["customer.subscription.updated"][-1].data.previous_attributes[
        "pause_collection"
    ] == {"behavior": "void", "resumes_at": resumes_at}
    assert len(stripe.Charge.list(customer=subscription.customer).data) == 2


def test_resuming_early_charges_the_next_renewal(sandbox, api):
    subscription = subscribed(sandbox, amount=1000)
    stripe.Subscription.modify(
        subscription.id,
        pause_collection={
            "behavior": "void",
            "resumes_at": subscription.current_period_end + 90 * DAY,
        },
    )

    resumed = stripe.Subscription.modify(
        subscription.id, pause_collection="", cancel_at_period_end=False
    )
    renewal = sandbox.renew(subscription.id)

    assert resumed.pause_collection is None
    assert (renewal["status"], renewal["amount_paid"]) == ("paid", 1000)


def test_cancel_at_period_end_sets_and_clears_the_cancellation(sandbox, api, receiver):
    subscription = subscribed(sandbox)

    scheduled = stripe.Subscription.modify(subscription.id, cancel_at_period_end=True)
    withdrawn = stripe.Subscription.modify(subscription.id, cancel_at_period_end=False)

    assert near(scheduled.canceled_at, time.time())
    assert scheduled.cancel_at == scheduled.current_period_end
    assert scheduled.cancellation_details.reason == "cancellation_requested"
    assert (withdrawn.canceled_at, withdrawn.cancel_at) == (None, None)
    assert withdrawn.cancellation_details.reason is None
    updates = receiver.wait_for("customer.subscription.updated", count=2)
    assert (
        updates["customer.subscription.updated"][1].data.previous_attributes[
            "cancellation_details"
        ]["reason"]
        == "cancellation_requested"
    )


def test_a_subscription_set_to_cancel_ends_at_its_renewal(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    scheduled = stripe.Subscription.modify(subscription.id, cancel_at_period_end=True)

    answer = sandbox.renew(subscription.id)

    assert (answer["object"], answer["status"]) == ("subscription", "canceled")
    assert answer["canceled_at"] == scheduled.canceled_at
    assert answer["cancellation_details"]["reason"] == "cancellation_requested"
    receiver.wait_for("customer.subscription.deleted")
    assert len(stripe.Invoice.list(subscription=subscription.id).data) == 1


def test_cancelling_now_records_the_request(sandbox, api, receiver):
    subscription = subscribed(sandbox)

    canceled = stripe.Subscription.cancel(
        subscription.id, cancellation_details={"comment": "moving abroad"}
    )

    assert canceled.status == "canceled"
    assert (canceled.cancellation_details.reason, canceled.cancellation_details.comment) == (
        "cancellation_requested",
        "moving abroad",
    )
    deleted = receiver.wait_for("customer.subscription.deleted")["customer.subscription.deleted"]
    assert deleted[0].data.object.cancellation_details.reason == "cancellation_requested"
    with pytest.raises(stripe.error.InvalidRequestError):
        stripe.Subscription.modify(subscription.id, cancel_at_period_end=True)
    assert stripe.Subscription.modify(subscription.id, metadata={"note": "x"}).metadata == {
        "gift_id": "12",
        "note": "x",
    }


def test_metadata_keys_merge_and_unset(sandbox, api):
    subscription = subscribed(sandbox)

    merged = stripe.Subscription.modify(subscription.id, metadata={"source": "upsell"})
    unset = stripe.Subscription.modify(subscription.id, metadata={"source": ""})

    assert merged.metadata == {"gift_id": "12", "source": "upsell"}
    assert unset.metadata == {"gift_id": "12"}


def test_a_new_expiry_date_from_the_bank_updates_the_card(sandbox, api, receiver):
    subscription = subscribed(sandbox, exp="04/30")
    first_charge = stripe.Invoice.retrieve(subscription.latest_invoice).charge

    answer = sandbox_post(
        sandbox,
        f"/_sandbox/payment_methods/{subscription.default_payment_method}/expiry",
        exp_month=8,
        exp_year=2033,
    )

    assert answer.status_code == 200
    assert (answer.json()["card"]["exp_month"], answer.json()["card"]["exp_year"]) == (8, 2033)
    card = stripe.PaymentMethod.retrieve(subscription.default_payment_method).card
    assert (card.exp_month, card.exp_year) == (8, 2033)
    assert stripe.Charge.retrieve(first_charge).payment_method_details.card.exp_year == 2030
    updated = receiver.wait_for("payment_method.automatically_updated")
    event = updated["payment_method.automatically_updated"][0]
    assert event.data.previous_attributes == {"card": {"exp_month": 4, "exp_year": 2030}}
    bad = sandbox_post(
        sandbox,
        f"/_sandbox/payment_methods/{subscription.default_payment_method}/expiry",
        exp_month=13,
        exp_year=2033,
    )
    assert bad.status_code == 400
