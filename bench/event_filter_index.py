"""Indexes on the events' source, target and kind: what they save the dashboard's filters.

A filter with event conditions (`nntsc.events.filters.EventFilterSpec`)
first probes for the events that meet them in its window (`choose_plan`);
the frequency graph and the common events read those events too. Without an
index on the conditions' columns each of these reads every event of the
window when few or none match. This loads `bench/events_api.py`'s data
(100,000 events on PostgreSQL, 20,000 groups), then times, through ampy, the
first page and the frequency graph of some filters without the indexes of
migration 0022 and with them (same data, same process, medians; rounds of
both, alternating, the lower median of each kept), prints both and their
ratio, and the plan of the probe of each filter.

    .venv/bin/python bench/event_filter_index.py [--events 100000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text

from bench.events_api import load, median_ms, postgres_services

#: The indexes of migration 0022 (named as it names them).
INDEXES = {
    "ix_events_source_ts_onset": "events (source, ts_onset)",
    "ix_events_target_ts_onset": "events (target, ts_onset)",
    "ix_events_kind_ts_onset": "events (kind, ts_onset)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of (without, with); the best of each kept"
    )
    args = parser.parse_args()

    from ampy import Ampy
    from ampy.events import EventGroupFilter
    from nntsc.config import Services
    from nntsc.events.filters import EventFilterSpec

    specs = (
        ("a source with no event", EventFilterSpec(sources=("nobody",))),
        ("a target with no event, 24h", EventFilterSpec(targets=("nowhere",), range="24h")),
        ("a kind with no event", EventFilterSpec(kinds=("loss",))),
        ("no source and severity", EventFilterSpec(sources=("nobody",), min_severity=30)),
        ("the source of every event", EventFilterSpec(sources=("amp-src",))),
        ("kind decr (40%)", EventFilterSpec(kinds=("decr",))),
        ("no filter", EventFilterSpec()),
    )
    now = int(time.time())
    with postgres_services() as services:
        load(services, args.events, args.groups, now)
        ampy = Ampy(Services(dict(services.settings)))
        figures: dict[str, dict[str, list[tuple[float, float]]]] = {}
        try:
            for state in ("without", "with") * args.rounds:
                with services.engine.begin() as connection:
                    for name, columns in INDEXES.items():
                        if state == "without":
                            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
                        else:
                            connection.execute(
                                text(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")
                            )
                    connection.execute(text("ANALYZE events"))
                print(f"-- {state} the indexes")
                for label, spec in specs:
                    filters = EventGroupFilter(spec=spec)
                    probe = spec.matching_events_probe(now, 1001)
                    with services.engine.connect() as connection:
                        compiled = probe.compile(connection, compile_kwargs={"literal_binds": True})
                        plan = [
                            row[0]
                            for row in connection.execute(
                                text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {compiled}")
                            )
                        ]
                    scans = [line.strip() for line in plan if "Scan" in line]

                    def page(filters: EventGroupFilter = filters) -> None:
                        ampy.event_groups(filters, None, 20)

                    def frequency(spec: EventFilterSpec = spec) -> None:
                        ampy.event_frequency(spec)

                    page_ms = median_ms(page, args.repeat)
                    frequency_ms = median_ms(frequency, max(5, args.repeat // 5))
                    figures.setdefault(label, {}).setdefault(state, []).append(
                        (page_ms, frequency_ms)
                    )
                    print(f"{label:>28} page {page_ms:8.2f} ms  frequency {frequency_ms:8.2f} ms")
                    print(f"{'':>28} probe: {'; '.join(scans) or plan[0]}")
        finally:
            ampy.close()
        print("-- with / without (the lower median of each state's rounds)")
        for label, both in figures.items():
            page_before = min(page for page, _ in both["without"])
            freq_before = min(frequency for _, frequency in both["without"])
            page_after = min(page for page, _ in both["with"])
            freq_after = min(frequency for _, frequency in both["with"])
            print(
                f"{label:>28} page {page_before:7.2f} -> {page_after:6.2f} ms "
                f"({page_after / page_before:4.2f})  frequency {freq_before:6.2f} -> "
                f"{freq_after:6.2f} ms ({freq_after / freq_before:4.2f})"
            )


if __name__ == "__main__":
    main()
