"""The sandbox driven as the product drives it: the ``stripe`` SDK, pinned to acacia, and the
hosted payment page posted like a browser without JavaScript."""

import time

import pytest
import requests
import stripe

from .helpers import monthly_session, one_time_session, saved_card


def test_startup_is_fast(stripe_sandbox):
    assert stripe_sandbox.startup_seconds < 2


def test_monthly_donation_paid_by_form_renewed_and_refunded(sandbox, api, receiver):
    session = monthly_session()
    assert session.url.startswith(sandbox.url + "/checkout/pay/cs_test_")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.expires_at == session.created + 24 * 3600

    page = requests.get(session.url)
    assert "Test mode — Stripe sandbox" in page.text
    assert "$5.00" in page.text and "per month" in page.text and "Monthly support" in page.text
    assert 'value="reader@example.com"' in page.text

    answer = sandbox.pay_via_form(session.url, card="4242 4242 4242 4242")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"http://shop.test/thanks?session_id={session.id}"

    found = receiver.wait_for(
        "checkout.session.completed",
        "invoice.paid",
        "customer.subscription.created",
        "invoice.payment_succeeded",
    )
    completed = found["checkout.session.completed"][0]
    assert completed.api_version == "2025-02-24.acacia"
    assert completed.data.object.payment_status == "paid"
    assert completed.data.object.metadata == {"gift_id": "12"}
    first_invoice = found["invoice.paid"][0].data.object
    assert first_invoice.billing_reason == "subscription_create"
    assert first_invoice.subscription_details.metadata == {"gift_id": "12"}
    assert first_invoice.amount_paid == 500

    session = stripe.checkout.Session.retrieve(
        session.id, expand=["payment_intent", "subscription", "customer"]
    )
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.customer.email == "reader@example.com"
    assert session.customer_details.email == "reader@example.com"
    assert session.invoice == first_invoice.id
    subscription = session.subscription
    assert subscription.status == "active"
    assert subscription.metadata == {"gift_id": "12"}
    price = subscription["items"].data[0].price
    assert (price.unit_amount, price.currency, price.recurring.interval) == (500, "usd", "month")

    renewal = sandbox.renew(subscription.id)
    assert (renewal["billing_reason"], renewal["status"], renewal["paid"]) == (
        "subscription_cycle",
        "paid",
        True,
    )
    paid = receiver.wait_for("invoice.paid", count=2)["invoice.paid"]
    assert paid[1].data.object.id == renewal["id"]
    renewed = stripe.Subscription.retrieve(subscription.id)
    assert renewed.current_period_start == subscription.current_period_end
    assert renewed.latest_invoice == renewal["id"]

    refund = stripe.Refund.create(
        charge=renewal["charge"],
        amount=200,
        reason="requested_by_customer",
        metadata={"by": "staff"},
        idempotency_key="refund-1",
    )
    assert (refund.amount, refund.status, refund.reason) == (
        200,
        "succeeded",
        "requested_by_customer",
    )
    refunded = receiver.wait_for("charge.refunded", "refund.created")["charge.refunded"][0]
    charge = refunded.data.object
    assert (charge.amount_refunded, charge.refunded) == (200, False)
    assert charge.refunds.data[0].id == refund.id
    assert charge.invoice == renewal["id"]


def test_one_time_donation_payment_intent_carries_metadata(sandbox, api, receiver):
    session = one_time_session()
    assert "Donate" in requests.get(session.url).text
    assert sandbox.pay(session.id).status_code == 200
    found = receiver.wait_for(
        "payment_intent.succeeded", "charge.succeeded", "checkout.session.completed"
    )
    pi_event = found["payment_intent.succeeded"][0].data.object
    assert pi_event.metadata == {"gift_id": "7"}
    session = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent"])
    assert session.payment_intent.id == pi_event.id
    assert session.invoice is None and session.subscription is None
    pi = stripe.PaymentIntent.retrieve(pi_event.id, expand=["latest_charge"])
    assert (pi.status, pi.amount, pi.currency) == ("succeeded", 2500, "usd")
    assert pi.latest_charge.amount == 2500
    assert isinstance(stripe.PaymentIntent.retrieve(pi.id).latest_charge, str)
    refund = stripe.Refund.create(payment_intent=pi.id, idempotency_key="full")
    assert refund.amount == 2500 and refund.charge == pi.latest_charge.id
    assert stripe.Charge.retrieve(refund.charge).refunded is True


