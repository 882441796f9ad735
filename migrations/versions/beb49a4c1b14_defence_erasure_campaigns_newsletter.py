"""Card-testing defence, erasure, campaigns and A/B variants, newsletter and hand-offs, gift language

Revision ID: beb49a4c1b14
Revises: 8e019cb428c0
Create Date: 2026-11-30 23:20:49.987487

"""
import sqlalchemy as sa
from alembic import op

from donations.db import UtcDateTime


revision = 'beb49a4c1b14'
down_revision = '8e019cb428c0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('blocked_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('ip', 'network', 'email', 'domain', 'ceiling', 'challenge', name='blockreason', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_attempts'))
    )
    with op.batch_alter_table('blocked_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_blocked_attempts_created', ['created_at'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('headline', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('presets', sa.Text(), nullable=False),
    sa.Column('default_frequency', sa.Enum('once', 'monthly', 'annual', name='frequency', native_enum=False, length=10), nullable=False),
    sa.Column('default_amount', sa.Integer(), nullable=True),
    sa.Column('currencies', sa.String(length=100), nullable=False),
    sa.Column('starts_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('goal_kind', sa.Enum('amount', 'donors', name='goalkind', native_enum=False, length=10), nullable=True),
    sa.Column('goal_target', sa.BigInteger(), nullable=True),
    sa.Column('goal_currency', sa.String(length=3), nullable=True),
    sa.Column('test_ended_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('slug', name=op.f('uq_campaigns_slug'))
    )
    op.create_table('newsletter_subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'unsubscribed', name='subscriberstatus', native_enum=False, length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('consent_text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('confirmation_sent_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_subscribers')),
    sa.UniqueConstraint('email', name=op.f('uq_newsletter_subscribers_email'))
    )
    with op.batch_alter_table('newsletter_subscribers', schema=None) as batch_op:
        batch_op.create_index('ix_newsletter_status_created', ['status', 'created_at'], unique=False)

    op.create_table('spent_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('expires_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spent_challenges')),
    sa.UniqueConstraint('signature', name=op.f('uq_spent_challenges_signature'))
    )
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.create_index('ix_spent_challenges_expires', ['expires_at'], unique=False)

    op.create_table('campaign_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('headline', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('presets', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('views', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('continues', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_variants_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_variants')),
    sa.UniqueConstraint('campaign_id', 'key', name=op.f('uq_campaign_variants_campaign_id'))
    )
    with op.batch_alter_table('campaign_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_variants_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.Enum('subscribed', 'unsubscribed', name='handoffevent', native_enum=False, length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', name='outboxstatus', native_enum=False, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscriber_id'], ['newsletter_subscribers.id'], name=op.f('fk_handoffs_subscriber_id_newsletter_subscribers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_handoffs_dedupe_key'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_pending_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status IN ('pending', 'sending')"), sqlite_where=sa.text("status IN ('pending', 'sending')"))
        batch_op.create_index(batch_op.f('ix_handoffs_subscriber_id'), ['subscriber_id'], unique=False)

    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', UtcDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('variant_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('declined_at', UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_gifts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_variant_id'), ['variant_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_gifts_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_gifts_variant_id_campaign_variants'), 'campaign_variants', ['variant_id'], ['id'])



def downgrade():
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_gifts_variant_id_campaign_variants'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_gifts_campaign_id_campaigns'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_gifts_variant_id'))
        batch_op.drop_index(batch_op.f('ix_gifts_campaign_id'))
        batch_op.drop_column('declined_at')
        batch_op.drop_column('variant_id')
        batch_op.drop_column('campaign_id')
        batch_op.drop_column('locale')

    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_subscriber_id'))
        batch_op.drop_index('ix_handoffs_pending_due', postgresql_where=sa.text("status IN ('pending', 'sending')"), sqlite_where=sa.text("status IN ('pending', 'sending')"))

    op.drop_table('handoffs')
    with op.batch_alter_table('campaign_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_variants_campaign_id'))

    op.drop_table('campaign_variants')
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.drop_index('ix_spent_challenges_expires')

    op.drop_table('spent_challenges')
    with op.batch_alter_table('newsletter_subscribers', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletter_status_created')

    op.drop_table('newsletter_subscribers')
    op.drop_table('campaigns')
    with op.batch_alter_table('blocked_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_blocked_attempts_created')

    op.drop_table('blocked_attempts')
