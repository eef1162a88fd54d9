"""Test schedules of sites and meshes: schedule_items, their destinations, schedule_changes.

What amplet2 monitors fetch as their schedule (`GET /yaml/{site}`): items
owned by a site or a mesh, the sites and meshes they test towards, and per
site the time its fetched schedule last changed (for ``Last-Modified``,
which a deletion must move on too, so it cannot be read off the items).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("test", sa.String(length=32), nullable=False),
        sa.Column("source_site", sa.String(length=255), nullable=True),
        sa.Column("source_mesh", sa.String(length=255), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("mesh_offset", sa.Integer(), nullable=False),
        sa.Column("args", sa.String(length=1000), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(source_site IS NULL) <> (source_mesh IS NULL)", name="ck_schedule_items_one_source"
        ),
        sa.ForeignKeyConstraint(
            ["source_mesh"],
            ["meshes.name"],
            name=op.f("fk_schedule_items_source_mesh_meshes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_site"],
            ["sites.name"],
            name=op.f("fk_schedule_items_source_site_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_items")),
    )
    with op.batch_alter_table("schedule_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_items_source_mesh"), ["source_mesh"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_items_source_site"), ["source_site"], unique=False
        )

    op.create_table(
        "schedule_changes",
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_name"],
            ["sites.name"],
            name=op.f("fk_schedule_changes_site_name_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_name", name=op.f("pk_schedule_changes")),
    )
    op.create_table(
        "schedule_destination_meshes",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("mesh_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["schedule_items.id"],
            name=op.f("fk_schedule_destination_meshes_item_id_schedule_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mesh_name"],
            ["meshes.name"],
            name=op.f("fk_schedule_destination_meshes_mesh_name_meshes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "item_id", "mesh_name", name=op.f("pk_schedule_destination_meshes")
        ),
    )
    with op.batch_alter_table("schedule_destination_meshes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_destination_meshes_mesh_name"), ["mesh_name"], unique=False
        )

    op.create_table(
        "schedule_destination_sites",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["schedule_items.id"],
            name=op.f("fk_schedule_destination_sites_item_id_schedule_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_name"],
            ["sites.name"],
            name=op.f("fk_schedule_destination_sites_site_name_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "site_name", name=op.f("pk_schedule_destination_sites")),
    )
    with op.batch_alter_table("schedule_destination_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_destination_sites_site_name"), ["site_name"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schedule_destination_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_destination_sites_site_name"))
    op.drop_table("schedule_destination_sites")
    with op.batch_alter_table("schedule_destination_meshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_destination_meshes_mesh_name"))
    op.drop_table("schedule_destination_meshes")
    op.drop_table("schedule_changes")
    with op.batch_alter_table("schedule_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_items_source_site"))
        batch_op.drop_index(batch_op.f("ix_schedule_items_source_mesh"))
    op.drop_table("schedule_items")
