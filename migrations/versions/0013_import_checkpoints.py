"""Resume points of `nntsc import nntsc`: import_checkpoints.

Per NNTSC deployment, collection and stream, the span of rows the import
has committed, so that an interrupted import resumes after its last
committed chunk and a repeated one skips what it has done.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_checkpoints",
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("legacy_stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("done_from", sa.BigInteger(), nullable=False),
        sa.Column("done_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "source", "collection", "legacy_stream_id", name=op.f("pk_import_checkpoints")
        ),
    )


def downgrade() -> None:
    op.drop_table("import_checkpoints")
