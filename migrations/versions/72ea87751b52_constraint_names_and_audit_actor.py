"""Constraints named by the convention; audit entries record who acted

Every primary key, foreign key and unique constraint gets the name the models' naming
convention gives it, so later migrations can refer to it (batch mode on SQLite needs
names). Databases created by the initial revision before the convention existed carry
PostgreSQL's default names (``gifts_pkey``, ``gifts_donor_id_fkey``, ``payments_stripe_id_key``)
or, on SQLite, none; ones created since already carry the convention's names, because
Alembic applies the models' convention to ``create_table``. So on PostgreSQL each
constraint is renamed where its old name is found, and on SQLite every table is
recreated (batch mode) with the convention naming what it reflects. Downgrade gives
PostgreSQL its default names back; SQLite keeps the convention's names, as a database
created by the initial revision today has them.

``audit_log`` gains ``actor_kind`` (staff, donor, stripe, system) and ``donor_id``: an
entry with a staff user was a staff action, every other one the system's.

Revision ID: 72ea87751b52
Revises: 01a1c0e632df
Create Date: 2026-11-30 17:09:03

"""

import sqlalchemy as sa
from alembic import op

revision = "72ea87751b52"
down_revision = "01a1c0e632df"
branch_labels = None
depends_on = None

#: the models' naming convention as of this revision
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: each table's foreign keys (column, referred table) and unique columns
CONSTRAINTS = {
    "donors": ([], ["email", "stripe_customer_id"]),
    "reminders": ([], ["token"]),
    "staff_users": ([], ["email"]),
    "gifts": (
        [("donor_id", "donors"), ("reminder_id", "reminders")],
        ["stripe_checkout_session_id", "stripe_payment_intent_id", "stripe_subscription_id"],
    ),
    "outbox_emails": ([("gift_id", "gifts")], ["dedupe_key"]),
    "payments": ([("gift_id", "gifts"), ("refunded_payment_id", "payments")], ["stripe_id"]),
    "stripe_events": ([("gift_id", "gifts")], ["stripe_id"]),
    "audit_log": (
        [("gift_id", "gifts"), ("payment_id", "payments"), ("staff_user_id", "staff_users")],
        [],
    ),
}


def renames(table: str) -> list[tuple[str, str]]:
    """(PostgreSQL's default name, the convention's name) of each of a table's constraints."""
    foreign_keys, unique_columns = CONSTRAINTS[table]
    return [
        (f"{table}_pkey", f"pk_{table}"),
        *(
            (f"{table}_{column}_fkey", f"fk_{table}_{column}_{referred}")
            for column, referred in foreign_keys
        ),
        *((f"{table}_{column}_key", f"uq_{table}_{column}") for column in unique_columns),
    ]


def rename_constraint(table: str, old: str, new: str) -> None:
    """Rename where the old name is found; a PL/pgSQL block, so ``--sql`` output works too."""
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_constraint WHERE conname = '{old}' "
        f"AND conrelid = '{table}'::regclass) THEN "
        f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"; END IF; END $$'
    )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in CONSTRAINTS:
            with op.batch_alter_table(
                table, recreate="always", naming_convention=NAMING_CONVENTION
            ):
                pass
    else:
        for table in CONSTRAINTS:
            for default_name, convention_name in renames(table):
                rename_constraint(table, default_name, convention_name)

    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(
            sa.Column("actor_kind", sa.String(length=10), nullable=False, server_default="system")
        )
        batch_op.add_column(sa.Column("donor_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_audit_log_donor_id", ["donor_id"], unique=False)
        batch_op.create_foreign_key("fk_audit_log_donor_id_donors", "donors", ["donor_id"], ["id"])
    op.execute("UPDATE audit_log SET actor_kind = 'staff' WHERE staff_user_id IS NOT NULL")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.alter_column("actor_kind", server_default=None)


def downgrade():
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_constraint("fk_audit_log_donor_id_donors", type_="foreignkey")
        batch_op.drop_index("ix_audit_log_donor_id")
        batch_op.drop_column("donor_id")
        batch_op.drop_column("actor_kind")

    if op.get_bind().dialect.name != "sqlite":
        for table in CONSTRAINTS:
            for default_name, convention_name in renames(table):
                rename_constraint(table, convention_name, default_name)
