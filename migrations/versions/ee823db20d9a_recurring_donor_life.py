"""Recurring donor's life: card on file, pause, upsell link, renewal failures, daily runs

Revision ID: ee823db20d9a
Revises: 9c3e5d2f1a7b
Create Date: 2026-11-30 19:44:29

"""

import sqlalchemy as sa
from alembic import op

from donations.db import UtcDateTime

revision = "ee823db20d9a"
down_revision = "9c3e5d2f1a7b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "daily_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_runs")),
        sa.UniqueConstraint("job", "day", name=op.f("uq_daily_runs_job")),
    )
    op.create_table(
        "renewal_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gift_id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("failed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gift_id"], ["gifts.id"], name=op.f("fk_renewal_failures_gift_id_gifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_failures")),
        sa.UniqueConstraint(
            "stripe_invoice_id", "attempt", name=op.f("uq_renewal_failures_stripe_invoice_id")
        ),
    )
    with op.batch_alter_table("renewal_failures") as batch_op:
        batch_op.create_index("ix_renewal_failures_failed_at", ["failed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_renewal_failures_gift_id"), ["gift_id"], unique=False
        )

    with op.batch_alter_table("gifts") as batch_op:
        batch_op.add_column(sa.Column("paused_until", UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("card_brand", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("card_last4", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("card_exp_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("card_exp_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("card_as_of", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("upsell_of_gift_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_gifts_upsell_of_gift_id"), ["upsell_of_gift_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_gifts_upsell_of_gift_id_gifts"), "gifts", ["upsell_of_gift_id"], ["id"]
        )
        paused = sa.text("paused_until IS NOT NULL")
        batch_op.create_index(
            "ix_gifts_paused_until",
            ["paused_until"],
            unique=False,
            postgresql_where=paused,
            sqlite_where=paused,
        )

    with op.batch_alter_table("payments") as batch_op:
        batch_op.add_column(
            sa.Column("recovered", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_column("recovered")

    with op.batch_alter_table("gifts") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_gifts_upsell_of_gift_id_gifts"), type_="foreignkey"
        )
        batch_op.drop_index("ix_gifts_paused_until")
        batch_op.drop_index(batch_op.f("ix_gifts_upsell_of_gift_id"))
        batch_op.drop_column("upsell_of_gift_id")
        batch_op.drop_column("card_as_of")
        batch_op.drop_column("card_exp_year")
        batch_op.drop_column("card_exp_month")
        batch_op.drop_column("card_last4")
        batch_op.drop_column("card_brand")
        batch_op.drop_column("paused_until")

    with op.batch_alter_table("renewal_failures") as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewal_failures_gift_id"))
        batch_op.drop_index("ix_renewal_failures_failed_at")

    op.drop_table("renewal_failures")
    op.drop_table("daily_runs")
