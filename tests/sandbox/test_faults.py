"""Stripe having a bad moment, on demand: a rate limit answered as Stripe answers it, and
failures of the next requests that do nothing."""

import subprocess
import sys
import time
import uuid

import pytest
import requests
import stripe

from tests.fixtures.sandbox import ROOT, _free_port

from .helpers import one_time_session, sandbox_post


def _sessions():
    return stripe.checkout.Session.list(limit=100).data


def test_beyond_the_rate_limit_stripe_s_429_comes_back_and_nothing_is_created(sandbox, api):
    assert sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=3).json() == {"per_second": 3}
    admitted = [one_time_session() for _ in range(3)]

    with pytest.raises(stripe.RateLimitError) as refused:
        one_time_session()

    assert refused.value.http_status == 429
    error = refused.value.json_body["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "rate_limit")
    assert "rate limit" in error["message"]
    time.sleep(1.05)
    assert {s.id for s in _sessions()} == {s.id for s in admitted}


def test_the_rate_limit_turned_off_admits_everything(sandbox, api):
    sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=1).raise_for_status()
    sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=0).raise_for_status()

    assert len([one_time_session() for _ in range(5)]) == 5


def test_a_reset_turns_the_rate_limit_off(sandbox, api):
    sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=1).raise_for_status()

    sandbox.reset()

    assert len([one_time_session() for _ in range(3)]) == 3


def test_the_next_requests_fail_with_the_status_asked_for_and_do_nothing(sandbox, api):
    answer = sandbox_post(sandbox, "/_sandbox/fail_next", count=2, status=503)
    assert answer.json() == {"count": 2, "status": 503}
    key = str(uuid.uuid4())

    for _ in range(2):
        with pytest.raises(stripe.APIError) as failed:
            one_time_session(idempotency_key=key)
        assert failed.value.http_status == 503
        assert failed.value.json_body["error"]["type"] == "api_error"
    assert _sessions() == []

    created = one_time_session(idempotency_key=key)
    assert [s.id for s in _sessions()] == [created.id]


def test_fail_next_fails_with_500_unless_told_otherwise(sandbox, api):
    sandbox_post(sandbox, "/_sandbox/fail_next", count=1).raise_for_status()

    with pytest.raises(stripe.APIError) as failed:
        stripe.Price.list()

    assert failed.value.http_status == 500
    assert stripe.Price.list().data == []


def test_fail_next_refuses_a_status_that_is_not_a_server_error(sandbox, api):
    answer = sandbox_post(sandbox, "/_sandbox/fail_next", count=1, status=404)

    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "status"
    assert stripe.Price.list().data == []


def test_the_rate_limit_can_be_set_when_the_sandbox_starts():
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--rate-limit", "2", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{url}/_sandbox/webhook_deliveries", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.05)
        auth = {"Authorization": "Bearer sk_test_sandbox"}

        statuses = [requests.get(f"{url}/v1/prices", headers=auth).status_code for _ in range(3)]

        assert statuses == [200, 200, 429]
    finally:
        process.terminate()
        process.wait(timeout=5)
