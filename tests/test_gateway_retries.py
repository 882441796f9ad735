"""Stripe's rate limits and failures never become a 500: the gateway retries what Stripe
asks to repeat, with back-off, a bounded number of times; beyond that the reader is told
that nothing was charged, and no pending gift is left without its Checkout Session."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
import requests
import sqlalchemy as sa
import stripe

from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.models import Gift
from donations.payments import GatewayError, GatewayUnavailable, gateway
from donations.payments.stripe_gateway import MAX_RETRY_DELAY, StripeGateway
from tests.helpers_support import SAME_ORIGIN

#: the sandbox's test-mode limit is Stripe's: 25 requests a second
STRIPE_TEST_MODE_LIMIT = 25
CLICKS = 200


def _sandbox_post(sandbox, path: str, **data) -> None:
    requests.post(f"{sandbox.url}{path}", data=data, timeout=5).raise_for_status()


@pytest.fixture
def faults(sandbox):
    """Stripe having a bad moment (``/_sandbox/rate_limit``, ``/_sandbox/fail_next``),
    calmed down again after the test."""

    def apply(**settings):
        if "per_second" in settings:
            _sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=settings["per_second"])
        if "fail" in settings:
            _sandbox_post(
                sandbox,
                "/_sandbox/fail_next",
                count=settings["fail"],
                status=settings.get("status", 500),
            )

    yield apply
    _sandbox_post(sandbox, "/_sandbox/rate_limit", per_second=0)
    _sandbox_post(sandbox, "/_sandbox/fail_next", count=0)


def _gateway(sandbox, *, max_retries: int = 3, retry_base: float = 0.01) -> StripeGateway:
    return StripeGateway(
        "sk_test_platform", sandbox.url, max_retries=max_retries, retry_base=retry_base
    )


def _open_session(gateway_: StripeGateway, key: str | None = None):
    return gateway_.create_checkout_session(
        gift_id=1,
        frequency=Frequency.ONCE,
        amount=1000,
        currency="USD",
        product_name="One-time donation",
        customer_email="reader@example.org",
        success_url="http://shop.test/thanks",
        cancel_url="http://shop.test/support",
        idempotency_key=key or str(uuid.uuid4()),
    )


def _sessions(gateway_: StripeGateway) -> list[str]:
    return [session.id for session in gateway_.list_checkout_sessions(0)]


def test_the_gateway_reads_its_retry_settings(app):
    app.config.update(STRIPE_MAX_RETRIES=5, STRIPE_RETRY_BASE=0.25)
    app.extensions.pop("payment_gateway", None)
    built = gateway()

    assert (built.max_retries, built.retry_base) == (5, 0.25)


def test_two_server_errors_are_retried_and_the_session_is_created_once(sandbox, faults):
    faults(fail=2, status=503)
    retrying = _gateway(sandbox)

    session = _open_session(retrying)

    assert _sessions(retrying) == [session.id]


def test_more_failures_than_retries_make_the_gateway_unavailable_and_create_nothing(
    sandbox, faults
):
    faults(fail=4)
    retrying = _gateway(sandbox, max_retries=3)

    with pytest.raises(GatewayUnavailable):
        _open_session(retrying)

    assert _sessions(retrying) == []


def test_a_rate_limited_request_waits_and_gets_through(sandbox, faults):
    faults(per_second=1)
    patient = _gateway(sandbox, max_retries=8, retry_base=0.25)
    first = _open_session(patient)

    second = _open_session(patient)

    assert sorted(_sessions(patient)) == sorted([first.id, second.id])


def test_without_retries_a_rate_limited_request_is_unavailable(sandbox, faults):
    faults(per_second=1)
    impatient = _gateway(sandbox, max_retries=0)
    _open_session(impatient)

    with pytest.raises(GatewayUnavailable):
        _open_session(impatient)


def test_a_refusal_other_than_429_is_not_retried(sandbox, faults):
    faults(per_second=2)
    retrying = _gateway(sandbox, max_retries=3)

    with pytest.raises(GatewayError) as refused:
        retrying.retrieve_checkout_session("cs_test_missing")

    assert not isinstance(refused.value, GatewayUnavailable)
    # the 404 was sent once, so the second request of this second is still admitted
    assert _sessions(_gateway(sandbox, max_retries=0)) == []


def test_an_unreachable_stripe_is_retried_then_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    retrying = StripeGateway("sk_test_platform", closed, max_retries=2, retry_base=0.01)

    with pytest.raises(GatewayUnavailable, match="could not be reached"):
        _open_session(retrying)


def test_the_same_key_sent_twice_at_once_opens_one_session(sandbox):
    retrying = _gateway(sandbox, max_retries=5)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    opened: list[str] = []

    def open_one():
        barrier.wait()
        opened.append(_open_session(retrying, key).id)

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(opened) == 2 and opened[0] == opened[1]
    assert _sessions(retrying) == [opened[0]]


def _rate_limit_error(**headers: str) -> stripe.RateLimitError:
    return stripe.RateLimitError("Request rate limit exceeded.", http_status=429, headers=headers)


def test_back_off_grows_with_full_jitter_and_stays_under_the_cap():
    backing_off = StripeGateway("sk_test_platform", max_retries=10, retry_base=0.5)

    delays = [backing_off._retry_delay(retries, _rate_limit_error()) for retries in range(10)]

    assert all(0 <= delay <= min(MAX_RETRY_DELAY, 0.5 * 2**n) for n, delay in enumerate(delays))


def test_a_short_retry_after_is_waited_for_and_a_long_one_is_capped():
    backing_off = StripeGateway("sk_test_platform", retry_base=0.01)

    assert backing_off._retry_delay(0, _rate_limit_error(**{"Retry-After": "2"})) >= 2
    assert backing_off._retry_delay(0, _rate_limit_error(**{"Retry-After": "600"})) == (
        MAX_RETRY_DELAY
    )


# the reader's side: the Continue button


def _donation(email: str) -> dict:
    return {
        "frequency": "once",
        "amount": "10",
        "currency": "USD",
        "email": email,
        "name": "Ada Reader",
    }


def _continue(client):
    return client.post("/support", data=_donation("reader@example.org"), headers=SAME_ORIGIN)


def _gifts() -> list[Gift]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Gift)))


@pytest.fixture
def quick_retries(app):
    app.config["STRIPE_RETRY_BASE"] = 0.01
    app.extensions["payment_gateway"] = None


def test_continue_gets_through_two_stripe_failures(client, sandbox, faults, quick_retries):
    faults(fail=2)

    response = _continue(client)

    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{sandbox.url}/checkout/pay/")
    [gift] = _gifts()
    assert gift.status == GiftStatus.PENDING and gift.stripe_checkout_session_id


def test_continue_after_ten_stripe_failures_says_nothing_was_charged(
    client, sandbox, faults, quick_retries
):
    faults(fail=10)

    response = _continue(client)

    assert response.status_code == 503
    assert "You have not been charged" in response.get_data(as_text=True)
    [gift] = _gifts()
    assert (gift.status, gift.stripe_checkout_session_id) == (GiftStatus.ABANDONED, None)


@pytest.fixture
def app_config(app_config):
    """The reader's Continue alone is under test: the app's own limits stay out of it."""
    return {**app_config, "RATELIMIT_ENABLED": False}


def test_200_clicks_against_stripe_s_test_mode_limit_never_end_in_a_500(
    app, live_server, sandbox, faults
):
    faults(per_second=STRIPE_TEST_MODE_LIMIT)
    reader = requests.Session()
    reader.get(f"{live_server}/", timeout=30)
    cookies = reader.cookies.get_dict()
    barrier = threading.Barrier(CLICKS)
    answers: list[requests.Response] = []

    def click(number: int) -> None:
        barrier.wait()
        answers.append(
            requests.post(
                f"{live_server}/support",
                data=_donation(f"reader{number}@example.org"),
                headers={"Origin": live_server},
                cookies=cookies,
                allow_redirects=False,
                timeout=120,
            )
        )

    started = time.monotonic()
    threads = [threading.Thread(target=click, args=(n,)) for n in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == CLICKS, time.monotonic() - started
    statuses = {answer.status_code for answer in answers}
    assert 303 in statuses
    assert statuses <= {303, 503}, [a.text[:300] for a in answers if a.status_code >= 500][:1]
    for answer in answers:
        if answer.status_code == 303:
            assert answer.headers["Location"].startswith(f"{sandbox.url}/checkout/pay/")
        else:
            assert "You have not been charged" in answer.text
    gifts = _gifts()
    assert len(gifts) == CLICKS
    assert all(g.stripe_checkout_session_id for g in gifts if g.status == GiftStatus.PENDING), (
        "a pending gift without a Checkout Session"
    )
    assert all(not g.stripe_checkout_session_id for g in gifts if g.status == GiftStatus.ABANDONED)
    assert sum(g.status == GiftStatus.PENDING for g in gifts) == sum(
        a.status_code == 303 for a in answers
    )
