"""The events dashboard with 100,000 events: first page, group list, and an idle viewer's cost.

A PostgreSQL database is filled as `bench/events_api.py` fills it: 100,000
events on 1,000 ICMP streams over 30 days and 20,000 event groups, a
quarter live and three quarters merged as pruning leaves them (each event a
member of one live and three merged groups), stamped with change serials
as the grouping transactions would (one serial per live group and its
merged twins). The web app runs in a process of its own (waitress, the
embedded server), so that its CPU time can be read from /proc. Measured:

1. the dashboard's first page, ``GET /events``: in the bench's process
   (the WSGI app called directly: the server's time, without the network)
   and over HTTP, against the bare SQL of its group query and against
   `Ampy.event_groups_with_events` (its two queries and their dicts);
2. the first page of ``GET /api/v1/event-groups`` in process and over HTTP
   against the bare SQL of the same page (its group rows: one statement);
3. an idle self-updating viewer, both ways:
   - polling: ``GET /events/live?since=N`` with ``If-None-Match`` as the
     browser sends it, answered 304; the server's CPU per poll (its process's
     CPU over many polls, less what it spends idle in the same time), and
     per viewer-minute at the page's 15 s interval; also a poll that brings
     one changed group;
   - Server-Sent Events: a minimal SSE endpoint in the same server process
     that holds each connection open and checks the change serial every
     second (as a held stream must, to learn of changes), sending a
     keep-alive when nothing changed; the server's CPU per connection-minute
     with the check scaled to the same 15 s, and the threads they hold;
4. a ``/metrics`` scrape, and the bare statement of the event metrics.

    .venv/bin/python bench/dashboard.py [--events 100000] [--groups 20000] [--repeat 200]

Run under ``flock /tmp/bench.lock``; the machine may be shared: the figures
say what this run measured.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from bench.events_api import load, median_ms, postgres_services

#: The page's poll interval (ampweb.events_refresh's default), for "per viewer-minute".
POLL_SECONDS = 15
#: Seconds of each CPU measurement window.
WINDOW = 20

#: The web app in its own process: waitress on a free port, plus the bench's SSE endpoint.
SERVER = r"""
import sys, time, threading
from urllib.parse import parse_qs
from waitress.server import create_server
import ampweb

sql_url, threads = sys.argv[1], int(sys.argv[2])
app = ampweb.main({}, **{
    "nntsc.sql_url": sql_url, "nntsc.timeseries_url": "sql",
    "ampweb.public_data": "true", "ampweb.session_secret": "b" * 40,
    # No pruning thread: it would re-judge the made-up groups and change them.
    "nntsc.event_pruning": "celery", "nntsc.expiry": "celery",
})
ampy = app.registry["ampy"]

def with_sse(environ, start_response):
    if environ["PATH_INFO"] != "/bench/sse":
        return app(environ, start_response)
    every = float(parse_qs(environ.get("QUERY_STRING", "")).get("every", ["1"])[0])
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    def stream():
        seen = ampy.event_change_serial()
        yield f"data: {seen}\n\n".encode()
        while True:
            time.sleep(every)
            serial = ampy.event_change_serial()
            if serial != seen:
                seen = serial
                yield f"data: {serial}\n\n".encode()
            else:
                yield b": idle\n\n"
    return stream()

server = create_server(with_sse, host="127.0.0.1", port=0, threads=threads)
print(server.effective_port, flush=True)
server.run()
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads) from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(connection: http.client.HTTPConnection, path: str, headers: dict | None = None) -> int:
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    if response.status not in (200, 304):
        raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")
    return response.status


