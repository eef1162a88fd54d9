"""Collector throughput: amplet2 reports through RabbitMQ into InfluxDB, acknowledged.

Two workloads.

``amplet`` (issue 17, the predecessor's scale): MONITORS x TARGETS ICMP
reports (default 50 x 200, ROUNDS = 2 a minute apart: 20,000 reports), each
for one target name with ADDRESSES
addresses (default 2: one IPv4, one IPv6, so two rows and two streams per
report), about 1 % of the probes lost. The reports are real amplet2 protobuf
bytes with amplet2's AMQP properties and no others (header ``x-amp-test-type``,
``user_id`` = monitor, ``timestamp``, persistent, ``application/octet-stream``;
`nntsc.ingest.amqp.amplet_message`), queued in RabbitMQ before the clock
starts. Then ``nntsc collect`` is
launched as its own process with ``deploy/production.ini`` as shipped (only
the service URLs and queue names point at throwaway ones), and the clock
runs from launch until every row is stored and every message acknowledged
(the collector's metrics say so; the bench then checks InfluxDB's count and
the queue). Each run does it **cold** (empty databases: every stream is
created) and **warm** (the streams exist, a new minute of reports, a new
collector process), and writes the same rows as bare line protocol with the
same InfluxDB client: into new series after the cold run, into those
(existing) series after the warm one. CPU seconds of the collector, InfluxDB
and PostgreSQL (this database's backends) come from ``/proc``, each phase
starting once InfluxDB has finished the previous one's background work
(cache snapshots, compactions); SQL statements
from the collectors' ``nntsc_sql_statements`` metric. Several collectors
then drain one more minute together (``--scale``). Then rollup maintenance:
the cold and warm rows are written again, days later, as a collector
receiving them live would (`bench.common.memory_rollups`), and what its
in-memory rollups cost (holding the rows, finishing the hours, merging the
days) plus the re-reading pass over what is left is timed, first into new
rollup series, then into existing ones; and the re-reading pass alone over
the drains' hours and their days (the collectors stopped before those hours
closed, as after a restart). Each is printed against the collector's warm
rows/s.

``mesh``: the former workload: a simulated 10-site mesh (12.6 rows per
report), streams made before the clock, the collector in this process.

Medians over ``--runs`` runs are printed with the targets of issue 17.

    flock /tmp/bench.lock .venv/bin/python bench/collector.py [--workload amplet|mesh|both]
        [--monitors 50] [--targets 200] [--addresses 2] [--rounds 2] [--runs 3] [--scale 2,4]
        [--no-rollups]

``--scale "" --no-rollups`` times only the cold and warm drains and their raw
writes: a few minutes less a run, for comparing trees.
"""

from __future__ import annotations

import argparse
import compileall
import configparser
import contextlib
import gc
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, select, text

from bench.common import (
    POSTGRES,
    MemoryRollups,
    bench_services,
    influx_backend,
    memory_rollups,
    private_influx,
)
from nntsc import wire
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.demo import SimulatedMesh
from nntsc.ingest.amqp import Collector, CollectorSettings, amplet_message
from nntsc.ingest.pipeline import DEFAULT_BATCH_SIZE
from nntsc.store.models import property_table

BROKER = os.environ.get("NNTSC_TEST_AMQP", "127.0.0.1:5672")
PUBLISHER = "nntsc-test-publisher"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRODUCTION_INI = os.path.join(ROOT, "deploy", "production.ini")
NNTSC = os.path.join(os.path.dirname(sys.executable), "nntsc")
TICKS = os.sysconf("SC_CLK_TCK")
#: Seconds a drain may take before the bench gives up.
DRAIN_LIMIT = 900

Message = tuple[str, int, bytes]


def publisher_url() -> str:
    """A login with RabbitMQ's impersonator tag, so messages can carry each monitor's name."""
    for command in (
        ["rabbitmqctl", "-q", "add_user", PUBLISHER, PUBLISHER],
        ["rabbitmqctl", "-q", "set_user_tags", PUBLISHER, "impersonator"],
        ["rabbitmqctl", "-q", "set_permissions", "-p", "/", PUBLISHER, ".*", ".*", ".*"],
    ):
        subprocess.run(command, capture_output=True, check=False, timeout=60)
    return f"amqp://{PUBLISHER}:{PUBLISHER}@{BROKER}//"


# -- CPU seconds from /proc ----------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 (utime, stime); the split dropped the first two.
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


