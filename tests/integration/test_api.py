"""The web app over HTTP (WebTest on the real WSGI app): REST API, CSV, health, pages.

One SQLite file per module holds a small simulated mesh (3 sites, 1 day,
5-minute reports) that ends at the last whole hour, with a deliberate hole of
two hours in it. The data checks are repeated on PostgreSQL and on
PostgreSQL + InfluxDB so that the production stores are covered through HTTP.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import socket
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

import ampweb
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services
from tests.rows import IcmpBin, icmp_bins

DAY = 86400
HOUR = 3600
INTERVAL = 300
SITES = 3
SEED = 5
#: A recent, hour-aligned end so that the data is inside every retention and "now" range.
END = int(time.time()) // HOUR * HOUR
START = END - DAY
#: No report is loaded in [GAP_START, GAP_END): those bins must come back as nulls.
GAP_START = START + 10 * HOUR
GAP_END = GAP_START + 2 * HOUR

SMOKE_COLUMNS = [f"smoke_{i}" for i in range(1, 21)]


# ---------------------------------------------------------------- loading and apps


def demo_mesh() -> SimulatedMesh:
    return SimulatedMesh(SITES, START, END, INTERVAL, seed=SEED)


def load_demo(sql_url: str, timeseries_url: str = "sql") -> None:
    """The demo mesh, minus the reports inside the gap, through the real ingest path."""
    services = make_services(sql_url, timeseries_url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in demo_mesh().reports():
                if not GAP_START <= timestamp < GAP_END:
                    ingestor.add("amp-icmp", report, source, timestamp)
    finally:
        services.close()


def make_app(sql_url: str, timeseries_url: str = "sql") -> webtest.TestApp:
    # Anonymous reads, as a site with public data serves them (tests/integration/test_auth.py
    # covers the private default).
    settings = {
        "nntsc.sql_url": sql_url,
        "nntsc.timeseries_url": timeseries_url,
        "ampweb.public_data": "true",
    }
    return webtest.TestApp(ampweb.main({}, **settings))


def close_app(app: webtest.TestApp) -> None:
    app.app.registry["ampy"].close()


def expected_streams() -> set[tuple[str, str, str]]:
    """(source, destination, family) of every stream the mesh makes."""
    mesh = demo_mesh()
    return {
        (src.name, dst.name, family)
        for src in mesh.sites
        for dst in mesh.sites
        if src is not dst
        for family, addresses in (("ipv4", dst.ipv4), ("ipv6", dst.ipv6))
        if addresses
    }


def reachable_pair() -> tuple[str, str]:
    mesh = demo_mesh()
    return next(pair for pair, behaviour in mesh.pairs.items() if not behaviour.unreachable)


def find_stream_id(app: webtest.TestApp, source: str, destination: str, family: str) -> int:
    answer = app.get(
        "/api/v1/collections/amp-icmp/streams",
        {"source": source, "destination": destination, "family": family},
    ).json
    assert answer["total"] == 1, answer
    return answer["items"][0]["stream_id"]


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('api')}/nntsc.sqlite"
    load_demo(url)
    return url


@pytest.fixture(scope="module")
def app(sqlite_url: str) -> Iterator[webtest.TestApp]:
    test_app = make_app(sqlite_url)
    yield test_app
    close_app(test_app)


@pytest.fixture(scope="module")
def stream_id(app: webtest.TestApp) -> int:
    """An IPv4 stream of a reachable pair: it has data outside the gap."""
    source, destination = reachable_pair()
    return find_stream_id(app, source, destination, "ipv4")


def data(app: webtest.TestApp, stream: int, **params: Any) -> dict[str, Any]:
    answer = app.get(f"/api/v1/streams/{stream}/data", {k: str(v) for k, v in params.items()})
    assert answer.content_type == "application/json"
    return answer.json


def error_of(response: webtest.TestResponse) -> str:
    assert response.content_type == "application/json"
    assert set(response.json) == {"error"}
    assert isinstance(response.json["error"], str)
    assert response.json["error"]
    return response.json["error"]


# ---------------------------------------------------------------- collections and streams


def test_collections_is_a_page_of_collections(app: webtest.TestApp) -> None:
    answer = app.get("/api/v1/collections").json
    assert set(answer) >= {"items", "total", "page", "pagesize", "has_more"}
    assert answer["page"] == 1
    assert answer["has_more"] is False
    assert answer["total"] == len(answer["items"]) >= 1
    icmp = next(item for item in answer["items"] if item["name"] == "amp-icmp")
    assert icmp["view_style"] == "latency"
    assert icmp["properties"] == ["source", "destination", "family", "packet_size"]


def test_streams_lists_every_stream_of_the_mesh(app: webtest.TestApp) -> None:
    answer = app.get("/api/v1/collections/amp-icmp/streams").json
    expected = expected_streams()
    assert answer["total"] == len(expected)
    assert answer["page"] == 1
    assert answer["pagesize"] == 100
    assert answer["has_more"] is False
    found = set()
    for item in answer["items"]:
        assert set(item) == {"stream_id", "properties", "first", "last"}
        props = item["properties"]
        assert props["packet_size"] == "84"
        found.add((props["source"], props["destination"], props["family"]))
        assert START < item["first"] <= item["last"] < END
    assert found == expected
    assert len({item["stream_id"] for item in answer["items"]}) == len(expected)


def test_streams_filtered_by_properties(app: webtest.TestApp) -> None:
    source = demo_mesh().sites[0].name
    answer = app.get(
        "/api/v1/collections/amp-icmp/streams", {"source": source, "family": "ipv4"}
    ).json
    expected = {(s, d, f) for s, d, f in expected_streams() if s == source and f == "ipv4"}
    assert answer["total"] == len(expected) == SITES - 1
    assert {
        (i["properties"]["source"], i["properties"]["destination"], i["properties"]["family"])
        for i in answer["items"]
    } == expected
    nothing = app.get("/api/v1/collections/amp-icmp/streams", {"source": "amp-nowhere"}).json
    assert nothing["items"] == []
    assert nothing["total"] == 0
    assert nothing["has_more"] is False


def test_streams_paginate(app: webtest.TestApp) -> None:
    total = len(expected_streams())
    pagesize = 5
    assert total > 2 * pagesize - 1, "the mesh should fill more than one page"
    seen: list[int] = []
    page = 1
    while True:
        answer = app.get(
            "/api/v1/collections/amp-icmp/streams", {"page": page, "pagesize": pagesize}
        ).json
        assert answer["page"] == page
        assert answer["pagesize"] == pagesize
        assert answer["total"] == total
        assert len(answer["items"]) == min(pagesize, total - (page - 1) * pagesize)
        assert answer["has_more"] is (page * pagesize < total)
        seen.extend(item["stream_id"] for item in answer["items"])
        if not answer["has_more"]:
            break
        page += 1
    assert page == -(-total // pagesize)
    assert len(seen) == len(set(seen)) == total
    beyond = app.get(
        "/api/v1/collections/amp-icmp/streams", {"page": page + 1, "pagesize": pagesize}
    ).json
    assert beyond["items"] == []
    assert beyond["has_more"] is False
    assert beyond["total"] == total


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"pagesize": "0"}, "pagesize"),
        ({"pagesize": "100000"}, "pagesize"),
    ],
)
def test_streams_bad_parameter_is_400_naming_it(
    app: webtest.TestApp, params: dict[str, str], named: str
) -> None:
    response = app.get("/api/v1/collections/amp-icmp/streams", params, status=400)
    assert named in error_of(response)


def test_streams_of_unknown_collection_is_404(app: webtest.TestApp) -> None:
    response = app.get("/api/v1/collections/amp-nothing/streams", status=404)
    assert "amp-nothing" in error_of(response)


def test_stream_has_properties_first_and_last(app: webtest.TestApp, stream_id: int) -> None:
    answer = app.get(f"/api/v1/streams/{stream_id}").json
    source, destination = reachable_pair()
    assert answer["stream_id"] == stream_id
    assert answer["collection"] == "amp-icmp"
    assert answer["properties"] == {
        "source": source,
        "destination": destination,
        "family": "ipv4",
        "packet_size": "84",
    }
    first_report = START - START % INTERVAL + INTERVAL
    last_report = END - INTERVAL
    assert answer["first"] == first_report
    assert answer["last"] == last_report


def test_unknown_stream_is_404(app: webtest.TestApp) -> None:
    assert "999999" in error_of(app.get("/api/v1/streams/999999", status=404))
    assert "999999" in error_of(app.get("/api/v1/streams/999999/data", status=404))


@pytest.mark.parametrize("path", ["/api/v1/streams/abc", "/api/v1/streams/abc/data"])
def test_stream_id_not_a_number_is_404(app: webtest.TestApp, path: str) -> None:
    error_of(app.get(path, status=404))


# ---------------------------------------------------------------- data: JSON


def assert_aligned(answer: dict[str, Any], start: int, end: int, binsize: int) -> None:
    """One row per bin, bins on multiples of binsize, none missing, covering [start, end)."""
    timestamps = [row[0] for row in answer["rows"]]
    assert timestamps, "no rows"
    assert all(ts % binsize == 0 for ts in timestamps)
    assert all(b - a == binsize for a, b in itertools.pairwise(timestamps))
    assert timestamps[0] <= start < timestamps[0] + binsize
    assert timestamps[-1] < end <= timestamps[-1] + binsize
    assert all(len(row) == len(answer["columns"]) for row in answer["rows"])


def raw_rows(app: webtest.TestApp, stream: int, start: int, end: int) -> list[dict[str, Any]]:
    answer = data(app, stream, start=start, end=end, binsize=0)
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


def assert_matches_raw(answer: dict[str, Any], raw: list[dict[str, Any]], binsize: int) -> None:
    """Each bin's latency is the mean of the raw medians (µs -> ms); min, max, loss agree."""
    columns = answer["columns"]
    bins = icmp_bins(((r["timestamp"], r) for r in raw), binsize)
    checked = 0
    for row in answer["rows"]:
        values = dict(zip(columns, row, strict=True))
        found = bins.get(values["timestamp"], IcmpBin())
        if not found.medians:
            assert values["latency"] is None, values
            continue
        assert values["latency"] == pytest.approx(statistics.mean(found.medians) / 1000, abs=1e-3)
        assert values["min"] == pytest.approx(min(found.rtts) / 1000, abs=1e-3)
        assert values["max"] == pytest.approx(max(found.rtts) / 1000, abs=1e-3)
        assert values["loss"] == sum(found.losses)
        assert values["results"] == sum(found.results)
        checked += 1
    assert checked > 0


