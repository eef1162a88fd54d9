"""Sites, meshes and their members; saved views.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:03:22.709812
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meshes",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("long_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("is_source", sa.Boolean(), nullable=False),
        sa.Column("is_destination", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_meshes")),
    )
    op.create_table(
        "sites",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("long_name", sa.String(length=255), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sites")),
    )
    op.create_table(
        "views",
        sa.Column("view_id", sa.String(length=32), nullable=False),
        sa.Column("style", sa.String(length=32), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("view_id", name=op.f("pk_views")),
    )
    op.create_table(
        "mesh_members",
        sa.Column("mesh_name", sa.String(length=255), nullable=False),
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["mesh_name"],
            ["meshes.name"],
            name=op.f("fk_mesh_members_mesh_name_meshes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_name"],
            ["sites.name"],
            name=op.f("fk_mesh_members_site_name_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mesh_name", "site_name", name=op.f("pk_mesh_members")),
    )
    with op.batch_alter_table("mesh_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mesh_members_site_name"), ["site_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mesh_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mesh_members_site_name"))

    op.drop_table("mesh_members")
    op.drop_table("views")
    op.drop_table("sites")
    op.drop_table("meshes")
