"""Query speed: our history call vs a bare InfluxQL GROUP BY time() over raw data.

One stream holding a year of 1-minute results. Ours goes through `ampy`
(binsize choice, rollups, stitching the open tail from raw rows, unit
conversion); the bare query asks InfluxDB directly for the same bins over
the raw measurement with the same client. Targets: the 1-year graph at most
0.25 of the bare query's time (rollups), the 1-day graph under 1.5x.

    .venv/bin/python bench/query.py [--days 365]
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ampy import Ampy
from bench.common import bench_services, icmp_values, influx_backend, timed
from nntsc.collections import Row
from nntsc.collections import get as get_collection

DAY = 86400


def year_of_rows(stream_id: int, start: int, end: int) -> list[Row]:
    """1-minute ICMP rows with a diurnal swing, jitter and some loss."""
    rnd = random.Random(5)
    rows = []
    for timestamp in range(start, end, 60):
        base = 20_000 + 3_000 * math.sin(2 * math.pi * (timestamp % DAY) / DAY)
        if rnd.random() < 0.01:
            values = {
                "median": None,
                "min": None,
                "max": None,
                "loss": 1,
                "results": 1,
                "lossrate": 1.0,
                "rtts": [None],
            }
        else:
            values = icmp_values(rnd, base)
        rows.append(Row(stream_id, timestamp, values))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    icmp = get_collection("amp-icmp")
    now = int(time.time())
    end = now - now % 60
    start = end - args.days * DAY

    # Uncached: every call reaches the stores (bench/ampy.py measures the cache).
    with bench_services(**{"ampy.cache_url": "null://"}) as services:
        store = services.timeseries
        influx = influx_backend(services)
        props = {
            "source": "bench-a",
            "destination": "bench-b",
            "family": "ipv4",
            "packet_size": "84",
        }
        stream_id = services.streams.stream_id(icmp, props)
        rows = year_of_rows(stream_id, start, end)
        started = time.perf_counter()
        for index in range(0, len(rows), 20_000):
            store.write(icmp, rows[index : index + 20_000], {stream_id: props})
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        bins = store.process_rollups()
        rolled = time.perf_counter() - started
        print(
            f"loaded {len(rows):,} rows in {loaded:.1f} s; "
            f"{bins} hour/day rollup marks processed in {rolled:.1f} s"
        )

        ampy = Ampy(services)
        source = f'"{influx.database}"."raw"."amp-icmp"'

        def bare(range_start: int, interval: str, percentiles: bool) -> None:
            columns = 'mean("median"), min("min"), max("max"), sum("loss"), sum("results")'
            if percentiles:
                columns += "".join(f', percentile("median", {p})' for p in range(5, 101, 5))
            influx.client.query(
                f"SELECT {columns} FROM {source} WHERE \"stream\" = '{stream_id}' "
                f"AND time >= {range_start}s AND time < {end}s GROUP BY time({interval})",
                epoch="s",
            )

        figures = {}
        # A 1-day graph takes milliseconds: more calls steady its median.
        for label, range_start, interval, repeat in (
            ("1 year", start, "1d", 7),
            ("1 day", end - DAY, "5m", 31),
        ):
            history = ampy.history("amp-icmp", [stream_id], range_start, end)
            ours = timed(
                functools.partial(ampy.history, "amp-icmp", [stream_id], range_start, end),
                repeat,
            )
            simple = timed(functools.partial(bare, range_start, interval, False), repeat)
            full = timed(functools.partial(bare, range_start, interval, True), 7)
            figures[label] = (ours, simple, full)
            points = sum(1 for row in history.rows if row[1] is not None)
            print(
                f"{label}: ours {ours * 1000:.1f} ms ({len(history.rows)} bins of "
                f"{history.binsize} s, {points} with data; read "
                f"{'+'.join(_levels(store, stream_id, range_start, end, history.binsize))})"
            )
            print(
                f"   bare GROUP BY time({interval}), mean/min/max/sums: {simple * 1000:.1f} ms"
                f" -> ratio ours/bare {ours / simple:.3f}"
            )
            print(
                f"   bare with 20 percentiles (smoke):            {full * 1000:.1f} ms"
                f" -> ratio ours/bare {ours / full:.3f}"
            )
        print(
            f"1-year ratio {figures['1 year'][0] / figures['1 year'][1]:.3f} (target <= 0.25); "
            f"1-day ratio {figures['1 day'][0] / figures['1 day'][1]:.3f} (target < 1.5)"
        )


def _levels(store, stream_id: int, start: int, end: int, binsize: int) -> tuple[str, ...]:
    from nntsc.store import Aggregation

    icmp = get_collection("amp-icmp")
    result = store.aggregate(
        icmp, [stream_id], start, end, binsize, [Aggregation("n", "median", "count")]
    )
    return result.levels_read


if __name__ == "__main__":
    main()