def stamp_serials(services: Any) -> int:
    """Change serials as grouping would leave them: a live group and its merged twins share one."""
    with services.engine.begin() as connection:
        connection.execute(
            text("UPDATE event_groups SET change_serial = COALESCE(merged_into, id) WHERE TRUE")
        )
        connection.execute(text("ANALYZE event_groups"))
        return int(connection.execute(text("SELECT max(change_serial) FROM event_groups")).scalar())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--viewers", type=int, default=20, help="SSE connections held at once")
    args = parser.parse_args()

    from pyramid.request import Request

    import ampweb
    from ampy import Ampy
    from ampy.events import EventGroupFilter
    from nntsc.config import Services
    from nntsc.events.metrics import counts_query

    now = int(time.time())
    with postgres_services() as services:
        started = time.perf_counter()
        load(services, args.events, args.groups, now)
        serial = stamp_serials(services)
        print(
            f"loaded {args.events:,} events, {args.groups:,} groups (a quarter live), "
            f"newest change serial {serial:,}, in {time.perf_counter() - started:.1f} s"
        )
        sql_url = services.settings["nntsc.sql_url"]
        ampy = Ampy(Services(dict(services.settings)))
        app = ampweb.main(
            {},
            **{
                **services.settings,
                "ampweb.public_data": "true",
                "ampweb.session_secret": "b" * 40,
                "nntsc.event_pruning": "celery",
                "nntsc.expiry": "celery",
            },
        )
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, sql_url, str(args.viewers + 4)],
            stdout=subprocess.PIPE,
            text=True,
        )
        raw: Any = services.engine.raw_connection()
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            filters = EventGroupFilter()
            reader = ampy.event_reader

            def compiled(statement: Any) -> str:
                return str(
                    statement.compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )

            def bare(sql: str) -> Any:
                def run() -> None:
                    with raw.cursor() as db:
                        db.execute(sql)
                        db.fetchall()

                return run

            # -- 1. the dashboard's first page -------------------------------------------------
            bare_page_ms = median_ms(
                bare(compiled(reader.groups_query(filters, None, 20))), args.repeat
            )
            serial_ms = median_ms(bare("SELECT max(change_serial) FROM event_groups"), args.repeat)
            ampy_ms = median_ms(
                lambda: ampy.event_groups_with_events(filters, None, 20, events_per_group=50),
                args.repeat,
            )

            def page_in_process() -> None:
                response = Request.blank("/events").get_response(app)
                if response.status_code != 200:
                    raise SystemExit(f"/events: {response.status}")

            page_ms = median_ms(page_in_process, args.repeat)
            cpu_samples = []
            for _ in range(args.repeat):
                started_cpu = time.thread_time()
                page_in_process()
                cpu_samples.append((time.thread_time() - started_cpu) * 1000)
            page_cpu_ms = statistics.median(cpu_samples)
            page_http_ms = median_ms(lambda: get(connection, "/events"), args.repeat)
            print()
            print("dashboard first page (20 groups, each with its events)")
            print(f"  bare SQL of the group query          {bare_page_ms:8.2f} ms")
            print(f"  bare SQL of the newest change serial {serial_ms:8.2f} ms")
            print(f"  ampy.event_groups_with_events        {ampy_ms:8.2f} ms")
            print(
                f"  GET /events in process (server time) {page_ms:8.2f} ms  "
                f"{page_ms / bare_page_ms:6.1f}x the bare group query, "
                f"{page_ms / ampy_ms:4.1f}x ampy's read  (target <= 50 ms)"
            )
            print(f"  of which the web process's CPU       {page_cpu_ms:8.2f} ms")
            print(f"  GET /events over HTTP                {page_http_ms:8.2f} ms")

            # -- 2. the group list API ---------------------------------------------------------
            api_ms = median_ms(lambda: get(connection, "/api/v1/event-groups"), args.repeat)

            def api_in_process() -> None:
                response = Request.blank("/api/v1/event-groups").get_response(app)
                if response.status_code != 200:
                    raise SystemExit(f"/api/v1/event-groups: {response.status}")

            api_process_ms = median_ms(api_in_process, args.repeat)
            print()
            print("GET /api/v1/event-groups, first page (20 groups, their rows: one statement)")
            print(
                f"  in process {api_process_ms:.2f} ms, bare SQL {bare_page_ms:.2f} ms: "
                f"{api_process_ms / bare_page_ms:.1f}x"
            )
            print(f"  over HTTP {api_ms:.2f} ms (bench/events_api.py compares it with bare HTTP)")

            # -- 3. an idle viewer -------------------------------------------------------------
            pid = server.pid
            idle_path = f"/events/live?since={serial}"
            conditional = {"If-None-Match": f'"{serial}"'}
            if get(connection, idle_path, conditional) != 304:
                raise SystemExit(f"{idle_path}: not 304, the groups changed under the bench")
            poll_ms = median_ms(lambda: get(connection, idle_path, conditional), args.repeat)
            changed_ms = median_ms(
                lambda: get(connection, f"/events/live?since={serial - 1}"), args.repeat
            )
            # The server's CPU over a window of back-to-back idle polls, less its idle CPU.
            before = cpu_seconds(pid)
            time.sleep(WINDOW / 2)
            idle_cpu = (cpu_seconds(pid) - before) / (WINDOW / 2)
            polls = 0
            before = cpu_seconds(pid)
            started = time.perf_counter()
            while time.perf_counter() - started < WINDOW:
                get(connection, idle_path, conditional)
                polls += 1
            elapsed = time.perf_counter() - started
            poll_cpu_ms = ((cpu_seconds(pid) - before) - idle_cpu * elapsed) / polls * 1000
            print()
            print(f"idle viewer, polling (the page's default: every {POLL_SECONDS} s)")
            print(f"  one idle poll (304), client-side median {poll_ms:.2f} ms")
            print(
                f"  server CPU per idle poll {poll_cpu_ms:.3f} ms "
                f"({polls} polls in {elapsed:.0f} s; server idle CPU {idle_cpu * 1000:.1f} ms/s)"
            )
            print(
                f"  per viewer-minute: {poll_cpu_ms * 60 / POLL_SECONDS:.2f} ms of server CPU, "
                f"{60 // POLL_SECONDS} requests, no connection held between polls"
            )
            print(f"  a poll that brings one changed group (200): {changed_ms:.2f} ms")

            # SSE: hold connections, each checked every second; CPU per check.
            held = []
            for _ in range(args.viewers):
                sse = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                sse.request("GET", "/bench/sse?every=1")
                response = sse.getresponse()
                response.fp.readline()  # the first event
                held.append((sse, response))
            drain_stop = threading.Event()

            def drain(response: Any) -> None:
                while not drain_stop.is_set():
                    if not response.fp.readline():
                        return

            drains = [threading.Thread(target=drain, args=(r,), daemon=True) for _, r in held]
            for thread in drains:
                thread.start()
            before = cpu_seconds(pid)
            time.sleep(WINDOW)
            sse_cpu = cpu_seconds(pid) - before - idle_cpu * WINDOW
            drain_stop.set()
            for sse, _ in held:
                sse.close()
            checks = args.viewers * WINDOW
            per_check_ms = sse_cpu / checks * 1000
            print()
            print(f"idle viewer, Server-Sent Events ({args.viewers} connections held {WINDOW} s)")
            print(
                f"  server CPU per check and keep-alive {per_check_ms:.3f} ms "
                f"({checks} checks); per connection-minute at one check every "
                f"{POLL_SECONDS} s: {per_check_ms * 60 / POLL_SECONDS:.2f} ms"
            )
            print(
                f"  each held connection occupies one server thread for as long as the page "
                f"is open: {args.viewers} viewers held {args.viewers} of the server's "
                f"{args.viewers + 4} threads"
            )

            # -- 4. /metrics -------------------------------------------------------------------
            metrics_ms = median_ms(lambda: get(connection, "/metrics"), 50)
            counts_ms = median_ms(bare(compiled(counts_query())), 50)
            print()
            print(
                f"/metrics scrape {metrics_ms:.2f} ms; its event statement alone "
                f"(events per kind and detector, groups per status) {counts_ms:.2f} ms"
            )
            connection.close()
        finally:
            raw.close()
            server.terminate()
            server.wait(timeout=10)
            ampy.close()
            app.registry["ampy"].close()
    print()
    print(
        "medians; the machine is shared with other work (2 cores), so absolute figures vary "
        "between runs"
    )


if __name__ == "__main__":
    main()
