"""A local, stateful Stripe stand-in for development and tests (never for production).

It runs the PyPI package ``localstripe`` (GPL-3.0-or-later) plus our plugin, which adds what the
donation platform needs and localstripe lacks: Prices, Checkout Sessions (payment, subscription
and setup mode) with a hosted test payment page, webhook endpoints with signed, retried
deliveries, the missing events, subscription changes (new card, new price, pause, cancellation),
renewals, failures and Stripe's retries on demand, balance transactions with Stripe's fees,
disputes from opening to decision, idempotency keys and refund checks. Every request is checked
against Stripe's description of the API version the product pins (``2025-02-24.acacia``, in
``spec-acacia.json.gz``) and refused as Stripe would refuse it; every answer takes that
description's shapes.

Because it imports localstripe, this package is a development dependency only: the product
package (``donations``) never imports it. Start it with ``python -m sandbox --port 8420``.
"""

API_VERSION = "2025-02-24.acacia"
