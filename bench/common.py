"""Shared set-up for the benchmarks: throwaway PostgreSQL and InfluxDB databases."""

from __future__ import annotations

import gc
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from sqlalchemy import create_engine, text

from nntsc.collections import Collection, Row
from nntsc.config import Services
from nntsc.ingest.pipeline import DEFAULT_BATCH_SIZE
from nntsc.store.influx import InfluxBackend
from nntsc.store.schema import upgrade_all
from nntsc.store.timeseries import TimeseriesStore

POSTGRES = os.environ.get(
    "NNTSC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1/postgres"
)
INFLUX = os.environ.get("NNTSC_TEST_INFLUX", "127.0.0.1:8086")
INFLUX_TEMPLATE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy", "influxdb.conf"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_influx(snapshot_when_cold: str | None = None) -> Iterator[tuple[str, int]]:
    """An influxd of the bench's own, configured as deploy/influxdb.conf, on free ports, with
    its data in a temporary directory: (host:port, pid).

    The shared InfluxDB serves every engineer on the machine, so the CPU it
    spends during a run includes what others asked of it meanwhile; this
    one's CPU is the bench's alone. `snapshot_when_cold` (e.g. ``"1s"``):
    its ``cache-snapshot-write-cold-duration`` (InfluxDB's default: 10m),
    how long after the last write it writes its cache out to files.
    """
    if shutil.which("influxd") is None:
        raise SystemExit("--own-influxdb needs influxd on PATH")
    with tempfile.TemporaryDirectory(prefix="nntsc-bench-influx-") as directory:
        port, rpc = _free_port(), _free_port()
        with open(INFLUX_TEMPLATE) as template:
            conf = template.read().replace("@VAR@", directory)
        if snapshot_when_cold is not None:
            conf = conf.replace(
                "\n[data]\n",
                f'\n[data]\n  cache-snapshot-write-cold-duration = "{snapshot_when_cold}"\n',
                1,
            )
        conf = conf.replace("127.0.0.1:8086", f"127.0.0.1:{port}")
        conf = conf.replace("127.0.0.1:8088", f"127.0.0.1:{rpc}")
        path = os.path.join(directory, "influxdb.conf")
        with open(path, "w") as out:
            out.write(conf)
        log = open(os.path.join(directory, "influxd.log"), "w")  # noqa: SIM115
        server = subprocess.Popen(["influxd", "-config", path], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"influxd did not start (log in {directory})")
                time.sleep(0.1)
            yield f"127.0.0.1:{port}", server.pid
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


