"""Events, event groups, group members, ratings and saved event filters.

One table each for every stream (the predecessor kept one event table per
stream). The indexes serve the two reads the web app makes most: event groups
newest first a page at a time (keyset on ts_started, id), and the events of
some streams in [start, end) (stream_id, ts_onset). Events are unique by
(detector, stream_id, metric, ts_onset) so that detecting the same rows twice
stores each event once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("ts_onset", sa.BigInteger(), nullable=False),
        sa.Column("ts_detected", sa.BigInteger(), nullable=False),
        sa.Column("ts_ended", sa.BigInteger(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("new_value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.stream_id"],
            name=op.f("fk_events_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "detector",
            "stream_id",
            "metric",
            "ts_onset",
            name=op.f("uq_events_detector_stream_id_metric_ts_onset"),
        ),
    )
    op.create_index(op.f("ix_events_stream_id_ts_onset"), "events", ["stream_id", "ts_onset"])
    op.create_index(op.f("ix_events_ts_onset_id"), "events", ["ts_onset", "id"])

    op.create_table(
        "event_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("key_kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("ts_started", sa.BigInteger(), nullable=False),
        sa.Column("ts_ended", sa.BigInteger(), nullable=False),
        sa.Column("ts_updated", sa.BigInteger(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.Column("endpoint_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["event_groups.id"],
            name=op.f("fk_event_groups_merged_into_event_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_groups")),
    )
    op.create_index(op.f("ix_event_groups_ts_started_id"), "event_groups", ["ts_started", "id"])
    op.create_index(
        op.f("ix_event_groups_key_direction_status"),
        "event_groups",
        ["key", "direction", "status"],
    )
    op.create_index(op.f("ix_event_groups_merged_into"), "event_groups", ["merged_into"])

    op.create_table(
        "event_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_group_members_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["event_groups.id"],
            name=op.f("fk_event_group_members_group_id_event_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "event_id", name=op.f("pk_event_group_members")),
    )
    op.create_index(op.f("ix_event_group_members_event_id"), "event_group_members", ["event_id"])

    op.create_table(
        "event_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("useful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_ratings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["event_groups.id"],
            name=op.f("fk_event_ratings_group_id_event_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_event_ratings_username_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_ratings")),
        sa.UniqueConstraint(
            "username", "event_id", name=op.f("uq_event_ratings_username_event_id")
        ),
        sa.UniqueConstraint(
            "username", "group_id", name=op.f("uq_event_ratings_username_group_id")
        ),
    )
    op.create_index(op.f("ix_event_ratings_event_id"), "event_ratings", ["event_id"])
    op.create_index(op.f("ix_event_ratings_group_id"), "event_ratings", ["group_id"])

    op.create_table(
        "event_filters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_event_filters_username_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_filters")),
        sa.UniqueConstraint("username", "name", name=op.f("uq_event_filters_username_name")),
    )


def downgrade() -> None:
    op.drop_table("event_filters")
    op.drop_table("event_ratings")
    op.drop_table("event_group_members")
    op.drop_table("event_groups")
    op.drop_table("events")