#: InfluxDB is settled when it spends less than this share of a core...
SETTLE_SHARE = 0.05
#: ... over this many seconds; the bench waits at most SETTLE_LIMIT for it.
SETTLE_WINDOW = 0.5
SETTLE_LIMIT = 30.0
#: The bench's own influxd writes its cache out to files this long after the last write
#: (``cache-snapshot-write-cold-duration``), so that every phase starts with it empty...
SNAPSHOT_WHEN_COLD = 1.0
#: ... and a phase starts this long after the previous one's last write at the earliest.
SNAPSHOT_WAIT = 2.5


def settle_influx() -> float:
    """Wait until InfluxDB has finished its background work; the seconds waited.

    After a write InfluxDB snapshots its cache and compacts its files and
    series index for a while. Without this wait that work lands in whichever
    phase comes next, and a phase's InfluxDB CPU measures the previous
    phase's writes as much as its own (a warm drain after the raw write of
    40,000 new series counted 2.2 CPU-s against 0.9 for the cold drain).

    InfluxDB also snapshots its cache once it holds 25 MB, about two phases'
    rows: with its default (a snapshot 10 minutes after the last write) every
    other phase paid for one, and a warm drain's InfluxDB CPU was 0.93-1.18
    or 2.11-2.44 CPU-s by its place in the sequence (docs/performance.md,
    session 9). The bench's own influxd snapshots its cache
    `SNAPSHOT_WHEN_COLD` after a phase, and each phase starts after that: no
    measured phase, the collector's or the raw write, pays for a snapshot.
    """
    pids = [OWN_INFLUX[1]] if OWN_INFLUX is not None else pids_named("influxd")
    started = time.perf_counter()
    if OWN_INFLUX is not None:
        time.sleep(SNAPSHOT_WAIT)
    while time.perf_counter() - started < SETTLE_LIMIT:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(SETTLE_WINDOW)
        if sum(cpu_seconds(pid) for pid in pids) - before < SETTLE_SHARE * SETTLE_WINDOW:
            break
    return time.perf_counter() - started


#: host:port and pid of the bench's own influxd (``--influxdb own``); None: the shared one.
OWN_INFLUX: tuple[str, int] | None = None


class ServerCpu:
    """CPU seconds spent by InfluxDB (the whole server) and by one database's PostgreSQL backends.

    With ``--influxdb shared`` InfluxDB serves everyone on this machine, so its
    figure includes what others asked of it meanwhile; by default the bench
    starts an influxd of its own. PostgreSQL's counts only the backends
    connected to the bench's database (the collector's and the bench's own).
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self.influx = [OWN_INFLUX[1]] if OWN_INFLUX is not None else pids_named("influxd")
        self.admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")

    def _backends(self) -> dict[int, float]:
        with self.admin.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT pid, backend_type, application_name, left(query, 60) "
                    "FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": self.database},
            ).all()
        if os.environ.get("NNTSC_BENCH_DEBUG"):
            for row in found:
                print("   backend", *row, f"{cpu_seconds(row[0]):.2f} s", file=sys.stderr)
        return {row[0]: cpu_seconds(row[0]) for row in found}

    def snapshot(self) -> tuple[float, dict[int, float]]:
        return sum(cpu_seconds(pid) for pid in self.influx), self._backends()

    @staticmethod
    def since(
        before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]
    ) -> tuple[float, float]:
        """(InfluxDB, PostgreSQL) CPU seconds between two snapshots."""
        influx = after[0] - before[0]
        postgres = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
        return influx, postgres

    def close(self) -> None:
        self.admin.dispose()


# -- the amplet2 workload -------------------------------------------------------------


def amplet_messages(args: argparse.Namespace, start: int, seed: int) -> list[Message]:
    """`args.rounds` ICMP reports per (monitor, target), a minute apart from `start`:
    (monitor, timestamp, protobuf bytes).

    A target has `args.addresses` addresses, IPv4 and IPv6 in turn; a probe
    is lost with probability 0.01 (an item with an address and no rtt).
    """
    rnd = random.Random(seed)
    messages = []
    for timestamp in range(start, start + 60 * args.rounds, 60):
        messages.extend(_round(args.monitors, args.targets, args.addresses, timestamp, rnd))
    return messages


def _round(
    monitors: int, targets: int, addresses: int, timestamp: int, rnd: random.Random
) -> list[Message]:
    messages = []
    for m in range(monitors):
        monitor = f"amp-mon-{m:03d}.example.net"
        for t in range(targets):
            items = []
            for a in range(addresses):
                if a % 2 == 0:
                    family, address = socket.AF_INET, bytes([10, t // 256, t % 256, 1 + a // 2])
                else:
                    family = socket.AF_INET6
                    address = bytes([0x20, 0x01, 0x0D, 0xB8, t // 256, t % 256] + [0] * 9)
                    address += bytes([1 + a // 2])
                item: dict[str, Any] = {"name": f"target-{t:04d}.example.org", "address": address}
                item["family"] = family
                if rnd.random() >= 0.01:
                    item["rtt"] = int(rnd.uniform(1_000, 250_000))
                items.append(item)
            report = {"header": {"packet_size": 84, "random": False, "dscp": 0}, "reports": items}
            messages.append((monitor, timestamp, wire.encode("icmp", report)))
    return messages


def rows_of(services: Services, messages: Sequence[Message]) -> tuple[list[Row], dict]:
    """The rows the collector makes of `messages`, with stream ids from the database."""
    icmp = get_collection("amp-icmp")
    table = property_table(icmp)
    with services.engine.connect() as connection:
        found = connection.execute(select(table)).all()
    ids = {tuple(row._mapping[n] for n in icmp.property_names): row.stream_id for row in found}
    tags = {row.stream_id: {n: row._mapping[n] for n in icmp.property_names} for row in found}
    rows = []
    for source, timestamp, body in messages:
        for parsed in icmp.parse(wire.decode("icmp", body), source, timestamp):
            key = icmp.key_getter(parsed.properties)
            rows.append(Row(ids[key], timestamp, parsed.values))
    return rows, tags


def raw_write(services: Services, lines: Sequence[str]) -> None:
    """Line protocol into the raw policy, in batches of the collector's size, by its client."""
    backend = influx_backend(services)
    for index in range(0, len(lines), DEFAULT_BATCH_SIZE):
        backend.client.write(lines[index : index + DEFAULT_BATCH_SIZE], backend.database, "raw")


