"""Web app throughput: cached view history and the matrix, against a minimal Pyramid JSON view.

The app (PostgreSQL, InfluxDB, Redis cache; anonymous reads allowed) and a
minimal Pyramid app answering a small JSON object (`bench/minimal_app.py`)
are each served by waitress with the same number of threads in this process.
A second process on loopback loads them in turn: CONCURRENCY threads, each
with its own keep-alive connection, sending requests back to back for
SECONDS seconds after a warm-up. Printed per endpoint: requests/s, p50 and
p99 latency, and the ratio of requests/s to the minimal view's.

- history: ``GET /api/v1/views/{id}/history`` of a 30-day view (one group,
  two lines, 5-minute results), the same range each time, so its bins come
  from the Redis cache;
- matrix: ``GET /api/v1/matrix/latency`` of a 20-site mesh (800 streams),
  cached between refreshes as the matrix page asks for it every minute.

Target (issue 5): cached history at least 0.5 of the minimal view's requests/s.

    .venv/bin/python bench/web.py [--seconds 5] [--concurrency 8] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ------------------------------------------------------------------ load generator


def _client(host: str, port: int, path: str, until: float, latencies: list[float]) -> None:
    """Send GET `path` back to back on one keep-alive connection until `until`."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    while True:
        started = time.perf_counter()
        if started >= until:
            break
        # As a browser or the requests library asks, for both apps alike.
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status}")
        latencies.append(time.perf_counter() - started)
    connection.close()


def generate_load(url: str, seconds: float, concurrency: int, warmup: float) -> dict:
    """Requests/s and latency quantiles of `concurrency` clients hitting `url` for `seconds`."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")

    def run(duration: float) -> tuple[list[float], float]:
        per_thread: list[list[float]] = [[] for _ in range(concurrency)]
        started = time.perf_counter()
        until = started + duration
        threads = [
            threading.Thread(
                target=_client, args=(parts.hostname, parts.port, path, until, latencies)
            )
            for latencies in per_thread
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [x for latencies in per_thread for x in latencies], time.perf_counter() - started

    run(warmup)
    latencies, elapsed = run(seconds)
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def measure(url: str, seconds: float, concurrency: int, warmup: float) -> dict:
    """`generate_load` in a second process, so the clients do not share the servers' GIL."""
    output = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--load",
            url,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
            "--warmup",
            str(warmup),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


# ------------------------------------------------------------------------- servers


@contextmanager
def served(app, threads: int) -> Iterator[str]:
    """`app` on waitress on a free loopback port, in a daemon thread; its base URL."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # One host: a TcpWSGIServer, whose effective_port types-waitress omits.
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(timeout=5)


def load_data(services, now: int) -> tuple[str, int, int]:
    """A 20-site mesh for the matrix and a 30-day pair for the view; the view's range."""
    from ampy.views import ViewStore
    from bench.common import load_mesh, load_view_pair

    rnd = random.Random(5)
    load_mesh(services, [f"site-{i:02d}" for i in range(20)], now, rnd)
    _, month_start, month_end = load_view_pair(services, now, rnd)
    view_id = ViewStore(services.sessionmaker).create(
        "latency", ["amp-icmp FROM view-a TO view-b SIZE 84 FAMILY SPLIT"]
    )
    return view_id, month_start, month_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(generate_load(args.load, args.seconds, args.concurrency, args.warmup)))
        return

    import logging

    import ampweb
    from bench.common import bench_services
    from bench.minimal_app import make_minimal_app

    # The security layer warns once per app about its random session secret.
    logging.basicConfig(level=logging.ERROR)
    now = int(time.time())
    namespace = f"bench-web-{uuid.uuid4().hex[:8]}"
    cache = {"ampy.cache_url": "redis://127.0.0.1:6379/2", "ampy.cache_namespace": namespace}
    with bench_services(**cache) as services:
        started = time.perf_counter()
        view_id, start, end = load_data(services, now)
        print(f"data: 800-stream mesh and a 30-day view in {time.perf_counter() - started:.1f} s")
        settings = {**services.settings, **cache, "ampweb.public_data": "true"}
        app = ampweb.main({}, **settings)
        try:
            with (
                served(make_minimal_app(), args.threads) as minimal,
                served(app, args.threads) as real,
            ):
                targets = [
                    ("minimal Pyramid JSON view", f"{minimal}/hello"),
                    ("history: 30-day view, cached", (
                        f"{real}/api/v1/views/{view_id}/history?start={start}&end={end}"
                    )),
                    ("matrix: 20 x 20 mesh, cached", (
                        f"{real}/api/v1/matrix/latency?src_mesh=bench&dst_mesh=bench"
                    )),
                ]  # fmt: skip
                print(
                    f"waitress threads {args.threads}, {args.concurrency} clients in a second "
                    f"process, {args.seconds:g} s each after {args.warmup:g} s warm-up\n"
                )
                results = []
                for label, url in targets:
                    results.append(
                        (label, measure(url, args.seconds, args.concurrency, args.warmup))
                    )
        finally:
            app.registry["ampy"].close()
    baseline = results[0][1]["rps"]
    for label, result in results:
        ratio = result["rps"] / baseline
        target = "   (target >= 0.50)" if label.startswith("history") else ""
        print(
            f"{label:<32} {result['rps']:8.0f} req/s   p50 {result['p50'] * 1000:7.2f} ms   "
            f"p99 {result['p99'] * 1000:7.2f} ms   ratio {ratio:5.2f}{target}"
        )


if __name__ == "__main__":
    main()
