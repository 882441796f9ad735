"""Stripe having a bad moment, on demand: a rate limit and failures of the next requests.

Both apply to ``/v1`` requests only and answer before the request does anything:

* a rate limit of N requests per second (a sliding one-second window, across all of
  ``/v1``), answered as Stripe answers one: 429 ``{"error": {"type":
  "invalid_request_error", "code": "rate_limit", ...}}``. Set with ``--rate-limit N`` or
  ``POST /_sandbox/rate_limit`` ``per_second=N`` (0 turns it off);
* ``POST /_sandbox/fail_next`` ``count=N`` [``status=500|502|503|504``]: the next N requests
  answer that status (default 500) in Stripe's ``api_error`` shape.

A reset (``POST /_sandbox/reset``) clears both; the ``--rate-limit`` given at start stays.
"""

import collections
import time

from aiohttp import web

from .common import StripeError, json_response, read_params, to_int

RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)
SERVER_ERROR_STATUSES = (500, 502, 503, 504)
WINDOW_SECONDS = 1.0

STATE = {"per_second": 0, "start_per_second": 0, "fail_count": 0, "fail_status": 500}
ADMITTED = collections.deque()


def configure(per_second):
    """The rate limit the sandbox starts with (``--rate-limit``), kept across resets."""
    STATE["start_per_second"] = STATE["per_second"] = per_second


def reset():
    STATE["per_second"] = STATE["start_per_second"]
    STATE["fail_count"] = 0
    STATE["fail_status"] = 500
    ADMITTED.clear()


def _rate_limited():
    """Whether this request is over the limit; admitted requests are counted."""
    limit = STATE["per_second"]
    if not limit:
        return False
    now = time.monotonic()
    while ADMITTED and now - ADMITTED[0] >= WINDOW_SECONDS:
        ADMITTED.popleft()
    if len(ADMITTED) >= limit:
        return True
    ADMITTED.append(now)
    return False


@web.middleware
async def faults_middleware(request, handler):
    if not request.path.startswith("/v1/"):
        return await handler(request)
    if STATE["fail_count"] > 0:
        STATE["fail_count"] -= 1
        raise StripeError(
            STATE["fail_status"],
            "An unknown error occurred while processing your request (sandbox: fail_next).",
            type="api_error",
        )
    if _rate_limited():
        raise StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
    return await handler(request)


async def set_rate_limit(request):
    params = await read_params(request)
    per_second = to_int(params.get("per_second"), "per_second", minimum=0)
    STATE["per_second"] = per_second
    ADMITTED.clear()
    return json_response({"per_second": per_second})


async def fail_next(request):
    params = await read_params(request)
    count = to_int(params.get("count", 1), "count", minimum=0)
    status = to_int(params.get("status", 500), "status")
    if status not in SERVER_ERROR_STATUSES:
        allowed = ", ".join(map(str, SERVER_ERROR_STATUSES))
        raise StripeError(400, f"status must be one of {allowed}", param="status")
    STATE["fail_count"], STATE["fail_status"] = count, status
    return json_response({"count": count, "status": status})


PUBLIC_ROUTES = [
    ("POST", "/_sandbox/rate_limit", set_rate_limit),
    ("POST", "/_sandbox/fail_next", fail_next),
]
