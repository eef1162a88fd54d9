"""Traceroute paths of a view (`Ampy.paths`, `Ampy.as_paths`) and their API, on a demo mesh.

A simulated mesh's traceroute reports go through the real ingest path into
SQLite; the expected paths are counted by hand from the same reports, so the
queries are checked against what the monitors sent, not against themselves.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

import ampweb
from ampy import Ampy
from ampy.errors import BadQuery, BadTimeRange, UnknownView
from ampy.paths import MAX_PATH_RANGE, expand_as_path
from nntsc.collections import for_amp_test
from nntsc.collections.amp_traceroute import run_length
from nntsc.demo import SimulatedMesh
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services

DAY = 86400
HOUR = 3600
END = int(time.time()) // HOUR * HOUR
START = END - 2 * DAY
SITES = 4
SEED = 3


def mesh() -> SimulatedMesh:
    return SimulatedMesh(SITES, START, END, 600, seed=SEED)


def hand_counts() -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (source, destination, family): IP paths, AS paths and AS path sequence, from reports."""
    counts: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _, source, timestamp, report in mesh().test_reports(["traceroute"]):
        for item in report["reports"]:
            family = "ipv6" if len(item["address"]) == 16 else "ipv4"
            entry = counts.setdefault(
                (source, item["name"], family),
                {"ip": Counter(), "as": Counter(), "sequence": [], "addresses": set()},
            )
            entry["addresses"].add(item["address"])
            hops = tuple(
                str(ipaddress.ip_address(hop["address"])) if "address" in hop else None
                for hop in item["path"]
            )
            asns = tuple(hop.get("asn", -1) for hop in item["path"])
            encoded = tuple(tuple(pair) for pair in run_length(asns))
            entry["ip"][hops] += 1
            entry["as"][encoded] += 1
            entry["sequence"].append((timestamp, encoded))
    return counts


@pytest.fixture(scope="module")
def sql_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('paths')}/nntsc.sqlite"
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for test, source, timestamp, report in mesh().test_reports(["traceroute"]):
                for collection in for_amp_test(test):
                    ingestor.add(collection.name, report, source, timestamp)
    finally:
        services.close()
    return url


@pytest.fixture(scope="module")
def ampy(sql_url: str) -> Iterator[Ampy]:
    instance = Ampy.from_settings({"nntsc.sql_url": sql_url, "nntsc.timeseries_url": "sql"})
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def counts() -> dict[tuple[str, str, str], dict[str, Any]]:
    return hand_counts()


def busiest_pair(counts: dict[tuple[str, str, str], dict[str, Any]]) -> tuple[str, str]:
    """An IPv4 pair whose route changed in the period (several IP and AS paths).

    Its destination has one address, so that each report makes one row
    (several addresses of a name make one row of the most usual path).
    """
    candidates = [
        (len(entry["as"]), len(entry["ip"]), key)
        for key, entry in counts.items()
        if key[2] == "ipv4" and len(entry["addresses"]) == 1
    ]
    _, _, (source, destination, _) = max(candidates)
    return source, destination


def view_for(ampy: Ampy, source: str, destination: str, style: str = "traceroute") -> str:
    collection = "amp-traceroute" if style == "traceroute" else "amp-astraceroute"
    return ampy.create_view(
        style, [f"{collection} FROM {source} TO {destination} SIZE 60 FAMILY ipv4"]
    )