def influx_count(services: Services, measurement: str, start: int, end: int) -> int:
    influx = influx_backend(services)
    points = influx.client.points(
        f'SELECT count("results") FROM "{influx.database}"."raw"."{measurement}" '
        f"WHERE time >= {start}s AND time < {end}s"
    )
    return int(points[0]["count"]) if points else 0


@dataclass
class Queues:
    """The throwaway exchange, queue and dead-letter names of one bench database."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def settings(self) -> CollectorSettings:
        return CollectorSettings(
            amqp_url=f"amqp://guest:guest@{BROKER}//",
            queue=f"bench-{self.tag}",
            exchange=f"bench-ex-{self.tag}",
            dead_letter_exchange=f"bench-dead-{self.tag}",
        )

    def publish(self, messages: Sequence[Message]) -> float:
        """Queue `messages` as amplet2 monitors do; seconds taken (until all are queued)."""
        settings = self.settings
        exchange = Exchange(settings.exchange, type="direct", durable=True)
        queue = Queue(
            settings.queue, exchange=exchange, routing_key=settings.routing_key, durable=True
        )
        started = time.perf_counter()
        with Connection(publisher_url()) as publisher:
            channel = publisher.channel()
            queue(channel).declare()
            for source, timestamp, body in messages:
                channel.basic_publish(
                    amplet_message("icmp", source, timestamp, body),
                    exchange=settings.exchange,
                    routing_key=settings.routing_key,
                )
        while self.ready() < len(messages):
            time.sleep(0.05)
        return time.perf_counter() - started

    def ready(self) -> int:
        """Messages in the queue not delivered to a consumer (unacknowledged ones are not)."""
        with Connection(self.settings.amqp_url) as connection:
            channel = connection.channel()
            _, count, _ = channel.queue_declare(self.settings.queue, passive=True)
            return count

    def delete(self) -> None:
        settings = self.settings
        with Connection(settings.amqp_url) as connection:
            channel = connection.channel()
            for name in (settings.queue, settings.dead_letter_queue):
                channel.queue_delete(name)
            for name in (settings.exchange, settings.dead_letter_exchange):
                channel.exchange_delete(name)


def collector_ini(services: Services, queues: Queues, directory: str) -> str:
    """deploy/production.ini as shipped, its services and queue names pointed at the bench's."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PRODUCTION_INI)
    settings = queues.settings
    app = parser["app:main"]
    app["nntsc.sql_url"] = services.settings["nntsc.sql_url"]
    app["nntsc.timeseries_url"] = services.settings["nntsc.timeseries_url"]
    app["nntsc.amqp_url"] = settings.amqp_url
    app["nntsc.amqp_queue"] = settings.queue
    app["nntsc.amqp_exchange"] = settings.exchange
    app["nntsc.amqp_dead_letter_exchange"] = settings.dead_letter_exchange
    path = os.path.join(directory, "collector.ini")
    with open(path, "w") as out:
        parser.write(out)
    return path


