"""Finding and locking gifts, and writing charge rows: the pieces every handler shares.

A handler locks the gift row (``SELECT … FOR UPDATE`` on PostgreSQL) before it reads or
changes the gift or its payments, so two events about one gift, handled at the same
moment by two workers, take turns instead of overwriting each other.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction, joinedload

from donations.db import db, dialect_insert, per_dialect, utcnow
from donations.enums import PaymentKind, ReminderStatus
from donations.ledger import emails, rules
from donations.ledger.changes import from_timestamp, note, update
from donations.models import Gift, Payment, ReceiptCounter, Reminder
from donations.payments.types import BalanceTransaction


def lock_gift(*conditions: sa.ColumnElement[bool]) -> Gift | None:
    """The gift matching ``conditions``, locked for this transaction and freshly read.

    SQLite has no row locks and ignores FOR UPDATE: there a no-op UPDATE takes the
    database's write lock first, so a concurrent writer waits instead of both reading
    "not recorded yet".
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.update(Gift).where(*conditions).values(updated_at=Gift.updated_at),
            execution_options={"synchronize_session": False},
        )
    return db.session.scalar(
        sa.select(Gift)
        .where(*conditions)
        .options(joinedload(Gift.donor, innerjoin=True))
        .with_for_update(of=Gift)
        .execution_options(populate_existing=True)
    )


def lock_gift_by(
    gift_id: int | None = None,
    *,
    checkout_session_id: str | None = None,
    payment_intent_id: str | None = None,
    subscription_id: str | None = None,
) -> Gift | None:
    """The first gift found by id, then by each provider id given."""
    candidates = [
        (Gift.id, gift_id),
        (Gift.stripe_checkout_session_id, checkout_session_id),
        (Gift.stripe_payment_intent_id, payment_intent_id),
        (Gift.stripe_subscription_id, subscription_id),
    ]
    for column, value in candidates:
        if value is not None:
            gift = lock_gift(column == value)
            if gift is not None:
                return gift
    return None


def payment_by_stripe_id(stripe_id: str) -> Payment | None:
    return db.session.scalar(sa.select(Payment).where(Payment.stripe_id == stripe_id))


def find_charge(charge_id: str | None, payment_intent_id: str | None) -> Payment | None:
    """The charge row a refund or dispute of this charge / PaymentIntent belongs to."""
    conditions = []
    if charge_id:
        conditions.append(Payment.stripe_charge_id == charge_id)
    if payment_intent_id:
        conditions.append(Payment.stripe_payment_intent_id == payment_intent_id)
        conditions.append(Payment.stripe_id == payment_intent_id)
    if not conditions:
        return None
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.kind == PaymentKind.CHARGE, sa.or_(*conditions))
        .order_by(Payment.id)
        .limit(1)
    )


def record_charge(
    gift: Gift,
    *,
    stripe_id: str,
    amount: int,
    currency: str,
    created: int,
    invoice_id: str | None = None,
    payment_intent_id: str | None = None,
    charge_id: str | None = None,
    recovered: bool = False,
    balance: BalanceTransaction | None = None,
) -> int | None:
    """Record money received for a locked gift, once per provider id; queue its receipt.

    Returns the new row's id, or None when it was already recorded (missing ids are
    filled in on the existing row, since some events carry more of them than others).
    The row is written with one ``INSERT … ON CONFLICT (stripe_id) DO NOTHING`` that also
    answers whether the gift had an earlier charge (a renewal): the unique index, not a
    prior read, is what keeps concurrent duplicates out. A new charge takes the next
    receipt number of its year; ``balance`` (the charge's balance transaction, when the
    caller has it) gives its fee and net.
    """
    inserted = None
    currency = currency or gift.currency
    paid_at = from_timestamp(created) or utcnow()
    if amount > 0:
        values = {
            "gift_id": gift.id,
            "kind": PaymentKind.CHARGE,
            "amount": amount,
            "currency": currency,
            "stripe_id": stripe_id,
            "stripe_invoice_id": invoice_id,
            "stripe_payment_intent_id": payment_intent_id,
            "stripe_charge_id": charge_id,
            "recovered": recovered,
            **balance_fields(balance, currency),
            "created_at": paid_at,
            "recorded_at": utcnow(),
            "other_gift_id": gift.id,
            "other_stripe_id": stripe_id,
        }
        # on the connection: no autoflush of the gift's pending changes, which are flushed
        # once, with the rest of what this payment changes on the gift
        inserted = db.session.connection().execute(_charge_insert(), values).first()
    if inserted is None:
        fill_ids(
            stripe_id,
            stripe_invoice_id=invoice_id,
            stripe_payment_intent_id=payment_intent_id,
            stripe_charge_id=charge_id,
            **balance_fields(balance, currency),
        )
        return None
    number_at_commit(inserted.id, paid_at, stripe_id)
    note(
        f"gift {gift.id}: payment {stripe_id} of {amount} {currency} recorded"
        + (" (recovered after a failed renewal)" if recovered else "")
    )
    mark_paid(gift, paid_at)
    emails.queue_receipt(
        gift,
        stripe_id=stripe_id,
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        renewal=bool(inserted.renewal),
    )
    return inserted.id


