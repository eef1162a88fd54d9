"""The demo feeder: continues the loaded mesh from the newest stored row, as reports fall due."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from nntsc.cli import main
from nntsc.collections import for_amp_test
from nntsc.config import Services
from nntsc.demo import ALL_TESTS, TEST_PERIODS, SimulatedMesh
from nntsc.demo.feed import DemoFeeder
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services

HOUR = 3600
DAY = 86400
#: A fixed "now" on a day boundary plus a bit, so the run times are easy to reason about.
NOW = 1_790_000_000 - 1_790_000_000 % DAY + 10 * HOUR + 30
SITES = 3
INTERVAL = 60


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    yield services
    services.close()


def load(services: Services, start: int, end: int, tests=ALL_TESTS) -> SimulatedMesh:
    """What `nntsc demo-data` stores: the mesh's reports in (start, end)."""
    mesh = SimulatedMesh(SITES, start, end, INTERVAL, seed=1)
    with Ingestor(services) as ingestor:
        for test, source, timestamp, report in mesh.test_reports(tests):
            ingestor.add_report(for_amp_test(test), report, source, timestamp)
    return mesh


def fed(feeder: DemoFeeder, now: int) -> list[tuple[str, str, int]]:
    """The (test, source, timestamp) of every report `feeder` ingests by `now`."""
    reports = list(feeder.due(now))
    return [(test, source, timestamp) for test, source, timestamp, _ in reports]


def test_it_continues_after_the_newest_stored_row(services: Services) -> None:
    load(services, NOW - 3 * HOUR, NOW - HOUR)
    feeder = DemoFeeder(services, SITES, INTERVAL, clock=lambda: NOW)
    last = feeder.last_stored()
    assert last == (NOW - HOUR) - (NOW - HOUR) % INTERVAL  # the load's last minute
    assert feeder.start(NOW) == last
    reports = fed(feeder, NOW)
    times = Counter((test, timestamp) for test, _, timestamp in reports)
    # Every test runs at each of its times after the last stored row, up to now, at every source.
    for test in ALL_TESTS:
        period = TEST_PERIODS[test] or INTERVAL
        expected = list(range(last - last % period + period, NOW + 1, period))
        assert sorted(t for name, t in times if name == test) == expected, test
    assert min(timestamp for _, _, timestamp in reports) > last
    assert {source for _, source, _ in reports} == {
        site.name for site in SimulatedMesh(SITES, 0, DAY).sites
    }
    # Nothing is due until the next minute.
    assert fed(feeder, NOW) == []
    assert feeder.next_due() == NOW - NOW % INTERVAL + INTERVAL


def test_it_writes_through_the_ingest_path_and_rolls_up(services: Services) -> None:
    load(services, NOW - 3 * HOUR, NOW - HOUR)
    feeder = DemoFeeder(services, SITES, INTERVAL, clock=lambda: NOW)
    feeder.start(NOW)
    reports, rows = feeder.feed(NOW)
    assert reports > 0
    assert rows > reports
    assert feeder.last_stored() == NOW - NOW % INTERVAL
    assert services.timeseries.pending_count() == 0


def test_the_network_is_the_loaded_one_and_its_changes_keep_coming() -> None:
    loaded = SimulatedMesh(SITES, NOW - 7 * DAY, NOW, INTERVAL, seed=1)
    windows = [
        SimulatedMesh(SITES, NOW + k * DAY, NOW + (k + 1) * DAY, INTERVAL, seed=1, epoch=k)
        for k in range(4)
    ]
    for window in windows:
        assert [site.name for site in window.sites] == [site.name for site in loaded.sites]
        for key, pair in window.pairs.items():
            assert pair.base_ms == loaded.pairs[key].base_ms
            assert pair.jitter_ms == loaded.pairs[key].jitter_ms
            assert pair.unreachable == loaded.pairs[key].unreachable
            for begin, _, _ in pair.shifts + pair.loss_bursts:
                assert window.start <= begin < window.end
    # Each window plants changes of its own.
    planted = [
        sorted((key, b - w.start) for key, p in w.pairs.items() for b, _, _ in p.shifts)
        for w in windows
    ]
    assert all(planted)
    assert len({repr(p) for p in planted}) == len(planted)