#: A directory for py-spy profiles of the collectors (``--profile``); none when empty.
PROFILE = ""


def profile(pid: int, name: str) -> subprocess.Popen:
    """py-spy sampling process `pid` (every thread, without pausing it) until SIGINT."""
    path = os.path.join(PROFILE, f"{name}-{pid}.txt")
    py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--nonblocking", "--format", "raw", "-o", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def byte_compile() -> None:
    """Byte-compile the packages `nntsc collect` imports from this tree, as installing does.

    pip compiles what it installs (the image, a venv), so a deployed collector
    reads its modules' bytecode. An editable install with
    ``PYTHONDONTWRITEBYTECODE`` set (as in the image's environment and this
    machine's) keeps none, and every collector launched by the bench would
    compile its ~70 nntsc modules from source: 0.15-0.2 CPU-s a launch,
    counted in its CPU per report, that no deployment spends.
    """
    for package in ("nntsc", "ampweb"):
        if not compileall.compile_dir(os.path.join(ROOT, package), quiet=1):
            raise SystemExit(f"could not byte-compile {package}")
    print("nntsc and ampweb byte-compiled, as an installation does")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    """The collector's metrics: sample name -> value (labels summed)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        body = answer.read().decode()
    values: dict[str, float] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            values[name] = values.get(name, 0.0) + float(value)
    return values


@dataclass
class Drain:
    """One timed drain of the queue by collector processes."""

    seconds: float
    startup: float
    collector_cpu: float
    startup_cpu: float
    #: Rows stored when every collector's metrics first answered (start-up over).
    startup_rows: float
    influx_cpu: float
    postgres_cpu: float
    statements: int
    batches: int
    rows_written: int
    acknowledged: int


def drain(
    services: Services,
    queues: Queues,
    messages: int,
    rows: int,
    processes: int = 1,
    name: str = "drain",
) -> Drain:
    """Launch `processes` ``nntsc collect``; time them until `rows` are stored and all acked."""
    database = services.settings["nntsc.sql_url"].rsplit("/", 1)[1]
    servers = ServerCpu(database)
    with tempfile.TemporaryDirectory() as directory:
        ini = collector_ini(services, queues, directory)
        ports = [free_port() for _ in range(processes)]
        gc.collect()
        settle_influx()
        before = servers.snapshot()
        started = time.perf_counter()
        children = [
            subprocess.Popen(
                [NNTSC, "collect", "-c", ini, "--metrics-port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(directory, f"collector-{port}.log"), "w"),  # noqa: SIM115
            )
            for port in ports
        ]
        startup = None
        startup_cpu = 0.0
        startup_rows = 0.0
        profilers: list[subprocess.Popen] = []
        broker = Connection(queues.settings.amqp_url)
        channel = broker.channel()

        def ready(channel: Any) -> int:
            return channel.queue_declare(queues.settings.queue, passive=True)[1]

        try:
            while True:
                if time.perf_counter() - started > DRAIN_LIMIT:
                    raise RuntimeError(f"not drained after {DRAIN_LIMIT} s")
                for child in children:
                    if child.poll() is not None:
                        with open(os.path.join(directory, f"collector-{ports[0]}.log")) as log:
                            raise RuntimeError(f"collector exited: {log.read()[-3000:]}")
                if startup is not None and ready(channel) > 0:
                    # Scraping the metrics costs the collector CPU; asking the
                    # broker does not: the metrics are read once the queue has
                    # handed out every message.
                    time.sleep(0.05)
                    continue
                try:
                    metrics = [scrape(port) for port in ports]
                except OSError:
                    time.sleep(0.02)
                    continue
                if startup is None:
                    startup = time.perf_counter() - started
                    startup_cpu = sum(cpu_seconds(child.pid) for child in children)
                    startup_rows = sum(m.get("nntsc_rows_written_total", 0) for m in metrics)
                    if PROFILE:
                        profilers = [profile(child.pid, name) for child in children]
                    continue
                written = sum(m.get("nntsc_rows_written_total", 0) for m in metrics)
                acked = sum(m.get("nntsc_messages_acknowledged_total", 0) for m in metrics)
                if written >= rows and acked >= messages:
                    break
                time.sleep(0.02)
            seconds = time.perf_counter() - started
            after = servers.snapshot()
            collector_cpu = sum(cpu_seconds(child.pid) for child in children)
            statements = int(sum(m.get("nntsc_sql_statements_total", 0) for m in metrics))
            batches = sum(int(m.get("nntsc_batch_rows_count", 0)) for m in metrics)
        finally:
            broker.close()
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(60)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    influx, postgres = ServerCpu.since(before, after)
    servers.close()
    return Drain(
        seconds=seconds,
        startup=startup or 0.0,
        collector_cpu=collector_cpu,
        startup_cpu=startup_cpu,
        startup_rows=startup_rows,
        influx_cpu=influx,
        postgres_cpu=postgres,
        statements=statements,
        batches=batches,
        rows_written=int(written),
        acknowledged=int(acked),
    )


@dataclass
class Raw:
    seconds: float
    influx_cpu: float


def timed_raw(services: Services, lines: Sequence[str]) -> Raw:
    servers = ServerCpu(services.settings["nntsc.sql_url"].rsplit("/", 1)[1])
    gc.collect()
    settle_influx()
    before = servers.snapshot()
    started = time.perf_counter()
    raw_write(services, lines)
    seconds = time.perf_counter() - started
    influx, _ = ServerCpu.since(before, servers.snapshot())
    servers.close()
    return Raw(seconds, influx)


def bare_lines(services: Services, rows: Sequence[Row], tags: dict) -> list[str]:
    lines, _ = influx_backend(services).line_protocol(get_collection("amp-icmp"), rows, tags)
    return [line.replace("amp-icmp,", "bare-icmp,", 1) for line in lines]


def check_stored(
    services: Services, queues: Queues, measurement: str, start: int, end: int, rows: int
) -> None:
    """Every row of [start, end) in InfluxDB, nothing left in the queue; raise otherwise."""
    stored = influx_count(services, measurement, start, end)
    if stored != rows:
        raise RuntimeError(f"{measurement} holds {stored} rows in [{start}, {end}), not {rows}")
    left = queues.ready()
    if left:
        raise RuntimeError(f"{left} messages left in the queue")


def rollup_pass(services: Services, minute: int) -> tuple[int, float]:
    """Time the rollup pass over everything marked, as if the day had closed and settled:
    the hours' 5-minute and hourly rows, then their days' merges (a pass run while the day
    is open leaves the day marks, and with them a third of the rollup rows, uncounted)."""
    store = services.timeseries
    now = minute - minute % 86400 + 86400 + 600
    started = time.perf_counter()
    marks = store.process_rollups(now=now)
    return marks, time.perf_counter() - started


@dataclass
class AmpletRun:
    reports: int
    rows: int
    cold: Drain
    cold_raw: Raw
    warm: Drain
    warm_raw: Raw
    scaled: dict[int, Drain]
    #: None with ``--no-rollups``.
    rollups: Rollups | None


@dataclass
class Rollups:
    """Rollup maintenance of a run's rows: from memory (new series, existing), then the pass."""

    memory_new: MemoryRollups
    memory_existing: MemoryRollups
    marks: int
    seconds: float
    rows: int


