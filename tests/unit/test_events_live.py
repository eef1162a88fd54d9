"""Live detection on the embedded default (SQLite): resuming from the store, sharing, waking."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.events.engine import detect_history, events_in
from nntsc.events.live import (
    LEASE_SECONDS,
    PARTITIONS,
    LiveDetection,
    checkpoints,
    run_in_process,
    start_listening,
)
from nntsc.events.models import Event, EventPartition
from nntsc.live import LiveBatch
from tests.conftest import make_services
from tests.unit.test_events_engine import COUNT, START, STEP, rows_for, summary

ICMP = get_collection("amp-icmp")
END = START + STEP * COUNT


class Clock:
    def __init__(self) -> None:
        self.now = float(END + 600)

    def __call__(self) -> float:
        return self.now


def add_streams(services: Services, count: int) -> list[int]:
    ids = []
    for number in range(count):
        properties = {
            "source": "mon-a",
            "destination": f"target-{number}",
            "family": "ipv4",
            "packet_size": "84",
        }
        ids.append(services.streams.stream_id(ICMP, properties))
    return ids


def commit(
    services: Services, stream_ids: list[int], start: int, end: int, touch: bool = True
) -> None:
    """Store rows [start, end) of each stream's series as the collector would commit them."""
    for stream_id in stream_ids:
        rows = rows_for(stream_id, seed=stream_id)[start:end]
        services.timeseries.write(ICMP, rows, {stream_id: {}})
        if touch:
            services.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})


@pytest.fixture
def expected(tmp_path) -> Iterator[tuple[Services, list[int], list]]:
    """A database holding every row, with history detection's events; and the stream ids."""
    reference = make_services(f"sqlite:///{tmp_path}/reference.sqlite")
    ids = add_streams(reference, 3)
    commit(reference, ids, 0, COUNT)
    detect_history(reference, START, END)
    yield reference, ids, summary(events_in(reference, ids, START, END))
    reference.close()


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/live.sqlite")
    yield services
    services.close()


def test_live_cycles_find_what_history_finds(services: Services, expected) -> None:
    _, ids, events = expected
    assert add_streams(services, 3) == ids
    detection = LiveDetection(services, clock=Clock())
    position = 0
    for size in (1, 7, 60, 3, 200, 500, 29, 700):
        commit(services, ids, position, min(COUNT, position + size))
        detection.cycle()
        position += size
    assert position >= COUNT
    assert summary(events_in(services, ids, START, END)) == events
    assert len(events) == 12
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)
    assert detection.owned == set(range(PARTITIONS))
    assert detection.rows == 3 * COUNT


def test_a_crash_loses_nothing_and_the_next_process_warms_up(services: Services, expected) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    clock = Clock()
    first = LiveDetection(services, owner="first", clock=clock)
    commit(services, ids, 0, 1100)
    first.cycle()
    # The first process dies without a word; more rows are committed meanwhile.
    commit(services, ids, 1100, COUNT)
    second = LiveDetection(services, owner="second", clock=clock)
    assert second.cycle() == 0
    assert second.owned == set()  # the dead process's leases have not run out yet
    clock.now += 120
    second.cycle()
    assert second.owned == set(range(PARTITIONS))
    # It resumed at the checkpoints, after warming up on the rows before them.
    assert second.rows == 3 * (COUNT - 1100)
    assert summary(events_in(services, ids, START, END)) == events


def test_two_processes_share_the_streams(services: Services, expected) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    clock = Clock()
    # Two partitions, so that each process gets some of the three streams.
    one = LiveDetection(services, owner="one", partitions=2, clock=clock)
    one.cycle()
    two = LiveDetection(services, owner="two", partitions=2, clock=clock)
    two.cycle()
    # Leases are renewed a third of a lease after the last renewal, no sooner.
    one.cycle()
    assert one.owned == {0, 1}
    clock.now += LEASE_SECONDS / 3
    one.cycle()  # gives back what exceeds its share
    two.cycle()
    assert one.owned.isdisjoint(two.owned)
    assert one.owned | two.owned == {0, 1}
    assert len(one.owned) == len(two.owned) == 1
    position = 0
    for size in (300, 300, 300, 600):
        commit(services, ids, position, position + size)
        one.cycle()
        two.cycle()
        position += size
    assert one.rows + two.rows == 3 * COUNT
    assert one.rows
    assert two.rows
    assert summary(events_in(services, ids, START, END)) == events
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == len(events)
    # One stops cleanly: the other takes its share at its next renewal.
    one.release()
    clock.now += LEASE_SECONDS / 3
    two.cycle()
    assert two.owned == {0, 1}


