"""Events: the ones localstripe emits, the ones it never emits, all in acacia shapes.

localstripe calls ``schedule_webhook(Event(...))`` whenever something happens; the plugin
replaces that function with ``on_localstripe_event`` so that every event is normalized to the
pinned API version, gains its missing companions (``charge.succeeded`` before
``payment_intent.succeeded``, ``invoice.paid`` before ``invoice.payment_succeeded``) and goes
through the plugin's own webhook delivery (localstripe's would send 2017-era payloads, once,
after a fixed second).
"""

from localstripe import resources as ls

from . import API_VERSION, webhooks
from .shapes import normalize


class _Snapshot:
    """What localstripe's ``Event`` expects as its data: something with ``_export``."""

    def __init__(self, data):
        self._data = data

    def _export(self, expand=None):
        return self._data


def emit(type_, obj, previous_attributes=None):
    """Record an event about ``obj`` (a dict or a localstripe object) and deliver it."""
    data = obj._export() if hasattr(obj, "_export") else obj
    event = ls.Event(type_, _Snapshot(data))
    _finish(event, previous_attributes)
    return event


def snapshot(obj):
    """``obj`` as an event would show it now, to find what a change alters."""
    return normalize(obj._export())


def changes(before, after):
    """Stripe's ``previous_attributes``: the earlier value of every top-level field that moved."""
    return {key: before[key] for key in before if before[key] != after.get(key)}


def emit_changes(type_, obj, before):
    """Emit ``type_`` with ``previous_attributes`` if ``obj`` differs from ``before``."""
    previous = changes(before, snapshot(obj))
    if previous:
        emit(type_, obj, previous_attributes=previous)
    return previous


def _finish(event, previous_attributes=None):
    event.api_version = API_VERSION
    event.data = {"object": normalize(event.data["object"])}
    if previous_attributes:
        event.data["previous_attributes"] = previous_attributes
    event.request = {"id": None, "idempotency_key": None}
    exported = normalize(event._export())
    event.pending_webhooks = webhooks.pending_count(event.type)
    exported["pending_webhooks"] = event.pending_webhooks
    webhooks.dispatch(exported)


def on_localstripe_event(event):
    """Stands in for ``localstripe.resources.schedule_webhook``."""
    if event.type == "payment_intent.succeeded":
        charge = event.data["object"].get("latest_charge")
        charge_id = charge.get("id") if isinstance(charge, dict) else charge
        if charge_id and "charge:" + charge_id in ls.store:
            emit("charge.succeeded", ls.store["charge:" + charge_id])
    elif event.type == "invoice.payment_succeeded":
        emit("invoice.paid", event.data["object"])
    _finish(event)
