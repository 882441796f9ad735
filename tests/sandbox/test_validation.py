"""The sandbox refuses what Stripe refuses, in Stripe's words, over plain HTTP (no SDK).

Every ``/v1`` request is checked against Stripe's description of API version 2025-02-24.acacia
before anything happens; a refusal is a 400 ``invalid_request_error`` naming the parameter.
"""

import pytest
import requests

CHECKOUT = {
    "mode": "payment",
    "line_items[0][quantity]": "1",
    "line_items[0][price_data][currency]": "usd",
    "line_items[0][price_data][unit_amount]": "500",
    "line_items[0][price_data][product_data][name]": "One-time gift",
    "success_url": "http://shop.test/thanks?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://shop.test/support",
    "customer_email": "reader@example.com",
}
MONTHLY = {
    **CHECKOUT,
    "mode": "subscription",
    "line_items[0][price_data][recurring][interval]": "month",
}


class Api:
    def __init__(self, sandbox):
        self.url = sandbox.url
        self.headers = {"Authorization": f"Bearer {sandbox.api_key}"}

    def post(self, path, data, **headers):
        return requests.post(self.url + path, data=data, headers={**self.headers, **headers})

    def get(self, path, **params):
        return requests.get(self.url + path, params=params, headers=self.headers)

    def delete(self, path, **params):
        return requests.delete(self.url + path, params=params, headers=self.headers)


@pytest.fixture
def http(sandbox):
    return Api(sandbox)


