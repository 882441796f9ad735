"""Deleting a customer (``DELETE /v1/customers/{id}``), as Stripe describes it: the customer's
subscriptions end at once, the customer is gone for good, and what is left is a stub."""

import pytest

from sandbox.spec import SPEC

from .helpers import subscribed
from .test_contract import _get, check_object


def test_deleting_a_customer_ends_their_subscriptions_and_answers_the_stub(sandbox, api, receiver):
    subscription = subscribed(sandbox)
    customer = api.Customer.retrieve(subscription.customer)

    deleted = api.Customer.delete(customer.id)

    assert (deleted.id, deleted.object, deleted.deleted) == (customer.id, "customer", True)
    ended = api.Subscription.retrieve(subscription.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "cancellation_requested"
    assert ended.ended_at is not None
    found = receiver.wait_for("customer.subscription.deleted", "customer.deleted")
    [gone] = found["customer.deleted"]
    as_it_was = _get(sandbox, f"/v1/events/{gone.id}")["data"]["object"]
    assert (as_it_was["id"], as_it_was["email"]) == (customer.id, customer.email)
    assert not check_object(as_it_was, SPEC.schemas["customer"], "customer")
    [cancelled] = found["customer.subscription.deleted"]
    assert cancelled.data.object.id == subscription.id


def test_a_deleted_customer_is_a_stub_and_cannot_be_deleted_again(sandbox, api):
    customer_id = subscribed(sandbox).customer
    api.Customer.delete(customer_id)

    assert _get(sandbox, f"/v1/customers/{customer_id}") == {
        "id": customer_id,
        "object": "customer",
        "deleted": True,
    }
    assert customer_id not in [c.id for c in api.Customer.list(limit=100).data]
    with pytest.raises(api.InvalidRequestError) as again:
        api.Customer.delete(customer_id)
    assert again.value.http_status == 404
    assert again.value.code == "resource_missing"
    assert again.value.user_message == f"No such customer: '{customer_id}'"


def test_deleting_an_unknown_customer_is_a_404(sandbox, api):
    with pytest.raises(api.InvalidRequestError) as unknown:
        api.Customer.delete("cus_unknown")
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")


def test_a_live_customer_reads_as_before(sandbox, api):
    customer_id = subscribed(sandbox).customer

    customer = _get(sandbox, f"/v1/customers/{customer_id}")

    assert customer["email"] == "reader@example.com"
    assert "deleted" not in customer
    assert not check_object(customer, SPEC.schemas["customer"], "customer")
