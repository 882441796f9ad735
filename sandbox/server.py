"""Assemble the sandbox: localstripe's aiohttp app, patched, plus the plugin's routes.

localstripe's module-level ``app`` is reused. Its persistence is replaced (off unless a path is
given: it pickled the whole store to a fixed temporary file after every write, which is slow and
shared between instances), its webhook scheduling is routed to the plugin's events, and
middlewares are arranged so that, outermost first:

1. errors (Stripe's shape; an unexpected exception becomes a JSON 500, never a traceback page),
2. the plugin's public routes (payment page, ``/_sandbox/...``, ``/_config/...``): no API key,
3. faults asked for by tests (a rate limit, failures of the next requests: ``faults``),
4. localstripe's API-key check,
5. validation of every ``/v1`` request against Stripe's description of the pinned version,
6. idempotency keys,
7. acacia shapes for localstripe's own JSON answers,
8. the plugin's ``/v1`` routes, which take precedence over localstripe's routes of the same path.
"""

import json
import logging
import pickle

from aiohttp import web
from aiohttp.web_urldispatcher import UrlDispatcher
from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe.errors import UserError

from . import (
    balance,
    billing,
    checkout,
    customers,
    disputes,
    events,
    faults,
    idempotency,
    invoice_page,
    payment_methods,
    payment_page,
    prices,
    refunds,
    renewals,
    subscriptions,
    validation,
    webhooks,
)
from .common import StripeError, expand_param, json_response, read_params
from .shapes import normalize

log = logging.getLogger("sandbox")

API_ROUTES = (
    prices.ROUTES
    + checkout.ROUTES
    + webhooks.ROUTES
    + refunds.ROUTES
    + subscriptions.ROUTES
    + billing.ROUTES
    + disputes.ROUTES
    + balance.ROUTES
    + customers.ROUTES
)


def reset_data(endpoints=False):
    ls.store.clear()
    idempotency.reset()
    faults.reset()
    webhooks.reset(endpoints=endpoints)


async def flush_store(request):
    reset_data()
    return web.Response()


async def sandbox_reset(request):
    params = await read_params(request)
    reset_data(endpoints=params.get("endpoints") in ("1", "true"))
    return json_response({"reset": True, "endpoints": len(webhooks.ENDPOINTS)})


PUBLIC_ROUTES = (
    payment_page.PUBLIC_ROUTES
    + invoice_page.PUBLIC_ROUTES
    + webhooks.PUBLIC_ROUTES
    + renewals.PUBLIC_ROUTES
    + billing.PUBLIC_ROUTES
    + payment_methods.PUBLIC_ROUTES
    + disputes.PUBLIC_ROUTES
    + faults.PUBLIC_ROUTES
    + [("DELETE", "/_config/data", flush_store), ("POST", "/_sandbox/reset", sandbox_reset)]
)


def _router(routes):
    router = UrlDispatcher()
    for method, path, handler in routes:
        router.add_route(method, path, handler)
    return router


def _dispatching(router):
    @web.middleware
    async def middleware(request, handler):
        found = await router.resolve(request)
        if found.http_exception is not None:
            return await handler(request)
        request["sandbox_match"] = dict(found)
        return await found.handler(request)

    return middleware


def _stripe_error(exc):
    status = exc.code
    body = dict(exc.body["error"])
    if status == 402:
        body["type"] = "card_error"
    if status == 404 and body.get("message") == "Not Found":
        body["message"] = "No such object."
        body["code"] = "resource_missing"
    return json_response({"error": body}, status=status)


@web.middleware
async def error_middleware(request, handler):
    try:
        return await handler(request)
    except StripeError as exc:
        return exc.response()
    except UserError as exc:
        return _stripe_error(exc)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json_response(
            {"error": {"type": "api_error", "message": f"Sandbox error: {exc!r}"}}, status=500
        )


@web.middleware
async def shapes_middleware(request, handler):
    """localstripe answers in 2017-era shapes; answer its JSON in acacia shapes."""
    response = await handler(request)
    if (
        request.path.startswith("/v1/")
        and isinstance(response, web.Response)
        and response.status < 300
        and response.content_type == "application/json"
        and response.body
        and not request.get("sandbox_match")
    ):
        params = await read_params(request)
        data = normalize(json.loads(response.body), expand_param(params))
        return json_response(data, status=response.status)
    return response


class _Persistence:
    def __init__(self, path):
        self.path = path

    def load(self):
        if self.path:
            try:
                with open(self.path, "rb") as f:
                    ls.store.update(pickle.load(f))
            except FileNotFoundError:
                pass

    def dump(self):
        if self.path:
            with open(self.path, "wb") as f:
                pickle.dump(dict(ls.store), f, protocol=pickle.HIGHEST_PROTOCOL)


def _saving(persistence):
    @web.middleware
    async def middleware(request, handler):
        try:
            return await handler(request)
        finally:
            if request.method in ("POST", "DELETE"):
                persistence.dump()

    return middleware


def patch_localstripe(persist_path=None):
    persistence = _Persistence(persist_path)
    ls.Store.__setitem__ = dict.__setitem__
    ls.Store.__delitem__ = dict.__delitem__
    ls.Store.dump_to_disk = lambda store: persistence.dump()
    ls.Store.try_load_from_disk = lambda store: persistence.load()
    ls.schedule_webhook = events.on_localstripe_event
    subscriptions.install()
    renewals.install()
    billing.install()
    payment_methods.install()
    balance.install()
    persistence.load()
    return persistence


def build_app(persist_path=None, retry_delays=None, rate_limit=0):
    persistence = patch_localstripe(persist_path)
    faults.configure(rate_limit)
    if retry_delays is not None:
        webhooks.CONFIG["retry_delays"] = list(retry_delays)
    app = ls_server.app
    app.middlewares.clear()
    app.middlewares.extend(
        [
            error_middleware,
            *([_saving(persistence)] if persist_path else []),
            _dispatching(_router(PUBLIC_ROUTES)),
            faults.faults_middleware,
            ls_server.auth_middleware,
            validation.validation_middleware,
            idempotency.idempotency_middleware,
            shapes_middleware,
            _dispatching(_router(API_ROUTES)),
        ]
    )
    return app
