"""The Stripe boundary: the gateway and the types it returns."""

from flask import Flask, current_app

from donations.payments.stripe_gateway import StripeGateway
from donations.payments.types import GatewayError, GatewayUnavailable, InvalidWebhook


def init_app(app: Flask) -> None:
    app.extensions["stripe_gateway"] = StripeGateway(
        app.config["STRIPE_SECRET_KEY"], app.config.get("STRIPE_API_BASE")
    )


def gateway() -> StripeGateway:
    """The current app's gateway."""
    return current_app.extensions["stripe_gateway"]


__all__ = ["GatewayError", "GatewayUnavailable", "InvalidWebhook", "StripeGateway", "gateway"]
