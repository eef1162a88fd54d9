"""The dashboard filters' event conditions use the events' indexes on PostgreSQL (0022).

Review: with indexes only on (stream_id, ts_onset) and (ts_onset, id), a
filter whose sources, targets or kinds no event has read every event of its
window to find none (the probe of `EventFilterSpec.choose_plan`, the
frequency graph, the common events). The plans PostgreSQL picks, over a
table it has analysed, now start from the condition's index.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import insert, text

from nntsc.collections import get
from nntsc.events.filters import EventFilterSpec
from nntsc.events.models import Event
from tests.conftest import make_services

pytestmark = pytest.mark.postgres

NOW = 1_790_000_000
EVENTS = 20_000


def _plan(connection, statement) -> str:
    compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
    return "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))


def test_conditions_no_event_meets_are_found_by_index(postgres_url: str) -> None:
    services = make_services(postgres_url)
    try:
        icmp = get("amp-icmp")
        streams = [
            services.streams.stream_id(
                icmp,
                {
                    "source": f"amp-{i}",
                    "destination": "amp-dst",
                    "family": "ipv4",
                    "packet_size": "84",
                },
            )
            for i in range(20)
        ]
        rnd = random.Random(22)
        rows = []
        for i in range(EVENTS):
            stream = i % len(streams)
            up = rnd.random() < 0.6
            rows.append(
                {
                    "collection": "amp-icmp",
                    "stream_id": streams[stream],
                    "detector": "level",
                    "metric": "median",
                    "kind": "incr" if up else "decr",
                    "direction": "up" if up else "down",
                    "ts_onset": NOW - 30 * 86400 + i * 120,
                    "ts_detected": NOW,
                    "severity": rnd.randrange(1, 101),
                    "description": "",
                    "source": f"amp-{stream}",
                    "target": "amp-dst",
                }
            )
        with services.engine.begin() as connection:
            connection.execute(insert(Event), rows)
            connection.execute(text("ANALYZE events"))
        with services.engine.connect() as connection:
            for spec, index in (
                (EventFilterSpec(sources=("nobody",)), "ix_events_source_ts_onset"),
                (EventFilterSpec(targets=("nowhere",), range="7d"), "ix_events_target_ts_onset"),
                (EventFilterSpec(kinds=("loss",)), "ix_events_kind_ts_onset"),
            ):
                probe = _plan(connection, spec.matching_events_probe(NOW, 1001))
                assert index in probe, probe
                assert "Seq Scan" not in probe, probe
                # The plan it picks reads no event: the probe finds there are none.
                assert spec.choose_plan(connection, NOW) == ()
    finally:
        services.close()
