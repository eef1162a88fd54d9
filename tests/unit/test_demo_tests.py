"""The simulated AMP mesh's other amplet2 tests: cadence, wire shape, collections, plausibility."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

import pytest

from nntsc import wire
from nntsc.collections import for_amp_test, get
from nntsc.collections.amp_traceroute import AS_NULL, AS_UNKNOWN, run_length
from nntsc.demo import (
    AF_INET,
    ALL_TESTS,
    AS_PRIVATE,
    SITE_ASN_BASE,
    TRANSIT_ASNS,
    SimulatedMesh,
    distance_km,
)

DAY = 86400
START = 1_790_000_000 - 1_790_000_000 % DAY
END = START + DAY
SITES = 4
SEED = 3
INTERVAL = 60
PERIODS = {
    "icmp": INTERVAL,
    "tcpping": INTERVAL,
    "dns": 300,
    "http": 600,
    "throughput": 3600,
    "udpstream": 1800,
    "traceroute": 900,
    "fastping": 900,
    "youtube": 3600,
    "external": 600,
    "sip": 1800,
}
#: The tests the mesh simulated before traceroute, and the SHA-256 of the repr of
#: ``new_mesh().test_reports(OLDER_TESTS)`` as computed before traceroute was added
#: (with the HTTP pages at ``https://<site>/`` since, issue 15.2, where they were at
#: ``https://www.<site>.example/``; nothing else changed): adding a test must not change
#: what the others report.
OLDER_TESTS = ("icmp", "tcpping", "dns", "http", "throughput", "udpstream")
OLDER_TESTS_SHA256 = "643c8dd6014952aabb96f681ebdc31025558db6240f70852242f12d488093709"
OLDER_TESTS_COUNT = 17740
#: The same of the seven tests' reports (traceroute too), as computed on `nntsc/demo.py`
#: before it became the `nntsc.demo` package (the same but for the HTTP URLs, as above):
#: the simulators give the same data for the same seed, and fastping, youtube, external
#: and sip, added since, change nothing of the others.
SEVEN_TESTS = (*OLDER_TESTS, "traceroute")
ALL_TESTS_SHA256 = "2c905b7963f674dc7c3f3bb00b96e5777b6e0e4cbb02c3b4651059263ae18eef"
ALL_TESTS_COUNT = 18120


def new_mesh(seed: int = SEED) -> SimulatedMesh:
    return SimulatedMesh(SITES, START, END, interval=INTERVAL, seed=seed)


@pytest.fixture(scope="module")
def mesh() -> SimulatedMesh:
    return new_mesh()


@pytest.fixture(scope="module")
def all_reports() -> list[tuple[str, str, int, dict[str, Any]]]:
    return list(new_mesh().test_reports())


@pytest.fixture(scope="module")
def decoded(all_reports) -> list[dict[str, Any]]:
    """Each report after a trip through the wire: `wire.encode`, then `wire.decode`."""
    return [wire.decode(test, wire.encode(test, report)) for test, _, _, report in all_reports]


@pytest.fixture(scope="module")
def rows(all_reports, decoded) -> dict[str, list[tuple[str, int, Any]]]:
    """(source, timestamp, parsed row) per test, from the decoded wire form of each report.

    Parsing raises `BadReport` for a report its collection does not accept.
    """
    out: dict[str, list[tuple[str, int, Any]]] = defaultdict(list)
    for (test, source, timestamp, _), report in zip(all_reports, decoded, strict=True):
        for collection in for_amp_test(test):
            parsed = collection.parse(report, source, timestamp)
            out[test].extend((source, timestamp, row) for row in parsed)
    return out


def without_none(value: Any) -> Any:
    """A report with its ``None`` (unset) values left out, as `wire.decode` gives it."""
    if isinstance(value, dict):
        return {key: without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_none(item) for item in value]
    return value


def in_burst(mesh: SimulatedMesh, source: str, destination: str, timestamp: int) -> bool:
    bursts = mesh.pairs[(source, destination)].loss_bursts
    return any(begin <= timestamp < finish for begin, finish, _ in bursts)


def site_of_url(url: str) -> str:
    return url.removeprefix("https://").removesuffix("/")


# -- cadence and order ------------------------------------------------------------


def test_every_test_type_appears(all_reports):
    assert {test for test, _, _, _ in all_reports} == set(ALL_TESTS)


@pytest.mark.parametrize("test", ALL_TESTS)
def test_each_source_runs_each_test_on_its_schedule(all_reports, test):
    period = PERIODS[test]
    expected = list(range(START + period, END, period))
    per_source: dict[str, Counter[int]] = defaultdict(Counter)
    for name, source, timestamp, _ in all_reports:
        if name == test:
            per_source[source][timestamp] += 1
    assert len(per_source) == SITES
    for runs in per_source.values():
        assert sorted(runs) == expected
        # The same number of reports at every run: one per target where the test has one.
        assert len(set(runs.values())) == 1


def test_reports_per_run(all_reports, mesh):
    per_run: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for test, source, timestamp, _ in all_reports:
        per_run[(test, source)][timestamp] += 1
    for site in mesh.sites:
        name = site.name
        assert set(per_run[("icmp", name)].values()) == {1}
        assert set(per_run[("tcpping", name)].values()) == {1}
        # One query to each other site's name server, and one to the public resolver.
        assert set(per_run[("dns", name)].values()) == {SITES}
        assert set(per_run[("http", name)].values()) <= {2, 3}
        assert set(per_run[("throughput", name)].values()) <= {1, 2}
        assert set(per_run[("udpstream", name)].values()) == {1}
        # All destinations in one report, as amplet2 does.
        assert set(per_run[("traceroute", name)].values()) == {1}


def test_reports_come_in_time_order(all_reports):
    keys = [(timestamp, ALL_TESTS.index(test)) for test, _, timestamp, _ in all_reports]
    assert keys == sorted(keys)


def test_count_matches(all_reports, mesh):
    assert mesh.test_count() == len(all_reports)
    assert mesh.test_count(("dns", "http")) == sum(
        1 for test, _, _, _ in all_reports if test in ("dns", "http")
    )


def test_unknown_test_is_refused(mesh):
    with pytest.raises(ValueError, match="unknown test"):
        next(mesh.test_reports(["icmp", "nosuchtest"]))


# -- wire shape and collections ----------------------------------------------------


def test_reports_round_trip_through_the_wire(all_reports, decoded):
    for (test, _, _, report), again in zip(all_reports, decoded, strict=True):
        if test == "icmp":
            # `SimulatedMesh.report` marks an unset field with None, which encode accepts.
            assert again == without_none(report)
        else:
            assert again == report, test


def test_reports_parse_with_their_collections(rows):
    assert all(for_amp_test(test) for test in ALL_TESTS)
    assert set(rows) == set(ALL_TESTS)
    for test, parsed in rows.items():
        assert all(row.properties["source"] == source for source, _, row in parsed), test
        assert all(row.properties["destination"] for _, _, row in parsed), test


def test_collections_by_name_accept_the_reports(all_reports):
    first: dict[str, tuple[str, int, dict[str, Any]]] = {}
    for test, source, timestamp, report in all_reports:
        first.setdefault(test, (source, timestamp, report))
    for test, (source, timestamp, report) in first.items():
        assert get(f"amp-{test}").parse(report, source, timestamp)


def test_test_specific_settings(all_reports):
    seen = set()
    for test, _, _, report in all_reports:
        header = report["header"]
        if test == "tcpping":
            assert header["port"] == 443
        elif test == "dns":
            if header["recurse"]:
                assert [item["name"] for item in report["reports"]] == ["8.8.8.8"]
            else:
                assert header["query"] == f"www.{report['reports'][0]['name']}.example"
            assert (header["query_type"], header["query_class"]) == (1, 1)
            assert all(item["query_length"] > 0 for item in report["reports"])
            seen.add(("dns", header["recurse"]))
        elif test == "http":
            # The page's host is the site that serves it: the matrix puts it in its column.
            assert header["url"] == f"https://{report['servers'][0]['hostname']}/"
            assert header["url"].removeprefix("https://").removesuffix("/").startswith("amp-")
            assert report["servers"]
            assert all(server["objects"] for server in report["servers"])
        elif test == "throughput":
            assert header["schedule"] == "t10000,T10000"
            assert [item["direction"] for item in report["reports"]] in ([], [1, 2])
        elif test == "udpstream":
            assert (header["packet_count"], header["packet_size"]) == (100, 100)
            assert header["packet_spacing"] == 20_000
            assert sorted(item["direction"] for item in report["reports"]) in ([], [1, 2])
    assert seen == {("dns", False), ("dns", True)}


# -- plausibility ---------------------------------------------------------------------


def test_tcpping_tracks_icmp(rows):
    icmp = {
        (source, row.properties["destination"], row.properties["family"], timestamp): row
        for source, timestamp, row in rows["icmp"]
    }
    differences = defaultdict(list)
    for source, timestamp, row in rows["tcpping"]:
        key = (source, row.properties["destination"], row.properties["family"], timestamp)
        other = icmp[key].values["median"]
        if row.values["median"] is not None and other is not None:
            differences[key[:3]].append((row.values["median"] - other, other))
    assert differences
    for key, pairs in differences.items():
        # Per path, TCPping is a touch slower than ICMP, never by more than a few ms.
        assert 0 < statistics.median(d for d, _ in pairs) < 1000, key
        close = sum(abs(d) <= 2000 + 0.05 * rtt for d, rtt in pairs)
        assert close >= 0.98 * len(pairs), key


def test_tcpping_loses_what_icmp_loses(rows):
    def lossrate(test: str) -> float:
        values = [row.values["lossrate"] for _, _, row in rows[test]]
        return statistics.fmean(v for v in values if v is not None)

    assert abs(lossrate("tcpping") - lossrate("icmp")) < 0.02


def test_dns_rtts_are_plausible(rows, mesh):
    answered = [
        (source, timestamp, row) for source, timestamp, row in rows["dns"] if row.values["rtt"]
    ]
    assert len(answered) > 0.5 * len(rows["dns"])
    assert all(row.values["rtt"] > 0 for _, _, row in answered)
    assert all(row.values["lossrate"] in (0.0, 1.0) for _, _, row in rows["dns"])
    for source, _, row in answered:
        destination = row.properties["destination"]
        if destination == "8.8.8.8":
            assert 1_000 <= row.values["rtt"] <= 200_000
            continue
        family = "ipv6" if ":" in row.properties["address"] else "ipv4"
        base_us = mesh.pairs[(source, destination)].base_ms[family] * 1000
        # About one round trip to the server: above the path's floor, not far past it.
        assert base_us <= row.values["rtt"] <= 2 * base_us + 100_000


def test_http_durations_are_a_few_round_trips_plus_transfer(rows, mesh):
    fetched = quick = 0
    for source, timestamp, row in rows["http"]:
        destination = site_of_url(row.properties["destination"])
        duration = row.values["duration"]
        if duration is None:
            # A failed fetch: nothing came back from the server.
            assert row.values["failed_object_count"] >= 1
            continue
        fetched += 1
        site = next(s for s in mesh.sites if s.name == destination)
        base_ms = mesh.pairs[(source, destination)].base_ms["ipv6" if site.ipv6 else "ipv4"]
        # TCP and TLS handshakes and the request: at least three round trips.
        assert duration >= 3 * base_ms
        if not in_burst(mesh, source, destination, timestamp):
            # A lost SYN costs a second, rarely; otherwise slow start and the objects.
            assert duration <= 60 * base_ms + 8_000
            quick += duration <= 60 * base_ms + 500
        assert row.values["bytes"] > 10_000
    assert fetched > 0.9 * len(rows["http"])
    assert quick > 0.9 * fetched


def test_throughput_is_limited_by_rtt_and_link(rows, mesh):
    bursts = 0
    for source, timestamp, row in rows["throughput"]:
        rate = row.values["rate"]
        assert rate > 0
        assert row.properties["direction"] in ("in", "out")
        if in_burst(mesh, source, row.properties["destination"], timestamp):
            bursts += 1
            assert rate < 100e6
        else:
            assert 1e6 <= rate <= 1e9
            base_s = mesh.pairs[(source, row.properties["destination"])].base_ms["ipv4"] / 1000
            assert rate <= 4 * 2**20 * 8 / base_s
    assert len(rows["throughput"]) > bursts > 0


def test_udpstream_values_are_plausible(rows, mesh):
    measured = [row for _, _, row in rows["udpstream"] if row.values["results"]]
    assert measured
    assert all(0 <= row.values["loss"] <= 1 for row in measured)
    assert all(row.values["packets_sent"] == 100 for row in measured)
    for source, timestamp, row in rows["udpstream"]:
        destination = row.properties["destination"]
        if row.properties["direction"] == "in" and row.values["mean_rtt"] is not None:
            base_us = mesh.pairs[(source, destination)].base_ms["ipv4"] * 1000
            assert base_us <= row.values["mean_rtt"] <= 2 * base_us + 100_000
            assert 1 <= row.values["itu_mos"] <= 4.5
        if not in_burst(mesh, source, destination, timestamp) and row.values["results"]:
            assert row.values["loss"] <= 0.1
    assert any(row.values["loss"] > 0.1 for row in measured), "seed 3 has loss bursts"


# -- determinism and the ICMP stream -------------------------------------------------


def test_same_seed_gives_identical_reports(all_reports):
    assert list(new_mesh().test_reports()) == all_reports


def test_different_seed_gives_different_reports(all_reports):
    other = list(new_mesh(seed=SEED + 1).test_reports())
    for test in ALL_TESTS:
        mine = [report for name, _, _, report in all_reports if name == test]
        theirs = [report for name, _, _, report in other if name == test]
        assert mine != theirs, test


def test_icmp_reports_are_those_of_reports(all_reports):
    expected = list(new_mesh().reports())
    assert [(s, t, r) for test, s, t, r in all_reports if test == "icmp"] == expected
    only_icmp = list(new_mesh().test_reports(["icmp"]))
    assert [(s, t, r) for _, s, t, r in only_icmp] == expected


def test_a_test_reports_the_same_whatever_else_runs(all_reports):
    for test in ("tcpping", "dns", "udpstream", "traceroute"):
        alone = list(new_mesh().test_reports([test]))
        assert alone == [entry for entry in all_reports if entry[0] == test]


def test_other_tests_leave_the_icmp_stream_alone():
    mesh = new_mesh()
    for _ in mesh.test_reports(["tcpping", "dns", "http", "throughput", "udpstream"]):
        pass
    assert list(mesh.reports()) == list(new_mesh().reports())


def test_adding_traceroute_left_the_other_tests_alone(all_reports):
    older = list(new_mesh().test_reports(OLDER_TESTS))
    assert hashlib.sha256(repr(older).encode()).hexdigest() == OLDER_TESTS_SHA256
    assert [entry for entry in all_reports if entry[0] in OLDER_TESTS] == older
    assert new_mesh().test_count(OLDER_TESTS) == OLDER_TESTS_COUNT == len(older)


def test_the_package_reports_what_the_single_module_did(all_reports, mesh):
    seven = [entry for entry in all_reports if entry[0] in SEVEN_TESTS]
    assert hashlib.sha256(repr(seven).encode()).hexdigest() == ALL_TESTS_SHA256
    assert mesh.test_count(SEVEN_TESTS) == ALL_TESTS_COUNT == len(seven)
    assert mesh.test_count() == len(all_reports)


# -- traceroute -------------------------------------------------------------------


def family_name(item: dict[str, Any]) -> str:
    return "ipv4" if item["family"] == AF_INET else "ipv6"


def traceroutes(reports) -> list[tuple[str, int, dict[str, Any]]]:
    """(source, timestamp, item) of every traceroute item (one probed address) of `reports`."""
    return [
        (source, timestamp, item)
        for test, source, timestamp, report in reports
        if test == "traceroute"
        for item in report["reports"]
    ]


def answered(path: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(number, hop) for number, hop in enumerate(path) if "address" in hop]


@pytest.fixture(scope="module")
def wide_mesh() -> SimulatedMesh:
    """More sites over a shorter time: seed 3 gives it unreachable pairs."""
    return SimulatedMesh(10, START, START + 6 * 3600, interval=INTERVAL, seed=SEED)


@pytest.fixture(scope="module")
def wide_reports(wide_mesh) -> list[tuple[str, str, int, dict[str, Any]]]:
    return list(wide_mesh.test_reports(["icmp", "traceroute"]))


def test_traceroute_probes_every_address_of_every_other_site(all_reports, mesh):
    runs = 0
    for test, source, _, report in all_reports:
        if test != "traceroute":
            continue
        runs += 1
        assert report["header"] == {
            "packet_size": 60,
            "random": False,
            "ip": True,
            "asn": True,
            "dscp": 0,
        }
        expected = [
            (site.name, address)
            for site in mesh.sites
            if site.name != source
            for address in site.ipv4 + site.ipv6
        ]
        assert [(item["name"], item["address"]) for item in report["reports"]] == expected
        for item in report["reports"]:
            assert len(item["address"]) == (4 if family_name(item) == "ipv4" else 16)
            assert set(item) == {"address", "family", "name", "path"}
            for hop in item["path"]:
                # A hop answers with all three, or is silent: nothing set at all.
                assert set(hop) in ({"address", "asn", "rtt"}, set())
                if hop:
                    assert len(hop["address"]) == len(item["address"])
    assert runs == SITES * (DAY // 900 - 1)


def test_traceroute_round_trips_and_feeds_both_collections(all_reports):
    collections = {c.name: c for c in for_amp_test("traceroute")}
    assert set(collections) == {"amp-traceroute", "amp-astraceroute"}
    parsed: dict[str, int] = Counter()
    for test, source, timestamp, report in all_reports:
        if test != "traceroute":
            continue
        again = wire.decode(test, wire.encode(test, report))
        assert again == report
        groups = {(item["name"], family_name(item)) for item in report["reports"]}
        for name, collection in collections.items():
            rows = collection.parse(again, source, timestamp)  # BadReport if refused
            assert {(r.properties["destination"], r.properties["family"]) for r in rows} == groups
            assert all(r.properties["packet_size"] == "60" for r in rows)
            assert all(r.values["hop_count"] > 0 for r in rows)
            parsed[name] += len(rows)
    assert parsed["amp-traceroute"] == parsed["amp-astraceroute"] > 0


def test_traceroute_as_paths_cross_private_source_transit_destination(all_reports, mesh):
    """Private hops, the source's network, one to three transit networks, the destination's."""
    as_collection = get("amp-astraceroute")
    asn_of = {site.name: SITE_ASN_BASE + index for index, site in enumerate(mesh.sites)}
    lengths = []
    usual = 0
    for test, source, timestamp, report in all_reports:
        if test != "traceroute":
            continue
        for row in as_collection.parse(report, source, timestamp):
            destination = row.properties["destination"]
            # The AS hops, silent hops (-1) left out.
            runs = [asn for asn, _ in run_length(a for a in row.values["_asns"] if a != AS_NULL)]
            transit = [asn for asn in runs if asn in TRANSIT_ASNS]
            assert set(runs) <= {AS_PRIVATE, AS_UNKNOWN, asn_of[source], asn_of[destination]} | set(
                TRANSIT_ASNS
            )
            assert len(set(transit)) <= 3
            if row.values["responded"]:
                lengths.append(row.values["as_path_length"])
                middle = runs[2:-1]
                # A lost probe can hide a network from one run, rarely.
                usual += (
                    runs[:2] == [AS_PRIVATE, asn_of[source]]
                    and runs[-1] == asn_of[destination]
                    and 1 <= len(transit) == len(set(transit))
                    and set(middle) <= set(transit) | {AS_UNKNOWN}
                )
    assert lengths
    assert usual >= 0.98 * len(lengths)
    assert min(lengths) >= 3
    assert statistics.median(lengths) >= 4  # private, source, a transit network, destination
    assert max(lengths) <= 9


def test_traceroute_hop_counts_grow_with_distance(wide_mesh):
    by_name = {site.name: site for site in wide_mesh.sites}
    points = [
        (distance_km(by_name[source], by_name[destination]), len(route.primary))
        for (source, destination, _), route in wide_mesh.routes.items()
    ]
    near = [hops for km, hops in points if km < 2500]
    far = [hops for km, hops in points if km >= 8000]
    assert near
    assert far
    assert statistics.mean(far) > statistics.mean(near) + 1
    assert all(5 <= hops <= 40 for _, hops in points)


def test_traceroute_paths_are_stable_but_for_route_changes(all_reports, mesh):
    """Each hop keeps its address run after run; a route change takes other networks."""
    addresses: dict[tuple[Any, ...], dict[int, set[bytes]]] = defaultdict(lambda: defaultdict(set))
    lengths: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    transits: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    for source, timestamp, item in traceroutes(all_reports):
        route = mesh.routes[(source, item["name"], family_name(item))]
        key = (source, item["name"], item["address"], route.rerouted(timestamp))
        lengths[key].add(len(item["path"]))
        for number, hop in answered(item["path"]):
            addresses[key][number].add(hop["address"])
            if hop["asn"] in TRANSIT_ASNS:
                transits[key].add(hop["asn"])
    assert len(lengths) > 1
    for key, seen in lengths.items():
        # Lost probes aside, every run takes the same routers: hop n always has one address.
        assert len(seen) == 1, key
        assert all(len(hops) == 1 for hops in addresses[key].values()), key
    rerouted = [key for key in lengths if key[3]]
    assert rerouted, "seed 3 has route changes"
    differ = 0
    for key in rerouted:
        usual = (*key[:3], False)
        if usual in lengths and transits[key]:
            # A route change goes through other transit networks.
            assert transits[key] != transits[usual], key
            differ += 1
    assert differ


def test_traceroute_route_changes_are_rare_and_last_hours(mesh):
    windows = [window for route in mesh.routes.values() for window in route.changes]
    assert windows
    assert all(3600 <= end - begin <= 12 * 3600 for begin, end in windows)
    rerouted = sum(
        route.rerouted(timestamp)
        for route in mesh.routes.values()
        for timestamp in range(START + 900, END, 900)
    )
    assert 0 < rerouted < 0.2 * len(mesh.routes) * (DAY // 900 - 1)


def test_traceroute_rtts_grow_along_the_path(all_reports, mesh):
    # (path, hop number) -> how much later than the hop before it the hop answered, per run.
    steps: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    first: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    drops = 0
    for source, timestamp, item in traceroutes(all_reports):
        route = mesh.routes[(source, item["name"], family_name(item))]
        key = (source, item["name"], item["address"], route.rerouted(timestamp))
        path = item["path"]
        if path[0]:
            first[key].append(path[0]["rtt"])
        for number, (hop, following) in enumerate(pairwise(path)):
            if hop and following:
                steps[(*key, number)].append(following["rtt"] - hop["rtt"])
                drops += following["rtt"] < hop["rtt"] * 0.9 - 2000
    assert steps
    # Now and then a router answers late (its slow path): the next hop then looks nearer.
    assert drops < 0.03 * sum(len(deltas) for deltas in steps.values())
    for key, deltas in steps.items():
        if len(deltas) >= 5:
            assert statistics.median(deltas) >= -500, key
    for key, rtts in first.items():
        if len(rtts) >= 5:
            assert statistics.median(rtts) < 2000, key  # the first hop is on the source's LAN


def test_traceroute_last_hop_is_about_the_icmp_rtt(all_reports, mesh):
    icmp = {
        (source, timestamp, item["name"], item["address"]): item["rtt"]
        for test, source, timestamp, report in all_reports
        if test == "icmp"
        for item in report["reports"]
        if item.get("rtt")
    }
    ratios: dict[tuple[str, str, bytes], list[float]] = defaultdict(list)
    for source, timestamp, item in traceroutes(all_reports):
        last = item["path"][-1]
        if last.get("address") != item["address"]:
            continue
        other = icmp.get((source, timestamp, item["name"], item["address"]))
        if other is not None:
            ratios[(source, item["name"], item["address"])].append(last["rtt"] / other)
            base = mesh.pairs[(source, item["name"])].base_ms[family_name(item)] * 1000
            assert last["rtt"] >= 0.95 * base
    assert ratios
    for key, values in ratios.items():
        assert 0.93 <= statistics.median(values) <= 1.07, key
        assert sum(0.7 <= v <= 1.4 for v in values) >= 0.95 * len(values), key


def test_traceroute_destinations_answer_but_in_loss_bursts(all_reports, mesh):
    reached = total = 0
    for source, timestamp, item in traceroutes(all_reports):
        pair = mesh.pairs[(source, item["name"])]
        if pair.unreachable or in_burst(mesh, source, item["name"], timestamp):
            continue
        total += 1
        reached += item["path"][-1].get("address") == item["address"]
    assert reached >= 0.99 * total > 0


def test_traceroute_unreachable_pairs_end_in_silence(wide_mesh, wide_reports):
    unreachable = {pair for pair, model in wide_mesh.pairs.items() if model.unreachable}
    assert unreachable, "seed 3 with 10 sites has unreachable pairs"
    collection = get("amp-traceroute")
    seen = 0
    for test, source, timestamp, report in wide_reports:
        if test == "icmp":
            for item in report["reports"]:
                if (source, item["name"]) in unreachable:
                    assert item["rtt"] is None
            continue
        for item in report["reports"]:
            path = item["path"]
            if (source, item["name"]) in unreachable:
                seen += 1
                assert path[-3:] == [{}, {}, {}]
                assert answered(path), "the path gets some way first"
                assert all(hop.get("address") != item["address"] for hop in path)
        for row in collection.parse(report, source, timestamp):
            if (source, row.properties["destination"]) in unreachable:
                assert row.values["responded"] == 0
                assert row.values["path_length"] % 1 == 0.5
    assert seen


def test_traceroute_some_routers_never_answer(all_reports):
    silent_inside = 0
    for _, _, item in traceroutes(all_reports):
        path = item["path"]
        last = max((number for number, _ in answered(path)), default=-1)
        silent_inside += sum(1 for hop in path[:last] if not hop)
    assert silent_inside > 0


def test_traceroute_of_a_lone_site_reports_nothing():
    lone = SimulatedMesh(1, START, START + 3600, interval=INTERVAL, seed=SEED)
    assert list(lone.test_reports(["traceroute"])) == []
    assert lone.test_count(["traceroute"]) == 0
