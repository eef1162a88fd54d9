"""Live detection's resume points and work shares: event_checkpoints, event_partitions, event_runners.

`nntsc events run` resumes from the store: per stream, the newest row it
has been through (advanced with the events those rows gave, in one
transaction); the streams are split into partitions that the running
processes (`event_runners`) lease, so that several share the work and a
dead one's share is taken over.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_checkpoints",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.stream_id"],
            name=op.f("fk_event_checkpoints_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_event_checkpoints")),
    )
    op.create_table(
        "event_partitions",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_event_partitions")),
    )
    op.create_table(
        "event_runners",
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_event_runners")),
    )


def downgrade() -> None:
    op.drop_table("event_runners")
    op.drop_table("event_partitions")
    op.drop_table("event_checkpoints")