def amplet_run(args: argparse.Namespace, seed: int, scale: Sequence[int]) -> AmpletRun:
    period = 60 * args.rounds
    now = int(time.time())
    # Consecutive periods of the recent past, the newest ending a minute ago.
    base = now - now % 60 - 60 - period * (2 + len(scale))
    # Each phase's start, and the end of the last.
    starts = [base + period * index for index in range(3 + len(scale))]
    messages = amplet_messages(args, starts[0], seed)
    reports = len(messages)
    expected = reports * min(args.addresses, 2)
    queues = Queues()
    with bench_services(influx=OWN_INFLUX[0] if OWN_INFLUX else None) as services:
        try:
            queues.publish(messages)
            cold = drain(services, queues, reports, expected, name=f"cold{seed}")
            check_stored(services, queues, "amp-icmp", starts[0], starts[1], expected)
            rows, tags = rows_of(services, messages)
            assert len(rows) == expected, (len(rows), expected)
            cold_raw = timed_raw(services, bare_lines(services, rows, tags))
            kept = rows

            messages = amplet_messages(args, starts[1], seed + 1)
            queues.publish(messages)
            warm = drain(services, queues, reports, expected, name=f"warm{seed}")
            check_stored(services, queues, "amp-icmp", starts[1], starts[2], expected)
            rows, tags = rows_of(services, messages)
            warm_raw = timed_raw(services, bare_lines(services, rows, tags))
            kept = kept + rows
            del messages, rows

            scaled = {}
            for index, processes in enumerate(scale):
                start = starts[2 + index]
                queues.publish(amplet_messages(args, start, seed + 2 + index))
                scaled[processes] = drain(
                    services, queues, reports, expected, processes, name=f"scale{processes}-{seed}"
                )
                check_stored(services, queues, "amp-icmp", start, start + period, expected)
                if scaled[processes].rows_written != expected:
                    raise RuntimeError(
                        f"{processes} collectors wrote {scaled[processes].rows_written} rows, "
                        f"not {expected}: rows doubled"
                    )

            rollups = None if args.no_rollups else run_rollups(services, kept, tags, starts)
        finally:
            queues.delete()
    return AmpletRun(
        reports,
        expected,
        cold,
        cold_raw,
        warm,
        warm_raw,
        scaled,
        rollups,
    )


