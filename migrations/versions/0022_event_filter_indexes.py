"""Indexes on the events' source, target and kind (with the onset) for the dashboard filters.

A filter with event conditions first probes for the events meeting them in
its window (`nntsc.events.filters.EventFilterSpec.choose_plan`), and the
frequency graph and the common events read those events too. With indexes
only on (stream_id, ts_onset) and (ts_onset, id), a condition few or no
events meet read every event of the window. Each index serves one condition
with its range on the onset; figures in docs/events.md
(`bench/event_filter_index.py`). Collections are not indexed: a handful of
values, each held by many events.

On PostgreSQL, building an index holds writes to ``events`` (event
detection) until it is built: seconds for a million events.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = ("source", "target", "kind")


def upgrade() -> None:
    # Not in batch mode: SQLite creates an index in place (a batch could copy the
    # table and lose its event_counts triggers, see 0021).
    for column in COLUMNS:
        op.create_index(op.f(f"ix_events_{column}_ts_onset"), "events", [column, "ts_onset"])


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(op.f(f"ix_events_{column}_ts_onset"), table_name="events")