@pytest.mark.parametrize("card", ["4000000000000002", "4000 0000 0000 0341"])
def test_a_declined_card_leaves_the_session_open_and_charges_nothing(sandbox, api, card):
    session = monthly_session()
    answer = sandbox.pay_via_form(session.url, card=card)
    assert answer.status_code in (200, 402)
    assert "Your card was declined." in answer.text
    session = stripe.checkout.Session.retrieve(session.id)
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.subscription is None and session.payment_intent is None
    assert [i.status for i in stripe.Invoice.list(limit=100).data] == ["open"]
    assert [c.status for c in stripe.Charge.list(limit=100).data] == ["failed"]
    shortcut = sandbox.pay(session.id, card=card)
    assert shortcut.status_code == 402
    assert shortcut.json()["error"]["code"] == "card_declined"


def test_three_d_secure_complete_and_fail(sandbox, api, receiver):
    session = one_time_session()
    challenge = sandbox.pay_via_form(session.url, card="4000002500003155")
    assert challenge.status_code == 200
    assert "Complete authentication" in challenge.text and "Fail authentication" in challenge.text
    failed = sandbox.authenticate(session.url, complete=False)
    assert "We are unable to authenticate your payment method" in failed.text
    assert stripe.checkout.Session.retrieve(session.id).status == "open"

    sandbox.pay_via_form(session.url, card="4000002500003155")
    done = sandbox.authenticate(session.url, complete=True)
    assert done.status_code == 303
    assert stripe.checkout.Session.retrieve(session.id).payment_status == "paid"
    receiver.wait_for("checkout.session.completed")


@pytest.mark.parametrize(
    ("card", "exp", "cvc", "message"),
    [
        ("4242424242424241", "12/34", "123", "Your card number is invalid."),
        ("4242", "12/34", "123", "Your card number is invalid."),
        ("abcd efgh", "12/34", "123", "Your card number is invalid."),
        ("", "12/34", "123", "Your card number is incomplete."),
        ("4242424242424242", "01/20", "123", "Your card's expiration year is in the past."),
        ("4242424242424242", "13/30", "123", "Your card's expiration date is invalid."),
        ("4242424242424242", "1230", "123", "Your card's expiration date is invalid."),
        ("4242424242424242", "", "123", "Your card's expiration date is incomplete."),
        ("4242424242424242", "12/34", "", "Your card's security code is incomplete."),
        ("4242424242424242", "12/34", "12a", "Your card's security code is invalid."),
    ],
)
def test_malformed_card_fields_get_a_message(sandbox, api, card, exp, cvc, message):
    session = one_time_session()
    answer = sandbox.pay_via_form(session.url, card=card, exp=exp, cvc=cvc)
    assert answer.status_code == 400
    assert message.replace("'", "&#x27;") in answer.text
    assert stripe.checkout.Session.retrieve(session.id).status == "open"


def test_empty_email_and_unknown_or_closed_sessions(sandbox, api):
    session = one_time_session(customer_email=None)
    answer = sandbox.pay_via_form(session.url, email="")
    assert answer.status_code == 400 and "email" in answer.text
    assert requests.get(f"{sandbox.url}/checkout/pay/cs_test_nope").status_code == 404
    stripe.checkout.Session.expire(session.id)
    closed = requests.get(session.url)
    assert closed.status_code == 410 and "expired" in closed.text
    assert requests.post(session.url, data={"card_number": "4242424242424242"}).status_code == 410


def test_expire(sandbox, api, receiver):
    session = monthly_session()
    expired = stripe.checkout.Session.expire(session.id)
    assert expired.status == "expired"
    event = receiver.wait_for("checkout.session.expired")["checkout.session.expired"][0]
    assert event.data.object.id == session.id
    with pytest.raises(stripe.error.InvalidRequestError):
        stripe.checkout.Session.expire(session.id)
    assert sandbox.pay(session.id).status_code == 400


def test_over_refund_is_refused(sandbox, api):
    session = one_time_session(amount=1000)
    sandbox.pay(session.id)
    pi = stripe.checkout.Session.retrieve(session.id).payment_intent
    stripe.Refund.create(payment_intent=pi, amount=600)
    with pytest.raises(stripe.error.InvalidRequestError) as error:
        stripe.Refund.create(payment_intent=pi, amount=500)
    assert error.value.http_status == 400
    assert "Refund amount ($5.00) is greater than unrefunded amount on charge ($4.00)" in str(
        error.value
    )
    with pytest.raises(stripe.error.InvalidRequestError):
        stripe.Refund.create(payment_intent=pi, reason="because")
    assert stripe.Refund.create(payment_intent=pi, reason="duplicate").amount == 400
    with pytest.raises(stripe.error.InvalidRequestError, match="already been refunded"):
        stripe.Refund.create(payment_intent=pi)