def run_rollups(
    services: Services, kept: Sequence[Row], tags: dict, starts: Sequence[int]
) -> Rollups:
    """Time rollup maintenance of the cold and warm rows (`kept`), as the module says."""
    # The cold and warm rows again, days later (so that no pass over one range
    # takes the other's marks), as a collector running past the end of their
    # hours makes their rollups: first into new rollup series...
    icmp = get_collection("amp-icmp")
    memory_new = memory_rollups(services, icmp, kept, tags, 2 * 86400, settle_influx)
    # ... then once they exist (a mesh running for a while).
    memory_existing = memory_rollups(services, icmp, kept, tags, 4 * 86400, settle_influx)
    # The collectors above stopped before their hours closed: the
    # re-reading pass does their hours (the rollup series exist).
    marks, seconds = rollup_pass(services, starts[-1])
    # Every phase's rows: the cold and warm drains' and the scaled ones'.
    rows = len(kept) // 2 * (len(starts) - 1)
    return Rollups(memory_new, memory_existing, marks, seconds, rows)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report_memory(line: Any, memory: Sequence[MemoryRollups], collector_rows: Sequence[float]):
    """The lines of `memory_rollups` runs against the collector's rows/s of each run."""
    line(
        "rows/s of input (hold + finish + pass)",
        [m.rows / m.seconds for m in memory],
        "rows/s",
    )
    line(
        "  / collector warm rows/s",
        [m.rows / m.seconds / c for m, c in zip(memory, collector_rows, strict=True)],
        "",
        ".2f",
        "  (target >= 1.5)",
    )
    line(
        "  holding rows (in the writes) per row",
        [1000 * m.hold / m.rows for m in memory],
        "ms wall",
        ".2f",
    )
    line(
        "  finishing held hours and days per row",
        [1000 * m.finish / m.rows for m in memory],
        "ms wall",
        ".2f",
    )
    line(
        "  re-reading pass for the rest per row",
        [1000 * m.rest / m.rows for m in memory],
        "ms wall",
        ".2f",
    )
    line("  our CPU per row", [1000 * m.cpu / m.rows for m in memory], "ms", ".3f")
    line(
        "  5-minute bins a stream-hour (1: an hour is one point)",
        [m.bins_per_hour for m in memory],
        "",
        ".2f",
    )
    line("  stream-hours finalised from memory", [m.finalised for m in memory], "")
    line("  stream-days merged from memory", [m.days_merged for m in memory], "")
    line("  marks left to the pass", [m.rest_marks for m in memory], "")


