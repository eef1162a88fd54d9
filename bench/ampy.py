"""ampy speed on the production stores (PostgreSQL, InfluxDB, Redis) against the bare queries.

Figures, each with the bare store query it wraps, timed in the same run:

- selection options over 100,000 ICMP streams: the first level with and
  without a term, a second level with a term, and the combined latency
  style; bare: the same DISTINCT ... ILIKE ... LIMIT 30 through psycopg2;
- the history of a 30-day view (one group, two lines), uncached and cached;
  bare: InfluxQL GROUP BY time(2h) over the raw rows of the same streams;
- the matrix of a 30 x 30 mesh (1,800 streams), uncached and cached; bare:
  InfluxQL mean per stream over the raw rows of the same hour;
- a tooltip (24-hour sparkline and 1/6/24-hour stats) uncached; bare:
  InfluxQL GROUP BY time(1h) over the pair's raw rows of the last day.

Targets (issue 4): options page under 20 ms, matrix uncached under 300 ms and
cached under 10 ms, tooltip under 50 ms.

    .venv/bin/python bench/ampy.py
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import insert

from ampy import Ampy
from bench.common import (
    DAY,
    HOUR,
    bench_services,
    influx_backend,
    load_mesh,
    load_view_pair,
    timed,
)
from nntsc.collections import get as get_collection
from nntsc.store.models import Stream, property_table

ICMP = get_collection("amp-icmp")


def add_option_streams(services, count_sources: int, count_destinations: int) -> None:
    """100,000 ICMP streams straight into the stream tables (no data needed for options)."""
    collection_id = services.streams.collection_id(ICMP)
    table = property_table(ICMP)
    rows = []
    stream_id = 1_000_000
    for s in range(count_sources):
        for d in range(count_destinations):
            for family in ("ipv4", "ipv6"):
                stream_id += 1
                rows.append(
                    {
                        "stream_id": stream_id,
                        "source": f"monitor-{s:03d}.example.net",
                        "destination": f"target-{d:03d}.example.org",
                        "family": family,
                        "packet_size": "84",
                    }
                )
    with services.engine.begin() as connection:
        for index in range(0, len(rows), 10_000):
            chunk = rows[index : index + 10_000]
            connection.execute(
                insert(Stream.__table__),
                [{"stream_id": r["stream_id"], "collection_id": collection_id} for r in chunk],
            )
            connection.execute(insert(table), chunk)
        connection.exec_driver_sql("ANALYZE")


def bare_sql(services, statement: str, *parameters: object) -> None:
    connection = services.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(statement, parameters)
        cursor.fetchall()
    finally:
        connection.close()


def report(label: str, ours: float, bare: float, target: str = "") -> None:
    print(
        f"{label:<44} ours {ours * 1000:8.2f} ms   bare {bare * 1000:8.2f} ms   "
        f"ratio {ours / bare:6.2f}{'   ' + target if target else ''}"
    )


def main() -> None:
    now = int(time.time())
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    with bench_services(
        **{"ampy.cache_url": "redis://127.0.0.1:6379/2", "ampy.cache_namespace": namespace}
    ) as services:
        store = services.timeseries
        influx = influx_backend(services)
        measurement = f'"{influx.database}"."raw"."amp-icmp"'
        cached = Ampy(services)
        uncached = Ampy(services, cache_url="null://")

        # -- matrix data: a 30-site mesh, 10-minute results for 26 hours ----------
        sites = [f"site-{i:02d}" for i in range(30)]
        rnd = random.Random(7)
        started = time.perf_counter()
        props_of = load_mesh(services, sites, now, rnd)
        ids = {(p["source"], p["destination"], p["family"]): s for s, p in props_of.items()}
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        marks = store.process_rollups()
        print(
            f"matrix data: {len(props_of):,} streams, {len(props_of) * 26 * 6:,} rows in "
            f"{loaded:.1f} s; {marks:,} rollup marks in {time.perf_counter() - started:.1f} s"
        )

        # -- a 30-day view: one pair, two families, 5-minute results ------------------
        pair_ids, month_start, _ = load_view_pair(services, now, rnd)
        print(f"view data: 2 streams, {2 * 30 * 288:,} rows over 30 days")

        add_option_streams(services, 200, 250)
        print("options data: 100,000 more ICMP streams (200 sources x 250 destinations x 2)")
        print()

        # -- options ---------------------------------------------------------------------
        table = "streams_amp_icmp"
        level1 = f"SELECT DISTINCT source FROM {table} ORDER BY source LIMIT 30"
        level1_term = (
            f"SELECT DISTINCT source FROM {table} WHERE source ILIKE %s ORDER BY source LIMIT 30"
        )
        level2_term = (
            f"SELECT DISTINCT destination FROM {table} WHERE source = %s "
            "AND destination ILIKE %s ORDER BY destination LIMIT 30"
        )
        report(
            "options: sources, page 1",
            timed(lambda: cached.options("amp-icmp")),
            timed(lambda: bare_sql(services, level1)),
            "(target < 20 ms)",
        )
        report(
            "options: sources, term '17'",
            timed(lambda: cached.options("amp-icmp", term="17")),
            timed(lambda: bare_sql(services, level1_term, "%17%")),
            "(target < 20 ms)",
        )
        report(
            "options: destinations of one source, term '2'",
            timed(lambda: cached.options("amp-icmp", ["monitor-042.example.net"], term="2")),
            timed(lambda: bare_sql(services, level2_term, "monitor-042.example.net", "%2%")),
            "(target < 20 ms)",
        )
        report(
            "options: latency style sources, page 3",
            timed(lambda: cached.options("latency", page=3)),
            timed(lambda: bare_sql(services, level1 + " OFFSET 60")),
            "(target < 20 ms)",
        )

        # -- history of a 30-day view -------------------------------------------------------
        view_id = cached.create_view(
            "latency", ["amp-icmp FROM view-a TO view-b SIZE 84 FAMILY SPLIT"]
        )
        stream_list = "|".join(str(s) for s in pair_ids)

        def bare_month() -> None:
            influx.client.query(
                f'SELECT mean("median"), min("min"), max("max"), sum("loss"), sum("results") '
                f'FROM {measurement} WHERE "stream" =~ /^({stream_list})$/ '
                f"AND time >= {month_start}s AND time < {now}s "
                'GROUP BY time(2h), "stream"',
                epoch="s",
            )

        bare = timed(bare_month)
        report(
            "history: 30-day view, uncached",
            timed(lambda: uncached.view_history(view_id, month_start, now)),
            bare,
        )
        cached.view_history(view_id, month_start, now)
        report(
            "history: 30-day view, cached (Redis)",
            timed(lambda: cached.view_history(view_id, month_start, now)),
            bare,
        )

        # -- matrix ----------------------------------------------------------------------------
        hour_end = (now - 120) - (now - 120) % HOUR
        all_ids = "|".join(str(s) for s in props_of)

        def bare_matrix() -> None:
            influx.client.query(
                f'SELECT mean("median"), sum("loss"), sum("results") FROM {measurement} '
                f'WHERE "stream" =~ /^({all_ids})$/ AND time >= {hour_end - HOUR}s '
                f'AND time < {hour_end}s GROUP BY "stream"',
                epoch="s",
            )

        bare = timed(bare_matrix)
        matrix = uncached.matrix("latency", "bench", "bench")
        with_values = sum(1 for cell in matrix.cells if cell.value is not None)
        print(f"matrix: {len(matrix.cells)} cells, {with_values} with a value")
        report(
            "matrix 30 x 30, uncached",
            timed(lambda: uncached.matrix("latency", "bench", "bench")),
            bare,
            "(target < 300 ms)",
        )
        report(
            "matrix 30 x 30 relative, uncached",
            timed(lambda: uncached.matrix("latency", "bench", "bench", "relative")),
            bare,
            "(target < 300 ms)",
        )
        cached.matrix("latency", "bench", "bench")
        report(
            "matrix 30 x 30, cached (Redis)",
            timed(lambda: cached.matrix("latency", "bench", "bench")),
            bare,
            "(target < 10 ms)",
        )

        # -- tooltip -------------------------------------------------------------------------
        pair = f"{ids[('site-03', 'site-17', 'ipv4')]}|{ids[('site-03', 'site-17', 'ipv6')]}"

        def bare_tooltip() -> None:
            influx.client.query(
                f'SELECT mean("median") FROM {measurement} WHERE "stream" =~ /^({pair})$/ '
                f'AND time >= {now - DAY}s AND time < {now}s GROUP BY time(1h), "stream"',
                epoch="s",
            )

        report(
            "tooltip, uncached",
            timed(lambda: uncached.tooltip("latency", "site-03", "site-17")),
            timed(bare_tooltip),
            "(target < 50 ms)",
        )
        cached.tooltip("latency", "site-03", "site-17")
        report(
            "tooltip, cached (Redis)",
            timed(lambda: cached.tooltip("latency", "site-03", "site-17")),
            timed(bare_tooltip),
        )


if __name__ == "__main__":
    main()
