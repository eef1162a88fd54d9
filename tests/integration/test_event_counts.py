"""The counts behind /metrics' event metrics, kept by triggers (migration 0021), on both stores.

Whatever writes events and groups (the grouping sink, the pruning pass, a
bulk statement, a stream deleted with its events), `event_counts` sums to
what counting the tables gives; on PostgreSQL concurrent writers do not wait
for one another, and compaction keeps the sums.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, insert, select, text, update

from nntsc.config import Services
from nntsc.events.groups import prune_recent
from nntsc.events.metrics import compact_counts, counts_query
from nntsc.events.models import Event, EventCount, EventGroup
from nntsc.store.schema import upgrade_all
from tests.conftest import make_services
from tests.events_factory import event_row, icmp_stream, store_events


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services(request, tmp_path: Path) -> Iterator[Services]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    services = make_services(url)
    try:
        yield services
    finally:
        services.close()


def kept(services: Services) -> dict[tuple[str, str, str], int]:
    """The counts as /metrics reads them."""
    with services.engine.connect() as connection:
        return {(w, n, d): int(total) for w, n, d, total in connection.execute(counts_query())}


def counted(services: Services) -> dict[tuple[str, str, str], int]:
    """The counts by counting the tables (what /metrics did at each scrape before)."""
    events, groups = Event.__table__, EventGroup.__table__
    with services.engine.connect() as connection:
        found = {
            ("events", kind, detector): n
            for kind, detector, n in connection.execute(
                select(events.c.kind, events.c.detector, func.count()).group_by(
                    events.c.kind, events.c.detector
                )
            )
        }
        found.update(
            (("groups", status, ""), n)
            for status, n in connection.execute(
                select(groups.c.status, func.count()).group_by(groups.c.status)
            )
        )
    return found


def test_the_counts_follow_every_write(services: Services) -> None:
    now = int(time.time())
    ab = icmp_stream(services, "amp-a", "amp-b")
    ac = icmp_stream(services, "amp-a", "amp-c")
    assert kept(services) == counted(services) == {}
    # Through the grouping sink, as detection stores them.
    store_events(
        services,
        [
            event_row(ab, now - 7200, source="amp-a", target="amp-b"),
            event_row(ac, now - 7140, source="amp-a", target="amp-c"),
            event_row(ab, now - 60, source="amp-a", target="amp-b"),
            event_row(ab, now - 30, detector="loss", metric="loss", kind="loss"),
        ],
    )
    assert kept(services) == counted(services)
    assert kept(services)[("events", "incr", "level")] == 3
    # Pruning closes and merges groups (updates of their status), then compacts.
    prune_recent(services, now=now + 3600)
    assert kept(services) == counted(services)
    # Bulk statements: an update of kinds, a delete.
    with services.engine.begin() as connection:
        connection.execute(
            update(Event.__table__).where(Event.__table__.c.kind == "loss").values(kind="decr")
        )
        connection.execute(update(EventGroup.__table__).values(status="closed"))
    assert kept(services) == counted(services)
    assert ("events", "loss", "loss") not in kept(services)
    # A stream deleted with its events (and their memberships).
    with services.engine.begin() as connection:
        connection.execute(text("DELETE FROM streams WHERE stream_id = :s"), {"s": ac})
    assert kept(services) == counted(services)
    with services.engine.begin() as connection:
        compact_counts(connection)
        counts = EventCount.__table__
        keys = (counts.c.what, counts.c.name, counts.c.detector)
        # One row a key once compacted (SQLite's triggers keep one row a key anyway).
        repeated = connection.execute(select(*keys).group_by(*keys).having(func.count() > 1))
        assert repeated.all() == []
    assert kept(services) == counted(services)
    with services.engine.begin() as connection:
        connection.execute(delete(Event.__table__))
        connection.execute(delete(EventGroup.__table__))
    assert kept(services) == {}


@pytest.mark.postgres
def test_concurrent_writers_do_not_wait_for_each_other(postgres_url: str) -> None:
    services = make_services(postgres_url)
    try:
        stream = icmp_stream(services, "amp-a", "amp-b")
        rows = [event_row(stream, 1_767_000_000 + 60 * i) for i in range(4)]
        first = services.engine.connect()
        second = services.engine.connect()
        try:
            first.begin()
            first.execute(insert(Event.__table__), rows[:2])
            # The first transaction has counted 2 incr events and not committed: the
            # second counts its own without waiting (a lock would time out here).
            second.begin()
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            second.execute(insert(Event.__table__), rows[2:])
            second.commit()
            assert kept(services) == {("events", "incr", "level"): 2}
            # Compaction meanwhile leaves the uncommitted rows alone.
            with services.engine.begin() as connection:
                compact_counts(connection)
            first.commit()
        finally:
            first.close()
            second.close()
        assert kept(services) == counted(services) == {("events", "incr", "level"): 4}
    finally:
        services.close()


@pytest.mark.postgres
def test_the_migration_counts_the_rows_already_stored(postgres_url: str) -> None:
    from nntsc.store.schema import downgrade_sql

    services = make_services(postgres_url)
    try:
        stream = icmp_stream(services, "amp-a", "amp-b")
        store_events(services, [event_row(stream, 1_767_000_000 + 60 * i) for i in range(3)])
        engine = create_engine(postgres_url)
        try:
            downgrade_sql(engine, "0020")
            with engine.begin() as connection:
                connection.execute(
                    text("DELETE FROM events WHERE id = (SELECT min(id) FROM events)")
                )
            upgrade_all(services)
        finally:
            engine.dispose()
        assert kept(services) == counted(services)
        assert kept(services)[("events", "incr", "level")] == 2
    finally:
        services.close()
