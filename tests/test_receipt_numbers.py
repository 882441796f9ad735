"""Every charge gets a receipt number, unique and gap-free within its year, whatever
the concurrency and whatever is rolled back."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa

from donations.db import db
from donations.enums import Frequency, GiftStatus
from donations.ledger.records import lock_gift_by, record_charge
from donations.models import Gift, OutboxEmail, Payment
from tests.factories import at, make_gift

JUNE_2026 = int(at("2026-06-01 12:00").timestamp())


def numbers() -> list[str]:
    query = (
        sa.select(Payment.receipt_number)
        .where(Payment.receipt_number.is_not(None))
        .order_by(Payment.receipt_number)
    )
    return list(db.session.scalars(query))


def record(gift_id: int, reference: str, when: int = JUNE_2026) -> None:
    gift = lock_gift_by(gift_id)
    record_charge(gift, stripe_id=reference, amount=1000, currency="USD", created=when)


def test_charges_are_numbered_in_order_per_year_and_a_duplicate_takes_no_number(app):
    gift = make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    db.session.flush()

    record(gift.id, "in_1")
    record(gift.id, "in_1")  # the same invoice again: no new row, no number used
    record(gift.id, "in_2")
    record(gift.id, "in_3", when=int(at("2027-01-02 09:00").timestamp()))
    db.session.commit()

    assert numbers() == ["2026-000001", "2026-000002", "2027-000001"]


def test_a_rolled_back_payment_takes_no_number(app):
    gift = make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    db.session.flush()
    record(gift.id, "in_kept")
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            record(gift.id, "in_lost")
            raise RuntimeError("the handler failed after numbering")

    record(gift.id, "in_next")
    db.session.commit()

    assert numbers() == ["2026-000001", "2026-000002"]


@pytest.mark.postgres
@pytest.mark.committing
def test_concurrent_payments_on_postgresql_take_every_number_once(app):
    gifts = [make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE) for _ in range(8)]
    db.session.commit()
    ids = [gift.id for gift in gifts]
    errors: list[BaseException] = []
    start = threading.Barrier(len(ids))

    def pay(gift_id: int, index: int) -> None:
        with app.app_context():
            try:
                start.wait()
                for n in range(5):
                    record(gift_id, f"in_{gift_id}_{n}")
                    if (index + n) % 3 == 0:
                        time.sleep(0.01)  # hold the counter's lock a moment
                    if (index + n) % 4 == 0:
                        db.session.rollback()  # this payment never happened
                    else:
                        db.session.commit()
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay, args=(gift_id, i)) for i, gift_id in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    db.session.expire_all()
    taken = numbers()
    committed = db.session.scalar(sa.select(sa.func.count(Payment.id)))
    assert taken == [f"2026-{n:06d}" for n in range(1, committed + 1)]
    assert db.session.scalar(sa.select(sa.func.count(Gift.id))) == len(ids)


def test_the_receipt_sent_carries_the_number_given_at_commit(app):
    from donations.worker import _outbox_message

    gift = make_gift(frequency=Frequency.MONTHLY, status=GiftStatus.ACTIVE)
    db.session.flush()
    record(gift.id, "in_emailed")
    db.session.commit()

    [receipt] = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.template == "receipt"))
    assert json.loads(receipt.context)["receipt_number"] is None  # numbered at commit
    message = _outbox_message(receipt)
    assert "2026-000001" in message.as_string()
