"""Idempotency keys on every ``POST /v1/...``, as Stripe honours them.

The first answer to a POST carrying an ``Idempotency-Key`` is kept (per secret key and
idempotency key); a repeat with the same parameters gets that answer again, with
``Idempotent-Replayed: true``, and creates nothing; a repeat with other parameters or on another
route gets Stripe's 400 ``idempotency_error``; a repeat while the first is still being answered
gets Stripe's 409 ``idempotency_key_in_use``. Server errors are not kept, so a retry can succeed.
"""

import json

from aiohttp import web
from localstripe.server import get_api_key, get_post_data

from .common import StripeError

CACHE = {}
IN_FLIGHT = set()


def reset():
    CACHE.clear()
    IN_FLIGHT.clear()


@web.middleware
async def idempotency_middleware(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    params = await get_post_data(request, remove_auth=False) or {}
    fingerprint = json.dumps([request.path, params], sort_keys=True, default=str)
    cache_key = (get_api_key(request), key)
    cached = CACHE.get(cache_key)
    if cached is not None:
        if cached["fingerprint"] != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return web.Response(
            body=cached["body"],
            status=cached["status"],
            content_type="application/json",
            headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
        )
    if cache_key in IN_FLIGHT:
        raise StripeError(
            409,
            "There is currently another in-progress request using this Stripe-Idempotency-Key. "
            "Please try again later.",
            code="idempotency_key_in_use",
        )
    IN_FLIGHT.add(cache_key)
    try:
        response = await handler(request)
    except StripeError as exc:
        response = exc.response()
    finally:
        IN_FLIGHT.discard(cache_key)
    if response.status < 500 and isinstance(response, web.Response):
        CACHE[cache_key] = {
            "fingerprint": fingerprint,
            "status": response.status,
            "body": response.body,
        }
    response.headers["Idempotency-Key"] = key
    return response
