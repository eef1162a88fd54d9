"""Rows expired, by collection and kind: what ``nntsc_rows_expired_total`` reports.

The expiry pass (`nntsc.store.timeseries.TimeseriesStore.expire`) may run in
a Celery worker; the count lives in SQL so the web app's ``/metrics`` sees it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:29:07.649536
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expired_rows",
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection", "kind", name=op.f("pk_expired_rows")),
    )


def downgrade() -> None:
    op.drop_table("expired_rows")