def test_consecutive_windows_lose_no_run() -> None:
    feeder = DemoFeeder(None, SITES, INTERVAL, window=2 * HOUR)  # type: ignore[arg-type]
    reports = feeder._windows(NOW)
    icmp: list[int] = []
    throughput: list[int] = []
    for test, _, timestamp, _ in reports:
        if timestamp > NOW + 7 * HOUR:
            break
        if test == "icmp":
            icmp.append(timestamp)
        elif test == "throughput":
            throughput.append(timestamp)
    minutes = sorted(set(icmp))
    assert minutes == list(range(NOW - NOW % 60 + 60, minutes[-1] + 1, 60))
    assert all(count == SITES for count in Counter(icmp).values())
    assert sorted(set(throughput)) == list(range(NOW - NOW % HOUR + HOUR, NOW + 7 * HOUR, HOUR))


def test_catch_up_is_bounded(services: Services) -> None:
    load(services, NOW - 10 * DAY - HOUR, NOW - 10 * DAY, tests=("icmp",))
    feeder = DemoFeeder(services, SITES, INTERVAL, max_catch_up=2 * HOUR)
    assert feeder.start(NOW) == NOW - 2 * HOUR
    assert min(timestamp for _, _, timestamp in fed(feeder, NOW)) > NOW - 2 * HOUR


def test_an_empty_store_is_fed_with_its_sites_and_meshes(services: Services) -> None:
    feeder = DemoFeeder(services, SITES, INTERVAL, max_catch_up=HOUR)
    assert feeder.last_stored() is None
    feeder.start(NOW)
    feeder.feed(NOW)
    assert feeder.last_stored() == NOW - NOW % INTERVAL
    assert services.sites.list_meshes().items


def test_run_feeds_each_run_as_it_falls_due_until_stopped(services: Services) -> None:
    clock = [float(NOW)]
    feeder = DemoFeeder(services, SITES, INTERVAL, max_catch_up=HOUR, clock=lambda: clock[0])
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def on_fed(now: int, reports: int, rows: int) -> None:
        seen.append((now, reports))
        clock[0] += INTERVAL  # the next minute comes at once
        if len(seen) == 4:
            stop.set()

    feeder.run(stop, on_fed)
    assert [now for now, _ in seen] == [NOW + k * INTERVAL for k in range(4)]
    assert seen[0][1] > seen[1][1] > 0  # the catch-up, then one minute's runs
    assert feeder.last_stored() == NOW + 3 * INTERVAL - (NOW % INTERVAL)


