"""Helpers shared by the plugin's routes: Stripe-style errors, parameters, JSON and lists.

Stripe answers every error as ``{"error": {"type", "message", "code", "param", ...}}`` and every
list as ``{"object": "list", "data", "has_more", "url"}``, newest first; these helpers keep the
plugin's routes consistent with that.
"""

import json
import operator
import os
import secrets
import string

from aiohttp import web
from localstripe.server import get_post_data, unflatten_data

_ALPHABET = string.ascii_letters + string.digits


class StripeError(Exception):
    """An error answered to the client in Stripe's error shape."""

    def __init__(
        self,
        status,
        message,
        type="invalid_request_error",
        code=None,
        param=None,
        **extra,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"type": type, "message": message, **extra}
        if code is not None:
            self.body["code"] = code
            self.body["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
        if param is not None:
            self.body["param"] = param

    def response(self):
        return json_response({"error": self.body}, status=self.status)


def not_found(kind, id_):
    return StripeError(404, f"No such {kind}: '{id_}'", code="resource_missing", param="id")


def new_id(prefix, length=24):
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def public_base(request):
    """Where browsers reach the sandbox: ``SANDBOX_PUBLIC_URL``, else the host called."""
    configured = os.environ.get("SANDBOX_PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def json_response(data, status=200, headers=None):
    body = json.dumps(data, indent=2, sort_keys=True) + "\n"
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


async def read_params(request):
    """Parameters of a request: the form body of a POST, the query string otherwise."""
    if request.method == "POST":
        data = await get_post_data(request) or {}
        query = unflatten_data(request.query) if request.query else {}
        return {**query, **data}
    return unflatten_data(request.query) if request.query else {}


def match(request, name):
    return request["sandbox_match"][name]


def to_int(value, param, minimum=None):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {value}", param=param) from None
    if minimum is not None and number < minimum:
        raise StripeError(
            400, f"This value must be greater than or equal to {minimum}.", param=param
        )
    return number


def to_bool(value, param):
    """A form boolean: the Python SDK sends ``True``/``False``, others ``true``/``false``."""
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise StripeError(400, f"Invalid boolean: {value}", param=param)


def as_dict(value, param):
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, f"Invalid object: {param}", param=param)
    return value


def metadata_param(value, param="metadata"):
    metadata = as_dict(value, param)
    return {str(k): str(v) for k, v in metadata.items()}


def merged_metadata(current, value):
    """Stripe's metadata update: keys merge, an empty value unsets its key, ``""`` clears all."""
    if value == "":
        return {}
    merged = dict(current or {})
    for key, item in as_dict(value, "metadata").items():
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = str(item)
    return merged


def expand_param(params):
    expand = params.pop("expand", None) or []
    if isinstance(expand, str):
        expand = [expand]
    if isinstance(expand, dict):
        expand = list(expand.values())
    return list(expand)


COMPARISONS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _created_filter(created):
    if created is None:
        return lambda ts: True
    if not isinstance(created, dict):
        return lambda ts: ts == int(created)
    bounds = [(COMPARISONS[op], int(value)) for op, value in created.items()]
    return lambda ts: all(compare(ts, bound) for compare, bound in bounds)


def paginate(items, params, url):
    """A Stripe list of ``items`` (dicts in creation order), newest first.

    Honours ``created`` (an exact timestamp or gt/gte/lt/lte), ``limit`` (default 10),
    ``starting_after`` and ``ending_before``; the request has been validated already.
    """
    keep = _created_filter(params.get("created"))
    items = [item for item in reversed(items) if keep(item["created"])]
    items.sort(key=lambda item: item["created"], reverse=True)  # stable: ties stay newest first
    limit = int(params.get("limit", 10))
    ids = [item["id"] for item in items]
    if params.get("starting_after"):
        cursor = params["starting_after"]
        if cursor not in ids:
            raise not_found("object", cursor)
        start = ids.index(cursor) + 1
        page = items[start : start + limit]
        has_more = start + limit < len(items)
    elif params.get("ending_before"):
        cursor = params["ending_before"]
        if cursor not in ids:
            raise not_found("object", cursor)
        end = ids.index(cursor)
        page = items[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        page = items[:limit]
        has_more = len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}
