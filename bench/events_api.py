"""The event-groups list: ``GET /api/v1/event-groups`` against a bare SQL query of the same page.

A PostgreSQL database is filled with 100,000 events on 1,000 ICMP streams
over 30 days and 20,000 event groups (a quarter live, three quarters merged
as pruning leaves them), each event a member of one live and of three merged
groups. Then, for the first page (20 groups, newest first, live ones) and
for a page 4,000 groups deep (reached by its cursor), each timed as the
median of many calls:

- bare SQL: every statement the page's content needs, run on a psycopg2
  connection of its own (autocommit, as the web app's reads are) and
  fetched. The page lists groups without their events (those are
  ``GET /api/v1/event-groups/{id}``): each item is a row of
  ``event_groups`` (its ASNs a column), so that is one statement, the one
  `ampy.events.EventReader.groups_query` builds, compiled to text once.
  Before timing, the bench checks that its rows are the API's items;
- ampy: `Ampy.event_groups` (the query built, run and turned into dicts);
- in process: ``GET /api/v1/event-groups`` through the web app's WSGI
  router without a socket (``Request.get_response``: tweens, security,
  validation, view, JSON rendering): the server's time, wall and CPU;
- HTTP: the same on the web app served by waitress (one keep-alive
  connection, anonymous reads allowed), the JSON answer read whole;
- bare HTTP: the same bare SQL run by a minimal Pyramid view on its own
  psycopg2 connection, its rows answered as JSON, on the same server: the
  floor of any HTTP answer of that page.

First, the floor in process (the first page; wall and CPU): what a request
costs before any of the API's own work, so that the ratio can be read
against what the framework alone costs:

- bare SQL, pooled connection: the bare SQL on a connection checked out of
  (and returned to) the read engine's pool for each call, as the API's is
  (`ampy.events.run_on_driver`, the function the API's kept pages use when
  not prepared);
- bare SQL, prepared: the same text prepared on the server once (``PREPARE``)
  and run by ``EXECUTE`` on the bench's own connection: what the bare query
  costs without the server parsing and planning it at each call, as the
  API's kept page statement is run (`ampy.events.run_prepared`). The ratios
  stay against the bare SQL as it is, unprepared;

- bare Pyramid, one route, the page: a Pyramid app with one route and one
  view answering the API's first page (computed once) as JSON: the
  framework and JSON alone;
- bare Pyramid, one route, bare SQL: the same app's view running the bare
  SQL and answering its rows: the least any Pyramid answer of the page costs;
- the app, trivial view: the web app as configured (its routes, tweens,
  security policy, CSRF options, view derivers), with one more route after
  all of its own whose view answers the same precomputed page: the app's
  framework cost without ampy and the query;
- the app, bare SQL view: the same app with a route whose view runs the
  bare SQL on a psycopg2 connection of its own and answers its rows as the
  API's items: the least this app can answer the page with, and what the
  API adds above it is everything between the router and the SQL (ampy, the
  pool, security, validation).

Target (issue 18): the API within 2x of the bare query and within 30 ms.
The ratios are printed: in process against the bare SQL, and over HTTP
against the bare SQL served over HTTP (a loopback round trip alone costs
about what the query does).

Then the dashboard's filters (`nntsc.events.filters.EventFilterSpec`,
issue 19) through ampy on the same data: the first page and the frequency
graph of a few filters, against the unfiltered first page, and the common
events of the last day.

With ``--profile N``, only a cProfile of N in-process requests of the
first page, each function's own time given to a part of the request (the
query, the pool, rows to dicts, security, validation, rendering, the
router...).

    .venv/bin/python bench/events_api.py [--events 100000] [--groups 20000] [--repeat 200]
    .venv/bin/python bench/events_api.py --profile 3000
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.dialects import postgresql

from ampy.events import run_on_driver
from bench.common import POSTGRES
from nntsc.config import Services
from nntsc.events.models import Event, EventGroup, EventGroupMember
from nntsc.store.schema import upgrade_all

DAY = 86400
STREAMS = 1000
#: Of the groups, this share is live (open or closed); the rest merged.
LIVE_SHARE = 0.25


@contextmanager
def postgres_services() -> Iterator[Services]:
    """Services on a new PostgreSQL database (SQL time series), dropped afterwards."""
    name = f"nntsc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    services = Services.from_settings(
        {"nntsc.sql_url": POSTGRES.rsplit("/", 1)[0] + f"/{name}", "nntsc.timeseries_url": "sql"},
        environ={},
    )
    try:
        upgrade_all(services)
        yield services
    finally:
        services.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load(services: Services, events: int, groups: int, now: int) -> None:
    """Streams, events, groups and memberships, in bulk."""
    from nntsc.collections import get

    rnd = random.Random(18)
    icmp = get("amp-icmp")
    stream_ids = [
        services.streams.stream_id(
            icmp,
            {
                "source": f"amp-{i % 40}",
                "destination": f"amp-{i // 40}",
                "family": "ipv4",
                "packet_size": "84",
            },
        )
        for i in range(STREAMS)
    ]
    start = now - 30 * DAY
    onsets = sorted(rnd.randrange(start, now) for _ in range(events))
    event_rows = []
    used = set()
    for index, onset in enumerate(onsets):
        stream = stream_ids[rnd.randrange(STREAMS)]
        while (stream, onset) in used:
            stream = stream_ids[rnd.randrange(STREAMS)]
        used.add((stream, onset))
        up = rnd.random() < 0.6
        old = rnd.uniform(5, 200)
        new = old * (rnd.uniform(1.3, 3) if up else rnd.uniform(0.3, 0.8))
        event_rows.append(
            {
                "id": index + 1,
                "collection": "amp-icmp",
                "stream_id": stream,
                "detector": "level",
                "metric": "median",
                "kind": "incr" if up else "decr",
                "direction": "up" if up else "down",
                "ts_onset": onset,
                "ts_detected": onset + 360,
                "ts_ended": None,
                "severity": rnd.randrange(1, 101),
                "old_value": old,
                "new_value": new,
                "unit": "ms",
                "description": f"median {old:.1f} ms -> {new:.1f} ms",
                "source": "amp-src",
                "target": "amp-dst",
                "details": None,
            }
        )
    live = int(groups * LIVE_SHARE)
    per_group = events // live
    group_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, int]] = []
    for g in range(live):
        members = range(g * per_group, min(events, (g + 1) * per_group))
        first, last = onsets[members[0]], onsets[members[-1]]
        group_id = len(group_rows) + 1
        asn = 64500 + rnd.randrange(200)
        group_rows.append(_group(group_id, asn, first, last, len(members), "closed", None, None))
        member_rows.extend({"group_id": group_id, "event_id": e + 1} for e in members)
        # The groups pruning merged into it: one per other key of its events.
        for _ in range(3):
            loser = len(group_rows) + 1
            group_rows.append(
                _group(
                    loser, asn + 1000, first, last, len(members), "merged", group_id, "identical"
                )
            )
            member_rows.extend({"group_id": loser, "event_id": e + 1} for e in members)
    with services.engine.begin() as connection:
        connection.execute(insert(Event), event_rows)
        connection.execute(insert(EventGroup), group_rows)
        for chunk in range(0, len(member_rows), 50_000):
            connection.execute(insert(EventGroupMember), member_rows[chunk : chunk + 50_000])
        for table in ("events", "event_groups"):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        connection.execute(text("ANALYZE"))


def _group(
    group_id: int,
    asn: int,
    first: int,
    last: int,
    count: int,
    status: str,
    into: int | None,
    rule: str | None,
) -> dict:
    return {
        "id": group_id,
        "key": f"asn:{asn}",
        "key_kind": "asn",
        "direction": "up",
        "ts_started": first,
        "ts_ended": last,
        "ts_updated": last,
        "severity": 50,
        "event_count": count,
        "source_count": 1,
        "target_count": 1,
        "endpoint_count": 2,
        "status": status,
        "merged_into": into,
        "merged_by": rule,
        "asns": str(asn),
    }


def median_ms(
    function: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The median of `repeat` calls (after 5 to warm up), in ms of `clock` (wall by default)."""
    for _ in range(5):
        function()
    samples = []
    for _ in range(repeat):
        started = clock()
        function()
        samples.append(clock() - started)
    return statistics.median(samples) * 1000


