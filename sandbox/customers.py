"""Deleting a customer as Stripe does.

``DELETE /v1/customers/{id}`` "permanently deletes a customer. It cannot be undone. Also
immediately cancels any active subscriptions on the customer." (Stripe's description of the
operation). So here every subscription of the customer that has not ended ends now
(``cancellation_requested``, ``customer.subscription.deleted``), then the customer goes
(``customer.deleted``, carrying the customer as it was) and the answer is the deleted stub,
``{"id", "object": "customer", "deleted": true}``. Stripe keeps that stub: retrieving a deleted
customer answers it, while deleting it again is a 404 and it is no longer listed. localstripe
forgets the customer altogether, so the plugin keeps the stub itself, in the store (a reset
clears it too).
"""

from localstripe import resources as ls

from . import objects, subscriptions
from .common import expand_param, json_response, match, not_found, read_params
from .shapes import normalize

DELETED_KIND = "deleted_customer"


def _stub(customer_id):
    return {"id": customer_id, "object": "customer", "deleted": True}


async def delete_customer(request):
    customer_id = match(request, "id")
    customer = ls.store.get("customer:" + customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    for subscription in objects.all_of("subscription"):
        if subscription.customer == customer_id and subscription.status != "canceled":
            subscriptions.end(subscription, "cancellation_requested")
    ls.Customer._api_delete(customer_id)
    objects.put(DELETED_KIND, _stub(customer_id))
    return json_response(_stub(customer_id))


async def retrieve_customer(request):
    """The customer, or the stub Stripe answers once it is deleted."""
    customer_id = match(request, "id")
    deleted = objects.get(DELETED_KIND, customer_id)
    if deleted is not None:
        return json_response(dict(deleted))
    customer = ls.store.get("customer:" + customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    expand = expand_param(await read_params(request))
    return json_response(normalize(customer._export(expand=expand or None), expand))


ROUTES = [
    ("DELETE", "/v1/customers/{id}", delete_customer),
    ("GET", "/v1/customers/{id}", retrieve_customer),
]
