"""NNTSC import throughput: `nntsc import nntsc` vs a bare write of the same rows.

An NNTSC-shaped deployment (a PostgreSQL database of streams and an InfluxDB
database of ``data_amp_icmp`` points, as NNTSC 2.x kept them) is filled with
`--streams` ICMP streams of one result a minute for `--hours`. Ours reads
it all back (streams paged, rows in time chunks), rebuilds each row's
report, parses it, creates our streams, marks rollup bins, writes InfluxDB
and advances the checkpoints: the whole import. The bare side writes the
rows that import makes, as pre-built line protocol, with the same client
and batch size, once before and once after ours. Target: ours >= 0.3 of
bare.

    .venv/bin/python bench/import_nntsc.py [--streams 200] [--hours 24]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import bench_services, influx_backend
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.ingest.pipeline import DEFAULT_BATCH_SIZE
from nntsc.legacy.convert import icmp_report, legacy_collection
from nntsc.legacy.importer import NntscImport
from nntsc.legacy.source import LegacySource
from tests.tools.nntsc_legacy import LegacyDeployment


def legacy_points(
    streams: list[int], start: int, minutes: int, rnd: random.Random
) -> list[tuple[int, int, dict]]:
    """NNTSC ICMP points: three probes a minute, now and then one lost."""
    points = []
    for stream_id in streams:
        base = rnd.uniform(2_000, 200_000)
        for minute in range(minutes):
            rtts: list[int | None] = [
                *sorted(int(base + rnd.expovariate(1 / 500)) for _ in range(3))
            ]
            loss = 1 if rnd.random() < 0.05 else 0
            if loss:
                rtts = [*rtts[:2], None]
            points.append(
                (
                    stream_id,
                    start + 60 * minute,
                    {
                        "median": rtts[1],
                        "packet_size": 84,
                        "loss": loss,
                        "results": 3,
                        "lossrate": loss / 3,
                        "rtts": rtts,
                    },
                )
            )
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args()

    icmp = get_collection("amp-icmp")
    rnd = random.Random(7)
    minutes = int(args.hours * 60)
    end = int(time.time()) // 60 * 60
    start = end - minutes * 60
    legacy = LegacyDeployment()
    try:
        properties = {}
        for number in range(args.streams):
            props = {
                "source": f"amp-{number % 20:02d}",
                "destination": f"target-{number // 20:02d}.example",
                "family": "ipv4",
                "packet_size": "84",
            }
            properties[legacy.add_stream("amp_icmp", **props)] = props
        points = legacy_points(list(properties), start, minutes, rnd)
        started = time.perf_counter()
        legacy.add_points("amp_icmp", points)
        filled = time.perf_counter() - started

        with bench_services() as services:
            influx = influx_backend(services)
            # The rows the import makes (by the same conversion and parser), as
            # line protocol built before any clock starts; NNTSC's ids as ours.
            rows = [
                Row(sid, timestamp, parsed.values)
                for sid, timestamp, values in points
                for parsed in icmp.parse(
                    icmp_report({**properties[sid], "stream_id": sid}, [values]),
                    properties[sid]["source"],
                    timestamp,
                )
            ]
            lines, _ = influx.line_protocol(icmp, rows, properties)
            count = len(rows)
            del rows, points

            def bare(measurement: str) -> float:
                renamed = [line.replace("amp-icmp,", f"{measurement},", 1) for line in lines]
                gc.collect()
                began = time.perf_counter()
                for index in range(0, len(renamed), DEFAULT_BATCH_SIZE):
                    influx.client.write(
                        renamed[index : index + DEFAULT_BATCH_SIZE], influx.database, "raw"
                    )
                return time.perf_counter() - began

            bare_before = bare("bare-before")
            source = LegacySource(legacy.sql_url, legacy.influx_url)
            try:
                gc.collect()
                began = time.perf_counter()
                summary = NntscImport(services, source, 0, end + 1).run(
                    [legacy_collection("amp_icmp")]
                )
                ours = time.perf_counter() - began
            finally:
                source.close()
            bare_after = bare("bare-after")
            bare_time = (bare_before + bare_after) / 2
    finally:
        legacy.drop()

    print(
        f"NNTSC deployment: {args.streams} ICMP streams x {minutes} minutes = {count} rows "
        f"(filled in {filled:.1f} s)"
    )
    print(
        f"ours (read PostgreSQL + InfluxDB, rebuild reports, parse, streams, rollup marks, "
        f"write, checkpoints): {summary.rows_written / ours:,.0f} rows/s ({ours:.2f} s, "
        f"{summary.rows_written} rows, {summary.rejected} rejected)"
    )
    print(
        f"bare line-protocol write of the same rows, same client: {count / bare_time:,.0f} "
        f"rows/s (before ours {bare_before:.2f} s, after {bare_after:.2f} s)"
    )
    ratio = bare_time / ours * summary.rows_written / count
    print(f"ratio ours/bare: {ratio:.2f}  (target >= 0.3)")


if __name__ == "__main__":
    main()