def check_same_page(raw: Any, sql: str, app: Any, path: str) -> None:
    """Stop unless the bare SQL's rows are the API page's items (same groups, same values)."""
    from pyramid.request import Request

    with raw.cursor() as db:
        db.execute(sql)
        names = [column.name for column in db.description]
        rows = [dict(zip(names, row, strict=True)) for row in db.fetchall()]
    for row in rows:
        row["asns"] = sorted(int(asn) for asn in row["asns"].split())
    items = Request.blank(path).get_response(app).json["items"]
    if rows[: len(items)] != items or len(rows) != len(items) + 1:
        raise SystemExit(f"{path}: the bare SQL's rows are not the API's page")


@contextmanager
def served(app) -> Iterator[tuple[str, int]]:
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # One host: a TcpWSGIServer, whose effective_port types-waitress omits.
        yield "127.0.0.1", server.effective_port  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(timeout=5)


def bare_app(engine, sql_by_path: dict[str, str], page: dict[str, Any]):
    """A minimal Pyramid app answering each path with the rows of its bare SQL, as JSON,
    and ``/constant`` with `page` (computed once)."""
    from pyramid.config import Configurator

    raw = engine.raw_connection()
    raw.driver_connection.autocommit = True
    lock = threading.Lock()

    def bare_page(request):
        sql = sql_by_path[request.matchdict["which"]]
        with lock, raw.cursor() as db:
            db.execute(sql)
            names = [column.name for column in db.description]
            rows = db.fetchall()
        return {"items": [dict(zip(names, row, strict=True)) for row in rows[:20]]}

    config = Configurator()
    config.add_route("page", "/bare/{which}")
    config.add_view(bare_page, route_name="page", renderer="json", request_method="GET")
    config.add_route("constant", "/constant")
    config.add_view(lambda request: page, route_name="constant", renderer="json")
    return config.make_wsgi_app(), raw