def check_stream_data(app: webtest.TestApp, stream: int) -> None:
    """The key data checks, shared by every store."""
    # Omitted binsize: about 300 points, so a day gets 5-minute bins.
    answer = data(app, stream, start=START, end=END)
    assert answer["stream_id"] == stream
    assert answer["collection"] == "amp-icmp"
    assert answer["binsize"] == 300
    assert answer["aggregation"] == "mean"
    assert answer["start"] == START
    assert answer["end"] == END
    assert answer["columns"][:2] == ["timestamp", "latency"]
    assert {"min", "max", "loss", "results", "smoke", "lossrate"} <= set(answer["columns"])
    assert answer["units"]["latency"] == "ms"
    assert_aligned(answer, START, END, 300)
    assert len(answer["rows"]) == DAY // 300

    # The gap: every bin inside it is present, with nulls.
    columns = answer["columns"]
    in_gap = [row for row in answer["rows"] if GAP_START <= row[0] < GAP_END]
    assert len(in_gap) == (GAP_END - GAP_START) // 300
    for row in in_gap:
        assert row[columns.index("latency")] is None
        assert row[columns.index("smoke")] is None
    outside = [row for row in answer["rows"] if not GAP_START <= row[0] < GAP_END]
    latencies = [row[1] for row in outside if row[1] is not None]
    assert len(latencies) > 0.9 * (DAY - (GAP_END - GAP_START)) // 300
    # The mesh's sites are in New Zealand: a few ms to a few tens of ms, never µs.
    assert all(0.5 < value < 500 for value in latencies)
    for row in outside:
        smoke = row[columns.index("smoke")]
        if smoke is not None:
            assert len(smoke) == 20
            present = [v for v in smoke if v is not None]
            assert present == sorted(present)

    # Raw rows (stored units, µs) agree with the bins.
    raw = raw_rows(app, stream, START, END)
    assert raw
    assert all(r["stream_id"] == stream for r in raw)
    assert all(START <= r["timestamp"] < END for r in raw)
    assert not any(GAP_START <= r["timestamp"] < GAP_END for r in raw)
    assert_matches_raw(answer, raw, 300)

    # An explicit binsize is respected.
    hourly = data(app, stream, start=START, end=END, binsize=HOUR)
    assert hourly["binsize"] == HOUR
    assert len(hourly["rows"]) == 24
    assert_aligned(hourly, START, END, HOUR)
    assert_matches_raw(hourly, raw, HOUR)


