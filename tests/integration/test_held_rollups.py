"""Rollups made from the rows a process wrote (issue 17.5), on every store.

The hours a process wrote alone and saw from their start are finalised from
the rows it holds (`HeldRollups`); everything else stays pending for the
re-reading pass. Both must give the same rollup rows for the same rows.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.store.backend import TimeseriesBackend
from nntsc.store.influx import (
    PACKED_FIELD,
    SPREAD_FIELD,
    InfluxBackend,
    _columns_encoder,
    _packed_encoder,
)
from nntsc.store.models import RollupPending
from nntsc.store.partials import AGGREGATION_FUNCTIONS, Aggregation
from nntsc.store.rollups import DAY, HELD_GRACE, HOUR, SETTLE
from nntsc.store.timeseries import TimeseriesStore
from tests.conftest import make_services
from tests.rows import icmp_probes

ICMP = get_collection("amp-icmp")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def values(rnd: random.Random) -> dict[str, Any]:
    """An ICMP row of a few probes, some lost."""
    return icmp_probes(
        [None if rnd.random() < 0.1 else rnd.randint(5_000, 80_000) for _ in range(3)]
    )


def streams(services: Services, count: int, prefix: str = "t") -> dict[int, dict[str, str]]:
    tags = {}
    for n in range(count):
        props = {
            "source": "a",
            "destination": f"{prefix}{n}",
            "family": "ipv4",
            "packet_size": "84",
        }
        tags[services.streams.stream_id(ICMP, props)] = props
    return tags


def store_like(services: Services, clock: Clock, held_rows: int = 100_000) -> TimeseriesStore:
    """Another process's store on the same databases (a writer id of its own)."""
    base = services.timeseries
    return TimeseriesStore(base.backend, base.engine, clock, held_rows=held_rows)


def hour_start(days_ago: int = 3) -> int:
    now = int(time.time())
    return now - now % DAY - days_ago * DAY + 10 * HOUR


def rollups(store: TimeseriesStore, stream_id: int, start: int, end: int) -> dict[int, list]:
    """Every rollup row of `stream_id` in [start, end), by level: (timestamp, columns)."""
    found = {}
    for level in (300, HOUR, DAY):
        found[level] = [
            (timestamp, {k: v for k, v in columns.items() if v is not None})
            for _, timestamp, columns in store.backend.read_rollup(
                ICMP, level, [stream_id], start, end
            )
        ]
    return found


def marks(store: TimeseriesStore) -> list[tuple[int, int, int, str | None]]:
    table = RollupPending.__table__
    with store.engine.connect() as connection:
        return [
            tuple(row)  # type: ignore[misc]
            for row in connection.execute(
                select(table.c.level, table.c.stream_id, table.c.bin_start, table.c.writer)
            )
        ]


