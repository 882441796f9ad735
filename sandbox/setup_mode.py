"""The SetupIntent behind a Checkout Session in setup mode, which saves a card and charges nothing.

As on Stripe, the SetupIntent is created with the session (``setup_intent.created``, status
``requires_payment_method``, ``setup_intent_data`` giving its metadata and description). Saving a
card makes a card PaymentMethod, attaches it to the session's customer (``payment_method.attached``)
and makes the SetupIntent ``succeeded`` (``setup_intent.succeeded``); nothing else changes: the
customer's and subscriptions' default cards stay as they are. A declined card or a failed 3-D
Secure check leaves it ``requires_payment_method`` with ``last_setup_error``
(``setup_intent.setup_failed``); while 3-D Secure is asked for it ``requires_action``
(``setup_intent.requires_action``). Expiring the session cancels it (``setup_intent.canceled``,
``cancellation_reason=abandoned``).
"""

from localstripe import resources as ls

from . import payment_methods
from .common import as_dict, metadata_param
from .events import emit


def create_intent(customer_id, params):
    """The SetupIntent of a new setup-mode session, from ``setup_intent_data``."""
    data = as_dict(params.get("setup_intent_data"), "setup_intent_data")
    intent = ls.SetupIntent(
        customer=customer_id,
        usage="off_session",
        payment_method_types=["card"],
        metadata=metadata_param(data.get("metadata"), "setup_intent_data[metadata]"),
    )
    intent.description = data.get("description") or None
    intent.cancellation_reason = None
    intent.last_setup_error = None
    emit("setup_intent.created", intent)
    return intent


def _intent(session):
    return ls.store["setup_intent:" + session["setup_intent"]]


def require_action(session):
    intent = _intent(session)
    intent.status = "requires_action"
    intent.next_action = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
    emit("setup_intent.requires_action", intent)


def fail(session, message, code, decline_code=None):
    intent = _intent(session)
    intent.status = "requires_payment_method"
    intent.next_action = None
    intent.last_setup_error = {
        "code": code,
        "decline_code": decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "message": message,
        "type": "card_error",
    }
    emit("setup_intent.setup_failed", intent)


def save_card(session, card, customer, email, name):
    """Save ``card`` for ``customer`` (a localstripe Customer or None); the new PaymentMethod."""
    pm = payment_methods.from_card(card, email, name)
    intent = _intent(session)
    if customer is not None:
        payment_methods.attach(pm, customer.id)
        intent.customer = customer.id
    intent.payment_method = pm.id
    intent.status = "succeeded"
    intent.next_action = None
    intent.last_setup_error = None
    emit("setup_intent.succeeded", intent)
    return pm


def cancel(session):
    intent = _intent(session)
    intent.status = "canceled"
    intent.next_action = None
    intent.cancellation_reason = "abandoned"
    emit("setup_intent.canceled", intent)
