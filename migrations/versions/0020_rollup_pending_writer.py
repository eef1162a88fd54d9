"""Rollup marks say which process wrote their bin's rows.

A collector computes the rollups of the hours it alone wrote, and saw from
their start, from the rows it holds in memory (`nntsc.store.rollups.HeldRollups`);
the column tells it which those are. A mark is inserted with the writing
process's id; another writer marking the same bin sets it to null, and a
null writer leaves the bin to the re-reading rollup pass.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup_pending", schema=None) as batch_op:
        batch_op.add_column(sa.Column("writer", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rollup_pending", schema=None) as batch_op:
        batch_op.drop_column("writer")