def write(store: TimeseriesStore, clock: Clock, rows: list[Row], tags, batches: int = 3) -> None:
    """Write `rows` in `batches` batches, the clock at each batch's first row (live rows)."""
    size = -(-len(rows) // batches)
    for index in range(0, len(rows), size):
        batch = rows[index : index + size]
        clock.now = min(row.timestamp for row in batch) + 1
        store.write(ICMP, batch, tags)


def test_memory_and_rereading_give_the_same_rollup_rows(store_services: Services) -> None:
    hour = hour_start()
    tags = streams(store_services, 6)
    ids = sorted(tags)
    rnd = random.Random(5)
    # The same rows for streams 0-2 (held) and 3-5 (left to the pass).
    per_stream = [
        [(hour + 60 * minute + rnd.randint(0, 50), values(rnd)) for minute in range(60)]
        for _ in range(3)
    ]
    clock = Clock(hour)
    held = store_like(store_services, clock)
    plain = store_like(store_services, clock, held_rows=0)
    rows = sorted(
        (Row(ids[n], t, v) for n in range(3) for t, v in per_stream[n]), key=lambda r: r.timestamp
    )
    write(held, clock, rows, tags)
    assert held.held is not None
    assert held.held.rows == 180
    others = [Row(ids[n + 3], t, v) for n in range(3) for t, v in per_stream[n]]
    write(plain, clock, sorted(others, key=lambda r: r.timestamp), tags)

    # Not yet: rows of the hour may still be on their way.
    clock.now = hour + HOUR + HELD_GRACE - 1
    assert held.finish_rollups() == 0
    clock.now = hour + HOUR + HELD_GRACE
    assert held.finish_rollups() == 3
    assert held.held.rows == 0
    assert held.held.rows_finalised == 180
    # Only the other streams' hours (and every stream's day) are left pending.
    settled = hour + HOUR + SETTLE
    assert held.rollup_backlog(settled)[0] == 3
    assert sorted((level, s) for level, s, _, _ in marks(held) if level == HOUR) == [
        (HOUR, s) for s in ids[3:]
    ]
    assert held.process_rollups(now=hour + 2 * DAY) == 3 + 6
    assert held.rollup_backlog(hour + 2 * DAY) == (0, None)
    for n in range(3):
        mine = rollups(held, ids[n], hour - hour % DAY, hour - hour % DAY + DAY)
        theirs = rollups(held, ids[n + 3], hour - hour % DAY, hour - hour % DAY + DAY)
        assert [len(mine[level]) for level in (300, HOUR, DAY)] == [12, 1, 1]
        assert mine == theirs


def test_two_writers_leave_the_hour_to_the_rereading_pass(store_services: Services) -> None:
    hour = hour_start()
    tags = streams(store_services, 2)
    ids = sorted(tags)
    rnd = random.Random(7)
    clock = Clock(hour)
    first, second = store_like(store_services, clock), store_like(store_services, clock)
    rows = [Row(s, hour + 60 * m, values(rnd)) for m in range(60) for s in ids]
    # Streams 0 and 1: the first writer writes the first half hour, the
    # second one the rest of stream 0's (two collectors on one queue).
    write(first, clock, [r for r in rows if r.timestamp < hour + 1800], tags)
    write(
        second,
        clock,
        [r for r in rows if r.timestamp >= hour + 1800 and r.stream_id == ids[0]],
        tags,
    )
    write(
        first,
        clock,
        [r for r in rows if r.timestamp >= hour + 1800 and r.stream_id == ids[1]],
        tags,
    )
    writers = {s: w for level, s, _, w in marks(first) if level == HOUR}
    assert writers == {ids[0]: None, ids[1]: first.held.writer}  # type: ignore[union-attr]
    clock.now = hour + HOUR + HELD_GRACE
    assert second.finish_rollups() == 0
    assert first.finish_rollups() == 1  # stream 1, written by the first alone
    assert first.process_rollups(now=hour + 2 * DAY) == 1 + 2
    for stream_id in ids:
        hourly = rollups(first, stream_id, hour, hour + HOUR)[HOUR]
        assert [columns["results_count"] for _, columns in hourly] == [60]


def test_a_late_row_after_memory_finalisation_reopens_the_hour(store_services: Services) -> None:
    hour = hour_start()
    tags = streams(store_services, 1)
    (stream_id,) = tags
    rnd = random.Random(9)
    clock = Clock(hour)
    store = store_like(store_services, clock)
    write(store, clock, [Row(stream_id, hour + 60 * m + 5, values(rnd)) for m in range(59)], tags)
    clock.now = hour + HOUR + HELD_GRACE
    assert store.finish_rollups() == 1
    assert rollups(store, stream_id, hour, hour + HOUR)[HOUR][0][1]["results_count"] == 59
    # The hour's last row arrives late: its hour is marked again, and not held.
    clock.now += 5
    store.write(ICMP, [Row(stream_id, hour + 59 * 60 + 5, values(rnd))], tags)
    assert store.held is not None
    assert store.held.rows == 0
    clock.now = hour + HOUR + SETTLE
    assert store.finish_rollups() == 0
    assert store.rollup_backlog()[0] == 1
    assert store.process_rollups() == 1
    hourly = rollups(store, stream_id, hour, hour + HOUR)[HOUR]
    assert [columns["results_count"] for _, columns in hourly] == [60]
    # Its 5-minute bin too.
    five = rollups(store, stream_id, hour + 55 * 60, hour + HOUR)[300]
    assert [columns["results_count"] for _, columns in five] == [5]


def test_a_restart_in_the_middle_of_an_hour_loses_nothing(store_services: Services) -> None:
    """The first process dies half-way (what it held is gone, its marks stay); the next one
    writes the rest of the hour and of a new one."""
    hour = hour_start()
    tags = streams(store_services, 3)
    ids = sorted(tags)
    rnd = random.Random(11)
    rows = [Row(s, hour + 60 * m, values(rnd)) for m in range(120) for s in ids]
    clock = Clock(hour)
    before = store_like(store_services, clock)
    # Stream 2 is written by the first process only.
    write(
        before,
        clock,
        [
            r
            for r in rows
            if r.timestamp < hour + 1800 or (r.stream_id == ids[2] and r.timestamp < hour + HOUR)
        ],
        tags,
    )
    after = store_like(store_services, clock)
    write(
        after,
        clock,
        [
            r
            for r in rows
            if r.timestamp >= hour + 1800
            and not (r.stream_id == ids[2] and r.timestamp < hour + HOUR)
        ],
        tags,
    )
    clock.now = hour + 2 * HOUR + HELD_GRACE
    # The second hour was the new process's alone: finalised from memory.
    assert after.finish_rollups() == 3
    assert after.process_rollups(now=hour + 2 * DAY) == 3 + 3
    for stream_id in ids:
        hourly = rollups(after, stream_id, hour, hour + 2 * HOUR)[HOUR]
        assert [columns["results_count"] for _, columns in hourly] == [60, 60]


def test_held_rows_are_bounded_and_failed_batches_left_to_the_pass(
    store_services: Services,
) -> None:
    hour = hour_start()
    tags = streams(store_services, 4)
    ids = sorted(tags)
    rnd = random.Random(13)
    clock = Clock(hour)
    store = store_like(store_services, clock, held_rows=30)
    rows = [Row(s, hour + 60 * m, values(rnd)) for m in range(20) for s in ids[:3]]
    # Minute by minute: 30 rows fit; the next row of a full store drops its
    # stream-hour (stream 0 at minute 10, stream 1 at minute 15), stream 2 stays.
    write(store, clock, rows, tags, batches=1)
    assert store.held is not None
    assert store.held.rows == 20
    backend = store.backend
    write_raw = backend.write_raw

    def failing(*args, **kwargs):
        raise ConnectionError("store down")

    backend.write_raw = failing  # type: ignore[method-assign]
    clock.now = hour + 1300
    with pytest.raises(ConnectionError, match="store down"):
        store.write(ICMP, [Row(ids[2], hour + 1300, values(rnd))], tags)
    backend.write_raw = write_raw  # type: ignore[method-assign]
    assert store.held.rows == 0
    # The batch is delivered again; stream 2's hour is not held any more.
    store.write(
        ICMP, [Row(ids[2], hour + 1300, values(rnd)), Row(ids[3], hour + 1300, values(rnd))], tags
    )
    assert store.held.rows == 1
    clock.now = hour + HOUR + HELD_GRACE
    assert store.finish_rollups() == 1
    assert store.process_rollups(now=hour + 2 * DAY) == 3 + 4
    counts = {
        stream_id: [
            c["results_count"] for _, c in rollups(store, stream_id, hour, hour + HOUR)[HOUR]
        ]
        for stream_id in ids
    }
    assert counts == {ids[0]: [20], ids[1]: [20], ids[2]: [21], ids[3]: [1]}


def test_a_mark_names_its_only_writer(store_services: Services) -> None:
    store = store_services.timeseries
    now = int(time.time())
    open_hour, closed_hour = now - now % HOUR, now - now % HOUR - 2 * HOUR
    bins = {(1, open_hour), (1, closed_hour), (2, open_hour)}
    for writer, marked in (("a", bins), ("a", bins), ("b", {(2, open_hour)})):
        with store.engine.begin() as connection:
            store.marks.mark(connection, ICMP, HOUR, marked, now, writer)
    table = RollupPending.__table__
    with store.engine.connect() as connection:
        found = {
            (s, b): (v, w)
            for s, b, v, w in connection.execute(
                select(table.c.stream_id, table.c.bin_start, table.c.version, table.c.writer)
            )
        }
    assert found == {
        (1, open_hour): (1, "a"),
        (1, closed_hour): (2, "a"),
        (2, open_hour): (2, None),
    }
    assert store.marks.written_by(ICMP, open_hour, "a") == {1: 1}


# -- days merged from the hourly rows held (issue 17.5) ----------------------------------


def day_start(days_ago: int = 3) -> int:
    now = int(time.time())
    return now - now % DAY - days_ago * DAY


def hour_rows(stream_ids: list[int], hour: int, rnd: random.Random, count: int = 30) -> list[Row]:
    """`count` rows of each stream in `hour` (90 round-trip times: more than the 20 values
    a percentile list keeps exactly, so the hourly lists are packed to 5 digits)."""
    rows = []
    for stream_id in stream_ids:
        minutes = sorted(rnd.sample(range(60), count))
        rows.extend(
            Row(stream_id, hour + 60 * m + rnd.randint(0, 50), values(rnd)) for m in minutes
        )
    return sorted(rows, key=lambda r: r.timestamp)


def live(store: TimeseriesStore, clock: Clock, rows: list[Row], tags, idle: bool = True) -> None:
    """Write `rows` hour by hour as a live collector does: batches of ten minutes, the clock
    at each batch's first row, then idle a grace after each hour closes (`finish_rollups`;
    after the last hour only if `idle`)."""
    by_hour: dict[int, list[Row]] = {}
    for row in rows:
        by_hour.setdefault(row.timestamp - row.timestamp % HOUR, []).append(row)
    for hour, in_hour in sorted(by_hour.items()):
        for start in range(hour, hour + HOUR, 600):
            batch = [r for r in in_hour if start <= r.timestamp < start + 600]
            if batch:
                clock.now = batch[0].timestamp + 1
                store.write(ICMP, batch, tags)
        if idle or hour != max(by_hour):
            clock.now = hour + HOUR + HELD_GRACE
            store.finish_rollups()


def twins(rows: list[Row], twin: dict[int, int]) -> list[Row]:
    """The same rows for the twin streams (written through a store holding nothing)."""
    return [Row(twin[r.stream_id], r.timestamp, r.values) for r in rows if r.stream_id in twin]


def days(store: TimeseriesStore, stream_ids: list[int], day: int) -> dict[int, list]:
    """Each stream's daily rows of `day` as read back: (timestamp, columns)."""
    found: dict[int, list] = {s: [] for s in stream_ids}
    for stream_id, timestamp, columns in store.backend.read_rollup(
        ICMP, DAY, stream_ids, day, day + DAY
    ):
        found[stream_id].append((timestamp, columns))
    return found


def remerged(store: TimeseriesStore, stream_ids: list[int], day: int) -> dict[int, list]:
    """The daily rows the re-reading pass writes from the stored hourly rows (the day marked
    again by no writer, then the pass), as read back."""
    with store.engine.begin() as connection:
        store.marks.mark(connection, ICMP, DAY, {(s, day) for s in stream_ids})
    assert store.process_rollups(now=day + 3 * DAY) == len(stream_ids)
    return days(store, stream_ids, day)


def day_marks(store: TimeseriesStore, day: int) -> dict[int, str | None]:
    return {s: w for level, s, b, w in marks(store) if level == DAY and b == day}


def test_a_day_written_alone_is_merged_from_memory_as_the_pass_merges_it(
    store_services: Services,
) -> None:
    day = day_start()
    tags = streams(store_services, 6)
    ids = sorted(tags)
    mine, theirs = ids[:3], ids[3:]
    twin = dict(zip(mine, theirs, strict=True))
    rnd = random.Random(21)
    # Stream 0 every hour, stream 1 six hours (one of them the day's last), stream 2 one.
    rows = [
        row
        for hour in range(day, day + DAY, HOUR)
        for row in hour_rows(
            [s for n, s in enumerate(mine) if n == 0 or (n == 1 and hour % (4 * HOUR) == 3 * HOUR)]
            + ([mine[2]] if hour == day + 7 * HOUR else []),
            hour,
            rnd,
        )
    ]
    clock = Clock(day)
    store = store_like(store_services, clock)
    plain = store_like(store_services, clock, held_rows=0)
    live(store, clock, rows, tags, idle=False)
    held = store.held
    assert held is not None
    assert held.finalised == 23 + 5 + 1
    assert held.kept_hours == 29
    assert held.rows == 60
    assert day_marks(store, day) == dict.fromkeys(mine, held.writer)
    # Not before the day has closed and a grace passed; then its last hour, then the day.
    clock.now = day + DAY + HELD_GRACE - 1
    store.finish_rollups()
    assert (held.finalised, held.days_merged) == (29, 0)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    assert (held.finalised, held.days_merged) == (31, 3)
    assert held.kept_hours == 0
    assert day_marks(store, day) == {}
    # The twins' day, by the re-reading pass from the stored hourly rows.
    live(plain, clock, twins(rows, twin), tags)
    assert store.process_rollups(now=day + 3 * DAY) == 24 + 6 + 1 + 3
    from_memory = days(store, mine, day)
    assert [len(from_memory[s]) for s in mine] == [1, 1, 1]
    assert from_memory == {s: days(store, theirs, day)[twin[s]] for s in mine}
    assert from_memory == remerged(store, mine, day)
    assert from_memory[mine[0]][0][1]["results_count"] == 24 * 30


def test_a_late_row_remarks_a_day_merged_from_memory(store_services: Services) -> None:
    day = day_start()
    tags = streams(store_services, 4)
    ids = sorted(tags)
    mine, theirs = ids[:2], ids[2:]
    twin = dict(zip(mine, theirs, strict=True))
    rnd = random.Random(23)
    rows = [r for hour in (day + 2 * HOUR, day + 5 * HOUR) for r in hour_rows(mine, hour, rnd)]
    clock = Clock(day)
    store = store_like(store_services, clock)
    plain = store_like(store_services, clock, held_rows=0)
    live(store, clock, rows, tags)
    # A late row of stream 0 before the day is merged (its hour is pending then): stream 0's
    # day is left to the pass, stream 1's merged from memory.
    first = Row(mine[0], day + 5 * HOUR + 61, values(rnd))
    clock.now = day + DAY + 30
    store.write(ICMP, [first], tags)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    assert store.held is not None
    assert store.held.days_merged == 1
    assert day_marks(store, day) == {mine[0]: store.held.writer}
    # Then one of stream 1 after its day was merged: its hour and day are marked again.
    second = Row(mine[1], day + 2 * HOUR + 7, values(rnd))
    clock.now = day + DAY + 200
    store.write(ICMP, [second], tags)
    live(plain, clock, twins([*rows, first, second], twin), tags)
    assert store.process_rollups(now=day + 3 * DAY) == 2 + 2 + 2 + 2 + 2
    found = days(store, mine, day)
    assert found == {s: days(store, theirs, day)[twin[s]] for s in mine}
    assert [found[s][0][1]["results_count"] for s in mine] == [2 * 30 + 1, 2 * 30 + 1]
    assert found == remerged(store, mine, day)


def test_a_day_of_two_writers_or_a_restart_is_merged_by_the_pass(
    store_services: Services,
) -> None:
    """Stream 0: hours 1-2 by one collector, 3-4 by another (both finalise their hours from
    memory). Stream 1: hours 1-2 by a process that then died, 3-4 by the next one.
    Stream 2: the first collector's alone."""
    day = day_start()
    tags = streams(store_services, 6)
    ids = sorted(tags)
    mine, theirs = ids[:3], ids[3:]
    twin = dict(zip(mine, theirs, strict=True))
    rnd = random.Random(25)
    early = [r for h in (1, 2) for r in hour_rows(mine, day + h * HOUR, rnd)]
    late = [r for h in (3, 4) for r in hour_rows(mine, day + h * HOUR, rnd)]
    clock = Clock(day)
    first, second = store_like(store_services, clock), store_like(store_services, clock)
    dying = store_like(store_services, clock)
    live(first, clock, [r for r in early if r.stream_id != mine[1]], tags)
    live(dying, clock, [r for r in early if r.stream_id == mine[1]], tags)
    # Interleaved by hour: the first collector keeps stream 2, the second takes the others.
    for hour in (3, 4):
        in_hour = [r for r in late if r.timestamp - r.timestamp % HOUR == day + hour * HOUR]
        live(first, clock, [r for r in in_hour if r.stream_id == mine[2]], tags)
        live(second, clock, [r for r in in_hour if r.stream_id != mine[2]], tags)
    held = [store.held for store in (first, second, dying)]
    assert [h.finalised for h in held if h is not None] == [6, 4, 2]
    assert day_marks(first, day) == {mine[0]: None, mine[1]: None, mine[2]: held[0].writer}  # type: ignore[union-attr]
    clock.now = day + DAY + HELD_GRACE
    for store in (first, second):
        store.finish_rollups()
    assert [h.days_merged for h in held if h is not None] == [1, 0, 0]
    plain = store_like(store_services, clock, held_rows=0)
    live(plain, clock, twins([*early, *late], twin), tags)
    assert first.process_rollups(now=day + 3 * DAY) == 12 + 2 + 3
    found = days(first, mine, day)
    assert found == {s: days(first, theirs, day)[twin[s]] for s in mine}
    assert [found[s][0][1]["results_count"] for s in mine] == [4 * 30] * 3
    assert found == remerged(first, mine, day)


def test_a_day_partly_written_by_another_process_is_merged_by_the_pass(
    store_services: Services,
) -> None:
    """An import writes an hour of streams 0 and 1: stream 0's before the collector writes
    its day (the pass takes it during the day), stream 1's just after the day closed (still
    pending when the collector would merge the day). Stream 2 is the collector's alone."""
    day = day_start()
    tags = streams(store_services, 6)
    ids = sorted(tags)
    mine, theirs = ids[:3], ids[3:]
    twin = dict(zip(mine, theirs, strict=True))
    rnd = random.Random(27)
    imported = hour_rows(mine[:2], day + 3 * HOUR, rnd)
    rows = [r for h in (8, 9) for r in hour_rows(mine, day + h * HOUR, rnd)]
    clock = Clock(day + 7 * HOUR)
    other = store_like(store_services, clock, held_rows=0)
    store = store_like(store_services, clock)
    other.write(ICMP, [r for r in imported if r.stream_id == mine[0]], tags)
    assert store.process_rollups(now=day + 8 * HOUR) == 1
    live(store, clock, rows, tags)
    clock.now = day + DAY + 20
    other.write(ICMP, [r for r in imported if r.stream_id == mine[1]], tags)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    assert store.held is not None
    assert store.held.days_merged == 1
    assert day_marks(store, day) == {mine[0]: None, mine[1]: store.held.writer}
    live(other, clock, twins([*imported, *rows], twin), tags)
    assert store.process_rollups(now=day + 3 * DAY) == 1 + 8 + 2 + 3
    found = days(store, mine, day)
    assert found == {s: days(store, theirs, day)[twin[s]] for s in mine}
    assert [found[s][0][1]["results_count"] for s in mine] == [3 * 30, 3 * 30, 2 * 30]
    assert found == remerged(store, mine, day)


def test_the_hours_held_for_days_share_the_memory_bound(store_services: Services) -> None:
    day = day_start()
    tags = streams(store_services, 4)
    ids = sorted(tags)
    rnd = random.Random(29)
    clock = Clock(day)
    store = store_like(store_services, clock, held_rows=14)
    # Each stream's rows at minutes n and 10 + n of hours 0-2.
    rows = [
        Row(s, day + h * HOUR + 60 * (m + n), values(rnd))
        for h in range(3)
        for m in (0, 10)
        for n, s in enumerate(ids)
    ]
    live(store, clock, rows, tags, idle=False)
    held = store.held
    assert held is not None
    # Hours 0 and 1: 8 rows held, then 4 and 8 hourly rows kept. Hour 2: with 8 kept, 6
    # rows fit; stream 2's second row does not: its hour is refused (its row freed), and its
    # day (its 2 hourly rows freed), so that stream 3's second row fits again.
    assert (held.finalised, held.rows, held.kept_hours) == (8, 6, 6)
    clock.now = day + 3 * HOUR + HELD_GRACE
    store.finish_rollups()
    assert (held.finalised, held.rows, held.kept_hours) == (11, 0, 9)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    assert (held.days_merged, held.kept_hours) == (3, 0)
    assert day_marks(store, day) == {ids[2]: held.writer}
    assert store.process_rollups(now=day + 3 * DAY) == 2
    found = days(store, ids, day)
    assert [found[s][0][1]["results_count"] for s in ids] == [6] * 4
    assert found == remerged(store, ids, day)


# -- an hour of one bin and a day of one hour (issue 17.5) -----------------------------


def every_aggregation() -> list[Aggregation]:
    """Every function on every field that has it (percentiles where kept)."""
    found = []
    for fld in ICMP.fields:
        functions = list(AGGREGATION_FUNCTIONS)
        if fld.quantiles:
            functions.append("percentile-50")
        else:
            functions.remove("smoke")
        found.extend(Aggregation(f"{fld.name}-{f}", fld.name, f) for f in functions)
    return found


def sparse_rows(stream_ids: list[int], day: int, rnd: random.Random) -> list[Row]:
    """A stream-day of a few rows in one 5-minute bin of one hour (amplet reports of an
    ICMP test run once a day), and now and then in two bins, two hours, or 30 rows."""
    rows = []
    for stream_id in stream_ids:
        shape = rnd.randrange(6)
        hours = [day + HOUR * rnd.randint(0, 11)]
        if shape == 1:
            hours.append(hours[0] + HOUR * rnd.randint(1, 11))
        for hour in hours:
            start = hour + 300 * rnd.randint(0, 10)
            count = 30 if shape == 2 else rnd.randint(1, 5)
            for n, second in enumerate(rnd.sample(range(300), count)):
                # Shape 3: the hour's rows in two 5-minute bins.
                offset = 300 * (n % 2) if shape == 3 else 0
                rows.append(Row(stream_id, start + offset + second, values(rnd)))
    return sorted(rows, key=lambda r: r.timestamp)


def answers(store: TimeseriesStore, stream_ids: list[int], day: int) -> list[Any]:
    """Every column of every rollup level, graphs of every binsize and the totals, as the
    public read paths give them, per stream in order."""
    found: list[Any] = []
    now = day + 3 * DAY
    for stream_id in stream_ids:
        found.append(rollups(store, stream_id, day, day + DAY))
        for binsize in (300, 1800, HOUR, 4 * HOUR, DAY):
            result = store.aggregate(
                ICMP, [stream_id], day, day + DAY, binsize, every_aggregation(), now=now
            )
            found.append((binsize, result.levels_read, result.rows))
        fields = [fld.name for fld in ICMP.fields]
        for end in (day + DAY, day + 12 * HOUR):
            totals = store.totals(ICMP, [stream_id], day, end, fields, now=now)
            found.append(totals.get(stream_id))
    return found


def test_sparse_days_from_memory_read_as_the_pass_writes_them(store_services: Services) -> None:
    # Hours of one 5-minute bin share its columns and days of one hour take the
    # hour's stored form: every answer must be what the re-reading pass gives the
    # same rows (twin streams through a store holding nothing), then after late
    # rows, a rewrite and a second writer.
    day = day_start()
    tags = streams(store_services, 40)
    ids = sorted(tags)
    mine, theirs = ids[:20], ids[20:]
    twin = dict(zip(mine, theirs, strict=True))
    rnd = random.Random(31)
    rows = sparse_rows(mine, day, rnd)
    clock = Clock(day)
    store = store_like(store_services, clock)
    plain = store_like(store_services, clock, held_rows=0)
    live(store, clock, rows, tags)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    held = store.held
    assert held is not None
    assert held.days_merged == 20
    live(plain, clock, twins(rows, twin), tags)
    assert store.process_rollups(now=day + 3 * DAY) > 20
    assert answers(store, mine, day) == answers(store, theirs, day)

    # Late rows: in another bin of a day's only hour, in another hour, in the same bin.
    late = []
    for n, stream_id in enumerate(mine[:9]):
        hour = min(r.timestamp for r in rows if r.stream_id == stream_id)
        hour -= hour % HOUR
        at = [hour + 1500, day + 20 * HOUR + 7, hour + 301][n % 3]
        late.append(Row(stream_id, at + n, values(rnd)))
    # The same rows again (a redelivery), and rows of a second writer in one stream's day.
    again = [r for r in rows if r.stream_id in mine[9:12]]
    other = store_like(store_services, clock)
    second = [Row(mine[12], day + 22 * HOUR + 60, values(rnd))]
    clock.now = day + DAY + 600
    store.write(ICMP, late + again, tags)
    other.write(ICMP, second, tags)
    plain.write(ICMP, twins(late + again + second, twin), tags)
    assert store.process_rollups(now=day + 3 * DAY) > 0
    assert answers(store, mine, day) == answers(store, theirs, day)
    # And the pass's own merge of the stored hourly rows gives the same days.
    assert days(store, mine, day) == remerged(store, mine, day)


class _OneLevelAtATime(InfluxBackend):
    """InfluxDB as it laid out rollups before an hour of one bin became one point: every
    5-minute and hourly row its own point."""

    write_rollups = TimeseriesBackend.write_rollups  # type: ignore[assignment]


@pytest.fixture
def influx_services(tmp_path, influx_url: str) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite", influx_url)
    try:
        yield services
    finally:
        services.close()


def five_minute_points(services: Services, stream_ids: list[int]) -> int:
    """How many 5-minute points InfluxDB holds for `stream_ids`."""
    client = services.timeseries.backend.client  # type: ignore[attr-defined]
    found = client.points('SELECT "r", "m" FROM "rollups"."amp-icmp_300" GROUP BY "stream"')
    wanted = {str(s) for s in stream_ids}
    return sum(1 for point in found if point["stream"] in wanted)


def test_an_hour_written_as_one_point_reads_as_the_former_layout(
    influx_services: Services,
) -> None:
    # Twin streams: one through stores writing an hour of one 5-minute bin as one
    # point, the other through stores writing every row its own point (the layout
    # before; read by the same code, so points of that layout are covered too).
    # Every column of every read path must agree, held and re-read, after late
    # rows (in the same bin, another bin, another hour), a redelivery and a second
    # writer, and where a pass rewrites as one point an hour stored the former way.
    day = day_start()
    tags = streams(influx_services, 60)
    ids = sorted(tags)
    mine, theirs = ids[:30], ids[30:]
    twin = dict(zip(mine, theirs, strict=True))
    base = influx_services.timeseries
    former = _OneLevelAtATime(base.backend.client, base.backend.database)  # type: ignore[attr-defined]
    rnd = random.Random(41)
    rows = sparse_rows(mine, day, rnd)
    clock = Clock(day)
    store = store_like(influx_services, clock)
    other = TimeseriesStore(former, base.engine, clock)
    # Streams 0-19 held; 20-29 left to the re-reading pass (stores holding nothing).
    held_rows = [r for r in rows if r.stream_id in mine[:20]]
    live(store, clock, held_rows, tags)
    live(other, clock, twins(held_rows, twin), tags)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    other.finish_rollups()
    assert store.held is not None
    assert other.held is not None
    assert store.held.days_merged == other.held.days_merged == 20
    plain = store_like(influx_services, clock, held_rows=0)
    plain_former = TimeseriesStore(former, base.engine, clock, held_rows=0)
    rest = [r for r in rows if r.stream_id in mine[20:]]
    live(plain, clock, rest, tags)
    live(plain_former, clock, twins(rest, twin), tags)
    # Each store's pass over its own streams (the twins' in the former layout).
    assert plain_former.process_rollups(ICMP, theirs, day, day + DAY, day + 3 * DAY) > 0
    assert plain.process_rollups(ICMP, mine, day, day + DAY, day + 3 * DAY) > 0
    assert five_minute_points(influx_services, mine) < five_minute_points(influx_services, theirs)
    assert answers(store, mine, day) == answers(store, theirs, day)

    # Late rows: the same bin, another bin of the hour, another hour.
    late = []
    for n, stream_id in enumerate(mine):
        first = min(r.timestamp for r in rows if r.stream_id == stream_id)
        at = [first - first % 300 + 299, first - first % HOUR + 3300, day + 21 * HOUR + 5][n % 3]
        if at not in {r.timestamp for r in rows if r.stream_id == stream_id}:
            late.append(Row(stream_id, at, values(rnd)))
    again = [r for r in rows if r.stream_id in mine[::4]]
    second = store_like(influx_services, clock)
    second_former = TimeseriesStore(former, base.engine, clock)
    clock.now = day + DAY + 900
    store.write(ICMP, late + again, tags)
    other.write(ICMP, twins(late + again, twin), tags)
    extra = [Row(mine[5], day + 23 * HOUR + 30, values(rnd))]
    second.write(ICMP, extra, tags)
    second_former.write(ICMP, twins(extra, twin), tags)
    assert plain_former.process_rollups(ICMP, theirs, day, day + DAY, day + 3 * DAY) > 0
    assert plain.process_rollups(ICMP, mine, day, day + DAY, day + 3 * DAY) > 0
    assert answers(store, mine, day) == answers(store, theirs, day)

    # A late row in the same bin of hours the twins stored the former way, taken by a
    # pass writing an hour of one bin as one point: the bin's own point is then older.
    taken = {(r.stream_id, r.timestamp) for r in [*rows, *late, *extra]}
    same_bin = []
    for stream_id in mine:
        first = min(r.timestamp for r in rows if r.stream_id == stream_id)
        at = first - first % 300 + 150
        if (stream_id, at) not in taken:
            same_bin.append(Row(stream_id, at, values(rnd)))
    clock.now = day + DAY + 1200
    plain.write(ICMP, same_bin + twins(same_bin, twin), tags)
    assert plain.process_rollups(now=day + 3 * DAY) > 0
    assert answers(store, mine, day) == answers(store, theirs, day)


def test_a_batch_written_while_another_thread_finishes_does_not_wait(
    store_services: Services,
) -> None:
    """The write path finishes due hours only when no other thread is at it; an explicit
    `finish_rollups` still waits for it and then does what is left."""
    import threading

    hour = hour_start()
    tags = streams(store_services, 2)
    ids = sorted(tags)
    rnd = random.Random(3)
    clock = Clock(hour)
    store = store_like(store_services, clock)
    write(store, clock, hour_rows(ids, hour, rnd), tags, batches=1)
    held = store.held
    assert held is not None
    clock.now = hour + HOUR + HELD_GRACE
    assert held.due(clock.now)
    held._finishing.acquire()  # another thread is finishing
    try:
        assert held.finish(clock.now, wait=False) == 0
        # A batch of the next hour is written without waiting for it.
        writer = threading.Thread(
            target=store.write, args=(ICMP, hour_rows(ids, hour + HOUR, rnd), tags)
        )
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert held.due(clock.now)
    finally:
        held._finishing.release()
    assert store.finish_rollups() == 2


class _FieldPerColumn(InfluxBackend):
    """InfluxDB as it laid out rollups before the packed layout (session 11): a field per
    statistic (`_columns_encoder`), and an hour of one 5-minute bin as one point whose
    ``m`` holds both its fields' bits and the bin it stands for. Only for stores holding
    nothing (its forms are not those `kept_columns` reads)."""

    def keep_rollups(self, collection, rows):  # type: ignore[no-untyped-def]
        encode = _columns_encoder(collection)
        return [encode(row.values) for row in rows]

    def write_rollup(self, collection, level, rows, connection, kept=None):  # type: ignore[no-untyped-def]
        # The bits the packed writer appends as a second "m", joined to the first as
        # the former writer wrote them.
        forms = self.keep_rollups(collection, rows) if kept is None else kept
        joined = [
            re.sub(r"m=(\d+)i,m=(\d+)i$", lambda m: f"m={int(m[1]) | int(m[2])}i", form)
            for form in forms
        ]
        super().write_rollup(collection, level, rows, connection, joined)


class _FieldPerColumnOneLevel(_FieldPerColumn):
    """The layout before that (session 9): a field per statistic, every 5-minute and
    hourly row its own point."""

    write_rollups = TimeseriesBackend.write_rollups  # type: ignore[assignment]


def test_packed_points_read_as_the_former_layouts(influx_services: Services) -> None:
    # Twin streams: mine through the stores of today (packed points, held hours and
    # days), theirs through stores writing a field per statistic, half with hours of
    # one bin as one point, half every row its own point. Every column of every
    # level, graphs of every binsize with every aggregation and the totals must
    # agree; then again after late rows and a redelivery, which rewrite points of
    # both former layouts as packed ones (the fields they leave behind not read).
    day = day_start()
    tags = streams(influx_services, 40)
    ids = sorted(tags)
    mine, theirs = ids[:20], ids[20:]
    twin = dict(zip(mine, theirs, strict=True))
    base = influx_services.timeseries
    client, database = base.backend.client, base.backend.database  # type: ignore[attr-defined]
    clock = Clock(day)
    formers = [
        TimeseriesStore(_FieldPerColumn(client, database), base.engine, clock, held_rows=0),
        TimeseriesStore(_FieldPerColumnOneLevel(client, database), base.engine, clock, held_rows=0),
    ]
    rnd = random.Random(43)
    rows = sparse_rows(mine, day, rnd)
    store = store_like(influx_services, clock)
    live(store, clock, rows, tags)
    clock.now = day + DAY + HELD_GRACE
    store.finish_rollups()
    for index, former in enumerate(formers):
        halves = [r for r in rows if r.stream_id in mine[index * 10 : index * 10 + 10]]
        live(former, clock, twins(halves, twin), tags)
        assert former.process_rollups(ICMP, theirs, day, day + DAY, day + 3 * DAY) > 0
    assert store.process_rollups(ICMP, mine, day, day + DAY, day + 3 * DAY) >= 0
    client = base.backend.client  # type: ignore[attr-defined]
    fields = {
        point["fieldKey"]
        for level in (300, HOUR, DAY)
        for point in client.points(f'SHOW FIELD KEYS FROM "rollups"."amp-icmp_{level}"')
    }
    assert {PACKED_FIELD, SPREAD_FIELD, "median_count", "rtts_q"} <= fields
    assert answers(store, mine, day) == answers(store, theirs, day)

    # Late rows (the same bin, another bin of the hour, another hour) and a
    # redelivery, taken by stores of today for both twins.
    late = []
    for n, stream_id in enumerate(mine):
        first = min(r.timestamp for r in rows if r.stream_id == stream_id)
        at = [first - first % 300 + 299, first - first % HOUR + 3300, day + 21 * HOUR + 5][n % 3]
        if at not in {r.timestamp for r in rows if r.stream_id == stream_id}:
            late.append(Row(stream_id, at, values(rnd)))
    again = [r for r in rows if r.stream_id in mine[::4]]
    plain = store_like(influx_services, clock, held_rows=0)
    clock.now = day + DAY + 900
    plain.write(ICMP, late + again + twins(late + again, twin), tags)
    assert plain.process_rollups(now=day + 3 * DAY) > 0
    assert answers(store, mine, day) == answers(store, theirs, day)


def test_a_packed_point_that_cannot_be_read_is_skipped_and_logged(
    influx_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    # A point of a layout version this code does not know (written by a later
    # one), or text that is not the layout: a graph leaves out that bin and logs
    # it, and reads the others.
    day = day_start()
    tags = streams(influx_services, 1)
    (stream_id,) = tags
    store = influx_services.timeseries
    rows = [
        Row(stream_id, day + HOUR * hour + 60 * minute, values(random.Random(hour)))
        for hour in range(3)
        for minute in (0, 3)
    ]
    clock = Clock(day)
    store = store_like(influx_services, clock, held_rows=0)
    store.write(ICMP, rows, tags)
    assert store.process_rollups(now=day + 3 * DAY) > 0
    aggregations = every_aggregation()
    expected = store.aggregate(
        ICMP, [stream_id], day, day + DAY, 300, aggregations, now=day + 3 * DAY
    )
    by_time = {row[0]: row for row in expected.rows}
    # A bin without a row (5 minutes in) answers as an empty one.
    empty = by_time[day + 300][1:]
    assert all(by_time[day + HOUR * hour][1:] != empty for hour in range(3))
    backend = store.backend
    good = _packed_encoder(ICMP)(rows[0].values)
    assert good.startswith('r="[1,')
    unknown = good.replace('r="[1,', 'r="[9,', 1)
    broken = 'r="[1,[2,1,2,3]"'
    client = backend.client  # type: ignore[attr-defined]
    database = backend.database  # type: ignore[attr-defined]
    client.write(
        [
            f"amp-icmp_3600,stream={stream_id} {unknown},m={1 << 62}i {day}",
            f"amp-icmp_3600,stream={stream_id} {broken},m={1 << 62}i {day + HOUR}",
        ],
        database,
        "rollups",
    )
    with caplog.at_level(logging.ERROR, logger="nntsc.store.influx"):
        got = store.aggregate(
            ICMP, [stream_id], day, day + DAY, 300, aggregations, now=day + 3 * DAY
        )
        hourly = store.aggregate(
            ICMP, [stream_id], day, day + DAY, HOUR, aggregations, now=day + 3 * DAY
        )
    assert got.rows == [
        [row[0], *empty] if row[0] in (day, day + HOUR) else row for row in expected.rows
    ]
    assert [row[1:] == empty for row in hourly.rows[:3]] == [True, True, False]
    messages = [r.getMessage() for r in caplog.records if r.name == "nntsc.store.influx"]
    assert any("unknown packed rollup version 9" in m for m in messages)
    assert any("could not be read" in m for m in messages)
