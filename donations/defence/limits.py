"""How many gifts may be started: per address, per network (/24 for IPv4, /64 for IPv6),
per email, per email domain, and a ceiling of Checkout sessions for the whole platform.

The counters live in the rate limiter's storage (``RATELIMIT_STORAGE_URI``: Redis shared
by every web process, or one process's memory), counted in a moving window so that no
span of the window's length ever lets more through than the limit; a fixed window would
let twice the ceiling through across its edge. Keys are keyed hashes (BLAKE2b with
``SECRET_KEY``), so the storage never holds an address or an email in clear, and each key
lives only as long as its window: that is how long anything keyed by an IP address is
kept. A start is first tested against every limit and only counted once all of them and
the challenge have let it through, so a refused start spends nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItem, parse_many
from limits.strategies import MovingWindowRateLimiter

from donations.enums import BlockReason
from donations.extensions import limiter

#: each reason's setting, in the order a start is checked (the first refusal names it)
SETTINGS = {
    BlockReason.IP: "START_RATE_LIMIT_IP",
    BlockReason.NETWORK: "START_RATE_LIMIT_NETWORK",
    BlockReason.EMAIL: "START_RATE_LIMIT_EMAIL",
    BlockReason.DOMAIN: "START_RATE_LIMIT_DOMAIN",
    BlockReason.CEILING: "START_SESSION_CEILING",
}
IPV4_NETWORK = 24
IPV6_NETWORK = 64


@dataclass(frozen=True)
class Counter:
    """One limit on one key: ``5 per minute`` for one address."""

    reason: BlockReason
    item: RateLimitItem
    key: str


def network_of(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to; an IPv4 address written as
    IPv6 (``::ffff:192.0.2.1``) counts as IPv4. Anything unparsable is its own network."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_NETWORK if parsed.version == 4 else IPV6_NETWORK
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _keyed(kind: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()[:64]
    digest = hashlib.blake2b(value.encode(), key=secret, digest_size=16).hexdigest()
    return f"start-{kind}/{digest}"


def _items(setting: str) -> list[RateLimitItem]:
    """The parsed limits of a setting (``5 per minute;20 per hour``), once per value."""
    parsed = current_app.extensions.setdefault("defence_limits", {})
    text = current_app.config[setting]
    if text not in parsed:
        parsed[text] = parse_many(text) if text.strip() else []
    return parsed[text]


def counters(email: str) -> list[Counter]:
    """Every limit a start by this request's address, for ``email``, is counted against."""
    address = request.remote_addr or "unknown"
    email = email.strip().lower()
    keys = {
        BlockReason.IP: _keyed("ip", address),
        BlockReason.NETWORK: _keyed("network", network_of(address)),
        BlockReason.EMAIL: _keyed("email", email),
        BlockReason.DOMAIN: _keyed("domain", email.rpartition("@")[2]),
        BlockReason.CEILING: "start-ceiling",
    }
    if email.rpartition("@")[2] in current_app.config["START_DOMAIN_EXEMPT"]:
        del keys[BlockReason.DOMAIN]  # a mailbox provider's readers are not one sender
    return [
        Counter(reason, item, keys[reason])
        for reason, setting in SETTINGS.items()
        if reason in keys
        for item in _items(setting)
    ]


def enabled() -> bool:
    """Whether limits are counted (``RATELIMIT_ENABLED``, the limiter's own switch)."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _strategy() -> MovingWindowRateLimiter:
    """A moving-window counter over the limiter's current storage."""
    storage = limiter.storage
    cached = current_app.extensions.get("defence_strategy")
    if cached is None or cached.storage is not storage:
        cached = current_app.extensions["defence_strategy"] = MovingWindowRateLimiter(storage)
    return cached


def first_exceeded(counted: list[Counter]) -> BlockReason | None:
    """The first limit already used up, without counting anything."""
    strategy = _strategy()
    for counter in counted:
        if not strategy.test(counter.item, counter.key):
            return counter.reason
    return None


def spend(counted: list[Counter]) -> BlockReason | None:
    """Count the start against every limit; each count is atomic in the storage, so two
    starts racing for the last place cannot both have it: the loser's reason is returned
    (its counts on the limits before stay spent, as a start tried)."""
    strategy = _strategy()
    for counter in counted:
        if not strategy.hit(counter.item, counter.key):
            return counter.reason
    return None
