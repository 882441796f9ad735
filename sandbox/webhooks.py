"""Webhook endpoints, signing and delivery with retries.

``POST /v1/webhook_endpoints`` registers a URL and answers a ``whsec_`` secret, as Stripe does;
``/_config/webhooks/{id}`` (localstripe's own registration route) lands here too, so there is a
single delivery path and no event is sent twice. Each attempt is signed at the moment it is sent
(``Stripe-Signature: t=<now>,v1=<HMAC-SHA256 of "t.payload">``) so that
``stripe.Webhook.construct_event`` verifies it. First attempts go out in event order per endpoint,
at once; an answer outside 2xx, a connection error or a 10 s timeout is retried after each delay
of the configured schedule (``--retry-delays`` / ``SANDBOX_RETRY_DELAYS``). Attempts are listed at
``GET /_sandbox/webhook_deliveries``. Endpoints live in memory and survive a data reset, like
localstripe's registrations; ``POST /_sandbox/reset?endpoints=1`` clears them too.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time

import aiohttp

from . import API_VERSION
from .common import (
    StripeError,
    json_response,
    match,
    metadata_param,
    new_id,
    not_found,
    paginate,
    read_params,
    to_bool,
)
from .shapes import normalize

log = logging.getLogger("sandbox.webhooks")

ENDPOINTS = {}
DELIVERIES = []
CONFIG = {"retry_delays": [1.0, 2.0, 4.0, 8.0], "timeout": 10.0}

_queues = {}
_tasks = set()
_generation = [0]


def pending_count(event_type):
    return sum(1 for endpoint in ENDPOINTS.values() if _wants(endpoint, event_type))


def _wants(endpoint, event_type):
    if endpoint["status"] != "enabled":
        return False
    enabled = endpoint["enabled_events"]
    return "*" in enabled or event_type in enabled


def dispatch(event):
    """Queue ``event`` (an exported, normalized dict) for every endpoint that wants it."""
    payload = json.dumps(event, indent=2, sort_keys=True).encode()
    for endpoint in list(ENDPOINTS.values()):
        if _wants(endpoint, event["type"]):
            _queue_for(endpoint["id"]).put_nowait((_generation[0], event, payload))


def _queue_for(endpoint_id):
    queue = _queues.get(endpoint_id)
    if queue is None:
        queue = _queues[endpoint_id] = asyncio.Queue()
        _spawn(_worker(endpoint_id, queue))
    return queue


def _spawn(coro):
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def _worker(endpoint_id, queue):
    while True:
        generation, event, payload = await queue.get()
        if generation == _generation[0] and endpoint_id in ENDPOINTS:
            await _attempt(endpoint_id, event, payload, 1)


async def _retry_later(endpoint_id, event, payload, attempt, delay, generation):
    await asyncio.sleep(delay)
    if generation == _generation[0] and endpoint_id in ENDPOINTS:
        await _attempt(endpoint_id, event, payload, attempt)


def sign(payload, secret, timestamp):
    signed = b"%d." % timestamp + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def _attempt(endpoint_id, event, payload, attempt):
    endpoint = ENDPOINTS[endpoint_id]
    generation = _generation[0]
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) sandbox",
        "Stripe-Signature": sign(payload, endpoint["secret"], int(time.time())),
    }
    status, error = None, None
    started = time.time()
    try:
        timeout = aiohttp.ClientTimeout(total=CONFIG["timeout"])
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(endpoint["url"], data=payload, headers=headers) as response:
                status = response.status
                await response.read()
    except TimeoutError:
        error = f"timeout after {CONFIG['timeout']:g} s"
    except aiohttp.ClientError as exc:
        error = f"{type(exc).__name__}: {exc}"
    ok = status is not None and 200 <= status < 300
    if generation != _generation[0]:
        return
    DELIVERIES.append(
        {
            "event": event["id"],
            "type": event["type"],
            "endpoint": endpoint_id,
            "url": endpoint["url"],
            "attempt": attempt,
            "status": status,
            "error": error,
            "ok": ok,
            "time": started,
            "duration_ms": round((time.time() - started) * 1000, 1),
        }
    )
    log.info(
        "webhook %s %s -> %s attempt %d: %s",
        event["type"],
        event["id"],
        endpoint["url"],
        attempt,
        status or error,
    )
    delays = CONFIG["retry_delays"]
    if not ok and attempt <= len(delays):
        _spawn(
            _retry_later(endpoint_id, event, payload, attempt + 1, delays[attempt - 1], generation)
        )


def reset(endpoints=False):
    """Forget deliveries and pending attempts (and registered endpoints if asked)."""
    _generation[0] += 1
    DELIVERIES.clear()
    for queue in _queues.values():
        while not queue.empty():
            queue.get_nowait()
    if endpoints:
        ENDPOINTS.clear()


def _public(endpoint, with_secret=False):
    out = {key: value for key, value in endpoint.items() if key != "secret"}
    out["secret"] = endpoint["secret"] if with_secret else None
    return normalize(out)


def _enabled_events(value):
    if isinstance(value, str):
        value = [value]
    if isinstance(value, dict):
        value = list(value.values())
    if not value or not all(isinstance(item, str) and item for item in value):
        raise StripeError(400, "Missing required param: enabled_events.", param="enabled_events")
    return list(value)


def _url(value):
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise StripeError(
            400, "Invalid URL: the URL must start with http:// or https://.", param="url"
        )
    return value


def register(
    url, secret, enabled_events, id_=None, api_version=None, description=None, metadata=None
):
    endpoint = {
        "id": id_ or new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": int(time.time()),
        "description": description,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": metadata or {},
        "secret": secret,
        "status": "enabled",
        "url": url,
    }
    ENDPOINTS[endpoint["id"]] = endpoint
    return endpoint


async def create_endpoint(request):
    params = await read_params(request)
    api_version = params.get("api_version") or None
    if api_version is not None and api_version != API_VERSION:
        log.warning(
            "endpoint asks for API version %s; the sandbox speaks %s only", api_version, API_VERSION
        )
    endpoint = register(
        _url(params.get("url")),
        new_id("whsec_", 32),
        _enabled_events(params.get("enabled_events")),
        api_version=api_version,
        description=params.get("description") or None,
        metadata=metadata_param(params.get("metadata")),
    )
    return json_response(_public(endpoint, with_secret=True))


def _get(endpoint_id):
    endpoint = ENDPOINTS.get(endpoint_id)
    if endpoint is None:
        raise not_found("webhook_endpoint", endpoint_id)
    return endpoint


async def retrieve_endpoint(request):
    return json_response(_public(_get(match(request, "id"))))


async def update_endpoint(request):
    endpoint = _get(match(request, "id"))
    params = await read_params(request)
    if "url" in params:
        endpoint["url"] = _url(params["url"])
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params["enabled_events"])
    if "disabled" in params:
        endpoint["status"] = "disabled" if to_bool(params["disabled"], "disabled") else "enabled"
    if "description" in params:
        endpoint["description"] = params["description"] or None
    if "metadata" in params:
        endpoint["metadata"].update(metadata_param(params["metadata"]))
    return json_response(_public(endpoint))


async def delete_endpoint(request):
    endpoint = _get(match(request, "id"))
    del ENDPOINTS[endpoint["id"]]
    return json_response({"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True})


async def list_endpoints(request):
    params = await read_params(request)
    items = [_public(endpoint) for endpoint in ENDPOINTS.values()]
    return json_response(paginate(items, params, "/v1/webhook_endpoints"))


async def config_webhook(request):
    """localstripe's ``POST /_config/webhooks/{id}`` (url, secret, events[]) on our delivery."""
    params = await read_params(request)
    secret = params.get("secret")
    if not secret:
        raise StripeError(400, "Missing required param: secret.", param="secret")
    events = params.get("events") or ["*"]
    register(_url(params.get("url")), secret, _enabled_events(events), id_=match(request, "id"))
    return json_response({})


async def list_deliveries(request):
    return json_response({"object": "list", "data": list(DELIVERIES)})


ROUTES = [
    ("POST", "/v1/webhook_endpoints", create_endpoint),
    ("GET", "/v1/webhook_endpoints", list_endpoints),
    ("GET", "/v1/webhook_endpoints/{id}", retrieve_endpoint),
    ("POST", "/v1/webhook_endpoints/{id}", update_endpoint),
    ("DELETE", "/v1/webhook_endpoints/{id}", delete_endpoint),
]

PUBLIC_ROUTES = [
    ("POST", "/_config/webhooks/{id}", config_webhook),
    ("GET", "/_sandbox/webhook_deliveries", list_deliveries),
]