def test_idempotent_retries_create_one_object(sandbox, api):
    first = one_time_session(idempotency_key="same-key")
    again = one_time_session(idempotency_key="same-key")
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(stripe.checkout.Session.list(limit=100).data) == 1
    with pytest.raises(stripe.error.IdempotencyError):
        one_time_session(amount=999, idempotency_key="same-key")

    sandbox.pay(first.id)
    pi = stripe.checkout.Session.retrieve(first.id).payment_intent
    one = stripe.Refund.create(payment_intent=pi, amount=100, idempotency_key="refund-key")
    two = stripe.Refund.create(payment_intent=pi, amount=100, idempotency_key="refund-key")
    assert one.id == two.id
    assert len(stripe.Refund.list(limit=100).data) == 1


def test_list_filters_and_pagination(sandbox, api):
    sessions = [one_time_session(amount=100 + n) for n in range(5)]
    listed = stripe.checkout.Session.list(limit=2)
    assert [s.id for s in listed.data] == [sessions[4].id, sessions[3].id]
    assert listed.has_more
    everything = [s.id for s in stripe.checkout.Session.list(limit=2).auto_paging_iter()]
    assert everything == [s.id for s in reversed(sessions)]
    future = int(time.time()) + 3600
    assert stripe.checkout.Session.list(created={"gte": future}, limit=100).data == []
    since = stripe.checkout.Session.list(created={"gte": sessions[0].created}, limit=100)
    assert len(since.data) == 5

    for session in sessions[:3]:
        sandbox.pay(session.id)
    monthly = monthly_session()
    sandbox.pay(monthly.id)
    sub_id = stripe.checkout.Session.retrieve(monthly.id).subscription
    sandbox.renew(sub_id)
    start = sessions[0].created
    charges = list(stripe.Charge.list(created={"gte": start}, limit=2).auto_paging_iter())
    assert len(charges) == 5
    assert [c.created for c in charges] == sorted((c.created for c in charges), reverse=True)
    assert stripe.Charge.list(created={"gte": future}, limit=100).data == []
    invoices = stripe.Invoice.list(created={"gte": start}, limit=100, subscription=sub_id)
    assert [i.billing_reason for i in invoices.data] == [
        "subscription_cycle",
        "subscription_create",
    ]
    assert len(list(stripe.Invoice.list(limit=1).auto_paging_iter())) == 2
    for charge in charges[:3]:
        stripe.Refund.create(charge=charge.id, amount=1)
    refunds = list(stripe.Refund.list(created={"gte": start}, limit=1).auto_paging_iter())
    assert len(refunds) == 3
    assert stripe.Refund.list(created={"gte": future}, limit=100).data == []


def test_a_failed_renewal_fails_again_until_the_card_is_replaced(sandbox, api, receiver):
    session = monthly_session(interval="year", amount=6000)
    sandbox.pay(session.id)
    sub_id = stripe.checkout.Session.retrieve(session.id).subscription
    sandbox.fail_next_renewal(sub_id)
    failed = sandbox.renew(sub_id)
    assert (failed["status"], failed["paid"], failed["amount_paid"]) == ("open", False, 0)
    event = receiver.wait_for("invoice.payment_failed")["invoice.payment_failed"][0]
    assert event.data.object.id == failed["id"]
    assert stripe.Subscription.retrieve(sub_id).status == "past_due"
    updates = receiver.wait_for("customer.subscription.updated")["customer.subscription.updated"]
    assert updates[-1].data.object.status == "past_due"
    assert updates[-1].data.previous_attributes["status"] == "active"

    assert sandbox.renew(sub_id)["status"] == "open"
    stripe.Subscription.modify(
        sub_id, default_payment_method=saved_card(sandbox, stripe.Subscription.retrieve(sub_id))
    )
    recovered = sandbox.renew(sub_id)
    assert recovered["status"] == "paid"
    assert stripe.Subscription.retrieve(sub_id).status == "active"


def test_cancel_at_period_end_and_cancel(sandbox, api, receiver):
    session = monthly_session()
    sandbox.pay(session.id)
    sub_id = stripe.checkout.Session.retrieve(session.id).subscription
    modified = stripe.Subscription.modify(sub_id, cancel_at_period_end=True)
    assert modified.cancel_at_period_end is True and modified.canceled_at is not None
    assert modified.cancel_at == modified.current_period_end
    event = receiver.wait_for("customer.subscription.updated")["customer.subscription.updated"][0]
    assert event.data.previous_attributes["cancel_at_period_end"] is False
    resumed = stripe.Subscription.modify(sub_id, cancel_at_period_end=False)
    assert resumed.canceled_at is None and resumed.cancel_at is None
    canceled = stripe.Subscription.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    receiver.wait_for("customer.subscription.deleted")