def test_stream_data_json(app: webtest.TestApp, stream_id: int) -> None:
    check_stream_data(app, stream_id)


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres+influx", marks=[pytest.mark.postgres, pytest.mark.influx]),
    ]
)
def production_app(request: pytest.FixtureRequest) -> Iterator[webtest.TestApp]:
    """The app over PostgreSQL (rows in SQL) and over PostgreSQL + InfluxDB."""
    sql_url = request.getfixturevalue("postgres_url")
    timeseries_url = "sql"
    if request.param == "postgres+influx":
        timeseries_url = request.getfixturevalue("influx_url")
    load_demo(sql_url, timeseries_url)
    test_app = make_app(sql_url, timeseries_url)
    yield test_app
    close_app(test_app)


def test_stream_data_json_on_production_stores(production_app: webtest.TestApp) -> None:
    assert production_app.get("/healthz").json["status"] == "ok"
    source, destination = reachable_pair()
    stream = find_stream_id(production_app, source, destination, "ipv4")
    check_stream_data(production_app, stream)
    csv_rows = list(
        csv.reader(
            io.StringIO(
                production_app.get(
                    f"/api/v1/streams/{stream}/data",
                    {"start": START, "end": END, "format": "csv"},
                ).text
            )
        )
    )
    assert len(csv_rows) == 1 + DAY // 300


