"""Event groups carry the number of the change that last wrote them: change_serial.

The events dashboard updates itself by asking "what changed since change
N": every transaction of grouping or pruning that writes groups stamps them
with the next number after the highest stored (under the groups' lock, so
the numbers are committed in order), and the index answers both "the
newest number" (an idle viewer's poll) and "the groups above N". Existing
groups get 0: a viewer's first page is read after the migration anyway.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:50:20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change_serial", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_event_groups_change_serial"), ["change_serial"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_groups_change_serial"))
        batch_op.drop_column("change_serial")
