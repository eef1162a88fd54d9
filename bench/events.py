"""Event detection cost: live detection's CPU per row against the collector's, and state per stream.

A simulated ICMP mesh (the demo's model: level shifts, loss bursts) is queued
on RabbitMQ; the collector (`nntsc.ingest.amqp.Collector`, in this process)
consumes it into InfluxDB and PostgreSQL, and this process's CPU time is
taken while it does (decode, parse, write, acknowledge: the collector's own
CPU, not the servers'). Live detection (`nntsc.events.live.LiveDetection`)
listens to the live feed meanwhile, as the embedded default's does (`--feed
memory`, the default: the batches' rows in process) or as `nntsc events run`
does (`--feed redis`: msgpack over Redis pub/sub, decoded when detection
runs), or not at all (`--feed none`: every row read back from InfluxDB).
In process its listener (queueing a batch's rows by stream as columns of
the watched fields) runs on the collector's writer thread: that thread's
CPU in it is counted as detection's, not the collector's.
Then it goes through the same rows: the batches that follow on from the
streams' checkpoints as they are, the rest read back from InfluxDB; it runs
the detectors, stores events and checkpoints (and groups the events,
through the registered sinks); its CPU time is taken the same way. Its
checkpoints start at the streams' first rows, so each stream's first batch
is read back (the feed had named no row before it). Also timed: the
detectors alone on the rows in memory, and the memory of the detector state
per stream (tracemalloc).

Targets (issue 18): detection at most 0.25 of the collector's CPU per row;
at most 4 KiB of detector state per stream.

    .venv/bin/python bench/events.py [--sites 10] [--hours 12] [--feed memory|redis|none]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.collector import Queues
from bench.common import bench_services
from nntsc import wire
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.events import sinks
from nntsc.events.engine import DetectionEngine
from nntsc.events.live import LiveDetection, checkpoints
from nntsc.ingest.amqp import Collector
from nntsc.live import MemoryLiveFeed, RedisLiveFeed, decode_batch

REDIS = os.environ.get("NNTSC_TEST_REDIS", "redis://127.0.0.1:6379/1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--feed", choices=("memory", "redis", "none"), default="memory")
    args = parser.parse_args()
    icmp = get_collection("amp-icmp")
    end = int(time.time()) - 600
    mesh = SimulatedMesh(args.sites, end - int(args.hours * 3600), end, 60, seed=9)
    messages = [(s, ts, wire.encode("icmp", r)) for s, ts, r in mesh.reports()]
    queues = Queues()
    settings = {"nntsc.live_url": REDIS} if args.feed == "redis" else {}
    with bench_services(**settings) as services:
        try:
            queues.publish(messages)
            rows = [
                Row(services.streams.stream_id(icmp, parsed.properties), ts, parsed.values)
                for source, ts, body in messages
                for parsed in icmp.parse(wire.decode("icmp", body), source, ts)
            ]
            stream_ids = sorted({row.stream_id for row in rows})
            newest = max(row.timestamp for row in rows)
            gc.collect()

            # Live detection listens while the collector runs. Its listener
            # (queueing a batch's rows by stream, reduced to the watched fields)
            # runs on the collector's writer thread: that thread's CPU in it is
            # taken from the collector's and counted as detection's.
            detection = LiveDetection(services, since=None)
            listening = [0.0]

            def timed_on_batch(batch):
                started = time.thread_time()
                try:
                    detection.on_batch(batch)
                finally:
                    listening[0] += time.thread_time() - started

            pubsub = None
            if args.feed == "memory":
                assert isinstance(services.live, MemoryLiveFeed)
                services.live.subscribe(icmp.name, timed_on_batch)
            elif args.feed == "redis":
                # The messages, kept as they came; decoded when detection runs.
                assert isinstance(services.live, RedisLiveFeed)
                pubsub = services.live.client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(services.live.channel(icmp.name))
            # The collector's CPU per row (this process: its consumer and writer threads).
            collector = Collector(services, queues.settings)
            stored = collector.metrics.rows_written.labels("amp-icmp")
            thread = threading.Thread(target=collector.run, daemon=True)
            cpu, wall = time.process_time(), time.perf_counter()
            thread.start()
            while stored._value.get() < len(rows) or collector._unacked:
                time.sleep(0.02)
            collector_cpu = time.process_time() - cpu - listening[0]
            collector_wall = time.perf_counter() - wall
            collector.stop()
            thread.join(30)
            # The collector's writer updates the streams' spans every few seconds;
            # make sure the last update is in before detection looks.
            oldest = min(row.timestamp for row in rows)
            services.streams.touch(dict.fromkeys(stream_ids, (oldest, newest)))
            gc.collect()

            # Live detection over the same rows, as a new `nntsc events run` would;
            # the time the registered sinks (event grouping) take is counted apart.
            grouping = [0.0, 0]
            deliver = sinks.deliver

            def timed_deliver(session, events):
                started = time.process_time()
                try:
                    deliver(session, events)
                finally:
                    grouping[0] += time.process_time() - started
                    grouping[1] += 1

            sinks.deliver = timed_deliver
            messages_in: list[bytes] = []
            quiet_since = time.monotonic()
            # Every message is in once none came for two seconds (the subscription's
            # confirmation comes first and reads as None).
            while pubsub is not None and time.monotonic() - quiet_since < 2:
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    messages_in.append(message["data"])
                    quiet_since = time.monotonic()
            cpu, wall = time.process_time(), time.perf_counter()
            for data in messages_in:
                detection.on_batch(decode_batch(data))
            while checkpoints(services, stream_ids) != dict.fromkeys(stream_ids, newest):
                detection.cycle()
            live_cpu = time.process_time() - cpu + listening[0]
            live_wall = time.perf_counter() - wall
            sinks.deliver = deliver
            assert detection.rows == len(rows), (detection.rows, len(rows))
        finally:
            queues.delete()

    # The detectors alone, on the rows in memory.
    gc.collect()
    engine = DetectionEngine(services)
    engine._load_endpoints = lambda *_: None  # type: ignore[method-assign]
    cpu = time.process_time()
    found = engine.feed(icmp, rows)
    detect_cpu = time.process_time() - cpu

    # Detector state per stream: what a stream's detectors hold after the run.
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    engine = DetectionEngine(services)
    engine._load_endpoints = lambda *_: None  # type: ignore[method-assign]
    engine.feed(icmp, rows)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    per_stream = held / len(stream_ids)

    row_count = len(rows)
    print(
        f"{len(messages)} ICMP reports, {row_count} rows, {len(stream_ids)} streams "
        f"({args.sites} sites, {args.hours} h); {len(found)} events; machine shared"
    )
    print(
        f"collector (consume, decode, parse, write, ack): "
        f"{row_count / collector_wall:,.0f} rows/s, "
        f"CPU {1e6 * collector_cpu / row_count:.1f} us/row"
    )
    print(
        f"live detection (feed {args.feed}: {detection.fed_rows} rows as the feed gave them, "
        f"{detection.rows - detection.fed_rows} read back; detect, store events and "
        f"checkpoints): {row_count / live_wall:,.0f} rows/s, "
        f"CPU {1e6 * live_cpu / row_count:.1f} us/row (of which the listener on the "
        f"collector's thread {1e6 * listening[0] / row_count:.2f} us/row)"
    )
    detection_cpu = live_cpu - grouping[0]
    print(
        f"  of which event grouping (the registered sinks, {sinks.SINK_MODULES}): CPU "
        f"{1e6 * grouping[0] / row_count:.1f} us/row "
        f"({1e3 * grouping[0] / max(1, detection.stored):.2f} ms per event stored, "
        f"{detection.stored} events, {grouping[1]} calls); detection without it "
        f"{1e6 * detection_cpu / row_count:.1f} us/row"
    )
    print(f"detectors alone (rows in memory): CPU {1e6 * detect_cpu / row_count:.1f} us/row")
    print(
        f"ratio to the collector's CPU per row (target <= 0.25): live path "
        f"{live_cpu / collector_cpu:.2f}, without grouping {detection_cpu / collector_cpu:.2f}, "
        f"detectors alone {detect_cpu / collector_cpu:.2f}"
    )
    print(f"detector state: {per_stream:,.0f} bytes per stream (target <= 4096)")


if __name__ == "__main__":
    main()
