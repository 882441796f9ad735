"""The database layer every model builds on: base class, column types, names, helpers.

- Enum columns (``Mapped[GiftStatus]``) are stored as their string values in a plain
  VARCHAR(10) without a CHECK constraint (``enum_type`` for another length), so the
  stored data means what it meant before and adding a value is no schema change.
- Every timestamp is a ``UtcDateTime``: timezone-aware UTC going in and coming out, on
  PostgreSQL (``timestamptz``) and on SQLite (which stores naive text), so no caller
  ever patches a naive datetime.
- Constraints get predictable names (``NAMING_CONVENTION``), which Alembic's batch mode
  needs to alter a table on SQLite.

Models import only this module; ``extensions`` binds ``db`` to the app.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: room for values added later, so a new value needs no migration
ENUM_LENGTH = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_type(enum_class: type[enum.Enum], *, length: int = ENUM_LENGTH) -> sa.Enum:
    """The column type of an enum: its values (not names) in a VARCHAR, unchecked."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class UtcDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on every database; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(orm.DeclarativeBase):
    # one registry carries both, since Flask-SQLAlchemy subclasses this base
    registry = orm.registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UtcDateTime(),
            enum.Enum: enum_type(enum.Enum),
        },
    )


db = SQLAlchemy(model_class=Base)
S = TypeVar("S", bound=sa.Executable)


def dialect_insert(table: sa.Table) -> sa.Insert:
    """``INSERT`` in the session's dialect, which can say ``ON CONFLICT …``."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def per_dialect(build: Callable[[], S]) -> Callable[[], S]:
    """Build a statement once per database dialect, then reuse it.

    For the webhook's statements (upserts by ``dialect_insert``): building one, with its
    subqueries and ``ON CONFLICT`` clause, costs more than running it. Their values are
    bind parameters, given when executing.
    """
    built: dict[str, S] = {}

    @functools.wraps(build)
    def statement() -> S:
        name = db.session.get_bind().dialect.name
        if name not in built:
            built[name] = build()
        return built[name]

    return statement


@contextmanager
def commit_or_rollback() -> Iterator[None]:
    """Commit what the block did, or roll all of it back and re-raise.

    Views and CLI commands own the transaction; services only flush.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
