"""The rollup pass reads many streams at once (issue 17.5), with the same results."""

from __future__ import annotations

import time

from sqlalchemy import select

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.models import RollupPending
from nntsc.store.partials import Aggregation
from nntsc.store.rollups import DAY, HOUR, READ_STREAMS
from tests.conftest import make_services
from tests.rows import icmp_values

ICMP = get_collection("amp-icmp")


def test_a_pass_over_many_streams_reads_them_together(store_services: Services) -> None:
    store = store_services.timeseries
    tags = {}
    for n in range(60):
        props = {"source": "a", "destination": f"t{n}", "family": "ipv4", "packet_size": "84"}
        tags[store_services.streams.stream_id(ICMP, props)] = props
    # Ten in the morning three days ago: both hours in one day.
    hour = int(time.time()) // DAY * DAY - 3 * DAY + 10 * HOUR
    rows = [
        Row(stream_id, hour + 60 * minute + HOUR * extra, icmp_values(1000 * n + minute))
        for n, stream_id in enumerate(tags)
        for minute in range(60)
        # Every third stream also has rows in the next hour: another range, read apart.
        for extra in ((0, 1) if n % 3 == 0 else (0,))
    ]
    store.write(ICMP, rows, tags)
    backend = store.backend
    reads: list[tuple[str, int]] = []
    for name in ("read_raw", "read_rollup"):
        method = getattr(backend, name)

        def counted(collection, ids, *args, _method=method, _name=name, **kwargs):
            streams = ids if _name == "read_raw" else args[0]
            reads.append((_name, len(streams)))
            return _method(collection, ids, *args, **kwargs)

        setattr(backend, name, counted)
    assert store.process_rollups(now=hour + 2 * DAY) == 60 + 20 + 60
    # Hours: two ranges (one hour, two hours); days: one.
    assert sorted(reads) == [("read_raw", 20), ("read_raw", 40), ("read_rollup", 60)]
    assert READ_STREAMS >= 60
    for n, stream_id in enumerate(tags):
        result = store.aggregate(
            ICMP,
            [stream_id],
            hour,
            hour + 2 * HOUR,
            HOUR,
            [Aggregation("n", "median", "count"), Aggregation("max", "median", "max")],
            now=hour + 2 * DAY,
        )
        assert result.levels_read == ("rollup-3600",)
        second = [60, 1000.0 * n + 59] if n % 3 == 0 else [None, None]
        assert [row[1:] for row in result.rows] == [[60, 1000.0 * n + 59], second]


def test_marking_an_open_hour_again_keeps_its_version(store_services: Services) -> None:
    """A second collector (or a restarted one) writing into an open hour leaves the mark as
    it is; a closed hour's mark is bumped, so a pass that read it keeps it."""
    marks = store_services.timeseries.marks
    now = int(time.time())
    open_hour, closed_hour = now - now % HOUR, now - now % HOUR - 2 * HOUR
    for _ in range(3):
        with marks.engine.begin() as connection:
            marks.mark(connection, ICMP, HOUR, {(1, open_hour), (1, closed_hour)}, now)
    table = RollupPending.__table__
    with marks.engine.connect() as connection:
        versions = dict(connection.execute(select(table.c.bin_start, table.c.version)).all())
    assert versions == {open_hour: 1, closed_hour: 3}


def test_an_hour_that_closes_between_prepare_and_write_is_marked_again(tmp_path) -> None:
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite")
    store = services.timeseries
    stream_id = services.streams.stream_id(
        ICMP, {"source": "a", "destination": "b", "family": "ipv4", "packet_size": "84"}
    )
    hour = 1_790_000_000 - 1_790_000_000 % HOUR
    values = icmp_values(1)
    clock = [hour + 10.0]
    store.clock = lambda: clock[0]
    store.write(ICMP, [Row(stream_id, hour + 5, values)], {stream_id: {}})
    store.process_rollups(now=hour + HOUR + 3600)  # the hour is computed, its mark gone
    # The next row is prepared while the hour is open (its mark is skipped) ...
    prepared = store.prepare(ICMP, [Row(stream_id, hour + 50, values)], {stream_id: {}})
    assert prepared.marks == set()
    # ... and written after the hour closed and settled.
    clock[0] = hour + HOUR + 600
    store.write_prepared(prepared)
    with services.engine.connect() as connection:
        pending = connection.execute(RollupPending.__table__.select()).all()
    hours = [(row.stream_id, row.bin_start) for row in pending if row.level == HOUR]
    assert hours == [(stream_id, hour)]
    services.close()


def test_a_failed_rollup_write_leaves_the_whole_batch_pending(
    store_services: Services, monkeypatch
) -> None:
    """Rollup rows are sent group by group while the next group is read; a write that
    fails part-way clears no mark and marks no day, and the next pass does it all."""
    import nntsc.store.rollups as rollups
    from nntsc.errors import StoreUnavailable

    monkeypatch.setattr(rollups, "READ_STREAMS", 20)  # three groups of streams
    store = store_services.timeseries
    tags = {}
    for n in range(60):
        props = {"source": "a", "destination": f"t{n}", "family": "ipv4", "packet_size": "84"}
        tags[store_services.streams.stream_id(ICMP, props)] = props
    hour = int(time.time()) // DAY * DAY - 3 * DAY + 10 * HOUR
    rows = [
        Row(stream_id, hour + 60 * minute, icmp_values(1000 * n + minute))
        for n, stream_id in enumerate(tags)
        for minute in range(0, 60, 10)
    ]
    store.write(ICMP, rows, tags)
    backend = store.backend
    write_rollup = backend.write_rollup
    calls: list[int] = []

    def failing(collection, level, rollup_rows, connection, kept=None):
        calls.append(level)
        # InfluxDB: the second group's first write, after the first group's went through;
        # SQL writes a level's rows of the whole batch at once, in the marks' transaction.
        if calls.count(300) == 2 or (backend.raw_in_sql and level == HOUR):
            raise StoreUnavailable("the store went away")
        return write_rollup(collection, level, rollup_rows, connection, kept)

    backend.write_rollup = failing  # type: ignore[method-assign]
    now = hour + 2 * DAY
    try:
        store.process_rollups(now=now)
    except StoreUnavailable:
        pass
    else:
        raise AssertionError("the failed write was not reported")
    with store_services.engine.connect() as connection:
        pending = connection.execute(select(RollupPending.level, RollupPending.stream_id)).all()
    assert sorted(pending) == sorted((HOUR, stream_id) for stream_id in tags)
    backend.write_rollup = write_rollup  # type: ignore[method-assign]
    assert store.process_rollups(now=now) == 60 + 60
    assert store.pending_count(now) == 0
    result = store.aggregate(
        ICMP,
        list(tags),
        hour - hour % DAY,
        hour - hour % DAY + DAY,
        DAY,
        [Aggregation("n", "median", "count"), Aggregation("max", "median", "max")],
        now=now,
    )
    assert result.levels_read == ("rollup-86400",)
    assert result.rows[0][1:] == [360, 1000.0 * 59 + 50]
