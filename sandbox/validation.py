"""Refuse what Stripe refuses: every ``/v1`` request is checked against the pinned version.

Stripe checks a request before acting on it and answers the first problem with a 400
``invalid_request_error`` whose ``param`` names the parameter in its bracketed form
(``line_items[0][price_data][currency]``). The sandbox does the same from Stripe's description of
acacia (``sandbox.spec``): unknown parameters, missing required ones, values of the wrong type,
values outside an enum, empty strings for parameters that cannot be unset, and the rules the
descriptions state in words (ranges such as ``limit`` between 1 and 100, currencies in
lowercase, the Checkout Session parameters that depend on ``mode`` or exclude each other). A URL
Stripe does not have is answered 404, as Stripe does. The check runs before idempotency keys are
looked at, so a refused request is not remembered, as on Stripe.
"""

import functools
import json
import logging
import re

from aiohttp import web

from .common import StripeError, read_params, to_bool
from .spec import SPEC

log = logging.getLogger("sandbox.validation")

API_VERSIONS = frozenset(
    SPEC.operation("POST", "/v1/webhook_endpoints").params["properties"]["api_version"]["enum"]
)


class Invalid(StripeError):
    """A request Stripe would refuse (HTTP 400)."""

    def __init__(self, message, param=None, code=None):
        super().__init__(400, message, code=code, param=param)


def validate(method, path, params):
    """Raise ``StripeError`` when Stripe would refuse ``params`` on ``method path``."""
    operation = SPEC.operation(method, path)
    if operation is None:
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )
    _check_object(params, operation.params, "")
    for rule in RULES.get((operation.method, operation.path), ()):
        rule(params)


@web.middleware
async def validation_middleware(request, handler):
    if request.path.startswith("/v1/") and request.method in ("GET", "POST", "DELETE"):
        try:
            check_version(request.headers.get("Stripe-Version"))
            validate(request.method, request.path, await read_params(request))
        except StripeError as refusal:
            log.warning("refused %s %s: %s", request.method, request.path, refusal)
            raise
    return await handler(request)


def check_version(version):
    """A ``Stripe-Version`` header must name a version Stripe has (the sandbox answers in
    acacia shapes whatever it names)."""
    if version is not None and version not in API_VERSIONS:
        raise Invalid(f"Invalid Stripe API version: {version}")


def _join(param, name):
    return f"{param}[{name}]" if param else name


def _check(value, schema, param, description=""):
    description = schema.get("description") or description
    if "anyOf" in schema:
        _check_any_of(value, schema["anyOf"], param, description)
        return
    if value == "" and schema.get("enum") != [""]:
        raise Invalid(
            f"You passed an empty string for '{param}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{param}' cannot be unset. You should remove "
            f"'{param}' from your request or supply a non-empty value.",
            param,
            "parameter_invalid_empty",
        )
    CHECKS[schema["type"]](value, schema, param, description)


def _check_any_of(value, alternatives, param, description):
    """Accept ``value`` if one alternative takes it; otherwise report the alternative meant."""
    problems = []
    for alternative in alternatives:
        try:
            _check(value, alternative, param, description)
            return
        except StripeError as problem:
            problems.append((alternative, problem))
    meant = [problem for alternative, problem in problems if _fits(value, alternative)]
    raise (meant or [problem for _, problem in problems])[-1]


def _fits(value, schema):
    """Whether ``value`` has the form of ``schema`` (a map, a list, or a non-empty scalar)."""
    if schema.get("enum") == [""]:
        return False
    form = {"object": dict, "array": list}.get(schema["type"], str | int | float | bool)
    return isinstance(value, form)


