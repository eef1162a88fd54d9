"""Collector throughput: amplet2 ICMP reports through RabbitMQ into InfluxDB, acknowledged.

The reports are published to a fresh queue first (timed on their own: that
is the monitors' work), then `Collector` consumes, decodes, parses, writes
to InfluxDB and PostgreSQL, and acknowledges them; the clock stops when the
queue is empty and every row is stored. The same rows are then written as
bare line protocol by the same InfluxDB client. Target: collector rows/s at
least 0.3 of the bare write's.

    .venv/bin/python bench/collector.py [--sites 10] [--hours 6]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kombu import Connection, Exchange, Producer, Queue

from bench.common import bench_services
from nntsc import wire
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.ingest.amqp import Collector, CollectorSettings
from nntsc.ingest.pipeline import DEFAULT_BATCH_SIZE

BROKER = os.environ.get("NNTSC_TEST_AMQP", "127.0.0.1:5672")
PUBLISHER = "nntsc-test-publisher"


def publisher_url() -> str:
    """A login with RabbitMQ's impersonator tag, so messages can carry each monitor's name."""
    for command in (
        ["rabbitmqctl", "-q", "add_user", PUBLISHER, PUBLISHER],
        ["rabbitmqctl", "-q", "set_user_tags", PUBLISHER, "impersonator"],
        ["rabbitmqctl", "-q", "set_permissions", "-p", "/", PUBLISHER, ".*", ".*", ".*"],
    ):
        subprocess.run(command, capture_output=True, check=False, timeout=60)
    return f"amqp://{PUBLISHER}:{PUBLISHER}@{BROKER}//"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--hours", type=float, default=6)
    args = parser.parse_args()
    icmp = get_collection("amp-icmp")
    end = int(time.time()) - 600
    mesh = SimulatedMesh(args.sites, end - int(args.hours * 3600), end, 60, seed=9)
    messages = [(s, ts, wire.encode("icmp", r)) for s, ts, r in mesh.reports()]

    tag = uuid.uuid4().hex[:8]
    settings = CollectorSettings(
        amqp_url=f"amqp://guest:guest@{BROKER}//",
        queue=f"bench-{tag}",
        exchange=f"bench-ex-{tag}",
        dead_letter_exchange=f"bench-dead-{tag}",
    )
    exchange = Exchange(settings.exchange, type="direct", durable=True)
    queue = Queue(settings.queue, exchange=exchange, routing_key=settings.routing_key, durable=True)
    with bench_services() as services, Connection(publisher_url()) as publisher:
        channel = publisher.channel()
        queue(channel).declare()
        producer = Producer(channel, exchange=exchange)
        started = time.perf_counter()
        for source, timestamp, body in messages:
            producer.publish(
                body,
                routing_key=settings.routing_key,
                headers={"x-amp-test-type": "icmp"},
                user_id=source,
                timestamp=timestamp,
                delivery_mode=2,
                content_type="application/octet-stream",
                serializer=None,
            )
        published = time.perf_counter() - started

        # The streams exist before the clock starts: a collector runs for
        # months, and creates them in its first minutes.
        rows = [
            Row(services.streams.stream_id(icmp, parsed.properties), ts, parsed.values)
            for source, ts, body in messages
            for parsed in icmp.parse(wire.decode("icmp", body), source, ts)
        ]
        row_count = len(rows)
        # Neither side's clock pays for collecting the set-up's garbage.
        gc.collect()

        collector = Collector(services, settings)
        stored = collector.metrics.rows_written.labels("amp-icmp")
        thread = threading.Thread(target=collector.run, daemon=True)
        started = time.perf_counter()
        thread.start()
        while stored._value.get() < row_count or collector._unacked:
            time.sleep(0.02)
        consumed = time.perf_counter() - started
        collector.stop()
        thread.join(30)

        store = services.timeseries
        tags = {s.stream_id: s.properties for s in services.streams.find(icmp, pagesize=1000).items}
        lines, _ = store.line_protocol(icmp, rows, tags)
        lines = [line.replace("amp-icmp,", "bare-icmp,", 1) for line in lines]
        gc.collect()
        started = time.perf_counter()
        for index in range(0, len(lines), DEFAULT_BATCH_SIZE):
            store.client.write_points(
                lines[index : index + DEFAULT_BATCH_SIZE],
                time_precision="s",
                database=store.database,
                retention_policy="raw",
                protocol="line",
            )
        bare = time.perf_counter() - started
        queue(channel).delete()
        Queue(settings.dead_letter_queue, channel=channel).delete()

    print(f"{len(messages)} ICMP reports, {row_count} rows ({args.sites} sites, {args.hours} h)")
    print(f"publish to RabbitMQ (the monitors' side): {len(messages) / published:,.0f} reports/s")
    print(
        f"collector (consume, decode, parse, write, ack): {len(messages) / consumed:,.0f} "
        f"reports/s, {row_count / consumed:,.0f} rows/s ({consumed:.2f} s)"
    )
    print(f"bare line-protocol write, same client: {row_count / bare:,.0f} rows/s ({bare:.2f} s)")
    print(
        f"ratio collector/bare: {bare / consumed:.2f} (target >= 0.3); "
        f"end to end incl. publishing: {bare / (consumed + published):.2f}"
    )


if __name__ == "__main__":
    main()
