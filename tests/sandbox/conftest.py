"""Fixtures for the sandbox's own tests: the ``stripe`` SDK pointed at the sandbox, pinned to
the product's API version, and a webhook receiver that verifies every signature."""

import http.server
import threading
import time

import pytest
import stripe

API_VERSION = "2025-02-24.acacia"


@pytest.fixture
def api(sandbox):
    """The ``stripe`` module configured as the product configures it."""
    saved = (stripe.api_key, stripe.api_base, stripe.api_version, stripe.max_network_retries)
    stripe.api_key = sandbox.api_key
    stripe.api_base = sandbox.url
    stripe.api_version = API_VERSION
    stripe.max_network_retries = 0
    yield stripe
    stripe.api_key, stripe.api_base, stripe.api_version, stripe.max_network_retries = saved


class Receiver:
    """A tiny HTTP server that checks ``Stripe-Signature`` and keeps the verified events."""

    def __init__(self):
        self.events = []
        self.failures = []
        self.fail_first = 0
        self.secret = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers["Stripe-Signature"], receiver.secret
                    )
                except Exception as exc:  # recorded, then asserted on by the tests
                    receiver.failures.append(exc)
                    self.send_response(400)
                else:
                    receiver.events.append(event)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def types(self):
        return [event.type for event in self.events]

    def wait_for(self, *types, count=1, timeout=10):
        """The verified events of these types, once there are ``count`` of each."""
        deadline = time.monotonic() + timeout
        while True:
            found = {t: [e for e in self.events if e.type == t] for t in types}
            if all(len(events) >= count for events in found.values()):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {types} x{count}, got {self.types()}")
            time.sleep(0.02)


@pytest.fixture
def receiver(api):
    receiver = Receiver()
    endpoint = api.WebhookEndpoint.create(
        url=receiver.url, enabled_events=["*"], api_version=API_VERSION
    )
    receiver.secret = endpoint.secret
    receiver.endpoint = endpoint
    yield receiver
    receiver.server.shutdown()
    assert not receiver.failures, receiver.failures
