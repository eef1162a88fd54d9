"""The detection engine on the embedded default (SQLite): history, live batches, restarts, sinks."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from nntsc.cli import main
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.events import sinks
from nntsc.events.engine import DetectionEngine, detect_history, events_in, store_events
from nntsc.events.models import Event
from tests.conftest import make_services

ICMP = get_collection("amp-icmp")
START = 1_790_000_000 - 1_790_000_000 % 3600
STEP = 60
COUNT = 1500


def rows_for(stream_id: int, seed: int) -> list[Row]:
    """A latency series with a rise at 500, a fall at 1000, a loss run at 1200-1209."""
    rng = random.Random(seed)
    rows = []
    for i in range(COUNT):
        level = 20_000 if i < 500 or i >= 1000 else 45_000
        lost = 1200 <= i < 1210
        rows.append(
            Row(
                stream_id,
                START + STEP * i,
                {
                    "median": None if lost else rng.gauss(level, 500),
                    "loss": 1 if lost else 0,
                    "results": 1,
                    "lossrate": 1.0 if lost else 0.0,
                },
            )
        )
    return rows


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/events.sqlite")
    yield services
    services.close()


def add_stream(services: Services, destination: str) -> int:
    properties = {
        "source": "mon-a",
        "destination": destination,
        "family": "ipv4",
        "packet_size": "84",
    }
    stream_id = services.streams.stream_id(ICMP, properties)
    rows = rows_for(stream_id, seed=stream_id)
    services.timeseries.write(ICMP, rows, {stream_id: properties})
    services.streams.touch({stream_id: (rows[0].timestamp, rows[-1].timestamp)})
    return stream_id


def summary(events: list[Event]) -> list[tuple]:
    """What matters of events, in an order that does not depend on who stored them first."""
    return sorted(
        (e.stream_id, e.detector, e.metric, e.kind, e.ts_onset, e.ts_detected, e.severity)
        for e in events
    )


def test_history_detection_stores_each_event_once(services: Services) -> None:
    sid = add_stream(services, "target-1")
    end = START + STEP * COUNT
    first = detect_history(services, START, end)
    events = events_in(services, [sid], START, end)
    assert [(e.kind, (e.ts_onset - START) // STEP) for e in events] == [
        ("incr", 500),
        ("decr", 1000),
        ("loss", 1200),
        ("loss_end", 1210),
    ]
    rise = events[0]
    assert rise.description.startswith("median 20.")
    assert "ms -> 4" in rise.description
    assert rise.unit == "ms"
    assert 19 < rise.old_value < 21
    assert 44 < rise.new_value < 46
    assert (rise.source, rise.target, rise.collection) == ("mon-a", "target-1", "amp-icmp")
    # The loss event knows when it ended.
    assert events[2].ts_ended == events[3].ts_onset == START + 1210 * STEP
    assert first.stored == 4
    assert first.rows == COUNT
    # Again: same events found, none stored twice.
    again = detect_history(services, START, end)
    assert again.found == 4
    assert again.stored == 0
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 4


def test_live_batches_and_history_give_the_same_events(tmp_path) -> None:
    live = make_services(f"sqlite:///{tmp_path}/live.sqlite")
    history = make_services(f"sqlite:///{tmp_path}/history.sqlite")
    try:
        ids = [add_stream(s, "target-1") for s in (live, history)]
        assert ids[0] == ids[1]
        end = START + STEP * COUNT
        detect_history(history, START, end)
        # Live: the committed rows arrive in batches of a few rows each, as
        # the collector commits them, and are stored batch by batch.
        engine = DetectionEngine(live)
        rows = live.timeseries.raw(ICMP, [ids[0]], START, end)
        rng = random.Random(1)
        position = 0
        while position < len(rows):
            size = rng.randint(1, 40)
            records = engine.feed(ICMP, rows[position : position + size])
            with live.sessionmaker.begin() as session:
                store_events(session, records)
            position += size
        assert summary(events_in(live, ids, START, end)) == summary(
            events_in(history, ids, START, end)
        )
    finally:
        live.close()
        history.close()


def test_restart_mid_series_warms_up_and_finds_the_same_events(services: Services) -> None:
    sid = add_stream(services, "target-1")
    rows = services.timeseries.raw(ICMP, [sid], START, START + STEP * COUNT)
    whole = DetectionEngine(services).feed(ICMP, rows)
    for cut in (300, 700, 1005, 1204):
        before = DetectionEngine(services).feed(ICMP, rows[:cut])
        # A restarted process warms its detectors up on the rows before the
        # cut (stored events not reported again), then carries on.
        restarted = DetectionEngine(services)
        assert (
            restarted.feed(ICMP, rows[max(0, cut - 200) : cut], detected_from=rows[cut].timestamp)
            == []
        )
        after = restarted.feed(ICMP, rows[cut:])
        assert before + after == whole, cut


def test_sinks_get_each_new_event_once_in_the_transaction(services: Services) -> None:
    sid = add_stream(services, "target-1")
    seen: list[tuple[int, str]] = []

    def sink(session, events) -> None:
        # The events' columns as stored, with their ids, in the session's transaction.
        for event in events:
            row = session.get(Event, event.id)
            columns = [column.name for column in Event.__table__.columns]
            assert {c: getattr(row, c) for c in columns} == {c: getattr(event, c) for c in columns}
        seen.extend((e.id, e.kind) for e in events)

    sinks.register(sink)
    try:
        detect_history(services, START, START + STEP * COUNT)
        detect_history(services, START, START + STEP * COUNT)
    finally:
        sinks.unregister(sink)
    assert [kind for _, kind in seen] == ["incr", "decr", "loss", "loss_end"]
    assert len({event_id for event_id, _ in seen}) == 4
    assert sid


def test_a_failing_sink_stores_nothing(services: Services) -> None:
    add_stream(services, "target-1")

    def failing(session, events) -> None:
        raise RuntimeError("grouping failed")

    sinks.register(failing)
    try:
        with pytest.raises(RuntimeError):
            detect_history(services, START, START + STEP * COUNT)
    finally:
        sinks.unregister(failing)
    with services.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
    # Detected again once grouping works: nothing lost.
    assert detect_history(services, START, START + STEP * COUNT).stored == 4


def test_cli_detect(services: Services, tmp_path) -> None:
    sid = add_stream(services, "target-1")
    add_stream(services, "target-2")
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nnntsc.sql_url = {services.settings['nntsc.sql_url']}\n"
        "nntsc.timeseries_url = sql\n"
    )
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "events",
            "detect",
            "-c",
            str(ini),
            "--start",
            str(START),
            "--end",
            str(START + STEP * COUNT),
            "--collection",
            "amp-icmp",
            "--stream",
            str(sid),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1500 rows of 1 streams: 4 events found, 4 new" in result.output
    bad = runner.invoke(main, ["events", "detect", "-c", str(ini), "--start", "yesterday"])
    assert bad.exit_code != 0
    assert "neither Unix seconds nor an ISO date" in bad.output