def report_amplet(args: argparse.Namespace, runs: Sequence[AmpletRun], scale: Sequence[int]):
    first = runs[0]
    print(
        f"== amplet workload: {args.monitors} monitors x {args.targets} targets x "
        f"{args.addresses} addresses x {args.rounds} rounds: {first.reports} reports, "
        f"{first.rows} rows, {first.rows // args.rounds} streams; {len(runs)} runs, "
        "medians (each run in brackets)"
    )

    def line(label: str, values: Sequence[float], unit: str, fmt: str = ",.0f", target=""):
        each = ", ".join(format(v, fmt) for v in values)
        print(f"  {label}: {format(median(values), fmt)} {unit} [{each}]{target}")

    for kind in ("cold", "warm"):
        drains: list[Drain] = [getattr(r, kind) for r in runs]
        raws: list[Raw] = [getattr(r, f"{kind}_raw") for r in runs]
        series = "new series" if kind == "cold" else "existing series"
        goal = 0.2 if kind == "cold" else 0.3
        print(f" {kind} ({'every stream created' if kind == 'cold' else 'streams exist'}):")
        line("collector rows/s", [first.rows / d.seconds for d in drains], "rows/s")
        line("collector reports/s", [first.reports / d.seconds for d in drains], "reports/s")
        line(
            f"raw line-protocol write ({series}) rows/s",
            [first.rows / r.seconds for r in raws],
            "rows/s",
        )
        line(
            "ratio collector/raw",
            [r.seconds / d.seconds for d, r in zip(drains, raws, strict=True)],
            "",
            ".2f",
            f"  (target >= {goal})",
        )
        line("launch to consuming", [d.startup for d in drains], "s", ".2f")
        line(
            "collector CPU per report (from launch)",
            [1000 * d.collector_cpu / first.reports for d in drains],
            "ms",
            ".3f",
            "  (target <= 0.12)",
        )
        line(
            "collector CPU per report (after start-up)",
            [1000 * (d.collector_cpu - d.startup_cpu) / first.reports for d in drains],
            "ms",
            ".3f",
        )
        line("InfluxDB CPU, collector", [d.influx_cpu for d in drains], "s", ".2f")
        line("InfluxDB CPU, raw write", [r.influx_cpu for r in raws], "s", ".2f")
        line(
            "InfluxDB CPU ratio collector/raw",
            [d.influx_cpu / max(r.influx_cpu, 0.01) for d, r in zip(drains, raws, strict=True)],
            "",
            ".2f",
            "  (target <= 1.3)",
        )
        line("PostgreSQL CPU", [d.postgres_cpu for d in drains], "s", ".2f")
        line("SQL statements", [d.statements for d in drains], "")
        line("batches", [d.batches for d in drains], "")
        line(
            "SQL statements per batch",
            [d.statements / max(d.batches, 1) for d in drains],
            "",
            ".1f",
        )
    rollups = [r.rollups for r in runs if r.rollups is not None]
    if rollups:
        warm_rows = [r.rows / r.warm.seconds for r in runs]
        for label, memory in (
            ("new rollup series", [r.memory_new for r in rollups]),
            ("rollup series exist", [r.memory_existing for r in rollups]),
        ):
            print(f" rollup maintenance, in memory then the pass for the rest ({label}):")
            report_memory(line, memory, warm_rows)
        line(
            "re-reading pass alone (late rows, other writers, restarts) rows/s",
            [r.rows / r.seconds for r in rollups],
            "rows/s of input",
        )
        line(
            "  / collector warm rows/s",
            [(r.rows / r.seconds) / w for r, w in zip(rollups, warm_rows, strict=True)],
            "",
            ".2f",
        )
        line("  hour and day marks it took", [r.marks for r in rollups], "")

    def after_startup(d: Drain, rows: int) -> float:
        """Rows/s once every collector was up: each process's start-up (imports,
        connections: about 0.5 CPU-s) is paid again by every collector added."""
        return (rows - d.startup_rows) / max(d.seconds - d.startup, 1e-3)

    for processes in scale:
        line(
            f"{processes} collectors (existing streams) rows/s",
            [r.rows / r.scaled[processes].seconds for r in runs],
            "rows/s",
        )
        line(
            f"{processes} collectors speed-up over 1 (from launch)",
            [r.warm.seconds / r.scaled[processes].seconds for r in runs],
            "",
            ".2f",
        )
        line(
            f"{processes} collectors speed-up over 1 (once all are up)",
            [
                after_startup(r.scaled[processes], r.rows) / after_startup(r.warm, r.rows)
                for r in runs
            ],
            "",
            ".2f",
        )
        line(
            f"{processes} collectors CPU per report (from launch)",
            [1000 * r.scaled[processes].collector_cpu / r.reports for r in runs],
            "ms",
            ".3f",
        )


# -- the former workload (in-process) -------------------------------------------------