def test_a_live_feed_message_is_detected_before_the_streams_table_says_so(
    services: Services, expected
) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    commit(services, ids, 0, 10)
    detection.cycle()
    # The ingest path updates the streams' newest timestamps every few
    # seconds; these rows are committed, and the streams table does not know.
    commit(services, ids, 10, COUNT, touch=False)
    assert detection.cycle() == 0
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        # No previous rows named: the batch only says there are new rows.
        detection.on_batch(LiveBatch("amp-icmp", rows[-5:]))
    assert detection.wake.is_set()
    detection.cycle()
    assert summary(events_in(services, ids, START, END)) == events
    assert detection.fed_rows == 0


def publish(services: Services, stream_ids: list[int], start: int, end: int) -> None:
    """Commit rows [start, end) of each stream and publish them, as the collector does."""
    commit(services, stream_ids, start, end)
    for stream_id in stream_ids:
        services.live.publish("amp-icmp", rows_for(stream_id, seed=stream_id)[start:end])


class CountingReads:
    """Counts the raw reads of the time-series store (the real one underneath)."""

    def __init__(self, services: Services) -> None:
        self.reads = 0
        self.raw = services.timeseries.raw
        services.timeseries.raw = self  # type: ignore[method-assign]

    def __call__(self, *args, **kwargs):
        self.reads += 1
        return self.raw(*args, **kwargs)


def test_contiguous_feed_batches_are_detected_without_reading_back(
    services: Services, expected
) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    start_listening(services, detection, threading.Event())
    # The first batch of each stream names no previous row (the feed has just
    # started): read back. Every later one follows on from its checkpoint.
    publish(services, ids, 0, 100)
    detection.cycle()
    assert detection.fed_rows == 0
    reads = CountingReads(services)
    position = 100
    for size in (1, 7, 60, 3, 200, 500, 29, 700):
        end = min(COUNT, position + size)
        publish(services, ids, position, end)
        if size == 60:
            publish(services, ids, end, end + 3)  # two batches in one cycle
            end += 3
        detection.cycle()
        position = end
    assert reads.reads == 0
    assert detection.fed_rows == 3 * (COUNT - 100)
    assert detection.rows == 3 * COUNT
    assert summary(events_in(services, ids, START, END)) == events
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)


def test_rows_before_a_batch_that_does_not_follow_on_are_read_back(
    services: Services, expected
) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    commit(services, ids, 0, 600)
    detection.cycle()
    # Rows 600-699 are committed and their batch is lost (e.g. Redis was
    # down, or another collector wrote them); the next batch names row 699
    # as the previous one, which is not the checkpoint (599).
    commit(services, ids, 600, 700, touch=False)
    commit(services, ids, 700, COUNT, touch=False)
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        detection.on_batch(LiveBatch("amp-icmp", rows[700:], {stream_id: rows[699].timestamp}))
    reads = CountingReads(services)
    detection.cycle()
    # Rows 600-699 read from the store; the batch's from the feed.
    assert reads.reads > 0
    assert detection.fed_rows == 3 * (COUNT - 700)
    assert detection.rows == 3 * COUNT
    assert summary(events_in(services, ids, START, END)) == events
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)


def test_a_first_batch_without_previous_rows_is_read_and_the_next_ones_are_not(
    services: Services, expected
) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    start_listening(services, detection, threading.Event())
    # One cycle for every batch: the first of each stream names no previous
    # row (read back), the others follow on from it (as the feed gave them).
    for position in range(0, COUNT, 250):
        publish(services, ids, position, min(COUNT, position + 250))
    detection.cycle()
    assert detection.fed_rows == 3 * (COUNT - 250)
    assert detection.rows == 3 * COUNT
    assert summary(events_in(services, ids, START, END)) == events
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)


def test_rows_beyond_the_batches_are_read_back(services: Services, expected) -> None:
    """The streams table knows of newer rows than the batches hold: the store is read."""
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    commit(services, ids, 0, 600)
    detection.cycle()
    commit(services, ids, 600, COUNT)
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        detection.on_batch(LiveBatch("amp-icmp", rows[600:700], {stream_id: rows[599].timestamp}))
    detection.cycle()
    assert detection.fed_rows == 0
    assert summary(events_in(services, ids, START, END)) == events


def test_the_in_process_feed_names_each_streams_previous_row(services: Services) -> None:
    got: list[LiveBatch] = []
    rows = [Row(1, 100, {}), Row(2, 100, {}), Row(1, 160, {})]
    services.live.publish("amp-icmp", rows)  # nobody listens: nothing to remember
    services.live.subscribe("amp-icmp", got.append)
    services.live.publish("amp-icmp", rows)
    services.live.publish("amp-icmp", [Row(1, 220, {}), Row(3, 100, {})])
    assert [b.previous for b in got] == [{}, {1: 160}]
    assert got[0].rows == rows  # the rows themselves, in process


