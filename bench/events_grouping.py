"""Storing and grouping events: what the sink costs per call, at once and in steady state.

`bench/events.py` detects 12 hours of a simulated ICMP mesh in one cycle, so
its events are stored and grouped in one call of the sink. Live detection in
steady state stores a few events a cycle, and each call of the sink reads the
groups near them, places the events, and judges those groups again. This
bench takes the events the detectors find in the same mesh (10 sites, 12 h)
and stores them (`nntsc.events.engine.store_events`, which calls the sinks:
event grouping) on PostgreSQL, into empty tables each time:

- at once: all of them in one transaction (what `bench/events.py` does);
- a minute at a time: the events detected in each minute in a transaction
  of their own, in time order (what live detection does, a cycle a second:
  the minutes that have an event).

It prints this process's CPU time (the servers' is not counted) and the time
in the main parts of grouping, and compares the live groups both ways leave
(`--show-differences` lists those found only one way).

    .venv/bin/python bench/events_grouping.py [--sites 10] [--hours 12] [--show-differences]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text

from bench.common import bench_services
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.events import groups, sinks
from nntsc.events.engine import DetectionEngine, store_events

PARTS = ("prune_groups", "_load", "_judge", "group_events", "_families")


def timing(spent: dict[str, float]) -> None:
    """Wrap the parts of `nntsc.events.groups` named in `PARTS` to add their CPU to `spent`."""

    def wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - started

        return timed

    for name in PARTS:
        setattr(groups, name, wrap(name, getattr(groups, name)))
    prefetch = groups.AsPathLookup.prefetch
    groups.AsPathLookup.prefetch = wrap("AS path lookup", prefetch)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--show-differences", action="store_true")
    args = parser.parse_args()
    icmp = get_collection("amp-icmp")
    end = int(time.time()) - 600
    mesh = SimulatedMesh(args.sites, end - int(args.hours * 3600), end, 60, seed=9)
    spent: dict[str, float] = defaultdict(float)
    timing(spent)
    with bench_services() as services:
        rows = [
            Row(services.streams.stream_id(icmp, parsed.properties), ts, parsed.values)
            for source, ts, report in mesh.reports()
            for parsed in icmp.parse(report, source, ts)
        ]
        records = DetectionEngine(services).feed(icmp, rows)
        records.sort(key=lambda record: (record["ts_detected"], record["stream_id"]))
        by_minute: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            by_minute[record["ts_detected"] // 60].append(record)
        sinks.load_sinks()
        print(
            f"{len(rows)} rows of {args.sites} sites, {args.hours} h: {len(records)} events, "
            f"{len(by_minute)} minutes with events"
        )

        def run(label: str, batches: list[list[dict[str, Any]]]) -> list[Any]:
            with services.engine.begin() as connection:
                connection.execute(
                    text(
                        "TRUNCATE events, event_groups, event_group_members, event_counts "
                        "RESTART IDENTITY CASCADE"
                    )
                )
            gc.collect()
            spent.clear()
            cpu = time.process_time()
            for batch in batches:
                with services.sessionmaker.begin() as session:
                    store_events(session, batch)
            cpu = time.process_time() - cpu
            print(
                f"{label}: {len(batches)} calls, CPU {1e3 * cpu:.0f} ms, "
                f"{1e3 * cpu / len(batches):.2f} ms a call, "
                f"{1e3 * cpu / len(records):.2f} ms an event"
            )
            print(
                "  of which "
                + ", ".join(
                    f"{name} {1e3 * seconds:.0f} ms"
                    for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
                )
            )
            with services.engine.connect() as connection:
                return list(
                    connection.execute(
                        text(
                            "SELECT key, direction, status, merged_by, asns, ts_started, "
                            "ts_ended, event_count, severity FROM event_groups "
                            "WHERE status != 'merged' ORDER BY key, direction, ts_started"
                        )
                    )
                )

        together = run("at once", [records])
        minutes = run("a minute at a time", list(by_minute.values()))
        # Live groups are compared by their facts (ids differ with the order of storing).
        once, apart = set(map(tuple, together)), set(map(tuple, minutes))
        print(
            f"live groups: {len(once)} at once, {len(apart)} a minute at a time, "
            f"{len(once ^ apart)} found only one way"
        )
        if args.show_differences:
            for row in sorted(once ^ apart):
                print("  ", "at once:" if row in once else "a minute at a time:", row)


if __name__ == "__main__":
    main()
