"""The payment boundary: the only package that imports ``stripe`` or knows its strings.

``gateway()`` builds the implementation the ``PAYMENT_GATEWAY`` setting names (see
``gateway.PaymentGateway``) on first use: the Stripe SDK is large, and processes that never
talk to Stripe, such as the email worker, should not load it.
"""

from __future__ import annotations

import importlib

from flask import Flask, current_app

from donations.payments.gateway import PaymentGateway
from donations.payments.types import GatewayError, GatewayUnavailable, InvalidWebhook

#: ``PAYMENT_GATEWAY`` values and the class each names (module, class)
IMPLEMENTATIONS = {"stripe": ("donations.payments.stripe_gateway", "StripeGateway")}
#: secret keys that move real money
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
#: Stripe dashboard sections by object id prefix
DASHBOARD_SECTIONS = {
    "pi_": "payments",
    "ch_": "payments",
    "py_": "payments",
    "in_": "invoices",
    "sub_": "subscriptions",
    "cus_": "customers",
    "re_": "refunds",
    "evt_": "events",
}


def init_app(app: Flask) -> None:
    name = app.config["PAYMENT_GATEWAY"]
    if name not in IMPLEMENTATIONS:
        known = ", ".join(sorted(IMPLEMENTATIONS))
        raise RuntimeError(f"PAYMENT_GATEWAY={name!r} is not one of: {known}")
    app.extensions["payment_gateway"] = None


def gateway() -> PaymentGateway:
    """The current app's gateway, built from its settings on first use."""
    built = current_app.extensions.get("payment_gateway")
    if built is None:
        module, name = IMPLEMENTATIONS[current_app.config["PAYMENT_GATEWAY"]]
        implementation = getattr(importlib.import_module(module), name)
        built = implementation.from_config(current_app.config)
        current_app.extensions["payment_gateway"] = built
    return built


def livemode() -> bool:
    """Whether the configured key is a live one, read without loading the Stripe SDK."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(LIVE_KEY_PREFIXES)


def dashboard_url(object_id: str | None) -> str | None:
    """The provider's dashboard page of an object (test mode unless the keys are live)."""
    if not object_id:
        return None
    base = "https://dashboard.stripe.com/" + ("" if livemode() else "test/")
    for prefix, section in DASHBOARD_SECTIONS.items():
        if object_id.startswith(prefix):
            return f"{base}{section}/{object_id}"
    return None


__all__ = [
    "GatewayError",
    "GatewayUnavailable",
    "InvalidWebhook",
    "PaymentGateway",
    "dashboard_url",
    "gateway",
    "livemode",
]
