"""`nntsc events run` as real processes on PostgreSQL, InfluxDB and Redis.

Two processes share the streams, are woken by the Redis live feed, one is
killed and a third takes over; with Redis unreachable, detection carries on
from the store. Each time the events are exactly those history detection
finds in the same rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.events import live, sinks
from nntsc.events.engine import detect_history, events_in
from nntsc.events.live import MIN_LEASE_SECONDS, LiveDetection, checkpoints
from nntsc.events.models import Event, EventPartition
from nntsc.live import RedisLiveFeed
from tests.conftest import LIVE_PREFIX, make_services
from tests.unit.test_events_engine import COUNT, START, STEP, rows_for, summary
from tests.unit.test_events_live import Clock, add_streams

ICMP = get_collection("amp-icmp")
END = START + STEP * COUNT
REDIS_URL = "redis://127.0.0.1:6379/1"
STREAMS = 4


@pytest.fixture
def expected(tmp_path) -> Iterator[list]:
    reference = make_services(f"sqlite:///{tmp_path}/reference.sqlite")
    ids = add_streams(reference, STREAMS)
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        reference.timeseries.write(ICMP, rows, {stream_id: {}})
        reference.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})
    detect_history(reference, START, END)
    yield summary(events_in(reference, ids, START, END))
    reference.close()


@pytest.fixture
def services(postgres_url: str, influx_url: str) -> Iterator[Services]:
    services = make_services(
        postgres_url,
        influx_url,
        **{"nntsc.live_url": REDIS_URL, "nntsc.live_channel_prefix": LIVE_PREFIX},
    )
    yield services
    services.close()


#: The lease of the processes that share the streams: a killed one's partitions
#: pass to the others this soon (the default, 60 s, would be waited out).
LEASE_SECONDS = 6


def start(
    services: Services,
    tmp_path,
    name: str,
    live_url: str = REDIS_URL,
    lease_seconds: int | None = None,
    poll: float = 1,
) -> subprocess.Popen:
    ini = tmp_path / f"{name}.ini"
    ini.write_text(
        "[app:main]\n"
        f"nntsc.sql_url = {services.settings['nntsc.sql_url']}\n"
        f"nntsc.timeseries_url = {services.settings['nntsc.timeseries_url']}\n"
        f"nntsc.live_url = {live_url}\n"
        f"nntsc.live_channel_prefix = {LIVE_PREFIX}\n"
        + (f"nntsc.events_lease_seconds = {lease_seconds}\n" if lease_seconds else "")
    )
    return subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "nntsc"),
            "events",
            "run",
            "-c",
            str(ini),
            "--since",
            "all",
            "--poll",
            str(poll),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def commit(services: Services, ids: list[int], begin: int, end: int, feed: RedisLiveFeed) -> None:
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)[begin:end]
        services.timeseries.write(ICMP, rows, {stream_id: {"source": "mon-a"}})
        services.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})
        feed.publish(ICMP.name, rows)


def wait_for(services: Services, ids: list[int], upto: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if checkpoints(services, ids) == dict.fromkeys(ids, upto):
            return
        time.sleep(0.5)
    raise AssertionError(f"checkpoints {checkpoints(services, ids)} never reached {upto}")


def stop(process: subprocess.Popen, kill: bool = False) -> str:
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output


def started(process: subprocess.Popen) -> str:
    """Wait until `process` says it is detecting; its owner name."""
    for line in process.stdout:  # type: ignore[union-attr]
        if line.startswith("detecting as "):
            return line.split()[-1]
    raise AssertionError(f"nntsc events run exited with {process.wait()}")


def owners(services: Services) -> set[str]:
    with services.sessionmaker() as session:
        return set(
            session.scalars(
                select(EventPartition.owner).where(EventPartition.expires >= time.time())
            )
        )


def test_processes_share_resume_and_take_over(services: Services, expected, tmp_path) -> None:
    ids = add_streams(services, STREAMS)
    feed = RedisLiveFeed(REDIS_URL, LIVE_PREFIX)
    first = start(services, tmp_path, "first", lease_seconds=LEASE_SECONDS)
    second = start(services, tmp_path, "second", lease_seconds=LEASE_SECONDS)
    third = None
    try:
        dead, alive = started(first), started(second)
        names = {dead, alive}
        commit(services, ids, 0, 700, feed)
        wait_for(services, ids, START + 699 * STEP)
        # Both come to hold partitions: a process that started (or renewed) late
        # on a loaded machine takes its fair share at its next renewal.
        deadline = time.monotonic() + 60
        while owners(services) != names:
            assert time.monotonic() < deadline, f"{owners(services)} != {names}"
            time.sleep(0.5)
        # The first process crashes; the other takes its share over once its
        # lease runs out, and carries on from the checkpoints; a third joins.
        stop(first, kill=True)
        commit(services, ids, 700, 1100, feed)
        third = start(services, tmp_path, "third", lease_seconds=LEASE_SECONDS)
        joined = started(third)
        commit(services, ids, 1100, COUNT, feed)
        wait_for(services, ids, END - STEP, seconds=240)
        # The dead process's partitions pass to the living once its leases run
        # out (`LEASE_SECONDS`).
        deadline = time.monotonic() + 120
        while dead in owners(services):
            assert time.monotonic() < deadline
            time.sleep(1)
        deadline = time.monotonic() + 30
        while owners(services) != {alive, joined}:
            assert time.monotonic() < deadline, owners(services)
            time.sleep(1)
    finally:
        for process in (first, second, third):
            if process is not None and process.poll() is None:
                assert "events stored" in stop(process)
        feed.close()
    assert summary(events_in(services, ids, START, END)) == expected


@pytest.mark.parametrize(("lease", "poll"), [(3, 5), (6, 30)])
def test_idle_processes_share_when_the_lease_is_shorter_than_the_poll(
    services: Services, tmp_path, lease: int, poll: float
) -> None:
    """Idle, a process wakes to renew its leases, however long `--poll` is.

    It used to renew them only in a cycle, and an idle one came every
    `--poll` seconds: with a lease shorter than that, each process's leases
    and runner row had run out by its next cycle, so whichever renewed took
    all 16 partitions and the other none, for good.
    """
    first = start(services, tmp_path, "first", lease_seconds=lease, poll=poll)
    second = None
    try:
        one = started(first)
        second = start(services, tmp_path, "second", lease_seconds=lease, poll=poll)
        two = started(second)
        deadline = time.monotonic() + 60
        while owners(services) != {one, two}:
            assert time.monotonic() < deadline, f"{owners(services)} != {{{one!r}, {two!r}}}"
            time.sleep(0.25)
        # And they keep their shares over several leases, nothing committed.
        seen = []
        for _ in range(int(lease * 3 / 0.5)):
            time.sleep(0.5)
            seen.append(owners(services))
        assert all(found == {one, two} for found in seen), seen
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                assert "events stored" in stop(process)


def test_redis_down_detection_goes_on_from_the_store(
    services: Services, expected, tmp_path
) -> None:
    ids = add_streams(services, STREAMS)
    # Nothing listens on port 1: the live feed is down the whole time.
    process = start(services, tmp_path, "alone", live_url="redis://127.0.0.1:1/0")
    feed = RedisLiveFeed("redis://127.0.0.1:1/0", LIVE_PREFIX)
    started(process)
    try:
        commit(services, ids, 0, COUNT, feed)
        wait_for(services, ids, END - STEP, seconds=240)
    finally:
        output = stop(process)
        feed.close()
    assert "live feed" in output  # it said that it could not listen
    assert summary(events_in(services, ids, START, END)) == expected


def test_raw_rows_of_some_fields(store_services: Services) -> None:
    """What detection reads back: only the watched fields, on every store."""
    from nntsc.errors import BadQuery

    ids = add_streams(store_services, 1)
    rows = rows_for(ids[0], seed=1)[1195:1215]
    store_services.timeseries.write(ICMP, rows, {ids[0]: {"source": "mon-a"}})
    found = store_services.timeseries.raw(ICMP, ids, START, END, fields=["median", "lossrate"])
    assert {tuple(sorted(r.values)) for r in found} == {("lossrate", "median")}
    assert [(r.timestamp, r.values["median"]) for r in found] == [
        (r.timestamp, r.values["median"]) for r in rows
    ]
    with pytest.raises(BadQuery):
        store_services.timeseries.raw(ICMP, ids, START, END, fields=["nosuch"])


def test_loss_end_events_close_their_loss_events_on_postgresql(services: Services) -> None:
    """The loss events that loss-end events close get their end (one UPDATE for all)."""
    ids = add_streams(services, 2)
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        services.timeseries.write(ICMP, rows, {stream_id: {"source": "mon-a"}})
        services.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})
    detect_history(services, START, END)
    losses = [e for e in events_in(services, ids, START, END) if e.kind == "loss"]
    assert [(e.stream_id, e.ts_ended) for e in losses] == [
        (stream_id, START + 1210 * STEP) for stream_id in ids
    ]


def test_a_cycle_longer_than_its_lease_keeps_its_partitions_but_a_stalled_one_loses_them(
    services: Services, expected, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle catching up on a long backlog renews its leases as it goes.

    The first process catches up on four streams, one at a time
    (`STREAMS_PER_READ` 1), storing what it finds after each read
    (`FLUSH_EVENTS` 1); every store takes two seconds of the shared clock
    (a registered sink moves it on), so the cycle lasts several leases of
    3 s (`MIN_LEASE_SECONDS`). During each store a second process renews
    its leases. It used to take every partition once the first's leases,
    renewed only when its cycle began, had run out, while the first went on
    detecting on their streams. Now the first renews between reads, gives
    the second its fair share and leaves those streams to it. Stopped for
    longer than a lease, the first loses all of them.
    """
    lease = MIN_LEASE_SECONDS
    ids = add_streams(services, STREAMS)
    for stream_id in ids:
        rows = rows_for(stream_id, seed=stream_id)
        services.timeseries.write(ICMP, rows, {stream_id: {"source": "mon-a"}})
        services.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})
    monkeypatch.setattr(live, "STREAMS_PER_READ", 1)
    monkeypatch.setattr(live, "FLUSH_EVENTS", 1)
    clock = Clock()
    # As many partitions as streams, one stream in each.
    partitions = STREAMS
    assert sorted(i % partitions for i in ids) == list(range(partitions))
    first, second = (
        LiveDetection(services, name, partitions=partitions, lease_seconds=lease, clock=clock)
        for name in ("first", "second")
    )
    seen: list[tuple[set[int], set[int], set[int]]] = []

    def slow_store(session: Any, events: Any) -> None:
        clock.now += 2
        second.renew_leases()
        # (the first's partitions, the second's, the partitions of the streams stored)
        stored = {event.stream_id % partitions for event in events}
        seen.append((set(first.owned), set(second.owned), stored))

    sinks.register(slow_store)
    try:
        began = clock.now
        first.cycle()
        sinks.unregister(slow_store)
        # The cycle lasted longer than a lease: without renewals on the way,
        # its leases would have run out during it.
        assert clock.now - began > lease
        assert len(seen) >= 2
        for mine, theirs, stored in seen:
            assert mine.isdisjoint(theirs), seen
            assert stored <= mine, seen
        # The second got its fair share, given back by the first on the way.
        assert len(first.owned) == len(second.owned) == partitions // 2
        second.cycle()
        assert summary(events_in(services, ids, START, END)) == expected
        with services.sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(Event)) == len(expected)
        # A process that stops renewing (stalled, or killed) loses its
        # partitions once its lease runs out.
        clock.now += lease + 1
        second.cycle()
        assert second.owned == set(range(partitions))
        assert first.cycle() == 0
        assert first.owned == set()
    finally:
        sinks.unregister(slow_store)