def test_prices_and_customer_session(sandbox, api):
    price = stripe.Price.create(
        currency="eur",
        unit_amount=1200,
        recurring={"interval": "year"},
        product_data={"name": "Annual"},
        metadata={"tier": "a"},
        idempotency_key="price-1",
    )
    assert (price.type, price.recurring.interval, price.metadata) == (
        "recurring",
        "year",
        {"tier": "a"},
    )
    assert stripe.Price.retrieve(price.id).unit_amount == 1200
    once = stripe.Price.create(currency="eur", unit_amount=300, product=price.product)
    assert [p.id for p in stripe.Price.list(limit=10).data] == [once.id, price.id]
    customer = stripe.Customer.create(email="known@example.com")
    session = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": price.id, "quantity": 1}],
        customer=customer.id,
        success_url="http://shop.test/ok",
    )
    assert session.amount_total == 1200 and session.currency == "eur"
    assert "€12.00" in requests.get(session.url).text
    assert sandbox.pay(session.id).status_code == 200
    session = stripe.checkout.Session.retrieve(session.id)
    assert session.customer == customer.id
    with pytest.raises(stripe.error.InvalidRequestError):
        stripe.checkout.Session.create(
            mode="payment", line_items=[{"price": price.id}], success_url="http://shop.test/ok"
        )


def test_failing_receiver_is_retried_and_visible(sandbox, api, receiver):
    receiver.fail_first = 2
    stripe.Customer.create(email="retry@example.com")
    attempts = sandbox.wait_for_deliveries(
        lambda attempts: any(a["ok"] and a["type"] == "customer.created" for a in attempts)
    )
    mine = [a for a in attempts if a["type"] == "customer.created"]
    assert [(a["attempt"], a["status"]) for a in mine] == [(1, 500), (2, 500), (3, 200)]
    assert all(a["endpoint"] == receiver.endpoint.id for a in mine)
    assert len({a["event"] for a in mine}) == 1
    assert receiver.types() == ["customer.created"]


def test_unreachable_endpoint_is_retried_then_given_up(sandbox, api):
    stripe.WebhookEndpoint.create(url="http://127.0.0.1:9/nothing", enabled_events=["*"])
    stripe.Customer.create(email="nobody@example.com")
    attempts = sandbox.wait_for_deliveries(4)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["status"] is None and a["error"] for a in attempts)
    time.sleep(0.3)
    assert len(sandbox.deliveries()) == 4


def test_webhook_endpoints_filter_list_and_delete(sandbox, api, receiver):
    only = stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["charge.refunded"])
    assert only.secret.startswith("whsec_") and only.enabled_events == ["charge.refunded"]
    ids = {e.id for e in stripe.WebhookEndpoint.list().data}
    assert ids == {only.id, receiver.endpoint.id}
    stripe.Customer.create(email="x@example.com")
    sandbox.wait_for_deliveries(1)
    time.sleep(0.1)
    assert {a["endpoint"] for a in sandbox.deliveries()} == {receiver.endpoint.id}
    assert stripe.WebhookEndpoint.delete(only.id).deleted is True
    assert [e.id for e in stripe.WebhookEndpoint.list().data] == [receiver.endpoint.id]


def test_dispute(sandbox, api, receiver):
    session = one_time_session()
    sandbox.pay(session.id)
    pi = stripe.PaymentIntent.retrieve(stripe.checkout.Session.retrieve(session.id).payment_intent)
    dispute = sandbox.dispute(pi.latest_charge)
    event = receiver.wait_for("charge.dispute.created")["charge.dispute.created"][0]
    assert event.data.object.id == dispute["id"]
    assert event.data.object.charge == pi.latest_charge
    assert stripe.Charge.retrieve(pi.latest_charge).disputed is True


def test_reset_clears_data_but_not_endpoints(sandbox, api, receiver):
    one_time_session()
    requests.delete(f"{sandbox.url}/_config/data").raise_for_status()
    assert stripe.checkout.Session.list().data == []
    assert [e.id for e in stripe.WebhookEndpoint.list().data] == [receiver.endpoint.id]
    sandbox.reset()
    assert stripe.WebhookEndpoint.list().data == []
