"""Test data for events: streams with a traceroute path, and stored events, on real services.

Used by the event grouping tests (SQLite and PostgreSQL), the events API
tests and the benchmark of the event-groups list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.events.models import Event

ICMP = get_collection("amp-icmp")
TRACEROUTE = get_collection("amp-astraceroute")


def icmp_stream(services: Services, source: str, target: str, family: str = "ipv4") -> int:
    properties = {"source": source, "destination": target, "family": family, "packet_size": "84"}
    return services.streams.stream_id(ICMP, properties)


def traceroute(
    services: Services, source: str, target: str, timestamp: int, asns: Sequence[int]
) -> int:
    """Store one AS traceroute of the pair at `timestamp` through `asns` (one hop each)."""
    properties = {"source": source, "destination": target, "family": "ipv4", "packet_size": "60"}
    stream_id = services.streams.stream_id(TRACEROUTE, properties)
    path_id = services.paths.as_path_id(list(asns))
    values = dict.fromkeys(TRACEROUTE.field_names)
    values.update(as_path_id=path_id, responded=1, hop_count=len(asns))
    services.timeseries.write(
        TRACEROUTE, [Row(stream_id, timestamp, values)], {stream_id: properties}
    )
    return stream_id


def event_row(stream_id: int, onset: int, **values: Any) -> dict[str, Any]:
    row = {
        "collection": "amp-icmp",
        "stream_id": stream_id,
        "detector": "level",
        "metric": "median",
        "kind": "incr",
        "direction": "up",
        "ts_onset": onset,
        "ts_detected": onset + 300,
        "ts_ended": None,
        "severity": 40,
        "old_value": 20.0,
        "new_value": 40.0,
        "unit": "ms",
        "description": "median 20.0 ms -> 40.0 ms",
        "source": "",
        "target": "",
        "details": None,
    }
    row.update(values)
    return row


def store_events(
    services: Services, rows: Sequence[dict[str, Any]], group: bool = True
) -> list[Event]:
    """Insert events as the detection engine does, and hand them to the grouping sink."""
    from nntsc.events.groups import group_stored_events

    with services.sessionmaker.begin() as session:
        ids = session.scalars(insert(Event).returning(Event.id), list(rows)).all()
        events = [session.get(Event, event_id) for event_id in ids]
        if group:
            group_stored_events(session, services, events)
    return events
