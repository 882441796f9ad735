"""Balance transactions under the sandbox's fee model, and disputes from opening to decision,
driven as the product drives them: the ``stripe`` SDK, pinned to acacia."""

import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests
import stripe

from .helpers import (
    DAY,
    close_dispute,
    near,
    one_time_session,
    paid_charge,
    retry,
    saved_card,
    subscribed,
)


def fee(amount, percent, fixed):
    cut = (Decimal(amount) * Decimal(percent) / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return int(cut) + fixed


def balance_of(charge_id):
    return stripe.Charge.retrieve(charge_id, expand=["balance_transaction"]).balance_transaction


@pytest.mark.parametrize(
    ("currency", "amount", "expected_fee"),
    [
        ("usd", 2500, 73 + 30),  # 2.9 % of 2500 is 72.5: half rounds up
        ("eur", 1000, 15 + 25),
        ("gbp", 700, 11 + 20),  # 1.5 % of 700 is 10.5
        ("cad", 1000, 29 + 30),
    ],
)
def test_a_charge_pays_the_fee_of_its_currency(sandbox, api, currency, amount, expected_fee):
    charge = paid_charge(sandbox, amount=amount, currency=currency)

    txn = balance_of(charge.id)

    assert txn.id.startswith("txn_") and txn.object == "balance_transaction"
    assert (txn.amount, txn.fee, txn.net, txn.currency) == (
        amount,
        expected_fee,
        amount - expected_fee,
        currency,
    )
    assert [(d.type, d.amount, d.currency) for d in txn.fee_details] == [
        ("stripe_fee", expected_fee, currency)
    ]
    assert (txn.type, txn.reporting_category, txn.source) == ("charge", "charge", charge.id)
    assert (txn.status, txn.available_on) == ("pending", txn.created + 2 * DAY)
    assert txn.exchange_rate is None
    assert stripe.BalanceTransaction.retrieve(txn.id) == txn


def test_balance_transactions_are_reached_through_nested_expansions(sandbox, api):
    session = one_time_session(amount=1000, currency="gbp")
    sandbox.pay(session.id)

    expanded = stripe.checkout.Session.retrieve(
        session.id, expand=["payment_intent.latest_charge.balance_transaction"]
    )

    txn = expanded.payment_intent.latest_charge.balance_transaction
    assert (txn.object, txn.fee) == ("balance_transaction", 15 + 20)
    charge = stripe.BalanceTransaction.retrieve(txn.id, expand=["source"]).source
    assert (charge.object, charge.id) == ("charge", expanded.payment_intent.latest_charge.id)
    dispute = sandbox.dispute(charge.id)
    [listed] = stripe.Dispute.list(expand=["data.charge.balance_transaction"]).data
    assert listed.charge.balance_transaction.id == txn.id
    withdrawal = stripe.BalanceTransaction.retrieve(
        dispute["balance_transactions"][0]["id"], expand=["source"]
    )
    assert (withdrawal.source.object, withdrawal.source.id) == ("dispute", dispute["id"])


def test_every_paid_invoice_of_a_subscription_has_its_fee(sandbox, api):
    subscription = subscribed(sandbox, amount=1000)
    first = stripe.Invoice.retrieve(subscription.latest_invoice)
    renewal = sandbox.renew(subscription.id)
    sandbox.fail_next_renewal(subscription.id)
    declined = sandbox.renew(subscription.id)
    stripe.Subscription.modify(
        subscription.id, default_payment_method=saved_card(sandbox, subscription)
    )
    retried = retry(sandbox, declined["id"])
    sandbox.fail_next_renewal(subscription.id)
    unpaid = sandbox.renew(subscription.id)
    paid_by_hand = stripe.Invoice.pay(
        unpaid["id"], payment_method=saved_card(sandbox, subscription, card="4242424242424242")
    )

    invoices = [first, renewal, retried, paid_by_hand]
    assert [invoice["status"] for invoice in invoices] == ["paid"] * 4
    for invoice in invoices:
        txn = balance_of(invoice["charge"])
        assert (txn.amount, txn.fee, txn.net) == (1000, 59, 941)
        assert txn.source == invoice["charge"]
    failed_charges = stripe.Charge.list(limit=100, customer=subscription.customer)
    declined_charges = [c for c in failed_charges.auto_paging_iter() if c.status == "failed"]
    assert len(declined_charges) == 2
    assert all(c.balance_transaction is None for c in declined_charges)


def test_a_refund_gives_back_the_amount_and_keeps_the_fee(sandbox, api):
    charge = paid_charge(sandbox, amount=2500)

    refund = stripe.Refund.create(charge=charge.id, amount=400)

    txn = stripe.Refund.retrieve(refund.id, expand=["balance_transaction"]).balance_transaction
    assert (txn.amount, txn.fee, txn.net, txn.fee_details) == (-400, 0, -400, [])
    assert (txn.type, txn.reporting_category, txn.source) == ("refund", "refund", refund.id)
    assert txn.status == "available"
    assert stripe.BalanceTransaction.retrieve(refund.balance_transaction).id == txn.id
    assert balance_of(charge.id).fee == 103


def test_a_won_dispute_takes_the_money_and_fee_then_gives_both_back(sandbox, api, receiver):
    charge = paid_charge(sandbox, amount=5000)

    opened = sandbox.dispute(charge.id, reason="product_not_received")

    assert opened["id"].startswith("dp_")
    assert (opened["status"], opened["amount"], opened["currency"], opened["reason"]) == (
        "needs_response",
        5000,
        "usd",
        "product_not_received",
    )
    assert (opened["charge"], opened["payment_intent"]) == (charge.id, charge.payment_intent)
    assert near(opened["evidence_details"]["due_by"], time.time() + 7 * DAY)
    assert opened["is_charge_refundable"] is False
    [withdrawal] = opened["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-5000, 1500, -6500)
    assert (withdrawal["type"], withdrawal["reporting_category"]) == ("adjustment", "dispute")
    assert withdrawal["source"] == opened["id"]
    assert stripe.Charge.retrieve(charge.id).disputed is True

    answered = stripe.Dispute.modify(
        opened["id"], evidence={"uncategorized_text": "Delivered to the reader's inbox."}
    )
    assert answered.status == "under_review"
    assert answered.evidence.uncategorized_text == "Delivered to the reader's inbox."
    assert (answered.evidence_details.has_evidence, answered.evidence_details.submission_count) == (
        True,
        1,
    )

    won = close_dispute(sandbox, opened["id"], "won")

    assert won["status"] == "won"
    withdrawn, reinstated = won["balance_transactions"]
    assert withdrawn == withdrawal
    assert (reinstated["amount"], reinstated["fee"], reinstated["net"]) == (5000, -1500, 6500)
    assert (reinstated["type"], reinstated["reporting_category"]) == (
        "adjustment",
        "dispute_reversal",
    )
    assert stripe.Charge.retrieve(charge.id).disputed is True
    types = [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    receiver.wait_for(*types)
    events = [event for event in receiver.events if event.type.startswith("charge.dispute.")]
    assert [event.type for event in events] == types
    assert all(event.data.object.id == opened["id"] for event in events)
    assert events[2].data.previous_attributes.status == "needs_response"
    assert len(events[-1].data.object.balance_transactions) == 2


def test_a_lost_dispute_keeps_the_money_out(sandbox, api, receiver):
    charge = paid_charge(sandbox, amount=3000, currency="eur")
    opened = sandbox.dispute(charge.id)

    lost = close_dispute(sandbox, opened["id"], "lost")

    assert lost["status"] == "lost" and lost["reason"] == "fraudulent"
    assert [txn["net"] for txn in lost["balance_transactions"]] == [-4500]
    receiver.wait_for("charge.dispute.closed")
    assert [t for t in receiver.types() if t.startswith("charge.dispute.")] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    again = requests.post(
        f"{sandbox.url}/_sandbox/disputes/{opened['id']}/close", data={"outcome": "won"}
    )
    assert again.status_code == 400
    assert "already closed" in again.json()["error"]["message"]


def test_a_charge_under_dispute_or_charged_back_cannot_be_refunded(sandbox, api):
    under_dispute = paid_charge(sandbox)
    sandbox.dispute(under_dispute.id)
    charged_back = paid_charge(sandbox)
    close_dispute(sandbox, sandbox.dispute(charged_back.id)["id"], "lost")

    for charge in (under_dispute, charged_back):
        with pytest.raises(stripe.error.InvalidRequestError) as error:
            stripe.Refund.create(payment_intent=charge.payment_intent, amount=100)
        assert (error.value.http_status, error.value.code) == (400, "charge_disputed")
        assert error.value.user_message == (
            f"Charge {charge.id} has been charged back; cannot issue a refund."
        )
    assert stripe.Refund.list(limit=100).data == []


def test_a_dispute_covers_what_was_not_refunded_and_once_won_allows_refunds(sandbox, api):
    charge = paid_charge(sandbox, amount=2000)
    stripe.Refund.create(charge=charge.id, amount=500)

    opened = sandbox.dispute(charge.id)

    assert opened["amount"] == 1500
    assert opened["balance_transactions"][0]["amount"] == -1500
    close_dispute(sandbox, opened["id"], "won")
    assert stripe.Refund.create(charge=charge.id, amount=100).amount == 100


def test_evidence_can_be_staged_before_it_is_submitted(sandbox, api, receiver):
    opened = sandbox.dispute(paid_charge(sandbox).id)

    staged = stripe.Dispute.modify(
        opened["id"],
        evidence={"customer_email_address": "reader@example.com"},
        metadata={"case": "41"},
        submit=False,
    )
    assert staged.status == "needs_response"
    assert staged.evidence_details.has_evidence is True
    assert staged.evidence_details.submission_count == 0
    submitted = stripe.Dispute.modify(opened["id"], submit=True)
    assert submitted.status == "under_review"
    assert submitted.evidence.customer_email_address == "reader@example.com"

    with pytest.raises(stripe.error.InvalidRequestError, match="no longer accepts evidence"):
        stripe.Dispute.modify(opened["id"], evidence={"uncategorized_text": "More."})
    with pytest.raises(stripe.error.InvalidRequestError, match="can no longer be closed"):
        stripe.Dispute.close(opened["id"])
    assert stripe.Dispute.modify(opened["id"], metadata={"case": ""}).metadata == {}
    receiver.wait_for("charge.dispute.updated", count=3)


def test_accepting_a_dispute_loses_it(sandbox, api, receiver):
    opened = sandbox.dispute(paid_charge(sandbox).id)

    accepted = stripe.Dispute.close(opened["id"])

    assert accepted.status == "lost"
    assert len(accepted.balance_transactions) == 1
    closed = receiver.wait_for("charge.dispute.closed")["charge.dispute.closed"][0]
    assert closed.data.object.status == "lost"
    with pytest.raises(stripe.error.InvalidRequestError, match="already closed"):
        stripe.Dispute.close(opened["id"])


def test_what_cannot_be_disputed_or_decided(sandbox, api):
    charge = paid_charge(sandbox)
    refunded = paid_charge(sandbox)
    stripe.Refund.create(charge=refunded.id)
    opened = sandbox.dispute(charge.id)

    def post(path, **data):
        return requests.post(sandbox.url + path, data=data)

    assert post(f"/_sandbox/charges/{charge.id}/dispute").status_code == 400
    assert post(f"/_sandbox/charges/{refunded.id}/dispute").status_code == 400
    assert post("/_sandbox/charges/ch_nope/dispute").status_code == 404
    unknown_reason = post(f"/_sandbox/charges/{paid_charge(sandbox).id}/dispute", reason="bored")
    assert unknown_reason.status_code == 400 and unknown_reason.json()["error"]["param"] == "reason"
    assert post(f"/_sandbox/disputes/{opened['id']}/close", outcome="draw").status_code == 400
    assert post("/_sandbox/disputes/dp_nope/close", outcome="won").status_code == 404
    with pytest.raises(stripe.error.InvalidRequestError) as missing:
        stripe.Dispute.retrieve("dp_nope")
    assert missing.value.http_status == 404
    with pytest.raises(stripe.error.InvalidRequestError) as missing:
        stripe.BalanceTransaction.retrieve("txn_nope")
    assert missing.value.http_status == 404


def test_balance_transactions_and_disputes_are_listed_newest_first(sandbox, api):
    start = int(time.time())
    charges = [paid_charge(sandbox, amount=1000 + n) for n in range(3)]
    refund = stripe.Refund.create(charge=charges[0].id, amount=10)
    disputes = [sandbox.dispute(charge.id) for charge in charges[1:]]
    close_dispute(sandbox, disputes[0]["id"], "won")

    listed = list(stripe.BalanceTransaction.list(limit=2).auto_paging_iter())
    assert len(listed) == 3 + 1 + 2 + 1
    assert [t.created for t in listed] == sorted((t.created for t in listed), reverse=True)
    assert [t.type for t in stripe.BalanceTransaction.list(type="refund").data] == ["refund"]
    assert stripe.BalanceTransaction.list(source=refund.id).data[0].amount == -10
    by_dispute = stripe.BalanceTransaction.list(source=disputes[0]["id"]).data
    assert [t.reporting_category for t in by_dispute] == ["dispute_reversal", "dispute"]
    later = stripe.BalanceTransaction.list(created={"gt": start + 3600}).data
    assert later == []
    assert len(stripe.BalanceTransaction.list(created={"gte": start}, limit=100).data) == 7
    assert stripe.BalanceTransaction.list(currency="eur").data == []

    everything = [d.id for d in stripe.Dispute.list(limit=1).auto_paging_iter()]
    assert everything == [disputes[1]["id"], disputes[0]["id"]]
    assert [d.id for d in stripe.Dispute.list(charge=charges[1].id).data] == [disputes[0]["id"]]
    assert [d.id for d in stripe.Dispute.list(payment_intent=charges[2].payment_intent).data] == [
        disputes[1]["id"]
    ]
    assert stripe.Dispute.list(created={"gt": start + 3600}).data == []
