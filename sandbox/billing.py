"""Collecting invoices: a renewal's first attempt, Stripe's automatic retries, payment on demand.

An attempt charges the card the invoice's subscription bills (its ``default_payment_method``,
else the customer's ``invoice_settings.default_payment_method``) through the invoice's one
PaymentIntent; a retry is a new charge on it, as on Stripe. A failed attempt leaves the invoice
``open`` and emits ``charge.failed``, ``payment_intent.payment_failed`` and
``invoice.payment_failed``; the subscription becomes ``past_due``. A successful one emits
``charge.succeeded``, ``payment_intent.succeeded``, ``invoice.paid`` and
``invoice.payment_succeeded`` and makes the subscription ``active`` again (unless it was
canceled). Callers emit ``customer.subscription.updated`` for what changed.

``attempt_count`` and ``next_payment_attempt`` follow Stripe's description of the invoice: every
automatic attempt counts; a manual one (``POST /v1/invoices/{id}/pay``) counts only when it is
the first, and does not move the retry schedule. The schedule is a custom one, as an account can
set it: retries 3, 5 and 7 days after the 1st, 2nd and 3rd failures, none after the 4th.

Routes: ``POST /v1/invoices/{id}/pay`` (Stripe's; a decline answers 402 ``card_error``) and
``POST /_sandbox/invoices/{id}/retry`` (an automatic retry, now; answers the invoice).
"""

import time

from localstripe import resources as ls

from . import objects, payment_methods
from .common import (
    StripeError,
    expand_param,
    json_response,
    match,
    not_found,
    public_base,
    read_params,
    to_bool,
)
from .events import emit, emit_changes, snapshot
from .shapes import normalize

DAY = 24 * 3600
RETRY_DAYS = (3, 5, 7)


def _next_payment_attempt(invoice):
    if invoice.status not in ("draft", "open"):
        return None
    return getattr(invoice, "_sandbox_next_attempt", invoice.date)


def _activate_on_payment(subscription, invoice):
    """A paid invoice makes its subscription active, unless the subscription has ended."""
    if subscription.status not in ("canceled", "incomplete_expired"):
        subscription.status = "active"


def install():
    ls.Invoice.next_payment_attempt = property(_next_payment_attempt)
    ls.Subscription._on_initial_payment_success = _activate_on_payment


def get_invoice(invoice_id):
    invoice = ls.store.get("invoice:" + invoice_id)
    if invoice is None:
        raise not_found("invoice", invoice_id)
    return invoice


def subscription_of(invoice):
    return ls.store.get("subscription:" + invoice.subscription) if invoice.subscription else None


def billed_card(customer_id, subscription=None):
    """The PaymentMethod id Stripe charges: the subscription's default, else the customer's."""
    if subscription is not None and getattr(subscription, "default_payment_method", None):
        return subscription.default_payment_method
    customer = ls.store.get("customer:" + customer_id)
    return customer.invoice_settings.get("default_payment_method") if customer else None


def stop_collection(subscription):
    """No more automatic attempts on the subscription's open invoices."""
    for invoice in objects.all_of("invoice"):
        if invoice.subscription == subscription.id:
            invoice._sandbox_next_attempt = None


def new_invoice(subscription, billing_reason):
    """A draft invoice for the subscription's current period, not attempted yet."""
    invoice = ls.Invoice(
        customer=subscription.customer,
        subscription=subscription.id,
        items=list(subscription.items._list),
        date=int(time.time()),
    )
    invoice.billing_reason = billing_reason
    invoice.attempt_count = 0
    invoice.attempted = False
    invoice.hosted_invoice_url = None
    invoice._sandbox_next_attempt = None
    return invoice


def finalize(invoice, public_base):
    invoice._finalize()
    publish(invoice, public_base)


def publish(invoice, public_base):
    """Give a finalized invoice its hosted page (``hosted_invoice_url``)."""
    invoice.hosted_invoice_url = f"{public_base}/invoices/{invoice.id}"


def void(invoice):
    """Void an invoice without charging it (``invoice.voided``)."""
    invoice._draft = False
    invoice._voided = True
    invoice.status_transitions["voided_at"] = int(time.time())
    emit("invoice.voided", invoice)


