"""Record a group set for tests/data/event_groups from the events stored in a database.

Takes the events whose onset falls in [start, start + hours), looks up the
ASNs of each (the latest traceroute of its source and target, as the
grouping sink does), groups them with `nntsc.events.grouping.group_events`
as one batch, and writes a fixture: the events, the groups grouping made,
and, as `expected`, what `nntsc.events.pruning.prune_groups` left live then.
That expectation is a recording (a regression check), to be read over
before it is kept; the invariant tests (pruning twice, any order, merged
groups lead to live ones) run on every fixture anyway.

    .venv/bin/python -m tests.tools.record_event_groups -c development.ini \\
        --start 1796500800 --hours 2 --output tests/data/event_groups/demo_mesh.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from nntsc.cli import load_settings
from nntsc.config import Services
from nntsc.events.grouping import EventFacts, group_events
from nntsc.events.groups import AsPathLookup
from nntsc.events.models import Event
from nntsc.events.pruning import prune_groups


def record(services: Services, start: int, end: int, description: str) -> dict[str, Any]:
    with services.sessionmaker() as session:
        events = list(
            session.scalars(
                select(Event)
                .where(Event.ts_onset >= start, Event.ts_onset < end)
                .order_by(Event.ts_onset, Event.id)
            )
        )
    lookup = AsPathLookup(services)
    families: dict[int, str] = {}
    records = []
    facts = []
    # Ids renumbered from 1 in onset order, so the fixture reads on its own.
    for number, event in enumerate(events, 1):
        if event.stream_id not in families:
            families[event.stream_id] = services.streams.get(event.stream_id).properties.get(
                "family", ""
            )
        asns = lookup.asns(event.source, event.target, families[event.stream_id], event.ts_onset)
        records.append(
            {
                "id": number,
                "onset": event.ts_onset,
                "direction": event.direction,
                "kind": event.kind,
                "source": event.source,
                "target": event.target,
                "asns": list(asns),
            }
        )
        facts.append(
            EventFacts(
                number,
                event.ts_onset,
                event.direction,
                event.severity,
                event.kind,
                event.source,
                event.target,
                asns,
            )
        )
    _, groups = group_events(facts, [])
    recorded = []
    for number, group in enumerate(groups, 1):
        group.group_id = number
        recorded.append(
            {
                "id": number,
                "key": group.key,
                "direction": group.direction,
                "start": group.start,
                "end": group.end,
                "events": sorted(group.events),
            }
        )
    prune_groups(groups, end)
    live = {
        str(g.group_id): {"key": g.key, "asns": sorted(g.asns), "events": sorted(g.events)}
        for g in groups
        if g.live
    }
    return {
        "description": description,
        "now": end,
        "events": records,
        "groups": recorded,
        "expected": {"live": live},
    }


def dump(path: Path, fixture: dict[str, Any]) -> None:
    """The fixture as JSON with one event or group per line."""
    lines = ["{"]
    items = list(fixture.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if isinstance(value, list):
            inner = ",\n".join("  " + json.dumps(item) for item in value)
            lines.append(f" {json.dumps(key)}: [\n{inner}\n ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--hours", type=float, default=2)
    parser.add_argument("--description", default="")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    services = Services.from_settings(load_settings(args.config))
    try:
        end = args.start + int(args.hours * 3600)
        fixture = record(services, args.start, end, args.description)
    finally:
        services.close()
    dump(args.output, fixture)
    print(
        f"{len(fixture['events'])} events, {len(fixture['groups'])} groups, "
        f"{len(fixture['expected']['live'])} live after pruning -> {args.output}"
    )


if __name__ == "__main__":
    main()
