"""``POST /webhooks/stripe``: verify, store in the inbox, apply, answer.

Stripe retries anything but a 2xx, so the answer says exactly what happened: 400 for a
delivery that cannot be trusted or is written in an API version other than the pinned one
(nothing stored in the inbox; see ``refused``), 200 once the event is applied or was
already, 500 when applying failed (the error is kept on the inbox row and Stripe retries).
"""

from __future__ import annotations

from flask import current_app, jsonify, request

from donations import ledger
from donations.db import commit_or_rollback
from donations.payments import InvalidWebhook, gateway
from donations.webhooks import bp, refused


@bp.post("/webhooks/stripe")
def stripe_webhook():
    """Receive one Stripe event."""
    payload = request.get_data()
    try:
        event = gateway().parse_event(
            payload,
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
        )
    except InvalidWebhook as error:
        return jsonify(error="invalid webhook", reason=str(error)), 400
    pinned = gateway().api_version
    if event.api_version != pinned:
        reason = refused.refusal_reason(event, pinned)
        current_app.logger.warning("webhook %s (%s) refused: %s", event.id, event.type, reason)
        with commit_or_rollback():
            refused.record(event)
        return jsonify(error="wrong api_version", reason=reason, event=event.id), 400
    if event.livemode != gateway().livemode:
        mode = "live" if event.livemode else "test"
        reason = f"a {mode}-mode event does not match the configured Stripe key"
        return jsonify(error="wrong mode", reason=reason), 400
    try:
        with commit_or_rollback():
            outcome = ledger.receive(event, payload)
    except Exception as error:
        with commit_or_rollback():
            ledger.record_failure(event, error, payload)
        return jsonify(error="handler failed; stored for retry", event=event.id), 500
    return jsonify(status=str(outcome), event=event.id), 200
