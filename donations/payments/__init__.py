"""The Stripe boundary: the gateway and the types it returns.

The gateway (and with it the ``stripe`` SDK, about 50 MB of memory) is loaded on first
use, so processes that never talk to Stripe, such as the email worker, never pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from donations.payments.types import GatewayError, GatewayUnavailable, InvalidWebhook

if TYPE_CHECKING:
    from donations.payments.stripe_gateway import StripeGateway


def init_app(app: Flask) -> None:
    app.extensions["stripe_gateway"] = None


def gateway() -> StripeGateway:
    """The current app's gateway, built from its settings on first use."""
    built = current_app.extensions.get("stripe_gateway")
    if built is None:
        from donations.payments.stripe_gateway import StripeGateway

        built = StripeGateway(
            current_app.config["STRIPE_SECRET_KEY"], current_app.config.get("STRIPE_API_BASE")
        )
        current_app.extensions["stripe_gateway"] = built
    return built


def livemode() -> bool:
    """Whether the configured key is a live one, read without loading the Stripe SDK."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_live_", "rk_live_"))


#: Stripe dashboard sections by object id prefix
_DASHBOARD_SECTIONS = {
    "pi_": "payments",
    "ch_": "payments",
    "py_": "payments",
    "in_": "invoices",
    "sub_": "subscriptions",
    "cus_": "customers",
    "re_": "refunds",
    "evt_": "events",
}


def dashboard_url(object_id: str | None) -> str | None:
    """The payment provider's dashboard page of an object (test mode unless keys are live)."""
    if not object_id:
        return None
    base = "https://dashboard.stripe.com/" + ("" if livemode() else "test/")
    for prefix, section in _DASHBOARD_SECTIONS.items():
        if object_id.startswith(prefix):
            return f"{base}{section}/{object_id}"
    return None


def __getattr__(name: str):
    if name == "StripeGateway":
        from donations.payments.stripe_gateway import StripeGateway

        return StripeGateway
    raise AttributeError(name)


__all__ = [
    "GatewayError",
    "GatewayUnavailable",
    "InvalidWebhook",
    "StripeGateway",
    "dashboard_url",
    "gateway",
    "livemode",
]