def _check_object(value, schema, param, description=""):
    if not isinstance(value, dict):
        raise Invalid("Invalid object", param)
    properties = schema.get("properties", {})
    entries = schema.get("additionalProperties", False)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], _join(param, name))
        elif entries is not False:
            # A map such as metadata: an empty value unsets that key.
            if entries and item != "":
                _check(item, entries, _join(param, name))
        else:
            raise Invalid(
                f"Received unknown parameter: {_join(param, name)}",
                _join(param, name),
                "parameter_unknown",
            )
    for name in schema.get("required", ()):
        if name not in value:
            raise Invalid(
                f"Missing required param: {_join(param, name)}.",
                _join(param, name),
                "parameter_missing",
            )


def _check_array(value, schema, param, description):
    if not isinstance(value, list):
        raise Invalid("Invalid array", param)
    for index, item in enumerate(value):
        _check(item, schema["items"], f"{param}[{index}]")


def _check_string(value, schema, param, description):
    if not isinstance(value, str):
        raise Invalid(f"Invalid string: {json.dumps(value)}", param)
    if "enum" in schema and value not in schema["enum"]:
        raise Invalid(f"Invalid {param}: must be one of {_one_of(schema['enum'])}", param)
    if _leaf(param) == "currency" and "in lowercase" in description:
        if not re.fullmatch(r"[a-z]{3}", value):
            raise Invalid(
                f"Invalid currency: {value}. Currencies are three-letter ISO codes in "
                "lowercase, such as usd.",
                param,
            )


def _check_integer(value, schema, param, description):
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))
    ):
        raise Invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    minimum, maximum = stated_range(description)
    if minimum is not None and int(value) < minimum:
        raise Invalid(f"This value must be greater than or equal to {minimum}.", param)
    if maximum is not None and int(value) > maximum:
        raise Invalid(f"This value must be less than or equal to {maximum}.", param)


def _check_number(value, schema, param, description):
    try:
        float(value)
    except (TypeError, ValueError):
        raise Invalid(f"Invalid decimal: {value}", param) from None


def _check_boolean(value, schema, param, description):
    to_bool(value, param)


CHECKS = {
    "object": _check_object,
    "array": _check_array,
    "string": _check_string,
    "integer": _check_integer,
    "number": _check_number,
    "boolean": _check_boolean,
}


@functools.cache
def stated_range(description):
    """The bounds an integer's description states in words, as ``(minimum, maximum)``.

    "Limit can range between 1 and 100", "A non-negative integer", "A positive integer (or 0
    for a free price)" and "A positive integer" are the phrasings Stripe uses.
    """
    between = re.search(r"can range between (\d+) and (\d+)", description)
    if between:
        return int(between.group(1)), int(between.group(2))
    if re.search(r"\bnon-negative integer\b|\(or 0\b", description, re.IGNORECASE):
        return 0, None
    if re.search(r"\bpositive integer\b", description, re.IGNORECASE):
        return 1, None
    return None, None


def _leaf(param):
    return param.rsplit("[", 1)[-1].rstrip("]")


def _one_of(values):
    values = [value for value in values if value != ""]
    if len(values) < 3:
        return " or ".join(values)
    return ", ".join(values[:-1]) + ", or " + values[-1]


def _checkout_session_rules(params):
    """What the Checkout Session parameters' descriptions say in words."""
    mode = params.get("mode")
    for name, wanted in (
        ("payment_intent_data", "payment"),
        ("subscription_data", "subscription"),
        ("setup_intent_data", "setup"),
    ):
        if name in params and mode != wanted:
            raise Invalid(f"You can only specify `{name}` in `{wanted}` mode.", name)
    # The 2024-11-20.acacia changelog allows submit_type in subscription mode too.
    if "submit_type" in params and mode not in ("payment", "subscription"):
        raise Invalid(
            "You can only specify `submit_type` in `payment` or `subscription` mode.",
            "submit_type",
        )
    if "customer" in params and "customer_email" in params:
        raise Invalid(
            "You may only specify one of these parameters: customer, customer_email.",
            "customer_email",
            "parameters_exclusive",
        )


RULES = {("POST", "/v1/checkout/sessions"): [_checkout_session_rules]}