def app_with_trivial_view(settings: dict[str, Any], page: dict[str, Any], raw: Any, sql: str):
    """The web app as configured, with two routes after all of its own: ``/bench/trivial``,
    whose view answers `page` (computed once): everything but the view's work; and
    ``/bench/bare-sql``, whose view runs the bare SQL on `raw` (a psycopg2 connection of
    its own) and answers its rows as the API's items: the app's floor for the page."""
    import ampweb

    config = ampweb.configure(settings)
    config.add_route("bench.trivial", "/bench/trivial")
    config.add_view(lambda request: page, route_name="bench.trivial", renderer="json")
    lock = threading.Lock()

    def bare_sql(request):
        with lock, raw.cursor() as db:
            db.execute(sql)
            names = [column.name for column in db.description]
            rows = db.fetchall()
        items = [dict(zip(names, row, strict=True)) for row in rows[:20]]
        for item in items:
            item["asns"] = sorted(int(asn) for asn in item["asns"].split())
        return {"items": items}

    config.add_route("bench.bare_sql", "/bench/bare-sql")
    config.add_view(bare_sql, route_name="bench.bare_sql", renderer="json")
    return config.make_wsgi_app()


def floor(app: Any, minimal: Any, raw: Any, sql: str, repeat: int, read_engine: Any) -> None:
    """The first page in process against what a request costs before the API's own work."""
    from pyramid.request import Request

    def bare() -> None:
        with raw.cursor() as db:
            db.execute(sql)
            db.fetchall()

    def pooled() -> None:
        # The function the API's kept pages run on when not prepared; `main` checked
        # that `sql` has no ``%``, which psycopg2 reads as a placeholder given a mapping.
        run_on_driver(read_engine, sql, {})

    with raw.cursor() as db:
        db.execute(f"PREPARE bench_first_page AS {sql}")

    def prepared() -> None:
        with raw.cursor() as db:
            db.execute("EXECUTE bench_first_page")
            db.fetchall()

    def call(wsgi: Any, path: str) -> Callable[[], None]:
        def get() -> None:
            response = Request.blank(path).get_response(wsgi)
            if response.status_code != 200:
                raise SystemExit(f"GET {path}: {response.status}")

        return get

    rows = (
        ("bare SQL (psycopg2)", bare),
        ("bare SQL, pooled connection", pooled),
        ("bare SQL, prepared", prepared),
        ("bare Pyramid, one route, the page", call(minimal, "/constant")),
        ("bare Pyramid, one route, bare SQL", call(minimal, "/bare/first")),
        ("the app, trivial view (the page)", call(app, "/bench/trivial")),
        ("the app, bare SQL view", call(app, "/bench/bare-sql")),
        ("GET /api/v1/event-groups", call(app, "/api/v1/event-groups")),
    )
    print("in process, first page (the floor)    wall        CPU   wall / bare SQL")
    base = None
    for label, function in rows:
        wall = median_ms(function, repeat)
        cpu = median_ms(function, repeat, clock=time.thread_time)
        base = base or wall
        print(f"{label:>36} {wall:>7.3f}ms {cpu:>7.3f}ms {wall / base:>10.1f}x")