def refusal(response, param):
    """The error of a 400 ``invalid_request_error`` about ``param``."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    return error


def test_a_valid_request_is_answered(http):
    assert http.post("/v1/checkout/sessions", CHECKOUT).status_code == 200
    assert http.post("/v1/checkout/sessions", MONTHLY).status_code == 200


@pytest.mark.parametrize("param", ["bogus", "line_items[0][bogus]", "payment_intent_data[bogus]"])
def test_unknown_parameters_are_refused(http, param):
    error = refusal(http.post("/v1/checkout/sessions", {**CHECKOUT, param: "1"}), param)
    assert error["message"] == f"Received unknown parameter: {param}"
    assert error["code"] == "parameter_unknown"


def test_unknown_query_parameters_are_refused_on_get_and_delete(http):
    error = refusal(http.get("/v1/charges", bogus="1"), "bogus")
    assert error["message"] == "Received unknown parameter: bogus"
    assert refusal(http.delete("/v1/webhook_endpoints/we_x", bogus="1"), "bogus")


def test_a_value_outside_the_enum_is_refused(http):
    error = refusal(http.post("/v1/checkout/sessions", {**CHECKOUT, "locale": "xx"}), "locale")
    assert error["message"].startswith("Invalid locale: must be one of auto, bg, cs,")
    assert error["message"].endswith(", zh-HK, or zh-TW")


def test_webhook_endpoint_api_version_and_events_must_be_stripes(http):
    endpoint = {"url": "http://shop.test/webhooks", "enabled_events[]": "*"}
    response = http.post("/v1/webhook_endpoints", {**endpoint, "api_version": "2099-01-01"})
    error = refusal(response, "api_version")
    assert error["message"].startswith("Invalid api_version: must be one of 2011-01-01,")
    response = http.post(
        "/v1/webhook_endpoints",
        {"url": "http://shop.test/webhooks", "enabled_events[]": "not.an.event"},
    )
    error = refusal(response, "enabled_events[0]")
    assert error["message"].startswith("Invalid enabled_events[0]: must be one of *, account.")
    assert http.get("/v1/webhook_endpoints").json()["data"] == []

    created = http.post("/v1/webhook_endpoints", {**endpoint, "api_version": "2025-02-24.acacia"})
    assert created.status_code == 200 and created.json()["api_version"] == "2025-02-24.acacia"


@pytest.mark.parametrize(
    ("method", "path", "data", "param", "message"),
    [
        (
            "post",
            "/v1/checkout/sessions",
            {**CHECKOUT, "line_items[0][price_data][unit_amount]": "ten"},
            "line_items[0][price_data][unit_amount]",
            "Invalid integer: ten",
        ),
        (
            "post",
            "/v1/subscriptions/sub_missing",
            {"cancel_at_period_end": "maybe"},
            "cancel_at_period_end",
            "Invalid boolean: maybe",
        ),
        ("get", "/v1/charges", {"created[gte]": "soon"}, "created[gte]", "Invalid integer: soon"),
        ("get", "/v1/checkout/sessions/cs_x", {"expand": "customer"}, "expand", "Invalid array"),
        (
            "post",
            "/v1/checkout/sessions",
            {**CHECKOUT, "metadata": "x"},
            "metadata",
            "Invalid object",
        ),
    ],
)
def test_values_of_the_wrong_type_are_refused(http, method, path, data, param, message):
    response = http.post(path, data) if method == "post" else http.get(path, **data)
    assert refusal(response, param)["message"] == message


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "This value must be greater than or equal to 1."),
        ("101", "This value must be less than or equal to 100."),
    ],
)
def test_limit_must_be_between_1_and_100(http, limit, message):
    assert refusal(http.get("/v1/checkout/sessions", limit=limit), "limit")["message"] == message
    assert refusal(http.get("/v1/charges", limit=limit), "limit")["message"] == message
    assert http.get("/v1/checkout/sessions", limit="100").status_code == 200


def test_a_negative_unit_amount_is_refused(http):
    price = {"currency": "usd", "unit_amount": "-1", "product_data[name]": "Gift"}
    error = refusal(http.post("/v1/prices", price), "unit_amount")
    assert error["message"] == "This value must be greater than or equal to 0."
    assert http.post("/v1/prices", {**price, "unit_amount": "0"}).status_code == 200


def test_missing_required_parameters_are_refused(http):
    error = refusal(
        http.post("/v1/webhook_endpoints", {"url": "http://shop.test/webhooks"}), "enabled_events"
    )
    assert error["message"] == "Missing required param: enabled_events."
    assert error["code"] == "parameter_missing"
    without_currency = {k: v for k, v in CHECKOUT.items() if not k.endswith("[currency]")}
    error = refusal(
        http.post("/v1/checkout/sessions", without_currency), "line_items[0][price_data][currency]"
    )
    assert error["message"] == "Missing required param: line_items[0][price_data][currency]."


def test_an_empty_string_only_unsets_what_can_be_unset(http):
    error = refusal(
        http.post("/v1/checkout/sessions", {**CHECKOUT, "customer_email": ""}), "customer_email"
    )
    assert error["code"] == "parameter_invalid_empty"
    assert error["message"].startswith("You passed an empty string for 'customer_email'.")
    assert http.post("/v1/checkout/sessions", {**CHECKOUT, "metadata[gift_id]": ""}).ok


def test_currency_must_be_lowercase(http):
    response = http.post(
        "/v1/checkout/sessions", {**CHECKOUT, "line_items[0][price_data][currency]": "USD"}
    )
    error = refusal(response, "line_items[0][price_data][currency]")
    assert error["message"].startswith("Invalid currency: USD.")
    assert refusal(
        http.post(
            "/v1/prices", {"currency": "Eur", "unit_amount": "100", "product_data[name]": "x"}
        ),
        "currency",
    )


def test_payment_intent_data_only_in_payment_mode(http):
    response = http.post(
        "/v1/checkout/sessions", {**MONTHLY, "payment_intent_data[metadata][a]": "1"}
    )
    error = refusal(response, "payment_intent_data")
    assert error["message"] == "You can only specify `payment_intent_data` in `payment` mode."
    assert http.post(
        "/v1/checkout/sessions", {**CHECKOUT, "payment_intent_data[metadata][a]": "1"}
    ).ok


def test_subscription_data_only_in_subscription_mode(http):
    response = http.post(
        "/v1/checkout/sessions", {**CHECKOUT, "subscription_data[metadata][a]": "1"}
    )
    error = refusal(response, "subscription_data")
    assert error["message"] == "You can only specify `subscription_data` in `subscription` mode."
    assert http.post("/v1/checkout/sessions", {**MONTHLY, "subscription_data[metadata][a]": "1"}).ok


def test_submit_type_in_payment_and_subscription_modes_only(http):
    for session in (CHECKOUT, MONTHLY):
        answer = http.post("/v1/checkout/sessions", {**session, "submit_type": "donate"})
        assert answer.status_code == 200 and answer.json()["submit_type"] == "donate"
    response = http.post(
        "/v1/checkout/sessions", {**CHECKOUT, "mode": "setup", "submit_type": "pay"}
    )
    assert refusal(response, "submit_type")["message"] == (
        "You can only specify `submit_type` in `payment` or `subscription` mode."
    )


def test_customer_and_customer_email_not_together(http):
    customer = http.post("/v1/customers", {"email": "known@example.com"}).json()
    response = http.post("/v1/checkout/sessions", {**CHECKOUT, "customer": customer["id"]})
    error = refusal(response, "customer_email")
    assert (
        error["message"]
        == "You may only specify one of these parameters: customer, customer_email."
    )
    without_email = {k: v for k, v in CHECKOUT.items() if k != "customer_email"}
    assert http.post("/v1/checkout/sessions", {**without_email, "customer": customer["id"]}).ok


@pytest.mark.parametrize(
    ("currency", "too_small", "minimum", "shown"),
    [("usd", 49, 50, "$0.50 usd"), ("eur", 49, 50, "€0.50 eur"), ("gbp", 29, 30, "£0.30 gbp")],
)
def test_a_checkout_below_the_minimum_charge_is_refused(http, currency, too_small, minimum, shown):
    for session in (CHECKOUT, MONTHLY):
        small = {
            **session,
            "line_items[0][price_data][currency]": currency,
            "line_items[0][price_data][unit_amount]": str(too_small),
        }
        error = refusal(
            http.post("/v1/checkout/sessions", small), "line_items[0][price_data][unit_amount]"
        )
        assert error["code"] == "amount_too_small"
        assert error["message"] == (
            f"The Checkout Session's total amount due must add up to at least {shown}"
        )
        enough = {**small, "line_items[0][price_data][unit_amount]": str(minimum)}
        assert http.post("/v1/checkout/sessions", enough).status_code == 200


def test_a_stored_price_below_the_minimum_is_refused_at_checkout(http):
    price = http.post(
        "/v1/prices", {"currency": "usd", "unit_amount": "10", "product_data[name]": "Tiny"}
    ).json()
    response = http.post(
        "/v1/checkout/sessions",
        {
            "mode": "payment",
            "line_items[0][price]": price["id"],
            "line_items[0][quantity]": "1",
            "success_url": "http://shop.test/ok",
        },
    )
    assert refusal(response, "line_items[0][price]")["code"] == "amount_too_small"


def test_an_unknown_url_is_not_found(http):
    response = http.get("/v1/nothing_here")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/nothing_here)."
    )


def test_a_refused_request_does_not_use_up_its_idempotency_key(http):
    refused = http.post(
        "/v1/checkout/sessions", {**CHECKOUT, "bogus": "1"}, **{"Idempotency-Key": "k1"}
    )
    assert refused.status_code == 400
    accepted = http.post("/v1/checkout/sessions", CHECKOUT, **{"Idempotency-Key": "k1"})
    assert accepted.status_code == 200
    assert "Idempotent-Replayed" not in accepted.headers


def test_sandbox_routes_are_not_stripes_and_not_validated(sandbox, http):
    assert requests.post(f"{sandbox.url}/_sandbox/reset", params={"bogus": "1"}).status_code == 200


def test_an_unknown_api_version_header_is_refused(sandbox, http):
    response = requests.get(
        f"{sandbox.url}/v1/checkout/sessions",
        headers={**http.headers, "Stripe-Version": "2099-01-01"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid Stripe API version: 2099-01-01"
    pinned = {**http.headers, "Stripe-Version": "2025-02-24.acacia"}
    assert requests.get(f"{sandbox.url}/v1/checkout/sessions", headers=pinned).ok