def attempt(invoice, *, automatic, payment_method=None):
    """Try to pay ``invoice`` now with ``payment_method`` or the billed card; True if paid."""
    payment_method = payment_method or billed_card(invoice.customer, subscription_of(invoice))
    if payment_method is None:
        raise StripeError(
            400, "This customer has no attached payment source or default payment method."
        )
    counts = automatic or invoice.attempt_count == 0
    if counts:
        invoice.attempt_count += 1
    invoice.attempted = True
    pi = _payment_intent(invoice, payment_method)
    pi._confirm(on_failure_now=lambda: None)
    if invoice.status == "paid":
        return True
    if counts:
        invoice._sandbox_next_attempt = _next_retry(invoice.attempt_count)
    emit("charge.failed", pi.latest_charge)
    emit("payment_intent.payment_failed", pi)
    emit("invoice.payment_failed", invoice)
    subscription = subscription_of(invoice)
    if subscription is not None and subscription.status == "active":
        subscription.status = "past_due"
    return False


def _next_retry(attempt_count):
    if attempt_count > len(RETRY_DAYS):
        return None
    return int(time.time()) + RETRY_DAYS[attempt_count - 1] * DAY


def _payment_intent(invoice, payment_method):
    """The invoice's PaymentIntent, ready to charge ``payment_method``."""
    pi = (
        ls.store.get("payment_intent:" + invoice.payment_intent) if invoice.payment_intent else None
    )
    if pi is None:
        pi = ls.PaymentIntent(
            amount=invoice.total,
            currency=invoice.currency,
            customer=invoice.customer,
            payment_method=payment_method,
        )
        pi.invoice = invoice.id
        invoice.payment_intent = pi.id
    else:
        pi.payment_method = payment_method
        pi.latest_charge = None
    return pi


def collect(invoice, *, automatic, payment_method=None):
    """Attempt ``invoice`` and emit ``customer.subscription.updated`` if its status moved."""
    subscription = subscription_of(invoice)
    before = snapshot(subscription) if subscription is not None else None
    paid = attempt(invoice, automatic=automatic, payment_method=payment_method)
    if subscription is not None:
        emit_changes("customer.subscription.updated", subscription, before)
    return paid


async def pay_invoice(request):
    """``POST /v1/invoices/{id}/pay``: pay an open (or draft) invoice now."""
    invoice = get_invoice(match(request, "id"))
    params = await read_params(request)
    expand = expand_param(params)
    if params.get("source") or to_bool(params.get("paid_out_of_band", False), "paid_out_of_band"):
        raise StripeError(
            400, "The sandbox pays invoices with a PaymentMethod only (no source, no out of band)."
        )
    payment_method = None
    if params.get("payment_method"):
        pm = payment_methods.get(params["payment_method"], param="payment_method")
        payment_methods.require_attached(pm, invoice.customer, "payment_method")
        payment_method = pm.id
    if invoice.status == "paid":
        raise StripeError(400, "Invoice is already paid")
    if invoice.status == "void":
        raise StripeError(400, "You can't pay a void invoice.")
    if invoice.status == "draft":
        finalize(invoice, public_base(request))
    if not collect(invoice, automatic=False, payment_method=payment_method):
        raise StripeError(
            402,
            "Your card was declined.",
            type="card_error",
            code="card_declined",
            decline_code="generic_decline",
            charge=invoice.charge.id,
        )
    return json_response(normalize(invoice._export(), expand))


async def retry(request):
    """``POST /_sandbox/invoices/{id}/retry``: Stripe's next automatic retry, now."""
    invoice = get_invoice(match(request, "id"))
    if invoice.status != "open":
        raise StripeError(400, f"Only open invoices are retried; this one is {invoice.status}.")
    if invoice.next_payment_attempt is None:
        raise StripeError(400, "No retry is scheduled for this invoice: its retries have ended.")
    collect(invoice, automatic=True)
    return json_response(normalize(invoice._export()))


ROUTES = [("POST", "/v1/invoices/{id}/pay", pay_invoice)]

PUBLIC_ROUTES = [("POST", "/_sandbox/invoices/{id}/retry", retry)]
