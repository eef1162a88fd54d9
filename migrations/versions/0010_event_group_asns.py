"""Event groups say which ASNs they point at, and which pruning rule merged them.

A group's key never changes (the grouping finds a key's group by it, merged
or not), so the ASNs that pruning finds common to a group's events
(`nntsc.events.pruning`) need a column of their own: ``asns``, the ASNs as
decimal numbers separated by single spaces ("64496 64500"). ``merged_by``
names the rule that merged a group: a group pruned as a superset passes no
new events on to its winner, the others do.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("asns", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("merged_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.drop_column("merged_by")
        batch_op.drop_column("asns")
