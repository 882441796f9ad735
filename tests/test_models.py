"""The models speak the project's vocabulary: enum columns hold enum members and store
their values, timestamps are aware UTC on every database, and the models depend only on
the database module."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from donations.db import UtcDateTime, db
from donations.enums import (
    ActorKind,
    AuditAction,
    Frequency,
    GiftStatus,
    OutboxStatus,
    PaymentKind,
    ReminderStatus,
    StaffRole,
)
from donations.models import AuditLog, Donor, Gift, OutboxEmail, Payment, Reminder, StaffUser

MODELS_PACKAGE = Path(__file__).resolve().parents[1] / "donations" / "models"


def imported_modules(module: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_models_import_only_the_database_module_and_the_vocabulary():
    """No import circle with ``extensions``: the models need nothing but ``donations.db``."""
    for module in sorted(MODELS_PACKAGE.glob("*.py")):
        project = {
            name
            for name in imported_modules(module)
            if name.startswith("donations") and not name.startswith("donations.models")
        }
        assert project <= {"donations.db", "donations.enums"}, module.name


ENUM_COLUMNS = [
    pytest.param(attribute, enum_class, length, id=str(attribute))
    for attribute, enum_class, length in [
        (Gift.frequency, Frequency, 10),
        (Gift.status, GiftStatus, 16),
        (Payment.kind, PaymentKind, 20),
        (OutboxEmail.status, OutboxStatus, 10),
        (Reminder.status, ReminderStatus, 10),
        (Reminder.frequency, Frequency, 10),
        (StaffUser.role, StaffRole, 10),
        (AuditLog.actor_kind, ActorKind, 10),
        (AuditLog.action, AuditAction, 50),
    ]
]


@pytest.mark.parametrize(("attribute", "enum_class", "length"), ENUM_COLUMNS)
def test_columns_with_a_fixed_set_of_values_are_typed_with_their_enum(
    attribute, enum_class, length
):
    """Mapped to the enum, stored as its values in a VARCHAR of the length the column
    always had, with no CHECK constraint: the stored data keeps its meaning."""
    annotation = attribute.class_.__annotations__[attribute.key]
    assert annotation == f"Mapped[{enum_class.__name__}]"
    column_type = attribute.property.columns[0].type
    assert isinstance(column_type, sa.Enum)
    assert column_type.enum_class is enum_class
    assert column_type.enums == [member.value for member in enum_class]
    assert column_type.length == length
    assert not column_type.native_enum and not column_type.create_constraint


def test_every_timestamp_column_is_a_utc_datetime():
    timestamp_columns = [
        column
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.DateTime | UtcDateTime)
    ]
    assert len(timestamp_columns) > 20
    assert [c for c in timestamp_columns if not isinstance(c.type, UtcDateTime)] == []


def add_gift(**fields) -> Gift:
    donor = Donor(email="reader@example.org")
    gift = Gift(donor=donor, amount=500, currency="EUR", **fields)
    db.session.add(gift)
    db.session.commit()
    return gift


def test_enum_columns_store_their_values_and_load_as_members(app):
    gift = add_gift(frequency="monthly")
    db.session.expire_all()

    assert gift.frequency is Frequency.MONTHLY
    assert gift.status is GiftStatus.PENDING
    assert gift.is_recurring
    stored = db.session.execute(sa.text("SELECT frequency, status FROM gifts")).one()
    assert tuple(stored) == ("monthly", "pending")
    running = sa.select(Gift.id).where(Gift.status == "pending", Gift.frequency == "monthly")
    assert db.session.scalars(running).all() == [gift.id]


def test_timestamps_come_back_aware_in_utc_and_naive_ones_are_refused(app):
    paris_noon = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    gift = add_gift(frequency=Frequency.ONCE, paid_at=paris_noon)
    db.session.expire_all()

    assert gift.paid_at == paris_noon and gift.paid_at.tzinfo is UTC
    assert gift.created_at.tzinfo is UTC

    gift.paid_at = datetime(2026, 3, 1, 12, 0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_an_audit_entry_names_who_acted(app):
    gift = add_gift(frequency=Frequency.MONTHLY)
    by_donor = AuditLog(
        action=AuditAction.CANCEL, gift_id=gift.id, actor_kind=ActorKind.DONOR, donor=gift.donor
    )
    by_system = AuditLog(action=AuditAction.CANCEL, gift_id=gift.id)
    db.session.add_all([by_donor, by_system])
    db.session.commit()
    db.session.expire_all()

    assert by_donor.actor_kind is ActorKind.DONOR and by_donor.donor.email == "reader@example.org"
    assert by_system.actor_kind is ActorKind.SYSTEM and by_system.donor is None
