"""Notifications: channels, subscriptions, the delivery log, its scan cursor and counters.

A user's channels (e-mail addresses or a webhook) and the subscriptions that
link their saved event filters to them; every message is a row of
``notification_deliveries`` written before it is sent, unique per (group,
channel, sequence), so that a retried task or a second scan never sends it
twice. ``event_groups`` gets an index on ``ts_updated``: the scan reads the
groups changed since its cursor (`docs/events.md`, "Notifications").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:50:58.342588
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_counts",
        sa.Column("channel_kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel_kind", "outcome", name=op.f("pk_notification_counts")),
    )
    op.create_table(
        "notification_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_cursors")),
    )
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("body_format", sa.String(length=16), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=False),
        sa.Column("rate_period", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_notification_channels_username_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint(
            "username", "name", name=op.f("uq_notification_channels_username_name")
        ),
    )
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_channels_username"), ["username"], unique=False
        )

    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filter_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_subscriptions_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["event_filters.id"],
            name=op.f("fk_notification_subscriptions_filter_id_event_filters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_subscriptions")),
        sa.UniqueConstraint(
            "filter_id",
            "channel_id",
            name=op.f("uq_notification_subscriptions_filter_id_channel_id"),
        ),
    )
    with op.batch_alter_table("notification_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_subscriptions_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_subscriptions_filter_id"), ["filter_id"], unique=False
        )

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt", sa.BigInteger(), nullable=False),
        sa.Column("claimed", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("summary_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["event_groups.id"],
            name=op.f("fk_notification_deliveries_group_id_event_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["notification_subscriptions.id"],
            name=op.f("fk_notification_deliveries_subscription_id_notification_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["summary_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_deliveries_summary_id_notification_deliveries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "group_id",
            "channel_id",
            "sequence",
            name=op.f("uq_notification_deliveries_group_id_channel_id_sequence"),
        ),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_channel_id_claimed"),
            ["channel_id", "claimed"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_created_id"), ["created", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_status_next_attempt"),
            ["status", "next_attempt"],
            unique=False,
        )

    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_groups_ts_updated"), ["ts_updated"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_groups_ts_updated"))

    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_status_next_attempt"))
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_group_id"))
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_created_id"))
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_channel_id_claimed"))

    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notification_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_subscriptions_filter_id"))
        batch_op.drop_index(batch_op.f("ix_notification_subscriptions_channel_id"))

    op.drop_table("notification_subscriptions")
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_channels_username"))

    op.drop_table("notification_channels")
    op.drop_table("notification_cursors")
    op.drop_table("notification_counts")
