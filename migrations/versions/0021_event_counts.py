"""Counts of events and event groups kept by triggers: event_counts.

``/metrics`` reported events per kind and detector and groups per status by
counting both tables at each scrape (39 ms at 100,000 events and 20,000
groups, growing with them). Now triggers on ``events`` and ``event_groups``
record every change of those counts in ``event_counts``, in the transaction
of the statement that made it, whichever process (or a stream deleted with
its events, or a bulk load) wrote; the scrape sums a few rows.

PostgreSQL: statement triggers with transition tables append one row per
key and statement (an insert of 500 events of one kind: one row), so
concurrent writers never wait for one another; the pruning pass folds the
rows into one a key (`nntsc.events.metrics.compact_counts`). SQLite (one
writer at a time): row triggers keep one row a key.

The counts start from the rows present, counted in this migration after the
triggers exist (on PostgreSQL, creating a trigger blocks writes to its table
until the migration commits, so nothing is counted twice or missed).

A later migration that rebuilds ``events`` or ``event_groups`` on SQLite
(``batch_alter_table`` copies the table) drops these triggers with the old
table and must create them again (`create_sqlite_triggers`):
`nntsc db check` (in `make test`) fails while a trigger of
``nntsc.store.schema.TRIGGERS`` is missing after the migrations, and
tests/unit/test_event_group_changes.py checks the counts.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

#: (table, what, its count's key columns: name and detector)
COUNTED = (
    ("events", "events", "kind", "detector"),
    ("event_groups", "groups", "status", "''"),
)

_POSTGRES_FUNCTION = """
CREATE FUNCTION nntsc_count_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_counts (what, name, detector, n)
        SELECT '{what}', {name}, {detector}, count(*) FROM nntsc_new GROUP BY 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_counts (what, name, detector, n)
        SELECT '{what}', {name}, {detector}, -count(*) FROM nntsc_old GROUP BY 2, 3;
    ELSE
        INSERT INTO event_counts (what, name, detector, n)
        SELECT '{what}', name, detector, sum(n) FROM (
            SELECT {name} AS name, {detector} AS detector, 1 AS n FROM nntsc_new
            UNION ALL
            SELECT {name}, {detector}, -1 FROM nntsc_old
        ) AS changes
        GROUP BY name, detector
        HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END
$$
"""

_POSTGRES_TRIGGERS = (
    ("insert", "INSERT", "REFERENCING NEW TABLE AS nntsc_new"),
    ("update", "UPDATE", "REFERENCING OLD TABLE AS nntsc_old NEW TABLE AS nntsc_new"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS nntsc_old"),
)


def _sqlite_add(what: str, name: str, detector: str, delta: int) -> str:
    """Statements of a row trigger adding `delta` to the one row of a key (made if missing)."""
    key = f"what = '{what}' AND name = {name} AND detector = {detector}"
    return (
        f"INSERT INTO event_counts (what, name, detector, n) "
        f"SELECT '{what}', {name}, {detector}, 0 "
        f"WHERE NOT EXISTS (SELECT 1 FROM event_counts WHERE {key}); "
        f"UPDATE event_counts SET n = n + ({delta}) WHERE {key};"
    )


def create_sqlite_triggers() -> None:
    for table, what, name, detector in COUNTED:
        new = (f"NEW.{name}", f"NEW.{detector}" if detector != "''" else "''")
        old = (f"OLD.{name}", f"OLD.{detector}" if detector != "''" else "''")
        op.execute(
            f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} "
            f"BEGIN {_sqlite_add(what, *new, 1)} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} "
            f"BEGIN {_sqlite_add(what, *old, -1)} END"
        )
        changed = " OR ".join(
            f"OLD.{column} IS NOT NEW.{column}" for column in (name, detector) if column != "''"
        )
        op.execute(
            f"CREATE TRIGGER {table}_count_update AFTER UPDATE ON {table} "
            f"WHEN {changed} "
            f"BEGIN {_sqlite_add(what, *old, -1)} {_sqlite_add(what, *new, 1)} END"
        )


def upgrade() -> None:
    op.create_table(
        "event_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("what", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, what, name, detector in COUNTED:
            op.execute(
                _POSTGRES_FUNCTION.format(table=table, what=what, name=name, detector=detector)
            )
            for suffix, event, referencing in _POSTGRES_TRIGGERS:
                op.execute(
                    f"CREATE TRIGGER {table}_count_{suffix} AFTER {event} ON {table} "
                    f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION nntsc_count_{table}()"
                )
    else:
        create_sqlite_triggers()
    for table, what, name, detector in COUNTED:
        op.execute(
            f"INSERT INTO event_counts (what, name, detector, n) "
            f"SELECT '{what}', {name}, {detector}, count(*) FROM {table} GROUP BY {name}"
            + (f", {detector}" if detector != "''" else "")
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, _what, _name, _detector in COUNTED:
        for suffix in ("insert", "update", "delete"):
            op.execute(
                f"DROP TRIGGER IF EXISTS {table}_count_{suffix}"
                + (f" ON {table}" if postgres else "")
            )
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS nntsc_count_{table}()")
    op.drop_table("event_counts")