def test_stream_data_default_range_is_the_last_day(app: webtest.TestApp, stream_id: int) -> None:
    before = int(time.time())
    answer = data(app, stream_id)
    after = int(time.time())
    assert before <= answer["end"] <= after
    assert answer["end"] - answer["start"] == DAY
    assert answer["binsize"] == 300


def test_stream_data_raw(app: webtest.TestApp, stream_id: int) -> None:
    answer = data(app, stream_id, start=START, end=START + 2 * HOUR, binsize=0)
    assert answer["binsize"] == 0
    assert answer["aggregation"] == "raw"
    assert answer["columns"][:3] == ["stream_id", "timestamp", "median"]
    assert "rtts" in answer["columns"]
    timestamps = [row[1] for row in answer["rows"]]
    # One report every INTERVAL, after START, before the end.
    assert timestamps == list(range(START + INTERVAL, START + 2 * HOUR, INTERVAL))
    median = answer["columns"].index("median")
    # Stored units: microseconds.
    assert all(row[median] is None or row[median] > 500 for row in answer["rows"])


# ---------------------------------------------------------------- data: CSV


def test_stream_data_csv(app: webtest.TestApp, stream_id: int) -> None:
    params = {"start": START, "end": END}
    response = app.get(f"/api/v1/streams/{stream_id}/data", {**params, "format": "csv"})
    assert response.content_type == "text/csv"
    assert f"stream-{stream_id}-{START}-{END}.csv" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.text)))
    header, body = lines[0], lines[1:]
    answer = data(app, stream_id, **params)
    assert len(body) == len(answer["rows"])
    assert header[:2] == ["timestamp", "latency"]
    assert "smoke" not in header
    smoke_at = header.index("smoke_1")
    assert header[smoke_at : smoke_at + 20] == SMOKE_COLUMNS
    assert all(len(line) == len(header) for line in body)
    columns = answer["columns"]
    for line, row in zip(body, answer["rows"], strict=True):
        values = dict(zip(header, line, strict=True))
        expected = dict(zip(columns, row, strict=True))
        assert int(values["timestamp"]) == expected["timestamp"]
        if expected["latency"] is None:
            assert values["latency"] == ""
            assert all(values[name] == "" for name in SMOKE_COLUMNS)
        else:
            assert float(values["latency"]) == pytest.approx(expected["latency"])
            if expected["smoke"] is not None:
                assert [float(values[name]) for name in SMOKE_COLUMNS] == pytest.approx(
                    expected["smoke"]
                )


