"""Drop the index on event_groups.ts_updated that migration 0014 added.

The notification scan first read "groups changed since" by their
``ts_updated`` (with an overlap, as timestamps are taken before commit);
it now reads them by ``change_serial`` (migration 0016), which commits in
order and has its own index, so this index only cost writes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:15:44.339637
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_groups_ts_updated"))


def downgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_groups_ts_updated"), ["ts_updated"], unique=False
        )
