"""Rollup marks keyed by stream before level, so a query's look seeks its streams' range.

The primary key was (collection, level, stream_id, bin_start). A graph looks
for the marks of its streams in its range at every query, with no condition
on the level, so PostgreSQL walked every mark of the collection (and every
dead index entry left by marks just processed): 0.3 ms after a year of one
stream was backfilled, and growing with the number of marks pending.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 20:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _key(columns: list[str]) -> None:
    with op.batch_alter_table("rollup_pending", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("pk_rollup_pending"), type_="primary")
        batch_op.create_primary_key(batch_op.f("pk_rollup_pending"), columns)


def upgrade() -> None:
    _key(["collection", "stream_id", "bin_start", "level"])


def downgrade() -> None:
    _key(["collection", "level", "stream_id", "bin_start"])
