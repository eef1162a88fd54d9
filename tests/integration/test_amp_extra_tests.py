"""The youtube, fastping, external and sip tests through the broker, stored and drawn.

Per test: three hours of a simulated mesh's reports, published as amplet2
publishes them (AMQP header ``x-amp-test-type``, ``user_id`` the monitor,
``timestamp`` the test's start), with malformed and undecodable reports of
the same test among them, go through RabbitMQ to the collector, into
PostgreSQL and InfluxDB. The rows are those the collection's parser makes,
the bad messages are dead-lettered with their reasons, and the stored rows
are drawn: the style's graph columns (from InfluxDB's rollups and raw tail)
and, for fastping and SIP, a matrix tab.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from kombu import Connection, Queue

from ampy.api import Ampy
from ampy.collections import get as presentation
from ampy.groups import spec_for
from nntsc import wire
from nntsc.collections import for_amp_test
from nntsc.config import Services
from nntsc.demo import DEMO_MONITOR_MESH, SimulatedMesh, demo_sites_and_meshes
from nntsc.ingest.amqp import Collector
from tests.conftest import make_services
from tests.integration.test_collector import (  # noqa: F401 (fixtures)
    declare,
    names,
    publish,
    publisher_url,
    queue_depth,
    run_until,
)

HOURS = 3
END = int(time.time()) // 60 * 60
START = END - HOURS * 3600

#: Per test: a report its collection refuses (dead-lettered as malformed), and what is drawn.
CASES = {
    "youtube": ({"header": {"quality": 5}}, "youtube", "total", None),
    "fastping": (
        {"header": {"name": "x", "family": 2}, "reports": [{}, {}]},
        "latency",
        "latency",
        "fastping",
    ),
    "external": (
        {"header": {"command": "c"}, "reports": [{"name": "x"}]},
        "external",
        "value",
        None,
    ),
    "sip": ({"header": {"filename": "f"}, "reports": [{}]}, "sip", "mos", "sip"),
}


@pytest.fixture
def services(postgres_url: str, influx_url: str) -> Iterator[Services]:
    services = make_services(postgres_url, influx_url)
    yield services
    services.close()


@pytest.mark.parametrize("test", list(CASES))
def test_reports_are_stored_drawn_and_bad_ones_dead_lettered(
    test: str,
    services: Services,
    names,  # noqa: F811 (the collector tests' fixture)
    publisher_url,  # noqa: F811
) -> None:
    bad_report, style, column, metric = CASES[test]
    [collection] = for_amp_test(test)
    mesh = SimulatedMesh(3, START, END, 300, seed=7)
    good = [
        (test, source, timestamp, wire.encode(test, report))
        for _, source, timestamp, report in mesh.test_reports((test,))
    ]
    expected = [
        (source, timestamp, row)
        for _, source, timestamp, body in good
        for row in collection.parse(wire.decode(test, body), source, timestamp)
    ]
    assert expected, f"the simulation made {test} rows"
    bad = [(test, "amp-bad", END, wire.encode(test, bad_report))] * 3
    bad.append((test, "amp-bad", END, b"\x0a\xff\xff not a report"))
    declare(names)
    publish(publisher_url, names, [*good[:2], *bad, *good[2:]])
    collector = Collector(services, names)
    run_until(
        collector,
        lambda: (
            collector.metrics.rows_written.labels(collection.name)._value.get() >= len(expected)
            and queue_depth(names, names.dead_letter_queue) >= len(bad)
        ),
    )

    # Stored as parsed, in InfluxDB; SIP as two streams per call.
    streams = services.streams.find(collection, pagesize=1000).items
    ids = {s.stream_id for s in streams}
    stored = services.timeseries.raw(collection, sorted(ids), START, END + 1)
    assert len(stored) == len(expected)
    for _, timestamp, row in expected[:20]:
        stream_id = services.streams.stream_id(collection, row.properties)
        got = services.timeseries.raw(collection, [stream_id], timestamp, timestamp + 1)
        assert [dict(r.values) for r in got] == [dict(row.values)]
    if test == "sip":
        assert {s.properties["direction"] for s in streams} == {"rx", "tx"}
        assert len(streams) == 2 * len({s.properties["source"] for s in streams})
    assert all(s.properties["source"] != "amp-bad" for s in streams)

    # Dead-lettered with their reasons, and counted.
    reasons: Counter[str] = Counter()
    with Connection(names.amqp_url) as connection:
        queue = Queue(names.dead_letter_queue, channel=connection.channel())
        while (message := queue.get(no_ack=True)) is not None:
            reasons[message.headers["x-nntsc-reason"]] += 1
            assert message.headers["x-amp-test-type"] == test
            assert message.headers["x-nntsc-error"]
    assert reasons == {"malformed": 3, "undecodable": 1}
    assert queue_depth(names, names.queue) == 0

    # Drawn: the style's columns over every stream, from the rollups and the raw tail.
    services.sites.save_all(*demo_sites_and_meshes(mesh))
    services.timeseries.process_rollups()
    ampy = Ampy(services, "memory://")
    hierarchy = spec_for(collection.name).hierarchy
    groups = {ampy.group(collection.name, {p: s.properties[p] for p in hierarchy}) for s in streams}
    assert style in {s.name for s in presentation(collection.name).styles}
    view = ampy.create_view(style, sorted(groups))
    lines = ampy.view_history(view, START, END, "full")
    values = [
        row[line.columns.index(column)]
        for line in lines
        for row in line.rows
        if row[line.columns.index(column)] is not None
    ]
    assert len(values) >= len(groups), (test, len(values))
    if metric is not None:
        matrix = ampy.matrix(metric, DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
        assert [c.value for c in matrix.cells if c.value is not None], f"{metric} matrix"