def test_stream_data_csv_raw(app: webtest.TestApp, stream_id: int) -> None:
    params = {"start": START, "end": START + 3 * HOUR, "binsize": 0}
    response = app.get(f"/api/v1/streams/{stream_id}/data", {**params, "format": "csv"})
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0][:3] == ["stream_id", "timestamp", "median"]
    assert len(lines) - 1 == len(data(app, stream_id, **params)["rows"])
    assert all(len(line) == len(lines[0]) for line in lines)


def ipv4(host: int) -> bytes:
    return bytes([192, 0, 2, host])


def test_raw_csv_rows_line_up_when_rtts_lengths_differ(tmp_path) -> None:
    """A name that resolves to one address, then two: raw rtts lists of length 1 then 2."""
    url = f"sqlite:///{tmp_path}/nntsc.sqlite"
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for index, addresses in enumerate(([1], [1, 2], [1])):
                report = {
                    "header": {"packet_size": 84, "random": False, "dscp": 0},
                    "reports": [
                        {
                            "name": "amp-target",
                            "address": ipv4(host),
                            "family": socket.AF_INET,
                            "rtt": 10_000 + 1_000 * host,
                            "err_type": None,
                            "err_code": None,
                            "ttl": None,
                        }
                        for host in addresses
                    ],
                }
                ingestor.add("amp-icmp", report, "amp-source", START + INTERVAL * (index + 1))
    finally:
        services.close()
    test_app = make_app(url)
    try:
        stream = find_stream_id(test_app, "amp-source", "amp-target", "ipv4")
        response = test_app.get(
            f"/api/v1/streams/{stream}/data",
            {"start": START, "end": START + HOUR, "binsize": 0, "format": "csv"},
        )
        lines = list(csv.reader(io.StringIO(response.text)))
        assert len(lines) == 4
        assert [len(line) for line in lines[1:]] == [len(lines[0])] * 3
    finally:
        close_app(test_app)


# ---------------------------------------------------------------- data: errors


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "1.5"}, "end"),
        ({"start": "-5"}, "start"),
        ({"binsize": "abc"}, "binsize"),
        ({"binsize": "-1"}, "binsize"),
        ({"format": "xml"}, "format"),
        ({"detail": "extreme"}, "detail"),
    ],
)
def test_stream_data_bad_parameter_is_400_naming_it(
    app: webtest.TestApp, stream_id: int, params: dict[str, str], named: str
) -> None:
    response = app.get(f"/api/v1/streams/{stream_id}/data", params, status=400)
    assert named in error_of(response)


