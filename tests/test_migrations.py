"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL, both ways; an older database is brought to it; SQLite can alter a table.

Each test migrates a scratch database of its own: a new SQLite file, or a new PostgreSQL
database beside the one ``TEST_DATABASE_URL`` names.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from donations import create_app
from donations.config import PROJECT_ROOT
from donations.db import UtcDateTime, db

INITIAL_REVISION = "01a1c0e632df"
CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
#: rows as the initial revision's tables hold them (the models describe the newest schema)
STAFF_USER = {
    "id": 1,
    "email": "staff@example.org",
    "password_hash": "x",
    "role": "admin",
    "active": True,
    "failed_logins": 0,
    "created_at": CREATED,
}
DONOR = {"id": 1, "email": "reader@example.org", "name": "", "locale": "en", "created_at": CREATED}
GIFT = {
    "id": 7,
    "donor_id": 1,
    "amount": 500,
    "currency": "EUR",
    "frequency": "monthly",
    "status": "active",
    "source": "support",
    "source_url": "",
    "disputed": False,
    "cancel_at_period_end": False,
    "created_at": CREATED,
    "updated_at": CREATED,
}
PAYMENT = {
    "id": 3,
    "gift_id": 7,
    "kind": "charge",
    "amount": 500,
    "currency": "EUR",
    "stripe_id": "pi_1",
    "reason": "",
    "disputed": False,
    "created_at": CREATED,
    "recorded_at": CREATED,
}
STAFF_REFUND = {
    "id": 1,
    "staff_user_id": 1,
    "action": "refund",
    "gift_id": 7,
    "currency": "EUR",
    "detail": "",
    "created_at": CREATED,
}
SYSTEM_CANCEL = {
    "id": 2,
    "staff_user_id": None,
    "action": "cancel",
    "gift_id": 7,
    "currency": "",
    "detail": "",
    "created_at": CREATED,
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(request.getfixturevalue("database_url"))
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def scratch_app(empty_database_url):
    """The app on the empty database, inside its app context."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
        }
    )
    with app.app_context():
        yield app
        db.engine.dispose()


def schema_differences() -> list:
    """What Alembic's autogenerate would write to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def constraint_names() -> dict[str, set[str]]:
    """Each table's primary key, foreign key and unique constraint names, as stored."""
    inspector = sa.inspect(db.engine)
    return {
        table: {
            inspector.get_pk_constraint(table)["name"],
            *(foreign_key["name"] for foreign_key in inspector.get_foreign_keys(table)),
            *(unique["name"] for unique in inspector.get_unique_constraints(table)),
        }
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def names_the_models_give() -> dict[str, set[str]]:
    return {
        table.name: {
            constraint.name
            for constraint in table.constraints
            if isinstance(
                constraint,
                sa.PrimaryKeyConstraint | sa.ForeignKeyConstraint | sa.UniqueConstraint,
            )
        }
        for table in db.metadata.sorted_tables
    }


def test_migrations_build_the_schema_the_models_describe(scratch_app):
    flask_migrate.upgrade()
    assert schema_differences() == []
    assert constraint_names() == names_the_models_give()

    flask_migrate.downgrade(revision="base")
    assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]

    flask_migrate.upgrade()
    assert schema_differences() == []
    assert constraint_names() == names_the_models_give()


def test_partial_indexes_have_the_predicates_the_models_give(scratch_app):
    """The migrated indexes and those ``create_all`` builds from the models (in a second
    schema) are stored alike, so the enum expressions render the same SQL."""
    flask_migrate.upgrade()
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            models_file = make_url(scratch_app.config["SQLALCHEMY_DATABASE_URI"]).database
            connection.exec_driver_sql(f"ATTACH DATABASE '{models_file}.models' AS models")
        else:
            connection.exec_driver_sql("CREATE SCHEMA models")
        db.metadata.create_all(connection.execution_options(schema_translate_map={None: "models"}))
        migrated = partial_index_definitions(connection, "main")
        from_models = partial_index_definitions(connection, "models")
    assert set(migrated) == {
        "ix_gifts_paused_until",
        "ix_gifts_recurring_running",
        "ix_handoffs_pending_due",
        "ix_outbox_pending_due",
        "ix_reminders_scheduled_due",
        "uq_reminders_pending_email_month",
    }
    assert migrated == from_models


def partial_index_definitions(connection: sa.Connection, schema: str) -> dict[str, str]:
    """Index name → its definition as the database stores it, for indexes with a WHERE."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            f"SELECT name, sql FROM {schema}.sqlite_master "
            "WHERE type = 'index' AND sql LIKE '%WHERE%'"
        )
        return dict(rows.all())
    rows = connection.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = :schema AND indexdef LIKE '%WHERE%'"
        ),
        {"schema": "public" if schema == "main" else schema},
    )
    return {name: definition.replace(" models.", " public.") for name, definition in rows}


def insert(connection: sa.Connection, table: str, values: dict) -> None:
    columns = [
        sa.column(name, UtcDateTime() if isinstance(value, datetime) else None)
        for name, value in values.items()
    ]
    connection.execute(sa.table(table, *columns).insert().values(**values))


def test_a_database_from_before_the_naming_convention_gets_its_names(scratch_app, monkeypatch):
    """A database built by the initial revision before the models had a naming convention
    (PostgreSQL's default names, none on SQLite) gets the convention's names, keeps its
    rows, and learns who acted in its audit entries; downgrading gives the old names back."""
    with monkeypatch.context() as without_convention:
        without_convention.setattr(
            db.metadata, "naming_convention", sa.MetaData().naming_convention
        )
        flask_migrate.upgrade(revision=INITIAL_REVISION)
    legacy_names = constraint_names()
    assert "pk_gifts" not in legacy_names["gifts"]
    with db.engine.begin() as connection:
        for table, row in [
            ("staff_users", STAFF_USER),
            ("donors", DONOR),
            ("gifts", GIFT),
            ("audit_log", STAFF_REFUND),
            ("audit_log", SYSTEM_CANCEL),
        ]:
            insert(connection, table, row)

    flask_migrate.upgrade()

    assert constraint_names() == names_the_models_give()
    assert schema_differences() == []
    with db.engine.connect() as connection:
        audit = connection.execute(
            sa.text("SELECT id, actor_kind, staff_user_id, donor_id FROM audit_log ORDER BY id")
        ).all()
        gift = connection.execute(
            sa.select(
                sa.column("amount"),
                sa.column("currency"),
                sa.column("frequency"),
                sa.column("status"),
                sa.column("created_at", UtcDateTime()),
            ).select_from(sa.table("gifts"))
        ).one()
    assert [tuple(row) for row in audit] == [(1, "staff", 1, None), (2, "system", None, None)]
    assert tuple(gift) == (500, "EUR", "monthly", "active", CREATED)

    flask_migrate.downgrade(revision=INITIAL_REVISION)

    if db.engine.dialect.name == "postgresql":
        assert constraint_names() == legacy_names
    columns = {column["name"] for column in sa.inspect(db.engine).get_columns("audit_log")}
    assert "actor_kind" not in columns and "donor_id" not in columns
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 2


ALTER_REVISION = '''"""a column with constraints, added and dropped (written by a test)"""

import sqlalchemy as sa
from alembic import op

revision = "a1te4c01umn0"
down_revision = "{head}"


def upgrade():
    with op.batch_alter_table("gifts") as batch_op:
        batch_op.add_column(sa.Column("referrer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("code", sa.String(16), nullable=False, server_default="x"))
        batch_op.create_foreign_key(
            "fk_gifts_referrer_id_donors", "donors", ["referrer_id"], ["id"]
        )
        batch_op.create_unique_constraint("uq_gifts_code", ["code", "donor_id"])
        batch_op.create_check_constraint("code_not_empty", "code <> ''")


def downgrade():
    with op.batch_alter_table("gifts") as batch_op:
        batch_op.drop_constraint(op.f("ck_gifts_code_not_empty"), type_="check")
        batch_op.drop_constraint("uq_gifts_code", type_="unique")
        batch_op.drop_constraint("fk_gifts_referrer_id_donors", type_="foreignkey")
        batch_op.drop_column("code")
        batch_op.drop_column("referrer_id")
'''


def test_a_migration_can_alter_a_table_that_others_refer_to(scratch_app, tmp_path):
    """The first ALTER-style migration (a column with a foreign key, a unique and a check
    constraint, then dropped) runs, on SQLite by recreating the table in batch mode, and
    keeps the rows of the table and of those that refer to it."""
    directory = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", directory)
    flask_migrate.upgrade(directory=str(directory))
    (directory / "versions" / "a1te4c01umn0_alter.py").write_text(
        ALTER_REVISION.format(head=current_revision())
    )
    with db.engine.begin() as connection:
        for table, row in [("donors", DONOR), ("gifts", GIFT), ("payments", PAYMENT)]:
            insert(connection, table, row)

    flask_migrate.upgrade(directory=str(directory))

    inspector = sa.inspect(db.engine)
    assert {"referrer_id", "code"} <= {column["name"] for column in inspector.get_columns("gifts")}
    assert "uq_gifts_code" in constraint_names()["gifts"]
    assert "fk_gifts_referrer_id_donors" in constraint_names()["gifts"]
    assert [check["name"] for check in inspector.get_check_constraints("gifts")] == [
        "ck_gifts_code_not_empty"
    ]
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE gifts SET code = '' WHERE id = 7"))
    assert rows_that_must_survive() == [(7, 1, 500, "x"), (3, 7, 500)]

    flask_migrate.downgrade(directory=str(directory), revision="-1")

    inspector = sa.inspect(db.engine)
    assert not {"referrer_id", "code"} & {
        column["name"] for column in inspector.get_columns("gifts")
    }
    assert constraint_names() == names_the_models_give()
    assert inspector.get_check_constraints("gifts") == []
    assert rows_that_must_survive() == [(7, 1, 500), (3, 7, 500)]
    assert schema_differences() == []
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def current_revision() -> str:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def rows_that_must_survive() -> list[tuple]:
    with db.engine.connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("gifts")}
        code = ", code" if "code" in columns else ""
        gift = connection.execute(sa.text(f"SELECT id, donor_id, amount{code} FROM gifts")).one()
        payment = connection.execute(sa.text("SELECT id, gift_id, amount FROM payments")).one()
    return [tuple(gift), tuple(payment)]


@pytest.mark.postgres
def test_the_migrations_can_be_written_as_sql_for_a_dba(database_url, capsys):
    """``flask db upgrade --sql`` (Alembic's offline mode) renders every revision."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url}
    )
    with app.app_context():
        flask_migrate.upgrade(sql=True)
    script = capsys.readouterr().out
    assert 'RENAME CONSTRAINT "gifts_pkey" TO "pk_gifts"' in script
    assert "ALTER TABLE audit_log ADD COLUMN actor_kind VARCHAR(10)" in script


def test_the_inbox_reference_to_a_gift_is_checked_at_commit(scratch_app):
    flask_migrate.upgrade()
    assert _deferred_gift_references() == [{"deferrable": True, "initially": "DEFERRED"}]

    flask_migrate.downgrade(revision="72ea87751b52")
    assert _deferred_gift_references() == [{}]


def _deferred_gift_references() -> list[dict]:
    """The deferral options of ``stripe_events.gift_id``'s foreign key, as stored."""
    foreign_keys = sa.inspect(db.engine).get_foreign_keys("stripe_events")
    return [
        {key: value for key, value in fk["options"].items() if value}
        for fk in foreign_keys
        if fk["constrained_columns"] == ["gift_id"]
    ]
