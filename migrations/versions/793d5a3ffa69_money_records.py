"""Money records: fees and net, disputes, gap-free receipt numbers, cover-the-fees, tributes

Revision ID: 793d5a3ffa69
Revises: ee823db20d9a
Create Date: 2026-11-30 20:20:00

"""

import sqlalchemy as sa
from alembic import op

from donations.db import UtcDateTime

revision = "793d5a3ffa69"
down_revision = "ee823db20d9a"
branch_labels = None
depends_on = None


COVER_BEFORE = ["currency", "amount"]
COVER_AFTER = ["currency", "amount", "kind", "fee"]


def _cover(include: list[str]) -> None:
    """The dashboard's covering index on PostgreSQL (SQLite has no INCLUDE)."""
    op.drop_index("ix_payments_created_cover", table_name="payments")
    op.create_index(
        "ix_payments_created_cover", "payments", ["created_at"], postgresql_include=include
    )


def upgrade():
    op.create_table('receipt_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_receipt_counters'))
    )
    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stripe_id', sa.String(length=255), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('respond_by', UtcDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('stripe_state_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_disputes_gift_id_gifts')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_disputes_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('stripe_id', name=op.f('uq_disputes_stripe_id'))
    )
    with op.batch_alter_table('disputes') as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_gift_id'), ['gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disputes_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_disputes_state', ['state'], unique=False)

    with op.batch_alter_table('gifts') as batch_op:
        batch_op.add_column(sa.Column('covered_fee', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tribute_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('tribute_name', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tribute_message', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tribute_notify_email', sa.String(length=320), server_default='', nullable=False))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('payments') as batch_op:
        batch_op.add_column(sa.Column('fee', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('net', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stripe_balance_transaction_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('receipt_number', sa.String(length=20), nullable=True))
        batch_op.alter_column('kind',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=20),
               existing_nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_payments_receipt_number'), ['receipt_number'])
    _cover(COVER_AFTER)


def downgrade():
    _cover(COVER_BEFORE)
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payments_receipt_number'), type_='unique')
        batch_op.alter_column('kind',
               existing_type=sa.String(length=20),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)
        batch_op.drop_column('receipt_number')
        batch_op.drop_column('stripe_balance_transaction_id')
        batch_op.drop_column('net')
        batch_op.drop_column('fee')

    with op.batch_alter_table('gifts') as batch_op:
        batch_op.drop_column('anonymous')
        batch_op.drop_column('tribute_notify_email')
        batch_op.drop_column('tribute_message')
        batch_op.drop_column('tribute_name')
        batch_op.drop_column('tribute_kind')
        batch_op.drop_column('covered_fee')

    with op.batch_alter_table('disputes') as batch_op:
        batch_op.drop_index('ix_disputes_state')
        batch_op.drop_index(batch_op.f('ix_disputes_payment_id'))
        batch_op.drop_index(batch_op.f('ix_disputes_gift_id'))

    op.drop_table('disputes')
    op.drop_table('receipt_counters')
