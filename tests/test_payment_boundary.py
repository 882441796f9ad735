"""Only ``donations/payments/`` knows Stripe: its SDK, its strings, its id prefixes.

The rest of the product reads the project's own types and enums, so an API upgrade
touches one package. These tests read the source (string literals, not comments) so a
Stripe string that creeps back in fails here rather than at the next upgrade.
"""

from __future__ import annotations

import ast
import enum
import re
from pathlib import Path

from donations import enums
from donations.payments import stripe_gateway
from donations.payments.types import CheckoutStatus, InvoiceStatus

PRODUCT = Path(__file__).resolve().parent.parent / "donations"
BOUNDARY = PRODUCT / "payments"

#: Stripe's object id prefixes (a test like ``startswith("pi_")`` belongs in the gateway)
ID_PREFIX = re.compile(r"^(pi|ch|py|in|sub|cus|re|evt|cs|pm|seti|price|prod|we|dp|txn|ii|il)_")


def _stripe_words() -> set[str]:
    """Every status and event type string the gateway translates, less the words that are
    also the project's own vocabulary (a gift is ``active`` or ``paid`` too). Modes and
    intervals (``payment``, ``month``) are plain English elsewhere and are not listed."""
    words = set(stripe_gateway.EVENT_KINDS)
    for table in (
        stripe_gateway.SUBSCRIPTION_STATUSES,
        stripe_gateway.PAYMENT_INTENT_STATUSES,
        stripe_gateway.REFUND_STATUSES,
        stripe_gateway.DISPUTE_STATUSES,
    ):
        words.update(table)
    words.update(stripe_gateway.PAID_SESSION)
    for kind in (CheckoutStatus, InvoiceStatus):
        words.update(member.value for member in kind if member.name != "OTHER")
    ours = {
        member.value
        for value in vars(enums).values()
        if isinstance(value, type) and issubclass(value, enum.Enum)
        for member in value
    }
    return words - ours


def _literals(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module, without its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _outside_the_boundary() -> list[Path]:
    return [path for path in PRODUCT.rglob("*.py") if BOUNDARY not in path.parents]


def test_only_the_payments_package_imports_the_stripe_sdk():
    importing = [
        str(path.relative_to(PRODUCT))
        for path in _outside_the_boundary()
        if re.search(r"^\s*(import stripe|from stripe\b)", path.read_text(), re.MULTILINE)
    ]
    assert importing == []


def test_no_stripe_status_or_event_type_string_outside_the_payments_package():
    words = _stripe_words()
    assert {"canceled", "checkout.session.completed", "requires_payment_method"} <= words
    found = [
        f"{path.relative_to(PRODUCT)}:{line}: {text!r}"
        for path in _outside_the_boundary()
        for line, text in _literals(path)
        if text in words
    ]
    assert found == []


def test_no_stripe_id_prefix_outside_the_payments_package():
    found = [
        f"{path.relative_to(PRODUCT)}:{line}: {text!r}"
        for path in _outside_the_boundary()
        for line, text in _literals(path)
        if ID_PREFIX.match(text)
    ]
    assert found == []
