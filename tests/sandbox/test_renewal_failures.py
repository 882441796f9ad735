"""A recurring gift whose card stops working: the failed renewal, Stripe's retries on their
schedule, paying the open invoice with a new card, and the end of the retries, driven as the
product drives them (the ``stripe`` SDK) with the sandbox-only routes standing for time passing."""

import time

import pytest
import requests
import stripe

from .helpers import DAY, near, retry, sandbox_post, saved_card, subscribed


def failing(sandbox, subscription):
    """The subscription's card now declines and the renewal fails; the open invoice."""
    answer = sandbox_post(sandbox, f"/_sandbox/subscriptions/{subscription.id}/fail_next_renewal")
    assert answer.json() == {"subscription": subscription.id, "fail_next_renewal": True}
    return sandbox.renew(subscription.id)


def test_a_failing_card_fails_the_renewal_and_every_retry_until_a_new_card_pays(
    sandbox, api, receiver
):
    subscription = subscribed(sandbox, amount=1000)

    failed = failing(sandbox, subscription)

    assert (failed["status"], failed["attempt_count"], failed["attempted"]) == ("open", 1, True)
    assert near(failed["next_payment_attempt"], time.time() + 3 * DAY)
    assert stripe.Subscription.retrieve(subscription.id).status == "past_due"
    found = receiver.wait_for(
        "charge.failed", "payment_intent.payment_failed", "invoice.payment_failed"
    )
    assert found["invoice.payment_failed"][0].data.object.attempt_count == 1

    again = retry(sandbox, failed["id"])

    assert (again["status"], again["attempt_count"]) == ("open", 2)
    assert near(again["next_payment_attempt"], time.time() + 5 * DAY)
    assert again["payment_intent"] == failed["payment_intent"]
    second = receiver.wait_for("invoice.payment_failed", count=2)["invoice.payment_failed"][1]
    assert second.data.object.attempt_count == 2

    new_card = saved_card(sandbox, subscription)
    stripe.Subscription.modify(subscription.id, default_payment_method=new_card)
    paid = stripe.Invoice.pay(failed["id"], idempotency_key="pay-after-new-card")

    assert (paid.status, paid.next_payment_attempt, paid.attempt_count) == ("paid", None, 2)
    assert stripe.Charge.retrieve(paid.charge).payment_method == new_card
    assert stripe.Subscription.retrieve(subscription.id).status == "active"
    found = receiver.wait_for(
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        count=2,
    )
    assert found["invoice.paid"][1].data.object.id == failed["id"]
    updates = receiver.wait_for("customer.subscription.updated", count=3)
    assert updates["customer.subscription.updated"][-1].data.previous_attributes["status"] == (
        "past_due"
    )


def test_a_successful_retry_pays_the_invoice_and_reactivates(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    failed = failing(sandbox, subscription)
    stripe.Subscription.modify(
        subscription.id, default_payment_method=saved_card(sandbox, subscription)
    )

    paid = retry(sandbox, failed["id"])

    assert (paid["status"], paid["attempt_count"], paid["next_payment_attempt"]) == (
        "paid",
        2,
        None,
    )
    assert stripe.Subscription.retrieve(subscription.id).status == "active"
    receiver.wait_for("invoice.paid", "invoice.payment_succeeded", count=2)


def test_retries_end_after_the_fourth_attempt(sandbox, api):
    subscription = subscribed(sandbox)
    failed = failing(sandbox, subscription)

    attempts = [retry(sandbox, failed["id"]) for _ in range(3)]

    assert [a["attempt_count"] for a in attempts] == [2, 3, 4]
    assert near(attempts[1]["next_payment_attempt"], time.time() + 7 * DAY)
    assert attempts[2]["next_payment_attempt"] is None
    refused = sandbox_post(sandbox, f"/_sandbox/invoices/{failed['id']}/retry")
    assert refused.status_code == 400


def test_paying_an_invoice_with_a_declining_card_is_a_card_error(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    failed = failing(sandbox, subscription)

    with pytest.raises(stripe.error.CardError) as declined:
        stripe.Invoice.pay(failed["id"], idempotency_key="manual")

    assert declined.value.http_status == 402
    error = declined.value.json_body["error"]
    assert (error["type"], error["code"], error["decline_code"], error["message"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    )
    invoice = stripe.Invoice.retrieve(failed["id"])
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.next_payment_attempt == failed["next_payment_attempt"]
    receiver.wait_for("invoice.payment_failed", count=2)


def test_paid_and_void_invoices_cannot_be_paid(sandbox, api):
    subscription = subscribed(sandbox)
    stripe.Subscription.modify(
        subscription.id,
        pause_collection={"behavior": "void", "resumes_at": subscription.current_period_end + DAY},
    )
    voided = sandbox.renew(subscription.id)

    with pytest.raises(stripe.error.InvalidRequestError, match="Invoice is already paid"):
        stripe.Invoice.pay(subscription.latest_invoice)
    with pytest.raises(stripe.error.InvalidRequestError) as void:
        stripe.Invoice.pay(voided["id"])

    assert voided["status"] == "void"
    assert void.value.http_status == 400


def test_when_retries_run_out_the_subscription_is_cancelled_for_non_payment(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    failed = failing(sandbox, subscription)

    answer = sandbox_post(sandbox, f"/_sandbox/subscriptions/{subscription.id}/give_up").json()

    assert (answer["status"], answer["cancellation_details"]["reason"]) == (
        "canceled",
        "payment_failed",
    )
    assert answer["canceled_at"] is not None and answer["ended_at"] is not None
    deleted = receiver.wait_for("customer.subscription.deleted")["customer.subscription.deleted"]
    assert deleted[0].data.object.cancellation_details.reason == "payment_failed"
    invoice = stripe.Invoice.retrieve(failed["id"])
    assert (invoice.status, invoice.next_payment_attempt) == ("open", None)


def test_when_retries_run_out_the_subscription_can_be_left_unpaid(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    failing(sandbox, subscription)

    answer = sandbox_post(
        sandbox, f"/_sandbox/subscriptions/{subscription.id}/give_up?action=unpaid"
    ).json()
    draft = sandbox.renew(subscription.id)

    assert answer["status"] == "unpaid"
    updates = receiver.wait_for("customer.subscription.updated", count=2)
    last = [e for e in updates["customer.subscription.updated"] if e.data.object.status == "unpaid"]
    assert last[0].data.previous_attributes["status"] == "past_due"
    assert draft["status"] == "draft"


def test_give_up_needs_a_past_due_subscription(sandbox, api):
    subscription = subscribed(sandbox)
    refused = sandbox_post(sandbox, f"/_sandbox/subscriptions/{subscription.id}/give_up")
    assert refused.status_code == 400
    assert stripe.Subscription.retrieve(subscription.id).status == "active"


def test_each_finalized_invoice_has_a_hosted_page(sandbox, api):
    subscription = subscribed(sandbox, amount=1000)
    failed = failing(sandbox, subscription)

    page = requests.get(failed["hosted_invoice_url"])
    paid = requests.get(stripe.Invoice.retrieve(subscription.latest_invoice).hosted_invoice_url)

    assert failed["hosted_invoice_url"] == f"{sandbox.url}/invoices/{failed['id']}"
    assert page.status_code == 200 and "$10.00" in page.text and "Due" in page.text
    assert "Monthly support" in page.text
    assert "Paid" in paid.text
    assert requests.get(f"{sandbox.url}/invoices/in_missing").status_code == 404
