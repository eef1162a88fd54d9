"""The simulated AMP mesh: deterministic, well-formed, plausible reports."""

from __future__ import annotations

import pytest

from nntsc.collections.amp_icmp import AmpIcmp
from nntsc.demo import SimulatedMesh

DAY = 86400
START = 1_790_000_000 - 1_790_000_000 % DAY
END = START + 3 * 3600
INTERVAL = 300


@pytest.fixture(scope="module")
def mesh_reports():
    return list(SimulatedMesh(4, START, END, interval=INTERVAL, seed=1).reports())


def test_same_seed_gives_identical_reports(mesh_reports):
    again = list(SimulatedMesh(4, START, END, interval=INTERVAL, seed=1).reports())
    assert again == mesh_reports


def test_different_seed_gives_different_reports(mesh_reports):
    other = list(SimulatedMesh(4, START, END, interval=INTERVAL, seed=2).reports())
    assert [r for _, _, r in other] != [r for _, _, r in mesh_reports]


def test_count_equals_number_of_reports(mesh_reports):
    mesh = SimulatedMesh(4, START, END, interval=INTERVAL, seed=1)
    assert mesh.count() == len(mesh_reports)
    # Timestamps are the interval multiples strictly after start and before end.
    assert len(mesh_reports) == 4 * ((END - START) // INTERVAL - 1)


@pytest.mark.parametrize(
    ("start", "end", "interval"), [(START + 7, START + 1000, 60), (100, 130, 60)]
)
def test_count_matches_on_unaligned_ranges(start, end, interval):
    mesh = SimulatedMesh(3, start, end, interval=interval, seed=4)
    assert mesh.count() == len(list(mesh.reports()))


def test_reports_in_time_order_on_interval_boundaries(mesh_reports):
    timestamps = [timestamp for _, timestamp, _ in mesh_reports]
    assert timestamps == sorted(timestamps)
    assert all(START < t < END and t % INTERVAL == 0 for t in timestamps)
    sources_per_time: dict[int, list[str]] = {}
    for source, timestamp, _ in mesh_reports:
        sources_per_time.setdefault(timestamp, []).append(source)
    assert all(len(set(s)) == 4 == len(s) for s in sources_per_time.values())


def test_reports_parse_without_error(mesh_reports):
    parser = AmpIcmp()
    for source, timestamp, report in mesh_reports:
        rows = parser.parse(report, source, timestamp)
        assert rows
        assert all(row.properties["source"] == source for row in rows)


def test_every_source_reports_on_every_other_site(mesh_reports):
    sites = {source for source, _, _ in mesh_reports}
    assert len(sites) == 4
    parser = AmpIcmp()
    for source, timestamp, report in mesh_reports:
        destinations = {item["name"] for item in report["reports"]}
        assert destinations == sites - {source}
        ipv4 = {
            row.properties["destination"]
            for row in parser.parse(report, source, timestamp)
            if row.properties["family"] == "ipv4"
        }
        assert ipv4 == sites - {source}


def test_rtts_are_plausible(mesh_reports):
    parser = AmpIcmp()
    measured = 0
    for source, timestamp, report in mesh_reports:
        for row in parser.parse(report, source, timestamp):
            rtts = [v for v in row.values["rtts"] or [] if v is not None]
            assert all(1_000 <= v <= 1_000_000 for v in rtts), (source, row.properties, rtts)
            measured += len(rtts)
    assert measured > 0.5 * sum(len(r["reports"]) for _, _, r in mesh_reports)


def test_unreachable_pairs_lose_everything():
    mesh = SimulatedMesh(18, START, START + 2 * INTERVAL, interval=INTERVAL, seed=3)
    unreachable = [pair for pair, info in mesh.pairs.items() if info.unreachable]
    assert unreachable, "seed 3 with 18 sites is expected to have an unreachable pair"
    source, destination = unreachable[0]
    src = next(site for site in mesh.sites if site.name == source)
    report = mesh.report(src, START + INTERVAL)
    items = [item for item in report["reports"] if item["name"] == destination]
    assert items
    assert all(item["rtt"] is None for item in items)


def test_packet_size_header(mesh_reports):
    _, _, report = mesh_reports[0]
    assert report["header"] == {"packet_size": 84, "random": False, "dscp": 0}
