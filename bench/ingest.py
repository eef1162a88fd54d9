"""Ingest throughput: our ingest path into InfluxDB vs a bare line-protocol write.

Both sides use the same `influxdb` client, the same batch size and the same
points. Ours parses amplet2-shaped ICMP reports, finds or creates streams,
marks rollup bins in PostgreSQL and writes; the bare side only sends
pre-built line protocol. Target: ours >= 0.5 of bare.

    .venv/bin/python bench/ingest.py [--sites 10] [--hours 12]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import bench_services, influx_backend, memory_rollups
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.ingest.pipeline import DEFAULT_BATCH_SIZE, Ingestor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--hours", type=float, default=12)
    args = parser.parse_args()

    icmp = get_collection("amp-icmp")
    end = int(time.time())
    mesh = SimulatedMesh(args.sites, end - int(args.hours * 3600), end, 60, seed=3)
    reports = list(mesh.reports())

    # A collector runs for months: streams are created once, in the first
    # minutes. The first hour of reports is ingested before the clock starts
    # (and timed on its own), so the figure is the steady state.
    first_hour = [r for r in reports if r[1] < reports[0][1] + 3600]
    measured = reports[len(first_hour) :]

    with bench_services() as services:
        store = services.timeseries
        influx = influx_backend(services)
        started = time.perf_counter()
        with Ingestor(services) as ingestor:
            for source, timestamp, report in first_hour:
                ingestor.add(icmp, report, source, timestamp)
        warmup = time.perf_counter() - started
        warmup_rows = ingestor.totals.written

        # The same points as line protocol, built before any clock starts.
        rows = [
            Row(services.streams.stream_id(icmp, parsed.properties), timestamp, parsed.values)
            for source, timestamp, report in measured
            for parsed in icmp.parse(report, source, timestamp)
        ]
        tags = {
            stream.stream_id: stream.properties
            for stream in services.streams.find(icmp, pagesize=1000).items
        }
        lines, _ = influx.line_protocol(icmp, rows, tags)
        count = len(rows)
        measured_rows = rows

        def bare(measurement: str) -> float:
            renamed = [line.replace("amp-icmp,", f"{measurement},", 1) for line in lines]
            # Neither side's clock pays for collecting the set-up's garbage.
            gc.collect()
            started = time.perf_counter()
            for index in range(0, len(renamed), DEFAULT_BATCH_SIZE):
                influx.client.write(
                    renamed[index : index + DEFAULT_BATCH_SIZE], influx.database, "raw"
                )
            return time.perf_counter() - started

        # The bare write runs before and after ours, so that neither side
        # gains from the state the other leaves InfluxDB in.
        bare_before = bare("bare-before")
        gc.collect()
        started = time.perf_counter()
        with Ingestor(services) as ingestor:
            for source, timestamp, report in measured:
                ingestor.add(icmp, report, source, timestamp)
        ours = time.perf_counter() - started
        bare_after = bare("bare-after")
        bare_time = (bare_before + bare_after) / 2

        # The same rows two days later, as a collector running live makes their
        # rollups (in memory, the re-reading pass for the rest: days).
        memory = memory_rollups(services, icmp, measured_rows, tags, 2 * 86400)

        started = time.perf_counter()
        bins = store.process_rollups()
        rollup = time.perf_counter() - started

    print(
        f"first hour (creates {len(tags)} streams): {warmup_rows} rows in {warmup:.2f} s "
        f"({warmup_rows / warmup:,.0f} rows/s)"
    )
    print(f"measured: {len(measured)} reports, {count} rows, batch size {DEFAULT_BATCH_SIZE}")
    print(
        f"ours (parse + streams + rollup marks + write): {count / ours:,.0f} rows/s ({ours:.2f} s)"
    )
    print(
        f"bare line-protocol write, same client:        {count / bare_time:,.0f} rows/s "
        f"(before ours {bare_before:.2f} s, after {bare_after:.2f} s)"
    )
    print(f"ratio ours/bare: {bare_time / ours:.2f}  (target >= 0.5)")
    print(
        f"rollup maintenance, in memory then the pass for the rest: "
        f"{memory.rows / memory.seconds:,.0f} rows/s of input "
        f"({ours / memory.seconds * memory.rows / count:.2f} x ours, target >= 1.5): "
        f"holding {memory.hold:.2f} s, finishing {memory.finish:.2f} s, "
        f"pass {memory.rest:.2f} s ({memory.rest_marks} marks); our CPU {memory.cpu:.2f} s"
    )
    print(
        f"re-reading pass alone: {bins} hour/day marks in {rollup:.2f} s "
        f"({count / rollup:,.0f} rows/s of input)"
    )


if __name__ == "__main__":
    main()