def mesh_workload(args: argparse.Namespace) -> None:
    icmp = get_collection("amp-icmp")
    end = int(time.time()) - 600
    mesh = SimulatedMesh(args.sites, end - int(args.hours * 3600), end, 60, seed=9)
    messages = [(s, ts, wire.encode("icmp", r)) for s, ts, r in mesh.reports()]
    queues = Queues()
    settings = queues.settings
    with bench_services(influx=OWN_INFLUX[0] if OWN_INFLUX else None) as services:
        try:
            published = queues.publish(messages)
            # The streams exist before the clock starts: a collector runs for
            # months, and creates them in its first minutes.
            rows = [
                Row(services.streams.stream_id(icmp, parsed.properties), ts, parsed.values)
                for source, ts, body in messages
                for parsed in icmp.parse(wire.decode("icmp", body), source, ts)
            ]
            row_count = len(rows)
            gc.collect()
            collector = Collector(services, settings)
            stored = collector.metrics.rows_written.labels("amp-icmp")
            thread = threading.Thread(target=collector.run, daemon=True)
            started = time.perf_counter()
            thread.start()
            while stored._value.get() < row_count or collector._unacked:
                time.sleep(0.02)
            consumed = time.perf_counter() - started
            collector.stop()
            thread.join(30)

            tags = {
                s.stream_id: s.properties for s in services.streams.find(icmp, pagesize=1000).items
            }
            bare = timed_raw(services, bare_lines(services, rows, tags)).seconds
            # The same rows later, as a collector running live makes their rollups.
            memory = memory_rollups(services, icmp, rows, tags, 2 * 86400, settle_influx)
            marks, rollup_seconds = rollup_pass(services, end)
        finally:
            queues.delete()
    print(
        f"== mesh workload: {len(messages)} ICMP reports, {row_count} rows "
        f"({args.sites} sites, {args.hours} h), collector in this process, streams made first"
    )
    print(f"  publish to RabbitMQ (the monitors' side): {len(messages) / published:,.0f} reports/s")
    print(
        f"  collector (consume, decode, parse, write, ack): {len(messages) / consumed:,.0f} "
        f"reports/s, {row_count / consumed:,.0f} rows/s ({consumed:.2f} s)"
    )
    print(f"  raw line-protocol write, same client: {row_count / bare:,.0f} rows/s ({bare:.2f} s)")
    print(f"  ratio collector/raw: {bare / consumed:.2f} (target >= 0.3)")
    print(
        f"  rollup maintenance, in memory then the pass for the rest: "
        f"{memory.rows / memory.seconds:,.0f} rows/s of input "
        f"({(memory.rows / memory.seconds) / (row_count / consumed):.2f} x the collector's "
        f"rows/s, target >= 1.5): holding {memory.hold:.2f} s, finishing {memory.finish:.2f} s, "
        f"pass {memory.rest:.2f} s ({memory.rest_marks} marks); "
        f"{memory.finalised} stream-hours and {memory.days_merged} stream-days from memory; "
        f"our CPU {memory.cpu:.2f} s"
    )
    print(
        f"  re-reading pass alone: {marks} marks in {rollup_seconds:.2f} s, "
        f"{row_count / rollup_seconds:,.0f} rows/s of input "
        f"({(row_count / rollup_seconds) / (row_count / consumed):.2f} x the collector's rows/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", choices=("amplet", "mesh", "both"), default="both")
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--addresses", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=2, help="reports per monitor and target, a minute apart"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--scale", default="2,4", help="numbers of collector processes to drain one minute with"
    )
    parser.add_argument(
        "--no-rollups",
        action="store_true",
        help="amplet workload: only the drains and raw writes, no rollup maintenance timed",
    )
    parser.add_argument("--sites", type=int, default=10, help="mesh workload")
    parser.add_argument("--hours", type=float, default=6, help="mesh workload")
    parser.add_argument(
        "--profile", default="", help="a directory: py-spy profiles of the collectors go there"
    )
    parser.add_argument(
        "--influxdb",
        choices=("own", "shared"),
        default="own",
        help="own: start an influxd for the bench alone, so its CPU counts only the bench's "
        "work; shared: the one at NNTSC_TEST_INFLUX (its CPU includes other users')",
    )
    args = parser.parse_args()
    global PROFILE, OWN_INFLUX
    PROFILE = args.profile
    # Stopped by SIGTERM, it still drops its databases and queues.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    scale = [int(n) for n in args.scale.split(",") if n.strip()]
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} CPUs)")
    byte_compile()
    with contextlib.ExitStack() as stack:
        if args.influxdb == "own":
            OWN_INFLUX = stack.enter_context(private_influx(f"{SNAPSHOT_WHEN_COLD:g}s"))
            print(
                f"InfluxDB: the bench's own influxd at {OWN_INFLUX[0]} (pid {OWN_INFLUX[1]}), "
                f"its cache written out {SNAPSHOT_WHEN_COLD:g} s after each phase"
            )
        else:
            print("InfluxDB: the shared one (its CPU includes other users' requests)")
        if args.workload in ("amplet", "both"):
            runs = [amplet_run(args, seed, scale) for seed in range(args.runs)]
            report_amplet(args, runs, scale)
        if args.workload in ("mesh", "both"):
            mesh_workload(args)
    print(f"load after: {os.getloadavg()[0]:.2f} (machine shared with other engineers)")


if __name__ == "__main__":
    main()
