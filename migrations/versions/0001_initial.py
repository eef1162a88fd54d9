"""Initial schema: collections, streams, the amp-icmp tables and their rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 11:00:29.689653
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("view_style", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("name", name=op.f("uq_collections_name")),
    )
    op.create_table(
        "data_amp_icmp",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("median", sa.Float(), nullable=True),
        sa.Column("min", sa.BigInteger(), nullable=True),
        sa.Column("max", sa.BigInteger(), nullable=True),
        sa.Column("loss", sa.BigInteger(), nullable=True),
        sa.Column("results", sa.BigInteger(), nullable=True),
        sa.Column("lossrate", sa.Float(), nullable=True),
        sa.Column("rtts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_data_amp_icmp")),
    )
    op.create_table(
        "rollup_amp_icmp_300",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("median_count", sa.Float(), nullable=True),
        sa.Column("median_sum", sa.Float(), nullable=True),
        sa.Column("median_sumsq", sa.Float(), nullable=True),
        sa.Column("median_min", sa.Float(), nullable=True),
        sa.Column("median_max", sa.Float(), nullable=True),
        sa.Column("min_count", sa.Float(), nullable=True),
        sa.Column("min_sum", sa.Float(), nullable=True),
        sa.Column("min_sumsq", sa.Float(), nullable=True),
        sa.Column("min_min", sa.Float(), nullable=True),
        sa.Column("min_max", sa.Float(), nullable=True),
        sa.Column("max_count", sa.Float(), nullable=True),
        sa.Column("max_sum", sa.Float(), nullable=True),
        sa.Column("max_sumsq", sa.Float(), nullable=True),
        sa.Column("max_min", sa.Float(), nullable=True),
        sa.Column("max_max", sa.Float(), nullable=True),
        sa.Column("loss_count", sa.Float(), nullable=True),
        sa.Column("loss_sum", sa.Float(), nullable=True),
        sa.Column("loss_sumsq", sa.Float(), nullable=True),
        sa.Column("loss_min", sa.Float(), nullable=True),
        sa.Column("loss_max", sa.Float(), nullable=True),
        sa.Column("results_count", sa.Float(), nullable=True),
        sa.Column("results_sum", sa.Float(), nullable=True),
        sa.Column("results_sumsq", sa.Float(), nullable=True),
        sa.Column("results_min", sa.Float(), nullable=True),
        sa.Column("results_max", sa.Float(), nullable=True),
        sa.Column("lossrate_count", sa.Float(), nullable=True),
        sa.Column("lossrate_sum", sa.Float(), nullable=True),
        sa.Column("lossrate_sumsq", sa.Float(), nullable=True),
        sa.Column("lossrate_min", sa.Float(), nullable=True),
        sa.Column("lossrate_max", sa.Float(), nullable=True),
        sa.Column("rtts_count", sa.Float(), nullable=True),
        sa.Column("rtts_sum", sa.Float(), nullable=True),
        sa.Column("rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("rtts_min", sa.Float(), nullable=True),
        sa.Column("rtts_max", sa.Float(), nullable=True),
        sa.Column("rtts_p5", sa.Float(), nullable=True),
        sa.Column("rtts_p10", sa.Float(), nullable=True),
        sa.Column("rtts_p15", sa.Float(), nullable=True),
        sa.Column("rtts_p20", sa.Float(), nullable=True),
        sa.Column("rtts_p25", sa.Float(), nullable=True),
        sa.Column("rtts_p30", sa.Float(), nullable=True),
        sa.Column("rtts_p35", sa.Float(), nullable=True),
        sa.Column("rtts_p40", sa.Float(), nullable=True),
        sa.Column("rtts_p45", sa.Float(), nullable=True),
        sa.Column("rtts_p50", sa.Float(), nullable=True),
        sa.Column("rtts_p55", sa.Float(), nullable=True),
        sa.Column("rtts_p60", sa.Float(), nullable=True),
        sa.Column("rtts_p65", sa.Float(), nullable=True),
        sa.Column("rtts_p70", sa.Float(), nullable=True),
        sa.Column("rtts_p75", sa.Float(), nullable=True),
        sa.Column("rtts_p80", sa.Float(), nullable=True),
        sa.Column("rtts_p85", sa.Float(), nullable=True),
        sa.Column("rtts_p90", sa.Float(), nullable=True),
        sa.Column("rtts_p95", sa.Float(), nullable=True),
        sa.Column("rtts_p100", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_rollup_amp_icmp_300")),
    )
    op.create_table(
        "rollup_amp_icmp_3600",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("median_count", sa.Float(), nullable=True),
        sa.Column("median_sum", sa.Float(), nullable=True),
        sa.Column("median_sumsq", sa.Float(), nullable=True),
        sa.Column("median_min", sa.Float(), nullable=True),
        sa.Column("median_max", sa.Float(), nullable=True),
        sa.Column("min_count", sa.Float(), nullable=True),
        sa.Column("min_sum", sa.Float(), nullable=True),
        sa.Column("min_sumsq", sa.Float(), nullable=True),
        sa.Column("min_min", sa.Float(), nullable=True),
        sa.Column("min_max", sa.Float(), nullable=True),
        sa.Column("max_count", sa.Float(), nullable=True),
        sa.Column("max_sum", sa.Float(), nullable=True),
        sa.Column("max_sumsq", sa.Float(), nullable=True),
        sa.Column("max_min", sa.Float(), nullable=True),
        sa.Column("max_max", sa.Float(), nullable=True),
        sa.Column("loss_count", sa.Float(), nullable=True),
        sa.Column("loss_sum", sa.Float(), nullable=True),
        sa.Column("loss_sumsq", sa.Float(), nullable=True),
        sa.Column("loss_min", sa.Float(), nullable=True),
        sa.Column("loss_max", sa.Float(), nullable=True),
        sa.Column("results_count", sa.Float(), nullable=True),
        sa.Column("results_sum", sa.Float(), nullable=True),
        sa.Column("results_sumsq", sa.Float(), nullable=True),
        sa.Column("results_min", sa.Float(), nullable=True),
        sa.Column("results_max", sa.Float(), nullable=True),
        sa.Column("lossrate_count", sa.Float(), nullable=True),
        sa.Column("lossrate_sum", sa.Float(), nullable=True),
        sa.Column("lossrate_sumsq", sa.Float(), nullable=True),
        sa.Column("lossrate_min", sa.Float(), nullable=True),
        sa.Column("lossrate_max", sa.Float(), nullable=True),
        sa.Column("rtts_count", sa.Float(), nullable=True),
        sa.Column("rtts_sum", sa.Float(), nullable=True),
        sa.Column("rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("rtts_min", sa.Float(), nullable=True),
        sa.Column("rtts_max", sa.Float(), nullable=True),
        sa.Column("rtts_p5", sa.Float(), nullable=True),
        sa.Column("rtts_p10", sa.Float(), nullable=True),
        sa.Column("rtts_p15", sa.Float(), nullable=True),
        sa.Column("rtts_p20", sa.Float(), nullable=True),
        sa.Column("rtts_p25", sa.Float(), nullable=True),
        sa.Column("rtts_p30", sa.Float(), nullable=True),
        sa.Column("rtts_p35", sa.Float(), nullable=True),
        sa.Column("rtts_p40", sa.Float(), nullable=True),
        sa.Column("rtts_p45", sa.Float(), nullable=True),
        sa.Column("rtts_p50", sa.Float(), nullable=True),
        sa.Column("rtts_p55", sa.Float(), nullable=True),
        sa.Column("rtts_p60", sa.Float(), nullable=True),
        sa.Column("rtts_p65", sa.Float(), nullable=True),
        sa.Column("rtts_p70", sa.Float(), nullable=True),
        sa.Column("rtts_p75", sa.Float(), nullable=True),
        sa.Column("rtts_p80", sa.Float(), nullable=True),
        sa.Column("rtts_p85", sa.Float(), nullable=True),
        sa.Column("rtts_p90", sa.Float(), nullable=True),
        sa.Column("rtts_p95", sa.Float(), nullable=True),
        sa.Column("rtts_p100", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_rollup_amp_icmp_3600")),
    )
    op.create_table(
        "rollup_amp_icmp_86400",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("median_count", sa.Float(), nullable=True),
        sa.Column("median_sum", sa.Float(), nullable=True),
        sa.Column("median_sumsq", sa.Float(), nullable=True),
        sa.Column("median_min", sa.Float(), nullable=True),
        sa.Column("median_max", sa.Float(), nullable=True),
        sa.Column("min_count", sa.Float(), nullable=True),
        sa.Column("min_sum", sa.Float(), nullable=True),
        sa.Column("min_sumsq", sa.Float(), nullable=True),
        sa.Column("min_min", sa.Float(), nullable=True),
        sa.Column("min_max", sa.Float(), nullable=True),
        sa.Column("max_count", sa.Float(), nullable=True),
        sa.Column("max_sum", sa.Float(), nullable=True),
        sa.Column("max_sumsq", sa.Float(), nullable=True),
        sa.Column("max_min", sa.Float(), nullable=True),
        sa.Column("max_max", sa.Float(), nullable=True),
        sa.Column("loss_count", sa.Float(), nullable=True),
        sa.Column("loss_sum", sa.Float(), nullable=True),
        sa.Column("loss_sumsq", sa.Float(), nullable=True),
        sa.Column("loss_min", sa.Float(), nullable=True),
        sa.Column("loss_max", sa.Float(), nullable=True),
        sa.Column("results_count", sa.Float(), nullable=True),
        sa.Column("results_sum", sa.Float(), nullable=True),
        sa.Column("results_sumsq", sa.Float(), nullable=True),
        sa.Column("results_min", sa.Float(), nullable=True),
        sa.Column("results_max", sa.Float(), nullable=True),
        sa.Column("lossrate_count", sa.Float(), nullable=True),
        sa.Column("lossrate_sum", sa.Float(), nullable=True),
        sa.Column("lossrate_sumsq", sa.Float(), nullable=True),
        sa.Column("lossrate_min", sa.Float(), nullable=True),
        sa.Column("lossrate_max", sa.Float(), nullable=True),
        sa.Column("rtts_count", sa.Float(), nullable=True),
        sa.Column("rtts_sum", sa.Float(), nullable=True),
        sa.Column("rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("rtts_min", sa.Float(), nullable=True),
        sa.Column("rtts_max", sa.Float(), nullable=True),
        sa.Column("rtts_p5", sa.Float(), nullable=True),
        sa.Column("rtts_p10", sa.Float(), nullable=True),
        sa.Column("rtts_p15", sa.Float(), nullable=True),
        sa.Column("rtts_p20", sa.Float(), nullable=True),
        sa.Column("rtts_p25", sa.Float(), nullable=True),
        sa.Column("rtts_p30", sa.Float(), nullable=True),
        sa.Column("rtts_p35", sa.Float(), nullable=True),
        sa.Column("rtts_p40", sa.Float(), nullable=True),
        sa.Column("rtts_p45", sa.Float(), nullable=True),
        sa.Column("rtts_p50", sa.Float(), nullable=True),
        sa.Column("rtts_p55", sa.Float(), nullable=True),
        sa.Column("rtts_p60", sa.Float(), nullable=True),
        sa.Column("rtts_p65", sa.Float(), nullable=True),
        sa.Column("rtts_p70", sa.Float(), nullable=True),
        sa.Column("rtts_p75", sa.Float(), nullable=True),
        sa.Column("rtts_p80", sa.Float(), nullable=True),
        sa.Column("rtts_p85", sa.Float(), nullable=True),
        sa.Column("rtts_p90", sa.Float(), nullable=True),
        sa.Column("rtts_p95", sa.Float(), nullable=True),
        sa.Column("rtts_p100", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_rollup_amp_icmp_86400")),
    )
    op.create_table(
        "rollup_pending",
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("bin_start", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "collection", "level", "stream_id", "bin_start", name=op.f("pk_rollup_pending")
        ),
    )
    op.create_table(
        "streams",
        sa.Column("stream_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("first_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("last_timestamp", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_streams_collection_id_collections")
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_streams")),
    )
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_streams_collection_id"), ["collection_id"], unique=False
        )

    op.create_table(
        "streams_amp_icmp",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("packet_size", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.stream_id"],
            name=op.f("fk_streams_amp_icmp_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_streams_amp_icmp")),
        sa.UniqueConstraint(
            "source",
            "destination",
            "family",
            "packet_size",
            name=op.f("uq_streams_amp_icmp_source_destination_family_packet_size"),
        ),
    )
    with op.batch_alter_table("streams_amp_icmp", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_streams_amp_icmp_destination_source"),
            ["destination", "source"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("streams_amp_icmp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streams_amp_icmp_destination_source"))

    op.drop_table("streams_amp_icmp")
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streams_collection_id"))

    op.drop_table("streams")
    op.drop_table("rollup_pending")
    op.drop_table("rollup_amp_icmp_86400")
    op.drop_table("rollup_amp_icmp_3600")
    op.drop_table("rollup_amp_icmp_300")
    op.drop_table("data_amp_icmp")
    op.drop_table("collections")