@pytest.mark.parametrize(("start", "end"), [(START, START), (START, START - 300)])
def test_stream_data_end_not_after_start_is_400(
    app: webtest.TestApp, stream_id: int, start: int, end: int
) -> None:
    response = app.get(
        f"/api/v1/streams/{stream_id}/data", {"start": start, "end": end}, status=400
    )
    assert "end" in error_of(response)


@pytest.mark.parametrize("output", ["json", "csv"])
def test_stream_data_binsize_too_small_for_range_is_400(
    app: webtest.TestApp, stream_id: int, output: str
) -> None:
    params = {"start": END - 30 * DAY, "end": END, "binsize": 1, "format": output}
    started = time.monotonic()
    response = app.get(f"/api/v1/streams/{stream_id}/data", params, status=400)
    assert "binsize" in error_of(response)
    assert time.monotonic() - started < 5, "refused only after doing the work"


# ---------------------------------------------------------------- health and metrics


def test_healthz_ok(app: webtest.TestApp) -> None:
    response = app.get("/healthz")
    assert response.content_type == "application/json"
    assert response.json["status"] == "ok"
    dependencies = response.json["dependencies"]
    assert set(dependencies) == {"sql", "timeseries"}
    assert {d["status"] for d in dependencies.values()} == {"ok"}
    assert all(d["required"] and d["seconds"] >= 0 for d in dependencies.values())


def test_healthz_503_when_timeseries_store_unreachable(sqlite_url: str) -> None:
    # Nothing listens on port 9 (discard) on the test machines.
    broken = make_app(sqlite_url, "influxdb://127.0.0.1:9/nope")
    try:
        response = broken.get("/healthz", status=503)
        assert response.content_type == "application/json"
        assert response.json["status"] == "unavailable"
        dependencies = response.json["dependencies"]
        assert dependencies["sql"]["status"] == "ok"
        assert "influx" in dependencies["timeseries"]["status"].lower()
    finally:
        close_app(broken)


def test_metrics_is_prometheus_text(app: webtest.TestApp) -> None:
    response = app.get("/metrics")
    assert response.content_type == "text/plain"
    assert "# HELP" in response.text
    assert "# TYPE" in response.text


# ---------------------------------------------------------------- HTML pages


def test_index_lists_streams_with_graph_links(app: webtest.TestApp) -> None:
    response = app.get("/")
    assert response.content_type == "text/html"
    links = set(re.findall(r'href="/graph/(\d+)"', response.text))
    ids = {
        str(item["stream_id"])
        for item in app.get("/api/v1/collections/amp-icmp/streams").json["items"]
    }
    assert links == ids
    assert f"{len(ids)} streams" in response.text
    # Packet size declares its unit (bytes), which the list shows after the value.
    assert "84 bytes" in response.text
    for site in demo_mesh().sites:
        assert site.name in response.text


def test_graph_link_of_a_stream_opens_the_view_of_its_line(
    app: webtest.TestApp, stream_id: int
) -> None:
    response = app.get(f"/graph/{stream_id}", status=302)
    match = re.fullmatch(r"http://localhost/view/latency/([a-z2-7]{12})", response.location)
    assert match, response.location
    legend = app.get(f"/api/v1/views/{match.group(1)}").json
    stream = app.get(f"/api/v1/streams/{stream_id}").json
    (line,) = legend["lines"]
    assert line["stream_ids"] == [stream_id]
    family = stream["properties"]["family"]
    assert legend["groups"] == [
        f"amp-icmp FROM {stream['properties']['source']} TO "
        f"{stream['properties']['destination']} SIZE 84 FAMILY {family}"
    ]
    page = response.follow()
    assert page.content_type == "text/html"
    assert 'id="detail-graph"' in page.text


