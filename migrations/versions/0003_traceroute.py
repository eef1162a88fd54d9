"""Traceroute: deduplicated IP and AS path tables, amp-traceroute and amp-astraceroute.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:58:59.356256
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_amp_astraceroute",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("as_path_id", sa.BigInteger(), nullable=True),
        sa.Column("as_path_length", sa.Float(), nullable=True),
        sa.Column("responded", sa.BigInteger(), nullable=True),
        sa.Column("hop_count", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_data_amp_astraceroute")),
    )
    op.create_table(
        "data_amp_traceroute",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("path_length", sa.Float(), nullable=True),
        sa.Column("hop_count", sa.BigInteger(), nullable=True),
        sa.Column("responded", sa.BigInteger(), nullable=True),
        sa.Column("ip_path_id", sa.BigInteger(), nullable=True),
        sa.Column("as_path_id", sa.BigInteger(), nullable=True),
        sa.Column("hop_rtts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id", "timestamp", name=op.f("pk_data_amp_traceroute")),
    )
    op.create_table(
        "rollup_amp_astraceroute_300",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_length_count", sa.Float(), nullable=True),
        sa.Column("as_path_length_sum", sa.Float(), nullable=True),
        sa.Column("as_path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_length_min", sa.Float(), nullable=True),
        sa.Column("as_path_length_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_astraceroute_300")
        ),
    )
    op.create_table(
        "rollup_amp_astraceroute_3600",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_length_count", sa.Float(), nullable=True),
        sa.Column("as_path_length_sum", sa.Float(), nullable=True),
        sa.Column("as_path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_length_min", sa.Float(), nullable=True),
        sa.Column("as_path_length_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_astraceroute_3600")
        ),
    )
    op.create_table(
        "rollup_amp_astraceroute_86400",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_length_count", sa.Float(), nullable=True),
        sa.Column("as_path_length_sum", sa.Float(), nullable=True),
        sa.Column("as_path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_length_min", sa.Float(), nullable=True),
        sa.Column("as_path_length_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_astraceroute_86400")
        ),
    )
    op.create_table(
        "rollup_amp_traceroute_300",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("path_length_count", sa.Float(), nullable=True),
        sa.Column("path_length_sum", sa.Float(), nullable=True),
        sa.Column("path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("path_length_min", sa.Float(), nullable=True),
        sa.Column("path_length_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("ip_path_id_count", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sum", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("ip_path_id_min", sa.Float(), nullable=True),
        sa.Column("ip_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("hop_rtts_count", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sum", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_rtts_min", sa.Float(), nullable=True),
        sa.Column("hop_rtts_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_traceroute_300")
        ),
    )
    op.create_table(
        "rollup_amp_traceroute_3600",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("path_length_count", sa.Float(), nullable=True),
        sa.Column("path_length_sum", sa.Float(), nullable=True),
        sa.Column("path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("path_length_min", sa.Float(), nullable=True),
        sa.Column("path_length_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("ip_path_id_count", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sum", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("ip_path_id_min", sa.Float(), nullable=True),
        sa.Column("ip_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("hop_rtts_count", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sum", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_rtts_min", sa.Float(), nullable=True),
        sa.Column("hop_rtts_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_traceroute_3600")
        ),
    )
    op.create_table(
        "rollup_amp_traceroute_86400",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("path_length_count", sa.Float(), nullable=True),
        sa.Column("path_length_sum", sa.Float(), nullable=True),
        sa.Column("path_length_sumsq", sa.Float(), nullable=True),
        sa.Column("path_length_min", sa.Float(), nullable=True),
        sa.Column("path_length_max", sa.Float(), nullable=True),
        sa.Column("hop_count_count", sa.Float(), nullable=True),
        sa.Column("hop_count_sum", sa.Float(), nullable=True),
        sa.Column("hop_count_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_count_min", sa.Float(), nullable=True),
        sa.Column("hop_count_max", sa.Float(), nullable=True),
        sa.Column("responded_count", sa.Float(), nullable=True),
        sa.Column("responded_sum", sa.Float(), nullable=True),
        sa.Column("responded_sumsq", sa.Float(), nullable=True),
        sa.Column("responded_min", sa.Float(), nullable=True),
        sa.Column("responded_max", sa.Float(), nullable=True),
        sa.Column("ip_path_id_count", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sum", sa.Float(), nullable=True),
        sa.Column("ip_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("ip_path_id_min", sa.Float(), nullable=True),
        sa.Column("ip_path_id_max", sa.Float(), nullable=True),
        sa.Column("as_path_id_count", sa.Float(), nullable=True),
        sa.Column("as_path_id_sum", sa.Float(), nullable=True),
        sa.Column("as_path_id_sumsq", sa.Float(), nullable=True),
        sa.Column("as_path_id_min", sa.Float(), nullable=True),
        sa.Column("as_path_id_max", sa.Float(), nullable=True),
        sa.Column("hop_rtts_count", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sum", sa.Float(), nullable=True),
        sa.Column("hop_rtts_sumsq", sa.Float(), nullable=True),
        sa.Column("hop_rtts_min", sa.Float(), nullable=True),
        sa.Column("hop_rtts_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "stream_id", "timestamp", name=op.f("pk_rollup_amp_traceroute_86400")
        ),
    )
    op.create_table(
        "traceroute_as_paths",
        sa.Column("path_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("hop_count", sa.Integer(), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("path_id", name=op.f("pk_traceroute_as_paths")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_traceroute_as_paths_fingerprint")),
    )
    op.create_table(
        "traceroute_ip_paths",
        sa.Column("path_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("hops", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("path_id", name=op.f("pk_traceroute_ip_paths")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_traceroute_ip_paths_fingerprint")),
    )
    op.create_table(
        "streams_amp_astraceroute",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("packet_size", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.stream_id"],
            name=op.f("fk_streams_amp_astraceroute_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_streams_amp_astraceroute")),
        sa.UniqueConstraint(
            "source",
            "destination",
            "family",
            "packet_size",
            name=op.f("uq_streams_amp_astraceroute_source_destination_family_packet_size"),
        ),
    )
    with op.batch_alter_table("streams_amp_astraceroute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_streams_amp_astraceroute_destination_source"),
            ["destination", "source"],
            unique=False,
        )

    op.create_table(
        "streams_amp_traceroute",
        sa.Column("stream_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("packet_size", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.stream_id"],
            name=op.f("fk_streams_amp_traceroute_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_streams_amp_traceroute")),
        sa.UniqueConstraint(
            "source",
            "destination",
            "family",
            "packet_size",
            name=op.f("uq_streams_amp_traceroute_source_destination_family_packet_size"),
        ),
    )
    with op.batch_alter_table("streams_amp_traceroute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_streams_amp_traceroute_destination_source"),
            ["destination", "source"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("streams_amp_traceroute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streams_amp_traceroute_destination_source"))

    op.drop_table("streams_amp_traceroute")
    with op.batch_alter_table("streams_amp_astraceroute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streams_amp_astraceroute_destination_source"))

    op.drop_table("streams_amp_astraceroute")
    op.drop_table("traceroute_ip_paths")
    op.drop_table("traceroute_as_paths")
    op.drop_table("rollup_amp_traceroute_86400")
    op.drop_table("rollup_amp_traceroute_3600")
    op.drop_table("rollup_amp_traceroute_300")
    op.drop_table("rollup_amp_astraceroute_86400")
    op.drop_table("rollup_amp_astraceroute_3600")
    op.drop_table("rollup_amp_astraceroute_300")
    op.drop_table("data_amp_traceroute")
    op.drop_table("data_amp_astraceroute")