def test_ip_paths_match_hand_counts(ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    expected = counts[(source, destination, "ipv4")]["ip"]
    assert len(expected) > 1, "the demo pair should have changed route"
    found = ampy.paths(view_for(ampy, source, destination), START, END + HOUR)
    assert found.kind == "ip"
    (line,) = found.lines
    got = Counter(
        {tuple(hop["address"] for hop in path["hops"]): path["count"] for path in line.paths}
    )
    assert got == expected
    assert line.observations == sum(expected.values())
    assert (line.source, line.destination) == (source, destination)
    # Most frequent first; per-hop AS numbers come from the row's AS path.
    frequencies = [p["count"] for p in line.paths]
    assert frequencies == sorted(frequencies, reverse=True)
    top = line.paths[0]
    assert all(hop["asn"] is not None for hop in top["hops"])
    assert all(hop["asn"] == -1 for hop in top["hops"] if hop["address"] is None)
    assert top["first_seen"] <= top["last_seen"]


def test_ip_paths_of_a_shorter_period(ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    sequence = counts[(source, destination, "ipv4")]["sequence"]
    middle = START + DAY
    expected_rows = sum(1 for ts, _ in sequence if START + HOUR <= ts < middle)
    (line,) = ampy.paths(view_for(ampy, source, destination), START + HOUR, middle).lines
    assert line.observations == expected_rows
    for path in line.paths:
        assert START + HOUR <= path["first_seen"] <= path["last_seen"] < middle


def test_as_paths_and_changes_match_hand_counts(ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    entry = counts[(source, destination, "ipv4")]
    for style in ("as-path", "traceroute"):
        found = ampy.as_paths(view_for(ampy, source, destination, style), START, END + HOUR)
        (line,) = found.lines
        got = Counter({tuple(tuple(pair) for pair in p["path"]): p["count"] for p in line.paths})
        assert got == entry["as"], style
        sequence = sorted(entry["sequence"])
        expected_changes = [
            ts for (_, old), (ts, new) in itertools.pairwise(sequence) if old != new
        ]
        assert [c["timestamp"] for c in line.changes] == expected_changes
        # Segments cover every row, in order, and change path at each change.
        assert sum(s["count"] for s in line.segments) == len(sequence)
        assert line.interval == 900
        ids = {p["path_id"]: p for p in line.paths}
        for change in line.changes:
            assert change["from_path_id"] in ids
            assert change["to_path_id"] in ids
        hops = {p["hop_count"] for p in line.paths}
        assert hops == {sum(count for _, count in path) for path in entry["as"]}


def test_expand_as_path() -> None:
    assert expand_as_path([[-2, 1], [64496, 2], [-1, 1]]) == [-2, 64496, 64496, -1]


def test_refusals(ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    view_id = view_for(ampy, source, destination)
    with pytest.raises(BadTimeRange):
        ampy.paths(view_id, END - MAX_PATH_RANGE - 1, END)
    with pytest.raises(BadTimeRange):
        ampy.as_paths(view_id, END, END - 1)
    with pytest.raises(UnknownView):
        ampy.paths("aaaaaaaaaaaa", START, END)
    with pytest.raises(BadQuery):
        # AS traceroute rows carry no IP paths.
        ampy.paths(view_for(ampy, source, destination, "as-path"), START, END)


# ---------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def app(sql_url: str) -> Iterator[webtest.TestApp]:
    settings = {
        "nntsc.sql_url": sql_url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
    }
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    try:
        yield test_app
    finally:
        test_app.app.registry["ampy"].close()


def test_api_ip_paths(app: webtest.TestApp, ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    view_id = view_for(ampy, source, destination)
    url = f"/api/v1/views/{view_id}/paths?start={START}&end={END + HOUR}"
    body = app.get(url, status=200).json
    assert body["kind"] == "ip"
    assert body["view_id"] == view_id
    (line,) = body["lines"]
    assert sum(p["count"] for p in line["paths"]) == sum(
        counts[(source, destination, "ipv4")]["ip"].values()
    )
    answer = app.get(url + "&format=csv", status=200)
    assert answer.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == len(line["paths"])
    assert int(rows[0]["count"]) == line["paths"][0]["count"]
    # Rows say which series they are, not the view's line id.
    assert (rows[0]["source"], rows[0]["destination"]) == (source, destination)
    assert rows[0]["collection"] == "amp-traceroute"
    assert "line_id" not in rows[0]


def test_api_as_paths(app: webtest.TestApp, ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    view_id = view_for(ampy, source, destination, "as-path")
    url = f"/api/v1/views/{view_id}/paths?kind=as&start={START}&end={END + HOUR}"
    (line,) = app.get(url, status=200).json["lines"]
    assert len(line["paths"]) == len(counts[(source, destination, "ipv4")]["as"])
    rows = list(csv.DictReader(io.StringIO(app.get(url + "&format=csv").text)))
    assert len(rows) == len(line["segments"])
    assert {(r["source"], r["destination"]) for r in rows} == {(source, destination)}


def test_api_errors(app: webtest.TestApp, ampy: Ampy, counts: dict) -> None:
    source, destination = busiest_pair(counts)
    view_id = view_for(ampy, source, destination)
    base = f"/api/v1/views/{view_id}/paths"
    too_long = app.get(f"{base}?start={END - 40 * DAY}&end={END}", status=400).json
    assert "31 days" in too_long["error"]
    assert "end" in app.get(f"{base}?start={END}&end={START}", status=400).json["error"]
    assert "kind" in app.get(f"{base}?kind=xyz", status=400).json["error"]
    assert "start" in app.get(f"{base}?start=abc", status=400).json["error"]
    app.get(f"/api/v1/views/aaaaaaaaaaaa/paths?start={START}&end={END}", status=404)