def test_graph_link_with_a_range_keeps_it(app: webtest.TestApp, stream_id: int) -> None:
    response = app.get(f"/graph/{stream_id}/{START}/{END}", status=302)
    assert re.search(rf"/view/latency/[a-z2-7]{{12}}/{START}/{END}$", response.location)


def test_graph_page_of_unknown_stream_is_404(app: webtest.TestApp) -> None:
    app.get("/graph/999999", status=404)
    app.get("/graph/abc", status=404)


def test_graph_page_with_end_before_start_is_400(app: webtest.TestApp) -> None:
    response = app.get("/graph/5/200/100", status=400)
    assert "end" in response.text


def test_index_lists_the_streams_of_any_collection(app: webtest.TestApp, sqlite_url: str) -> None:
    from nntsc.collections import get as get_collection

    services = make_services(sqlite_url)
    services.streams.stream_id(
        get_collection("amp-dns"),
        {
            "source": "amp-a",
            "destination": "ns1.example.org",
            "instance": "ns1",
            "address": "192.0.2.53",
            "query": "example.org",
            "query_type": "A",
            "query_class": "IN",
            "udp_payload_size": "4096",
            "recurse": "false",
            "dnssec": "false",
            "nsid": "true",
        },
    )
    services.close()
    page = app.get("/?collection=amp-dns")
    ids = {
        str(item["stream_id"])
        for item in app.get("/api/v1/collections/amp-dns/streams").json["items"]
    }
    assert ids
    assert set(re.findall(r'href="/graph/(\d+)"', page.text)) == ids
    assert "DNS streams" in page.text
    assert '<th scope="col">Query type</th>' in page.text
    # Every collection has its tab; the one shown is marked.
    assert 'href="?collection=fileops"' in page.text
    assert 'href="?collection=amp-dns" aria-current="page"' in page.text


def test_index_refuses_an_unknown_collection(app: webtest.TestApp) -> None:
    page = app.get("/?collection=amp-nope", status=400)
    assert "collection" in page.text


def test_sql_outage_answers_503_not_500() -> None:
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{
                "nntsc.sql_url": "postgresql+psycopg2://postgres@127.0.0.1:9/x",
                "nntsc.timeseries_url": "sql",
                "ampweb.public_data": "true",
            },
        )
    )
    try:
        for path in ("/api/v1/streams/1", "/api/v1/collections/amp-icmp/streams"):
            response = app.get(path, status=503)
            assert response.json == {"error": "the SQL database is unavailable"}
    finally:
        # Its background threads (notifications, pruning) would keep trying the
        # unreachable database, and logging so, until the test session ends.
        close_app(app)


def test_history_of_a_collection_without_a_graph_style(tmp_path) -> None:
    """Data of a DNS stream once answered 404 "unknown collection"."""
    from nntsc import wire
    from nntsc.collections import for_amp_test
    from tests.unit.test_wire import REPORTS

    url = f"sqlite:///{tmp_path}/dns.sqlite"
    services = make_services(url)
    now = int(time.time())
    report = wire.decode("dns", wire.encode("dns", REPORTS["dns"]))
    with Ingestor(services) as ingestor:
        for offset in range(0, 3600, 300):
            ingestor.add_report(for_amp_test("dns"), report, "amp-a", now - 3600 + offset)
    stream = services.streams.find(get_collection("amp-dns")).items[0]
    services.close()
    app = webtest.TestApp(
        ampweb.main(
            {},
            **{"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"},
        )
    )
    try:
        body = app.get(f"/api/v1/streams/{stream.stream_id}/data?start={now - 3600}&end={now}").json
    finally:
        close_app(app)
    assert body["collection"] == "amp-dns"
    assert "latency" in body["columns"]
    assert "smoke" in body["columns"]
    assert any(row[body["columns"].index("latency")] is not None for row in body["rows"])
