"""Balance transactions: what each charge, refund and dispute does to the account's balance.

localstripe makes a BalanceTransaction for every succeeded charge and every refund, without fees;
the plugin takes its construction over so that each one carries Stripe's fee under the model
below, and so that disputes can make theirs too. All are answered in acacia shapes at
``GET /v1/balance_transactions/{id}`` and ``GET /v1/balance_transactions`` (``created``,
``currency``, ``source``, ``type``, ``limit``, ``starting_after``, ``ending_before``), and
through ``expand[]=balance_transaction`` on charges and refunds.

The fee model (documented in ``sandbox/README.md``; the product's defaults are the same):

* a charge pays ``round_half_up(amount × percent / 100) + fixed`` minor units: 1.5 % + 25 in EUR,
  1.5 % + 20 in GBP, 2.9 % + 30 in USD and every other currency;
* a refund pays no fee (Stripe keeps the charge's fee): amount −X, fee 0, net −X;
* a dispute withdraws the disputed amount and a dispute fee of 1500 minor units, whatever the
  currency (amount −X, fee 1500); a won dispute reinstates both (amount +X, fee −1500).

The balance is kept in each charge's own currency (no conversion, ``exchange_rate`` null). Money
coming in (charges, reinstatements) is ``pending`` until ``available_on``, two days after it
was created; money going out is ``available`` at once.
"""

import time
from decimal import ROUND_HALF_UP, Decimal

from localstripe import resources as ls

from . import objects
from .common import expand_param, json_response, match, not_found, paginate, read_params
from .shapes import normalize

DAY = 24 * 3600
PENDING_DAYS = 2

DEFAULT_FEE = (Decimal("2.9"), 30)
FEES = {"eur": (Decimal("1.5"), 25), "gbp": (Decimal("1.5"), 20)}
DISPUTE_FEE = 1500


def stripe_fee(amount, currency):
    """Stripe's fee for charging ``amount`` minor units of ``currency``."""
    percent, fixed = FEES.get(currency.lower(), DEFAULT_FEE)
    cut = (Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cut) + fixed


def _fee_details(fee, currency, description):
    if not fee:
        return []
    return [
        {
            "amount": fee,
            "application": None,
            "currency": currency,
            "description": description,
            "type": "stripe_fee",
        }
    ]


def _init(
    txn,
    amount=None,
    currency=None,
    description=None,
    exchange_rate=None,
    reporting_category=None,
    source=None,
    type=None,
    fee=None,
    fee_description="Stripe processing fees",
):
    """Stands in for ``localstripe.resources.BalanceTransaction.__init__``.

    localstripe calls it for charges (type ``charge``) and refunds (type ``refund``) with an
    ``exchange_rate`` of 1.0, which the plugin does not keep; disputes pass their own ``fee``.
    """
    ls.StripeObject.__init__(txn)
    if fee is None:
        fee = stripe_fee(amount, currency) if type == "charge" else 0
    txn.amount = amount
    txn.available_on = txn.created + (PENDING_DAYS * DAY if amount > 0 else 0)
    txn.currency = currency
    txn.description = description
    txn.exchange_rate = None
    txn.fee = fee
    txn.fee_details = _fee_details(fee, currency, fee_description)
    txn.reporting_category = reporting_category
    txn.source = source
    txn.type = type


def _status(txn):
    return "available" if time.time() >= txn.available_on else "pending"


def install():
    ls.BalanceTransaction.__init__ = _init
    ls.BalanceTransaction.status = property(_status)


def dispute_withdrawal(dispute):
    """The balance transaction of the money a dispute takes out, with the dispute fee."""
    return ls.BalanceTransaction(
        amount=-dispute["amount"],
        currency=dispute["currency"],
        description=f"Chargeback withdrawal for {dispute['charge']}",
        reporting_category="dispute",
        source=dispute["id"],
        type="adjustment",
        fee=DISPUTE_FEE,
        fee_description="Dispute fee",
    )


def dispute_reinstatement(dispute):
    """The balance transaction of a won dispute: the money and the dispute fee come back."""
    return ls.BalanceTransaction(
        amount=dispute["amount"],
        currency=dispute["currency"],
        description=f"Chargeback reversal for {dispute['charge']}",
        reporting_category="dispute_reversal",
        source=dispute["id"],
        type="adjustment",
        fee=-DISPUTE_FEE,
        fee_description="Dispute fee refund",
    )


async def retrieve(request):
    params = await read_params(request)
    txn = ls.store.get("balance_transaction:" + match(request, "id"))
    if txn is None:
        raise not_found("balance_transaction", match(request, "id"))
    return json_response(normalize(txn._export(), expand_param(params)))


async def list_all(request):
    params = await read_params(request)
    expand = expand_param(params)
    items = [txn._export() for txn in objects.all_of("balance_transaction")]
    for key in ("currency", "source", "type"):
        if params.get(key):
            items = [item for item in items if item[key] == params[key]]
    if params.get("payout"):
        if ls.store.get("payout:" + params["payout"]) is None:
            raise not_found("payout", params["payout"])
        items = []  # the sandbox never pays its balance out
    page = paginate([normalize(item) for item in items], params, "/v1/balance_transactions")
    return json_response(normalize(page, expand))


ROUTES = [
    ("GET", "/v1/balance_transactions", list_all),
    ("GET", "/v1/balance_transactions/{id}", retrieve),
]
