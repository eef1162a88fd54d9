"""Schedule destinations limited to an address family or a number of addresses.

amp-web's destinations could carry ``!v4``, ``!v6`` or ``!<n>`` (amplet2's
``:v4``, ``:v6``, ``:<n>`` target qualifiers); `schedule_destination_sites`
keeps them in two nullable columns (null: every address).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_destination_sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_family", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("address_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule_destination_sites", schema=None) as batch_op:
        batch_op.drop_column("address_count")
        batch_op.drop_column("address_family")
