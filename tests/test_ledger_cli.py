"""``flask stripe events | replay | register-webhook``: the operator's view of the inbox."""

from __future__ import annotations

from donations.payments.stripe_gateway import StripeGateway
from tests.helpers_events import give_and_pay, only_event, payments_of, post_event, sandbox_get


def _fail_one_event(app, client, sandbox):
    """A monthly gift's completion event that failed because Stripe was unreachable."""
    gift = give_and_pay(sandbox, "monthly", amount=600)
    event = only_event(sandbox, "checkout.session.completed", gift.stripe_checkout_session_id)
    working = app.extensions["payment_gateway"]
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", "http://127.0.0.1:9")
    assert post_event(client, event).status_code == 500
    app.extensions["payment_gateway"] = working
    return gift, event


def test_events_lists_recent_events_and_marks_failures(app, client, runner, sandbox):
    give_and_pay(sandbox, amount=500, email="one@example.org")
    ok = only_event(sandbox, "checkout.session.completed")
    assert post_event(client, ok).status_code == 200
    _gift, failed = _fail_one_event(app, client, sandbox)

    everything = runner.invoke(args=["stripe", "events"])
    failures = runner.invoke(args=["stripe", "events", "--failed"])
    one = runner.invoke(args=["stripe", "events", "--limit", "1"])

    assert everything.exit_code == 0
    assert ok["id"] in everything.output and failed["id"] in everything.output
    assert "applied" in everything.output and "FAILED" in everything.output
    assert "GatewayUnavailable" in failures.output
    assert failed["id"] in failures.output and ok["id"] not in failures.output
    assert len([line for line in one.output.splitlines() if line.startswith("20")]) == 1


def test_events_says_when_there_is_nothing(runner, app):
    assert runner.invoke(args=["stripe", "events"]).output.strip() == "No events."
    assert runner.invoke(args=["stripe", "events", "--failed"]).output.strip() == (
        "No failed events."
    )


def test_replay_failed_applies_every_failed_event_once(app, client, runner, sandbox):
    gift, event = _fail_one_event(app, client, sandbox)

    result = runner.invoke(args=["stripe", "replay", "--failed"])

    assert result.exit_code == 0, result.output
    assert f"{event['id']}: applied" in result.output
    assert len(payments_of(gift)) == 1
    assert runner.invoke(args=["stripe", "replay", "--failed"]).output.strip() == (
        "No failed events."
    )
    assert runner.invoke(args=["stripe", "replay", event["id"]]).exit_code == 0
    assert len(payments_of(gift)) == 1


def test_replay_that_fails_again_exits_non_zero(app, client, runner, sandbox):
    _gift, event = _fail_one_event(app, client, sandbox)
    app.extensions["payment_gateway"] = StripeGateway("sk_test_platform", "http://127.0.0.1:9")

    result = runner.invoke(args=["stripe", "replay", event["id"]])

    assert result.exit_code == 1
    assert f"{event['id']}: failed" in result.output
    assert "failed again" in result.output


def test_replay_needs_exactly_one_of_an_id_or_failed(runner, app):
    assert runner.invoke(args=["stripe", "replay"]).exit_code == 2
    assert runner.invoke(args=["stripe", "replay", "evt_1", "--failed"]).exit_code == 2
    unknown = runner.invoke(args=["stripe", "replay", "evt_unknown"])
    assert unknown.exit_code == 1 and "no stored event evt_unknown" in unknown.output


def test_register_webhook_prints_only_the_signing_secret(runner, sandbox):
    result = runner.invoke(
        args=["stripe", "register-webhook", "http://127.0.0.1:5000/webhooks/stripe"]
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    endpoints = sandbox_get(sandbox, "/v1/webhook_endpoints")["data"]
    assert [e["url"] for e in endpoints] == ["http://127.0.0.1:5000/webhooks/stripe"]


def test_register_webhook_refuses_a_bad_url(runner, sandbox):
    result = runner.invoke(args=["stripe", "register-webhook", "not-a-url"])

    assert result.exit_code == 1
    assert "URL" in result.output