#: `profile`'s parts of a request: the first that names a profiled function's file (or
#: built-in's name) takes its own time.
PARTS = (
    (
        "pool (checkout, checkin, events)",
        (
            "sqlalchemy/pool",
            "sqlalchemy/event",
            "sqlalchemy/util",
            "nntsc/config.py",
            "weakref",
            "threading",
            "'rollback' of 'psycopg2",
        ),
    ),
    (
        "the query (psycopg2)",
        ("psycopg2.extensions", "encodings/utf_8", "_codecs.utf_8_decode"),
    ),
    ("SQLAlchemy Connection, result", ("sqlalchemy/",)),
    ("rows to dicts, cursor (ampy)", ("ampy/events.py", "base64", "builtins.sorted")),
    ("ampy call (retry wrapper)", ("ampy/",)),
    ("security (identity, permission)", ("ampweb/security", "pyramid/security", "webob/cookies")),
    (
        "validation, filter parsing",
        ("ampweb/validation", "ampweb/views/openapi", "nntsc/events/filters", "webob/multidict"),
    ),
    ("view", ("ampweb/views/",)),
    (
        "rendering (orjson, response)",
        (
            "ampweb/rendering",
            "pyramid/renderers",
            "orjson",
            "webob/response",
            "webob/descriptors",
            "webob/headers",
        ),
    ),
    (
        "test harness (Request.blank, send)",
        (":1299(", ":1261(", ":1334(", ":1428(", "benchmark's get"),
    ),
    (
        "router, tweens, metrics, derivers",
        ("pyramid/", "ampweb/", "webob/", "zope", "prometheus_client"),
    ),
)