@contextmanager
def bench_services(influx: str | None = None, **settings: str) -> Iterator[Services]:
    """Services on a new PostgreSQL database and a new InfluxDB database, dropped afterwards.

    `influx`: host:port of the InfluxDB to use (default: ``NNTSC_TEST_INFLUX``, the shared one).
    """
    influx = influx or INFLUX
    name = f"nntsc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    services = Services.from_settings(
        {
            "nntsc.sql_url": POSTGRES.rsplit("/", 1)[0] + f"/{name}",
            "nntsc.timeseries_url": f"influxdb://{influx}/{name}",
            **settings,
        },
        environ={},
    )
    try:
        upgrade_all(services)
        yield services
    finally:
        services.close()
        requests.post(f"http://{influx}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=60)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def influx_backend(services: Services) -> InfluxBackend:
    """The InfluxDB backend of `services`: the bare store the benchmarks compare against."""
    backend = services.timeseries.backend
    if not isinstance(backend, InfluxBackend):
        raise SystemExit("the benchmarks need an InfluxDB timeseries store")
    return backend


def timed(function: Callable[[], object], repeat: int = 7) -> float:
    """Median wall-clock seconds of `repeat` calls (after one warm-up call)."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# -- ICMP test data shared by the ampy and web benchmarks ---------------------------------

DAY = 86400
HOUR = 3600


def icmp_values(rnd: random.Random, base: float) -> dict:
    """One ICMP row around `base` microseconds, no loss."""
    rtt = int(base + rnd.expovariate(1 / 500))
    return {
        "median": float(rtt),
        "min": rtt,
        "max": rtt,
        "loss": 0,
        "results": 1,
        "lossrate": 0.0,
        "rtts": [rtt],
    }


def load_mesh(
    services: Services, sites: Sequence[str], now: int, rnd: random.Random
) -> dict[int, dict[str, str]]:
    """A full mesh of `sites` (both families), 10-minute results for 26 hours, and a mesh
    "bench" of them; the streams' properties by id."""
    from nntsc.collections import Row
    from nntsc.collections import get as get_collection
    from nntsc.store.sites import MeshInfo, SiteInfo

    icmp = get_collection("amp-icmp")
    end = now - now % 600
    start = end - 26 * HOUR
    props_of: dict[int, dict[str, str]] = {}
    for src in sites:
        for dst in sites:
            for family in ("ipv4", "ipv6"):
                props = {"source": src, "destination": dst, "family": family, "packet_size": "84"}
                props_of[services.streams.stream_id(icmp, props)] = props
    batch: list[Row] = []
    spans: dict[int, tuple[int, int]] = {}
    for stream_id in props_of:
        base = rnd.uniform(2_000, 200_000)
        batch.extend(Row(stream_id, t, icmp_values(rnd, base)) for t in range(start, end, 600))
        spans[stream_id] = (start, end - 600)
        if len(batch) >= 20_000:
            services.timeseries.write(icmp, batch, props_of)
            batch = []
    if batch:
        services.timeseries.write(icmp, batch, props_of)
    services.streams.touch(spans)
    services.sites.save_all(
        [SiteInfo(name) for name in sites],
        [MeshInfo("bench", is_source=True, is_destination=True, members=tuple(sites))],
    )
    return props_of


def load_view_pair(services: Services, now: int, rnd: random.Random) -> tuple[list[int], int, int]:
    """30 days of 5-minute results from view-a to view-b (both families), rolled up;
    the two stream ids and the range."""
    from nntsc.collections import Row
    from nntsc.collections import get as get_collection

    icmp = get_collection("amp-icmp")
    pair_props = [
        {"source": "view-a", "destination": "view-b", "family": f, "packet_size": "84"}
        for f in ("ipv4", "ipv6")
    ]
    pair_ids = [services.streams.stream_id(icmp, p) for p in pair_props]
    month_end = now - now % 300
    month_start = month_end - 30 * DAY
    rows = [
        Row(stream_id, t, icmp_values(rnd, 20_000 + 5_000 * index))
        for index, stream_id in enumerate(pair_ids)
        for t in range(month_start, month_end, 300)
    ]
    tags = dict(zip(pair_ids, pair_props, strict=True))
    for index in range(0, len(rows), 20_000):
        services.timeseries.write(icmp, rows[index : index + 20_000], tags)
    services.timeseries.process_rollups()
    return pair_ids, month_start, month_end


@dataclass
class MemoryRollups:
    """What the rollups of rows written through `memory_rollups` cost.

    `hold` and `finish` are what the writing process spends on its in-memory
    rollups (holding each stored row, then computing and writing the rollup
    rows of its hours and clearing their marks, then merging their days),
    `rest` the re-reading pass over whatever it left pending; `*_cpu` are CPU
    seconds of this process. All of it is counted: every rollup row of the
    rows (5-minute, hourly and daily) is written by one of the three.
    """

    rows: int
    hold: float
    hold_cpu: float
    finish: float
    finish_cpu: float
    finalised: int
    days_merged: int
    rest: float
    rest_cpu: float
    rest_marks: int
    #: 5-minute bins a stream-hour of the rows: at 1, every stream-hour's rows fall
    #: in one bin and InfluxDB writes the hour as one point (no 5-minute point).
    bins_per_hour: float = 0.0

    @property
    def seconds(self) -> float:
        return self.hold + self.finish + self.rest

    @property
    def cpu(self) -> float:
        return self.hold_cpu + self.finish_cpu + self.rest_cpu


def memory_rollups(
    services: Services,
    collection: Collection,
    rows: Sequence[Row],
    tags: dict,
    shift: int,
    settle: Callable[[], object] | None = None,
) -> MemoryRollups:
    """Write `rows` moved `shift` seconds later (whole days, so that the pass over their
    range, whose day marks start at midnight, takes no mark of the rows as they were)
    as a collector receiving them live would
    (batches of `DEFAULT_BATCH_SIZE` by time, the clock at each batch's first row, its own
    writer id), finish its held hours as their time comes, then run the re-reading pass over
    what is left pending in their range. Only the rollup work is timed, not the raw writes:
    the held hours finished at the end of the last hour, the held days merged at the end of
    the last day (or inside the writes, for a day that ended in them), then the pass, with
    its clock a day later, over every hour and day mark left.

    The held hours' finalisation window (`HeldRollups.limit`) is widened: the clock
    jumps a batch's span at once (half an hour on a mesh), where a live one would pass the
    window minute by minute; nothing else runs a pass meanwhile.

    `settle` (e.g. waiting until InfluxDB is idle) is called after the raw writes and
    before the clock starts on finishing: InfluxDB writes the raw rows' cache out to a
    file and compacts it after they stop (0.8-1.1 CPU-s for the amplet workload's 80,000
    rows), work of the raw write that the collector's own figures leave out too
    (docs/performance.md, session 11, "what InfluxDB spends on rollups").
    """
    base = services.timeseries
    clock = [0.0]
    store = TimeseriesStore(base.backend, base.engine, lambda: clock[0], held_rows=10_000_000)
    held = store.held
    assert held is not None
    held.limit = 10 * 86400
    moved = sorted(
        (Row(row.stream_id, row.timestamp + shift, row.values) for row in rows),
        key=lambda row: row.timestamp,
    )
    finish, finish_cpu = 0.0, 0.0
    for index in range(0, len(moved), DEFAULT_BATCH_SIZE):
        batch = moved[index : index + DEFAULT_BATCH_SIZE]
        clock[0] = batch[0].timestamp + 1
        store.write(collection, batch, tags)
    hold, hold_cpu = held.seconds, held.cpu
    if settle is not None:
        settle()
    # Inside `write`, finishing the hours that came due is counted with holding.
    last = moved[-1].timestamp
    clock[0] = last - last % 3600 + 3600 + held.grace
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    store.finish_rollups()
    # The last day closes: its hours held are merged into its daily rows.
    clock[0] = last - last % 86400 + 86400 + held.grace
    store.finish_rollups()
    finish, finish_cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    rest = store.process_rollups(
        start=moved[0].timestamp - moved[0].timestamp % 3600,
        end=last + 1,
        now=clock[0] + 86400 + 600,
    )
    rest_seconds, rest_cpu = time.perf_counter() - started, time.process_time() - cpu
    return MemoryRollups(
        rows=len(moved),
        hold=hold,
        hold_cpu=hold_cpu,
        finish=finish,
        finish_cpu=finish_cpu,
        finalised=held.finalised,
        days_merged=held.days_merged,
        rest=rest_seconds,
        rest_cpu=rest_cpu,
        rest_marks=rest,
        bins_per_hour=len({(r.stream_id, r.timestamp - r.timestamp % 300) for r in moved})
        / len({(r.stream_id, r.timestamp - r.timestamp % 3600) for r in moved}),
    )