def balance_fields(
    balance: BalanceTransaction | None, currency: str
) -> dict[str, int | str | None]:
    """A movement's fee, net and balance transaction id, or nothing when not known yet.

    A balance moved in another currency than the movement's (the account settles in
    another currency) gives no fee or net in the movement's currency: only its id is kept
    and the fee stays unknown, rather than a figure in the wrong currency.
    """
    if balance is None:
        return {}
    if balance.currency and balance.currency != currency.upper():
        return {"stripe_balance_transaction_id": balance.id}
    return {
        "fee": balance.fee,
        "net": balance.net,
        "stripe_balance_transaction_id": balance.id,
    }


#: where a transaction keeps the charges it recorded until it numbers them at commit
PENDING_RECEIPTS = "donations.pending_receipts"


def number_at_commit(payment_id: int, paid_at: datetime, stripe_id: str) -> None:
    """Give a new charge its receipt number when its transaction commits (see
    ``number_pending_receipts``)."""
    db.session.info.setdefault(PENDING_RECEIPTS, {})[payment_id] = (paid_at.year, stripe_id)


def number_pending_receipts(session: Session) -> None:
    """Number the transaction's new charges, as the last thing before it commits.

    The year's counter row is updated with ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
    and stays locked until the commit a moment later: concurrent payments take numbers one
    after the other, a rolled-back payment never took one, so numbers have no gaps and no
    repeats; and as nothing else is locked after it, no transaction holding the counter
    ever waits for another lock (no deadlock with one that holds a gift). The receipt
    queued for the charge reads its number when it is sent (``emails.complete_context``),
    which keeps the locked moment short.
    """
    pending = session.info.pop(PENDING_RECEIPTS, None)
    if not pending:
        return
    connection = session.connection()
    table = Payment.__table__
    unnumbered = set(
        connection.execute(
            sa.select(table.c.id).where(
                table.c.id.in_(list(pending)),
                table.c.receipt_number.is_(None),
            )
        ).scalars()
    )
    for payment_id, (year, _stripe_id) in sorted(pending.items()):
        if payment_id not in unnumbered:
            continue  # rolled back with its savepoint
        last = connection.execute(_counter_upsert(), {"year": year}).scalar_one()
        number = rules.receipt_number(year, last)
        connection.execute(
            sa.update(table).where(table.c.id == payment_id).values(receipt_number=number)
        )


def forget_pending_receipts(session: Session, transaction: SessionTransaction) -> None:
    """The session's transaction ended without numbering (rolled back): its charges were
    never recorded. Savepoints ending leave the list alone: their rows are checked at
    commit (a row rolled back with its savepoint no longer exists; a reused id is the
    new row's, registered again)."""
    if transaction.parent is None:
        session.info.pop(PENDING_RECEIPTS, None)


@per_dialect
def _counter_upsert() -> sa.Insert:
    table = ReceiptCounter.__table__
    insert = dialect_insert(table).values(year=sa.bindparam("year"), last=1)
    return insert.on_conflict_do_update(
        index_elements=["year"], set_={"last": table.c.last + 1}
    ).returning(table.c.last)


def fill_ids(stripe_id: str, **ids: str | int | None) -> None:
    """Fill in the provider ids (and fee, net) an already recorded payment is missing."""
    with db.session.no_autoflush:
        existing = payment_by_stripe_id(stripe_id)
    if existing is None:
        return
    fill = {name: value for name, value in ids.items() if value and getattr(existing, name) is None}
    update(existing, f"payment {stripe_id}", **fill)


@per_dialect
def _charge_insert() -> sa.Insert:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id, renewal``.

    ``renewal`` excludes the row's own provider id, so it reads the same whether or not
    the database lets the subquery see the row being inserted.
    """
    table = Payment.__table__
    earlier = table.alias("earlier")
    renewal = (
        sa.exists()
        .where(
            earlier.c.gift_id == sa.bindparam("other_gift_id"),
            earlier.c.kind == PaymentKind.CHARGE.value,
            earlier.c.stripe_id != sa.bindparam("other_stripe_id"),
        )
        .label("renewal")
    )
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["stripe_id"])
        .returning(table.c.id, renewal)
    )


def mark_paid(gift: Gift, paid_at: datetime) -> None:
    """A payment arrived: move an unpaid gift on and convert the reminder that led to it."""
    label = f"gift {gift.id}"
    first_payment = gift.paid_at is None
    update(
        gift,
        label,
        paid_at=rules.earliest(gift.paid_at, paid_at),
        status=rules.status_after_payment(gift.status, gift.frequency),
    )
    if first_payment and gift.tribute_notify_email:
        emails.queue_tribute_notice(gift)
    if gift.reminder_id is not None:
        reminder = db.session.get(Reminder, gift.reminder_id)
        if reminder is not None and reminder.status != ReminderStatus.CONVERTED:
            update(reminder, f"reminder {reminder.id}", status=ReminderStatus.CONVERTED)
            reminder.converted_at = paid_at


def net_amount(gift: Gift) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
            Payment.gift_id == gift.id
        )
    )
