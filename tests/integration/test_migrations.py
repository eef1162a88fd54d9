"""Models and migrations agree, on PostgreSQL and SQLite; upgrade is idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from nntsc.plugins import declared_metadata
from nntsc.store.schema import current_revision, downgrade_sql, head_revision, upgrade_sql


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        upgrade_sql(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, declared_metadata())
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_postgresql(postgres_url: str) -> None:
    assert _differences(postgres_url) == []


def test_models_and_migrations_agree_on_sqlite(tmp_path) -> None:
    assert _differences(f"sqlite:///{tmp_path}/schema.sqlite") == []


def test_upgrade_twice_and_stream_key_is_unique(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        upgrade_sql(engine)
        upgrade_sql(engine)
        assert current_revision(engine) == head_revision(engine)
        inspector = inspect(engine)
        uniques = inspector.get_unique_constraints("streams_amp_icmp")
        assert [u["column_names"] for u in uniques] == [
            ["source", "destination", "family", "packet_size"]
        ]
        assert {tuple(i["column_names"]) for i in inspector.get_indexes("streams_amp_icmp")} >= {
            ("destination", "source")
        }
        assert inspector.get_pk_constraint("data_amp_icmp")["constrained_columns"] == [
            "stream_id",
            "timestamp",
        ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("level", [300, 3600, 86400])
def test_rollup_tables_exist(tmp_path, level: int) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/schema.sqlite")
    upgrade_sql(engine)
    columns = {c["name"] for c in inspect(engine).get_columns(f"rollup_amp_icmp_{level}")}
    assert {"rtts_p5", "rtts_p100", "median_sumsq", "loss_sum"} <= columns
    engine.dispose()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_rollup_marks_keyed_by_stream_then_bin(database: str, postgres_url: str, tmp_path) -> None:
    """0007 puts stream and bin before level in the marks' key, keeps marks, and reverts."""
    url = postgres_url if database == "postgresql" else f"sqlite:///{tmp_path}/schema.sqlite"
    engine = create_engine(url)
    try:
        upgrade_sql(engine, "0006")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO rollup_pending (collection, level, stream_id, bin_start, version) "
                    "VALUES ('amp-icmp', 3600, 7, 7200, 3)"
                )
            )
        upgrade_sql(engine)
        key = inspect(engine).get_pk_constraint("rollup_pending")["constrained_columns"]
        assert key == ["collection", "stream_id", "bin_start", "level"]
        with engine.connect() as connection:
            marks = connection.execute(
                text("SELECT collection, level, stream_id, bin_start, version FROM rollup_pending")
            ).all()
        assert [tuple(mark) for mark in marks] == [("amp-icmp", 3600, 7, 7200, 3)]
        downgrade_sql(engine, "0006")
        key = inspect(engine).get_pk_constraint("rollup_pending")["constrained_columns"]
        assert key == ["collection", "level", "stream_id", "bin_start"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_accounts_sessions_keep_existing_users_logged_in(
    database: str, postgres_url: str, tmp_path: Path
) -> None:
    """0009 gives existing users generation 0 (what their sessions hold) and reverts."""
    url = postgres_url if database == "postgresql" else f"sqlite:///{tmp_path}/schema.sqlite"
    engine = create_engine(url)
    try:
        upgrade_sql(engine, "0008")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (username, long_name, email, password_hash, roles, "
                    "enabled, created) VALUES ('alice', '', '', '', '[]', true, 0)"
                )
            )
        upgrade_sql(engine, "0009")
        with engine.connect() as connection:
            generation = connection.scalar(text("SELECT session_generation FROM users"))
        assert generation == 0
        downgrade_sql(engine, "0008")
        inspector = inspect(engine)
        assert "ampweb_secrets" not in inspector.get_table_names()
        assert "session_generation" not in {c["name"] for c in inspector.get_columns("users")}
    finally:
        engine.dispose()


def _schema(engine) -> dict[str, tuple]:
    """Each table's columns (name, type, nullable), primary key, indexes and foreign keys."""
    inspector = inspect(engine)
    return {
        table: (
            sorted(
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ),
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        )
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_this_sessions_migrations_downgrade_to_0012_and_upgrade_again(
    database: str, postgres_url: str, tmp_path: Path
) -> None:
    """0013 onwards (imports, notifications, new collections, change serials, schedules)
    go back to exactly 0012's schema, and forward again to the models'."""
    url = postgres_url if database == "postgresql" else f"sqlite:///{tmp_path}/schema.sqlite"
    engine = create_engine(url)
    try:
        upgrade_sql(engine, "0012")
        before = _schema(engine)
        upgrade_sql(engine)
        assert "schedule_items" in inspect(engine).get_table_names()
        downgrade_sql(engine, "0012")
        assert current_revision(engine) == "0012"
        assert _schema(engine) == before
        engine.dispose()
        assert _differences(url) == []
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_rollup_marks_gain_a_writer(database: str, postgres_url: str, tmp_path) -> None:
    """0020 adds the marks' writer, null for the marks already there (left to the
    re-reading pass), and drops it again on the way down."""
    url = postgres_url if database == "postgresql" else f"sqlite:///{tmp_path}/schema.sqlite"
    engine = create_engine(url)
    try:
        upgrade_sql(engine, "0019")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO rollup_pending (collection, level, stream_id, bin_start, version) "
                    "VALUES ('amp-icmp', 3600, 7, 7200, 3)"
                )
            )
        upgrade_sql(engine, "0020")
        with engine.connect() as connection:
            marks = connection.execute(
                text("SELECT stream_id, version, writer FROM rollup_pending")
            )
            assert [tuple(mark) for mark in marks] == [(7, 3, None)]
        downgrade_sql(engine, "0019")
        columns = {c["name"] for c in inspect(engine).get_columns("rollup_pending")}
        assert "writer" not in columns
    finally:
        engine.dispose()
