"""Sysdig import throughput: lines/s parsed, counted and imported vs reading and splitting.

A busy host's log (`nntsc/demo/busy_host.py`, 1,000,000 lines by default)
is written to a temporary file first. The baseline reads the same file
line by line and splits each line on spaces in plain Python (median of
three runs, taken before and after ours). Then, in the same run:

- parsed: `EventReader` turns every line into an `Event`;
- counted, one process: the import's fast path (`scan_text`) counts file
  operations and recognises actions in this process (no store);
- counted, N workers: the same cut into chunks scanned by `--workers`
  processes (default: one per CPU) and merged in order (no store);
- imported: `nntsc import sysdig`'s path end to end, with the workers,
  through the `Ingestor` into PostgreSQL and InfluxDB. The first import
  also creates the host's streams, which a host's later logs find: it is
  shown apart, and the steady state is the median of three more imports.

Each prints lines/s and its ratio to the baseline (target: imported >= 0.25).
The workers share the machine's cores with whatever else runs on it.
`--day RATE` instead counts a synthetic day at RATE events/s and prints how
many series and rows it makes (the figure quoted in the README).

    .venv/bin/python bench/sysdig.py [--lines 1000000] [--workers N] [--day 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import bench_services
from nntsc.demo.busy_host import BusyHost, write_log
from nntsc.ingest.pipeline import Ingestor
from nntsc.sysdig.actions import ActionRecognizer
from nntsc.sysdig.importer import Workers, count_log, import_logs
from nntsc.sysdig.metrics import FileOpsCounter
from nntsc.sysdig.reader import EventReader, ReadStats
from nntsc.sysdig.scan import COMPILED, scan_text


def read_and_split(path: str) -> float:
    started = time.perf_counter()
    with open(path, encoding="utf-8") as log:
        for line in log:
            line.split()
    return time.perf_counter() - started


def baseline(path: str) -> float:
    return statistics.median(read_and_split(path) for _ in range(3))


def parse_only(path: str, date: dt.date) -> float:
    started = time.perf_counter()
    with open(path, encoding="utf-8") as log:
        for _ in EventReader(log, date):
            pass
    return time.perf_counter() - started


def count_only(path: str, date: dt.date) -> tuple[float, int]:
    counter = FileOpsCounter()
    actions: list[object] = []
    started = time.perf_counter()
    with open(path, encoding="utf-8") as log:
        scan_text(log, date, counter, ActionRecognizer(), ReadStats(), actions.append, lambda: None)
    # Handing out the last minutes (folding their files) is part of counting.
    for _ in counter.flush():
        pass
    return time.perf_counter() - started, len(actions)


def count_in_chunks(path: str, date: dt.date, workers: int) -> tuple[float, int]:
    counter = FileOpsCounter()
    actions: list[object] = []
    started = time.perf_counter()
    with Workers(workers) as pool:
        count_log(path, date, counter, ActionRecognizer(), actions.append, pool)
    for _ in counter.flush():
        pass
    return time.perf_counter() - started, len(actions)


def series_per_day(rate: float) -> None:
    """Count one synthetic day at `rate` events/s; print series and rows it makes."""
    start = dt.datetime(2026, 11, 2, 0, 0, 0)
    host = BusyHost(seed=5, start=start, events_per_second=rate)
    counter = FileOpsCounter()
    series: set[tuple[str, str]] = set()
    rows = 0
    lines = int(rate * 86400)

    def collect() -> None:
        nonlocal rows
        for report in counter.closed():
            rows += report.series()
            series.update(("process", name) for name in report.processes)
            series.update(("file", name) for name in report.files)
            series.update(("directory", name) for name in report.directories)
            series.update(("action", f"{a} {p}") for p, a in report.actions)

    started = time.perf_counter()
    scan_text(
        host.lines(lines), start.date(), counter, ActionRecognizer(), ReadStats(), bool, collect
    )
    for report in counter.flush():
        rows += report.series()
        series.update(("process", name) for name in report.processes)
        series.update(("file", name) for name in report.files)
        series.update(("directory", name) for name in report.directories)
        series.update(("action", f"{a} {p}") for p, a in report.actions)
    kinds: dict[str, int] = {}
    for kind, _ in series:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"one day at {rate:g} events/s: {lines:,} lines in {time.perf_counter() - started:.0f} s")
    print(f"series: {len(series):,} ({', '.join(f'{n:,} {k}' for k, n in sorted(kinds.items()))})")
    print(f"rows: {rows:,} ({rows / 1440:,.0f} per minute)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--day", type=float, default=None, metavar="RATE")
    args = parser.parse_args()
    if args.day is not None:
        series_per_day(args.day)
        return

    date = dt.date.today() - dt.timedelta(days=1)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "busy.log")
        started = time.perf_counter()
        write_log(path, args.lines, start=dt.datetime.combine(date, dt.time(9)))
        with open(path, encoding="utf-8") as log:
            lines = sum(1 for _ in log)
        size = os.path.getsize(path)
        print(
            f"log: {lines:,} lines, {size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - started:.1f} s; the scan is "
            + ("compiled (Cython)" if COMPILED else "plain Python (not compiled: make venv)")
        )

        before = baseline(path)
        parsed = parse_only(path, date)
        counted, actions = count_only(path, date)
        chunked, _ = count_in_chunks(path, date, args.workers)
        with bench_services() as services:
            # The first import creates the host's streams (once in a host's
            # life); the second, which finds them, is the steady state.
            started = time.perf_counter()
            with Ingestor(services) as ingestor:
                import_logs(ingestor, [path], "busy-host", date, workers=args.workers)
            first_import = time.perf_counter() - started
            # The steady state, like the baseline, is a median of three runs.
            imports = []
            for _ in range(3):
                started = time.perf_counter()
                with Ingestor(services) as ingestor:
                    summary = import_logs(ingestor, [path], "busy-host", date, workers=args.workers)
                imports.append(time.perf_counter() - started)
                written = ingestor.totals.written
            imported = statistics.median(imports)
        after = baseline(path)
        bare = (before + after) / 2

    def report(label: str, seconds: float) -> None:
        print(
            f"{label:<48} {lines / seconds:>12,.0f} lines/s  ({seconds:5.2f} s)  "
            f"ratio {bare / seconds:.2f}"
        )

    report("read + split (plain Python, baseline)", bare)
    report("parsed (EventReader: one Event per line)", parsed)
    report(f"counted + {actions} actions, one process (no store)", counted)
    report(f"counted + actions, {args.workers} workers (no store)", chunked)
    report(f"imported, {args.workers} workers, first time (new streams)", first_import)
    report(f"imported, {args.workers} workers (PostgreSQL + InfluxDB)", imported)
    print(
        f"import: {summary.calls_counted:,} file operations, {summary.actions:,} actions, "
        f"{summary.minutes} minutes, {written:,} rows in {len(summary.series):,} series"
    )
    print(
        f"target: imported ratio >= 0.25; baseline before {before:.2f} s, after {after:.2f} s; "
        f"imports {', '.join(f'{t:.2f}' for t in imports)} s"
    )


if __name__ == "__main__":
    main()