def profile(app: Any, path: str, calls: int) -> None:
    """cProfile over `calls` in-process requests of `path`: own time per part, ms a request
    under the profiler (which inflates Python's share), and each part's share."""
    import cProfile
    import pstats

    from pyramid.request import Request

    def get() -> None:
        if Request.blank(path).get_response(app).status_code != 200:
            raise SystemExit(f"GET {path} failed")

    for _ in range(100):
        get()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        get()
    profiler.disable()
    parts = dict.fromkeys([label for label, _ in PARTS] + ["other"], 0.0)
    stats: Any = pstats.Stats(profiler)
    for (filename, line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        where = f"{filename}:{line}({name})" if filename != "~" else name
        if filename == __file__:
            where = "benchmark's get"
        label = next(
            (label for label, marks in PARTS if any(mark in where for mark in marks)), "other"
        )
        parts[label] += own
        if label == "other" and os.environ.get("PROFILE_OTHER"):
            print(f"  other: {own / calls * 1000:.4f} ms {where}")
    total = sum(parts.values())
    print(f"cProfile, {calls} x GET {path} in process (ms a request under the profiler)")
    for label, own in parts.items():
        print(f"{label:>36} {own / calls * 1000:>7.3f}ms {own / total:>6.1%}")


def filtered(ampy: Any, repeat: int) -> None:
    """The first page and the frequency graph of some dashboard filters, through ampy."""
    from ampy.events import EventGroupFilter
    from nntsc.events.filters import EventFilterSpec

    specs = (
        ("no filter", EventFilterSpec()),
        ("severity >= 30, one ASN", EventFilterSpec(min_severity=30, asns=(64510,))),
        ("kind decr (40% of events)", EventFilterSpec(kinds=("decr",))),
        ("kind decr, last 24h", EventFilterSpec(kinds=("decr",), range="24h")),
        ("a source with no event", EventFilterSpec(sources=("nobody",))),
        ("the source of every event", EventFilterSpec(sources=("amp-src",))),
        ("the same, last 24h", EventFilterSpec(sources=("amp-src",), range="24h")),
        ("every event's target, decr", EventFilterSpec(targets=("amp-dst",), kinds=("decr",))),
        # Group by group, a kind no event has tests every group.
        ("a kind with no event", EventFilterSpec(kinds=("loss",))),
    )
    base = None
    print(f"{'filter':>26} {'first page':>11} {'/ unfiltered':>13} {'frequency':>10}")
    for label, spec in specs:
        filters = EventGroupFilter(spec=spec)

        def page(filters: EventGroupFilter = filters) -> None:
            ampy.event_groups(filters, None, 20)

        def frequency(spec: EventFilterSpec = spec) -> None:
            ampy.event_frequency(spec)

        # Fewer calls of a slow one (a second each would take minutes).
        started = time.perf_counter()
        page()
        calls = max(5, min(repeat, int(2 / max(time.perf_counter() - started, 1e-6))))
        page_ms = median_ms(page, calls)
        frequency_ms = median_ms(frequency, max(5, min(calls, repeat // 10)))
        base = base or page_ms
        print(f"{label:>26} {page_ms:>9.2f}ms {page_ms / base:>12.1f}x {frequency_ms:>8.2f}ms")
    common_ms = median_ms(lambda: ampy.common_event_streams(EventFilterSpec()), repeat)
    print(f"common events (last 24 h, top 10): {common_ms:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument(
        "--filters-only", action="store_true", help="only the filters' figures (no HTTP)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="only a cProfile of N in-process requests of the first page, by part",
    )
    args = parser.parse_args()

    from pyramid.request import Request

    from ampy import Ampy
    from ampy.events import EventGroupFilter

    now = int(time.time())
    with postgres_services() as services:
        started = time.perf_counter()
        load(services, args.events, args.groups, now)
        print(
            f"loaded {args.events} events, {args.groups} groups "
            f"({LIVE_SHARE:.0%} live) in {time.perf_counter() - started:.1f} s"
        )
        ampy = Ampy(Services(dict(services.settings)))
        if args.filters_only:
            try:
                filtered(ampy, args.repeat)
            finally:
                ampy.close()
            return
        settings = {
            **services.settings,
            "ampweb.public_data": "true",
            "ampweb.session_secret": "b" * 40,
        }
        first_page = ampy.event_groups(EventGroupFilter(), None, 20).as_dict()
        reader = ampy.event_reader
        filters = EventGroupFilter()
        deep = None
        for _ in range(200):
            deep = ampy.event_groups(filters, deep, pagesize=20).next_cursor
        # psycopg2's connection, whose cursors are context managers (DBAPI's protocol says not),
        # in autocommit mode like the web app's read engine: one round trip a statement.
        raw: Any = services.engine.raw_connection()
        raw.driver_connection.autocommit = True
        pages = {"first": None, "deep": deep}
        sql_by_path = {
            which: str(
                reader.groups_query(filters, cursor, 20).compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            for which, cursor in pages.items()
        }
        # Run with a mapping of parameters (`run_on_driver`) or none, the same text reaches
        # the server only when it holds no ``%`` (psycopg2's placeholders, ``%%`` for one).
        if any("%" in sql for sql in sql_by_path.values()):
            raise SystemExit("the pages' bare SQL holds a '%'")
        minimal, minimal_raw = bare_app(services.engine, sql_by_path, first_page)
        app_raw: Any = services.engine.raw_connection()
        app_raw.driver_connection.autocommit = True
        app = app_with_trivial_view(settings, first_page, app_raw, sql_by_path["first"])
        try:
            if args.profile:
                profile(app, "/api/v1/event-groups", args.profile)
                return
            floor(app, minimal, raw, sql_by_path["first"], args.repeat, ampy.services.read_engine)
            with served(app) as (host, port), served(minimal) as (bare_host, bare_port):
                connection = http.client.HTTPConnection(host, port, timeout=30)
                bare_connection = http.client.HTTPConnection(bare_host, bare_port, timeout=30)
                print(
                    f"{'page':>18} {'bare SQL':>10} {'ampy':>10} {'in process':>11}"
                    f" {'(CPU)':>9} {'bare HTTP':>10} {'HTTP':>10}"
                    f" {'in proc/bare SQL':>17} {'HTTP/bare HTTP':>15}"
                )
                for (label, cursor), which in zip(
                    (("first page", None), ("4,000 groups deep", deep)), pages, strict=True
                ):
                    sql = sql_by_path[which]

                    def bare(sql: str = sql) -> None:
                        with raw.cursor() as db:
                            db.execute(sql)
                            db.fetchall()

                    def query(cursor: str | None = cursor) -> None:
                        ampy.event_groups(filters, cursor, 20)

                    path = "/api/v1/event-groups" + (f"?cursor={cursor}" if cursor else "")

                    def get(path: str = path) -> None:
                        connection.request("GET", path)
                        response = connection.getresponse()
                        body = response.read()
                        if response.status != 200:
                            raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")

                    def in_process(path: str = path) -> None:
                        response = Request.blank(path).get_response(app)
                        if response.status_code != 200:
                            raise SystemExit(f"GET {path}: {response.status}")

                    check_same_page(raw, sql, app, path)

                    def get_bare(which: str = which) -> None:
                        bare_connection.request("GET", f"/bare/{which}")
                        response = bare_connection.getresponse()
                        response.read()
                        if response.status != 200:
                            raise SystemExit(f"bare {which}: {response.status}")

                    bare_ms = median_ms(bare, args.repeat)
                    ampy_ms = median_ms(query, args.repeat)
                    process_ms = median_ms(in_process, args.repeat)
                    process_cpu_ms = median_ms(in_process, args.repeat, clock=time.thread_time)
                    bare_http_ms = median_ms(get_bare, args.repeat)
                    http_ms = median_ms(get, args.repeat)
                    print(
                        f"{label:>18} {bare_ms:>8.2f}ms {ampy_ms:>8.2f}ms {process_ms:>9.2f}ms"
                        f" {process_cpu_ms:>7.2f}ms {bare_http_ms:>8.2f}ms {http_ms:>8.2f}ms"
                        f" {process_ms / bare_ms:>16.1f}x {http_ms / bare_http_ms:>14.1f}x"
                    )
                connection.close()
                bare_connection.close()
            filtered(ampy, args.repeat)
        finally:
            raw.close()
            minimal_raw.close()
            app_raw.close()
            ampy.close()
            app.registry["ampy"].close()
    print(
        "target: the API within 2x of the bare query and within 30 ms "
        "(machine shared; medians; load: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ")"
    )


if __name__ == "__main__":
    main()