def test_in_process_detection_of_the_embedded_default(services: Services, expected) -> None:
    _, ids, events = expected
    add_streams(services, 3)
    stop = threading.Event()
    thread = run_in_process(services, stop)
    try:
        commit(services, ids, 0, 10)
        commit(services, ids, 10, COUNT, touch=False)
        for stream_id in ids:
            services.live.publish("amp-icmp", rows_for(stream_id, seed=stream_id)[-1:])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(events_in(services, ids, START, END)) == len(events):
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    assert summary(events_in(services, ids, START, END)) == events


@pytest.mark.parametrize("feed", [False, True])
def test_a_cycle_whose_events_could_not_be_stored_is_detected_again(
    services: Services, expected, feed: bool
) -> None:
    """Storing fails (a grouping error, the database gone): nothing is lost.

    The detectors had gone past the rows; they are forgotten, so the next
    cycle warms them up again and finds the same events on the same rows,
    whether it reads them back or the feed gave them.
    """
    from nntsc.events import sinks

    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    start_listening(services, detection, threading.Event())
    publish(services, ids, 0, 300)
    detection.cycle()

    def failing(session, new) -> None:
        raise RuntimeError("grouping failed")

    sinks.register(failing)
    try:
        if feed:
            publish(services, ids, 300, COUNT)
        else:
            commit(services, ids, 300, COUNT)
        with pytest.raises(RuntimeError):
            detection.cycle()
    finally:
        sinks.unregister(failing)
    assert checkpoints(services, ids) == dict.fromkeys(ids, START + 299 * STEP)
    detection.cycle()
    assert summary(events_in(services, ids, START, END)) == events
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)
    assert detection.late_rows == 0


def test_the_lease_is_a_setting(tmp_path) -> None:
    from nntsc.errors import ConfigurationError
    from nntsc.events.live import LEASE_SECONDS, lease_seconds_setting

    assert lease_seconds_setting({}) == LEASE_SECONDS
    assert lease_seconds_setting({"nntsc.events_lease_seconds": " 6 "}) == 6
    assert lease_seconds_setting({"nntsc.events_lease_seconds": "90.0"}) == 90
    # "²" and "6²" are digits to str.isdigit() but no number to int().
    for bad in ("2", "0", "-5", "6.5", "1m", "soon", "²", "6²", "inf", "nan"):
        with pytest.raises(ConfigurationError, match=r"nntsc\.events_lease_seconds"):
            lease_seconds_setting({"nntsc.events_lease_seconds": bad})
    services = make_services(
        f"sqlite:///{tmp_path}/lease.sqlite", **{"nntsc.events_lease_seconds": "7"}
    )
    try:
        clock = Clock()
        detection = LiveDetection(services, owner="short", clock=clock)
        detection.cycle()
        with services.sessionmaker() as session:
            assert set(session.scalars(select(EventPartition.expires))) == {int(clock.now) + 7}
    finally:
        services.close()


def test_feed_batches_with_rows_out_of_order_are_detected_in_time_order(
    services: Services, expected
) -> None:
    """A batch's rows of a stream in any order are fed in time order, as a read gives them."""
    _, ids, events = expected
    add_streams(services, 3)
    detection = LiveDetection(services, clock=Clock())
    start_listening(services, detection, threading.Event())
    publish(services, ids, 0, 100)
    detection.cycle()
    rng = random.Random(5)
    reads = CountingReads(services)
    for position in range(100, COUNT, 300):
        end = min(COUNT, position + 300)
        commit(services, ids, position, end)
        for stream_id in ids:
            rows = rows_for(stream_id, seed=stream_id)[position:end]
            rng.shuffle(rows)
            services.live.publish("amp-icmp", rows)
        detection.cycle()
    assert reads.reads == 0
    assert detection.fed_rows == 3 * (COUNT - 100)
    assert detection.late_rows == 0
    assert summary(events_in(services, ids, START, END)) == events
    assert checkpoints(services, ids) == dict.fromkeys(ids, END - STEP)


def test_the_listener_keeps_none_of_the_publishers_rows(services: Services) -> None:
    """Queued batches keep the watched fields' values, not the publisher's rows and dicts:
    the publisher frees those (as when nobody listens) while they are in its cache."""
    detection = LiveDetection(services, clock=Clock())
    rows = rows_for(1, seed=1)[:50]
    counts = [(sys.getrefcount(row), sys.getrefcount(row.values)) for row in rows]
    # The batch's own list, as the publisher's is: only the batch refers to it.
    detection.on_batch(LiveBatch("amp-icmp", list(rows), {1: START - STEP}))
    assert [(sys.getrefcount(row), sys.getrefcount(row.values)) for row in rows] == counts
    hints, segments = detection._take_batches()
    assert hints == {1: ("amp-icmp", rows[-1].timestamp)}
    (segment,) = segments[1]
    assert segment.series is not None
    stamps, columns = segment.series
    assert stamps == [row.timestamp for row in rows]
    assert columns == {
        field: [row.values[field] for row in rows] for field in ("lossrate", "median")
    }
