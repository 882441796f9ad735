"""The inbox's reference to a gift is checked at commit (deferred foreign key)

The webhook stores an event's row naming its gift before the handler locks that gift.
Checked at once, the reference would take a ``KEY SHARE`` lock on the gift first, and a
concurrent event about the same gift, updating the gift's unique provider ids, would
deadlock with it; checked at commit, the handler's own lock comes first.

Revision ID: 9c3e5d2f1a7b
Revises: 72ea87751b52
Create Date: 2026-11-30 18:15:00

"""

from alembic import op

revision = "9c3e5d2f1a7b"
down_revision = "72ea87751b52"
branch_labels = None
depends_on = None

NAME = "fk_stripe_events_gift_id_gifts"


def _reference(deferred: bool) -> None:
    with op.batch_alter_table("stripe_events") as batch_op:
        batch_op.drop_constraint(NAME, type_="foreignkey")
        batch_op.create_foreign_key(
            NAME,
            "gifts",
            ["gift_id"],
            ["id"],
            deferrable=deferred or None,
            initially="DEFERRED" if deferred else None,
        )


def upgrade():
    _reference(deferred=True)


def downgrade():
    _reference(deferred=False)
