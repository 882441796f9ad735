"""Staff two-factor sign-in (TOTP, recovery codes, session epoch) and refused webhook events

Revision ID: 8e019cb428c0
Revises: 793d5a3ffa69
Create Date: 2026-11-30 21:16:00

"""

import sqlalchemy as sa
from alembic import op

from donations.db import UtcDateTime

revision = "8e019cb428c0"
down_revision = "793d5a3ffa69"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refused_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stripe_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('api_version', sa.String(length=64), nullable=False),
    sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refused_events')),
    sa.UniqueConstraint('stripe_id', name=op.f('uq_refused_events_stripe_id'))
    )
    with op.batch_alter_table('refused_events') as batch_op:
        batch_op.create_index('ix_refused_events_received', ['received_at'], unique=False)

    op.create_table('staff_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('used_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_recovery_codes_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes'))
    )
    with op.batch_alter_table('staff_recovery_codes') as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_recovery_codes_staff_user_id'), ['staff_user_id'], unique=False)

    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('failed_codes', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('session_epoch')
        batch_op.drop_column('failed_codes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('staff_recovery_codes') as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_recovery_codes_staff_user_id'))

    op.drop_table('staff_recovery_codes')
    with op.batch_alter_table('refused_events') as batch_op:
        batch_op.drop_index('ix_refused_events_received')

    op.drop_table('refused_events')