def test_cli_once_catches_up_and_exits(tmp_path: Path) -> None:
    ini = tmp_path / "demo.ini"
    ini.write_text(
        f"[app:main]\nnntsc.sql_url = sqlite:///{tmp_path}/nntsc.sqlite\n"
        "nntsc.timeseries_url = sql\nnntsc.live_url = memory://\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "-c", str(ini)]).exit_code == 0
    result = runner.invoke(
        main, ["demo-feed", "-c", str(ini), "--sites", "2", "--catch-up", "0.5", "--once"]
    )
    assert result.exit_code == 0, result.output
    assert "demo feed:" in result.output
    assert "reports" in result.output


def test_demo_data_can_leave_the_rollups_to_one_later_pass(tmp_path: Path) -> None:
    """`make demo` loads with --no-rollups and rolls everything up in one step (one bar)."""
    ini = tmp_path / "demo.ini"
    ini.write_text(
        f"[app:main]\nnntsc.sql_url = sqlite:///{tmp_path}/nntsc.sqlite\n"
        "nntsc.timeseries_url = sql\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "-c", str(ini)]).exit_code == 0
    loaded = runner.invoke(
        main, ["demo-data", "-c", str(ini), "--sites", "2", "--days", "0.2", "--no-rollups"]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "rollup marks" not in loaded.output
    rolled = runner.invoke(main, ["rollup", "-c", str(ini)])
    assert rolled.exit_code == 0, rolled.output
    assert re.search(r"\b[1-9]\d* rollup marks processed", rolled.output), rolled.output


def test_the_first_feed_rolls_up_what_a_load_left_pending(services: Services) -> None:
    mesh = SimulatedMesh(SITES, NOW - 3 * HOUR, NOW, INTERVAL, seed=1)
    with Ingestor(services) as ingestor:
        for test, source, timestamp, report in mesh.test_reports(("icmp",)):
            ingestor.add_report(for_amp_test(test), report, source, timestamp)
    assert services.timeseries.pending_count(NOW + HOUR) > 0
    feeder = DemoFeeder(services, SITES, INTERVAL, clock=lambda: NOW)
    feeder.start(NOW)
    assert feeder.feed(NOW)[0] == 0  # nothing new is due yet
    assert services.timeseries.pending_count(NOW) == 0


def test_a_stop_leaves_the_rest_of_the_rollup_pass_pending(services: Services) -> None:
    """The pass asks `stop` between batches (one collection's marks): what it did is kept,
    the rest waits for the next pass."""
    load(services, NOW - 3 * HOUR, NOW - HOUR, tests=("icmp", "dns"))
    store = services.timeseries
    waiting = store.pending_count(NOW)
    stop = threading.Event()
    done = store.process_rollups(now=NOW, progress=lambda _: stop.set(), stop=stop.is_set)
    assert 0 < done < waiting
    assert store.pending_count(NOW) == waiting - done
    assert store.process_rollups(now=NOW) == waiting - done
    assert store.pending_count(NOW) == 0


def test_a_feed_asked_to_stop_ingests_and_rolls_up_nothing_more(services: Services) -> None:
    load(services, NOW - 3 * HOUR, NOW - 2 * HOUR, tests=("icmp",))
    feeder = DemoFeeder(services, SITES, INTERVAL, clock=lambda: NOW)
    feeder.start(NOW)
    due = feeder.next_due()
    waiting = services.timeseries.pending_count(NOW)
    stop = threading.Event()
    stop.set()
    assert feeder.feed(NOW, stop) == (0, 0)
    assert services.timeseries.pending_count(NOW) == waiting > 0
    assert feeder.next_due() == due  # nothing skipped: the next feed starts there


def test_cli_stops_on_sigterm_during_its_first_rollup_pass(tmp_path: Path) -> None:
    """SIGTERM while `demo-feed` rolls up a loaded history stops it between two batches:
    it used to finish the whole pass first."""
    ini = tmp_path / "demo.ini"
    ini.write_text(
        f"[app:main]\nnntsc.sql_url = sqlite:///{tmp_path}/nntsc.sqlite\n"
        "nntsc.timeseries_url = sql\nnntsc.live_url = memory://\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "-c", str(ini)]).exit_code == 0
    load_all = ["--sites", "2", "--days", "1", "--tests", "all", "--no-rollups"]
    loaded = runner.invoke(main, ["demo-data", "-c", str(ini), *load_all])
    assert loaded.exit_code == 0, loaded.output
    services = Services.from_settings({"nntsc.sql_url": f"sqlite:///{tmp_path}/nntsc.sqlite"})
    try:
        waiting = services.timeseries.pending_count()
        assert waiting > 0
        nntsc = Path(sys.executable).with_name("nntsc")
        with subprocess.Popen(
            [str(nntsc), "demo-feed", "-c", str(ini), "--sites", "2", "--catch-up", "0"],
            stderr=subprocess.PIPE,
            text=True,
        ) as feed:
            assert feed.stderr is not None
            said = []
            for line in feed.stderr:
                said.append(line)
                if "rolling up" in line:
                    feed.send_signal(signal.SIGTERM)
                    break
            said.append(feed.stderr.read())
            assert feed.wait(60) == 0, "".join(said)
        assert "demo feed: stopped" in "".join(said)
        # It stopped part-way: the pass over every collection's marks was not finished.
        assert 0 < services.timeseries.pending_count() <= waiting
    finally:
        services.close()
