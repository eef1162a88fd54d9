"""Traceroute ingest against real PostgreSQL: paths stored once, path queries, concurrency.

Reports go through the wire format and the ingest pipeline into the SQL
time-series store; each test has its own database.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from nntsc import wire
from nntsc.collections.amp_traceroute import AmpAsTraceroute, AmpTraceroute
from nntsc.config import Services
from nntsc.errors import BadReport
from nntsc.ingest.pipeline import Ingestor
from nntsc.store import models
from tests.conftest import make_services

TRACEROUTE = AmpTraceroute()
ASTRACEROUTE = AmpAsTraceroute()
START = 1_790_000_000 - 1_790_000_000 % 3600
STEP = 600
TARGET = "192.0.2.9"


def ip(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


def hops(*route: tuple[str | None, int]) -> list[dict]:
    """Hops from (address or None, asn) pairs; rtts grow by 1 ms per hop."""
    out = []
    for number, (address, asn) in enumerate(route, 1):
        hop: dict = {"asn": asn}
        if address is not None:
            hop.update(address=ip(address), rtt=1000 * number)
        out.append(hop)
    return out


#: Three routes to TARGET: A and B share their AS path, C crosses another AS.
ROUTE_A = hops(("10.0.0.1", -2), ("198.51.100.1", 64496), ("198.51.100.2", 64496), (TARGET, 64499))
ROUTE_B = hops(("10.0.0.1", -2), ("198.51.100.7", 64496), (None, -1), (TARGET, 64499))
ROUTE_C = hops(("10.0.0.1", -2), ("203.0.113.1", 64497), ("203.0.113.2", 64497), (TARGET, 64499))
AS_AB = [[-2, 1], [64496, 2], [64499, 1]]
AS_B = [[-2, 1], [64496, 1], [-1, 1], [64499, 1]]
AS_C = [[-2, 1], [64497, 2], [64499, 1]]


def report_bytes(*paths: list[dict], name: str = "target") -> bytes:
    """A serialized traceroute report with one item per path, as a monitor sends it."""
    return wire.encode(
        "traceroute",
        {
            "header": {"packet_size": 60, "random": False, "ip": True, "asn": True},
            "reports": [
                {"name": name, "address": ip(TARGET), "family": socket.AF_INET, "path": path}
                for path in paths
            ],
        },
    )


def ingest(services: Services, reports: list[tuple[str, int, bytes]]) -> None:
    with Ingestor(services) as ingestor:
        for source, timestamp, body in reports:
            ingestor.add_report(
                [TRACEROUTE, ASTRACEROUTE],
                wire.decode("traceroute", body),
                source,
                timestamp,
            )


def count(services: Services, table: str) -> int:
    with services.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(models.metadata.tables[table]))


def stream(services: Services, collection, source: str = "mon-a") -> int:
    return services.streams.stream_id(
        collection,
        {"source": source, "destination": "target", "family": "ipv4", "packet_size": "60"},
    )


@pytest.fixture
def services(postgres_url: str) -> Iterator[Services]:
    services = make_services(postgres_url)
    try:
        yield services
    finally:
        services.close()


def test_paths_are_stored_once(services: Services) -> None:
    from nntsc.store.paths import path_registry

    ingest(
        services,
        [
            ("mon-a", START, report_bytes(ROUTE_A)),
            ("mon-a", START + STEP, report_bytes(ROUTE_A)),
            ("mon-b", START, report_bytes(ROUTE_A)),  # another monitor, the same path
            ("mon-a", START + 2 * STEP, report_bytes(ROUTE_B)),
            ("mon-a", START + 3 * STEP, report_bytes(ROUTE_C, ROUTE_C, ROUTE_A)),
        ],
    )
    assert count(services, "traceroute_ip_paths") == 3
    assert count(services, "traceroute_as_paths") == 3
    assert count(services, "data_amp_traceroute") == 5
    assert count(services, "data_amp_astraceroute") == 5

    paths = path_registry(services)
    a_id = paths.ip_path_id("ipv4", ["10.0.0.1", "198.51.100.1", "198.51.100.2", TARGET])
    assert paths.ip_path(a_id) == {
        "path_id": a_id,
        "family": "ipv4",
        "length": 4,
        "hops": ["10.0.0.1", "198.51.100.1", "198.51.100.2", TARGET],
    }
    ab_id = paths.as_path_id([-2, 64496, 64496, 64499])
    assert paths.as_path(ab_id) == {"path_id": ab_id, "length": 3, "hop_count": 4, "path": AS_AB}
    assert count(services, "traceroute_ip_paths") == 3  # lookups did not insert

    rows = services.timeseries.raw(TRACEROUTE, [stream(services, TRACEROUTE)], START, START + 3600)
    assert [row.values["ip_path_id"] for row in rows][:2] == [a_id, a_id]
    first = rows[0].values
    assert first == {
        "path_length": 4.0,
        "hop_count": 4,
        "responded": 1,
        "ip_path_id": a_id,
        "as_path_id": ab_id,
        "hop_rtts": [1000, 2000, 3000, 4000],
    }
    # The modal path of the last report is C (two items of three).
    assert paths.ip_path(rows[3].values["ip_path_id"])["hops"][1] == "203.0.113.1"
    assert rows[2].values["hop_rtts"] == [1000, 2000, None, 4000]

    as_rows = services.timeseries.raw(
        ASTRACEROUTE, [stream(services, ASTRACEROUTE)], START, START + 3600
    )
    assert [r.values["as_path_length"] for r in as_rows] == [3.0, 3.0, 3.0, 3.0]
    assert as_rows[0].values["as_path_id"] == ab_id
    assert paths.as_path(as_rows[2].values["as_path_id"])["path"] == AS_B


def test_a_new_registry_finds_the_stored_paths(services: Services) -> None:
    from nntsc.store.paths import PathRegistry, UnknownPath, path_registry

    ingest(services, [("mon-a", START, report_bytes(ROUTE_A))])
    stored = services.timeseries.raw(TRACEROUTE, [stream(services, TRACEROUTE)], START, START + 1)
    fresh = PathRegistry(services.sessionmaker)
    assert (
        fresh.ip_path_id("ipv4", ("10.0.0.1", "198.51.100.1", "198.51.100.2", TARGET))
        == stored[0].values["ip_path_id"]
    )
    assert fresh.as_path_id((-2, 64496, 64496, 64499)) == stored[0].values["as_path_id"]
    # Addresses are compared in canonical form.
    v6 = fresh.ip_path_id("ipv6", ["2001:DB8:0::1", None])
    assert fresh.ip_path_id("ipv6", ["2001:db8::1", None]) == v6
    assert fresh.ip_path(v6)["hops"] == ["2001:db8::1", None]
    assert path_registry(services) is path_registry(services)
    with pytest.raises(UnknownPath):
        fresh.ip_path(10_000)
    with pytest.raises(UnknownPath):
        fresh.as_path(10_000)
    with pytest.raises(BadReport):
        fresh.ip_path_id("ipv4", ["2001:db8::1"])


def test_distinct_paths(services: Services) -> None:
    from nntsc.store.paths import distinct_paths, path_registry

    sequence = [ROUTE_A, ROUTE_B, ROUTE_A, ROUTE_C, ROUTE_A, ROUTE_B]
    ingest(
        services,
        [("mon-a", START + i * STEP, report_bytes(route)) for i, route in enumerate(sequence)]
        # An untested target has no path and is not counted.
        + [("mon-a", START + 6 * STEP, report_unresolved())],
    )
    sid = stream(services, TRACEROUTE)
    found = distinct_paths(services, TRACEROUTE, sid, START, START + 7 * STEP)
    paths = path_registry(services)
    a = paths.ip_path_id("ipv4", ["10.0.0.1", "198.51.100.1", "198.51.100.2", TARGET])
    b = paths.ip_path_id("ipv4", ["10.0.0.1", "198.51.100.7", None, TARGET])
    c = paths.ip_path_id("ipv4", ["10.0.0.1", "203.0.113.1", "203.0.113.2", TARGET])
    assert [(p["path_id"], p["count"], p["first_seen"], p["last_seen"]) for p in found] == [
        (a, 3, START, START + 4 * STEP),
        (b, 2, START + STEP, START + 5 * STEP),
        (c, 1, START + 3 * STEP, START + 3 * STEP),
    ]
    assert found[1]["hops"] == ["10.0.0.1", "198.51.100.7", None, TARGET]
    assert found[1]["family"] == "ipv4"
    # [start, end) bounds, and a collection given by name.
    narrow = distinct_paths(services, "amp-traceroute", sid, START + STEP, START + 3 * STEP)
    assert [(p["path_id"], p["count"]) for p in narrow] == [(b, 1), (a, 1)]
    assert distinct_paths(services, TRACEROUTE, sid, START - 10, START) == []


def report_unresolved() -> bytes:
    return wire.encode(
        "traceroute",
        {
            "header": {"ip": True, "asn": True},
            "reports": [{"name": "target", "family": socket.AF_INET, "path": []}],
        },
    )


def test_as_path_changes(services: Services) -> None:
    from nntsc.store.paths import as_path_changes

    # A and B have different AS paths (B has a silent hop); A and C too.
    sequence = [ROUTE_A, ROUTE_A, ROUTE_B, None, ROUTE_B, ROUTE_C, ROUTE_A]
    ingest(
        services,
        [
            (
                "mon-a",
                START + i * STEP,
                report_unresolved() if route is None else report_bytes(route),
            )
            for i, route in enumerate(sequence)
        ],
    )
    sid = stream(services, ASTRACEROUTE)
    changes = as_path_changes(services, sid, START, START + 7 * STEP)
    assert [(c["timestamp"], c["from_path"], c["to_path"]) for c in changes] == [
        (START + 2 * STEP, AS_AB, AS_B),  # the untested report in between is no change
        (START + 5 * STEP, AS_B, AS_C),
        (START + 6 * STEP, AS_C, AS_AB),
    ]
    assert changes[0]["from_path_id"] == changes[2]["to_path_id"]
    # The IP collection's stream keeps the AS path too.
    ip_changes = as_path_changes(services, stream(services, TRACEROUTE), START, START + 7 * STEP)
    assert [c["timestamp"] for c in ip_changes] == [c["timestamp"] for c in changes]
    assert as_path_changes(services, sid, START, START + 2 * STEP) == []


def test_as_path_changes_ignore_a_silent_end(services: Services) -> None:
    """A path whose last hops stop answering is the same path: no change, no change back."""
    from nntsc.store.paths import as_path_changes

    quiet_end = hops(("10.0.0.1", -2), ("198.51.100.1", 64496), (None, -1), (None, -1))
    sequence = [ROUTE_A, ROUTE_A, quiet_end, ROUTE_A, quiet_end, quiet_end, ROUTE_C]
    ingest(
        services,
        [("mon-a", START + i * STEP, report_bytes(route)) for i, route in enumerate(sequence)],
    )
    sid = stream(services, ASTRACEROUTE)
    changes = as_path_changes(services, sid, START, START + 7 * STEP)
    assert [(c["timestamp"], c["to_path"]) for c in changes] == [(START + 6 * STEP, AS_C)]


def test_bad_report_writes_nothing(services: Services) -> None:
    bad = wire.decode("traceroute", report_bytes(ROUTE_A))
    bad["reports"][0]["path"][1]["address"] = ip("2001:db8::1")
    with Ingestor(services) as ingestor, pytest.raises(BadReport):
        ingestor.add_report([TRACEROUTE, ASTRACEROUTE], bad, "mon-a", START)
    for table in (
        "traceroute_ip_paths",
        "traceroute_as_paths",
        "streams",
        "data_amp_traceroute",
        "data_amp_astraceroute",
    ):
        assert count(services, table) == 0


def test_concurrent_registries_do_not_duplicate(services: Services, postgres_url: str) -> None:
    from nntsc.store.paths import PathRegistry

    engines = [create_engine(postgres_url, pool_size=2) for _ in range(2)]
    registries = [PathRegistry(sessionmaker(engine)) for engine in engines]
    routes = [("ipv4", (f"10.0.{n // 250}.{n % 250 + 1}", None, "192.0.2.9")) for n in range(300)]
    as_routes = [(64496, 64496, n, -1) for n in range(1, 301)]
    barrier = threading.Barrier(4)
    results: list[tuple[str, int, dict]] = []
    errors: list[BaseException] = []

    def work(index: int, kind: str) -> None:
        registry = registries[index]
        try:
            barrier.wait()
            found: dict = {}
            # One at a time, in opposite orders, then all at once.
            keys = routes if kind == "ip" else as_routes
            order = keys if index == 0 else list(reversed(keys))
            for key in order:
                if kind == "ip":
                    found[key] = registry.ip_path_id(*key)
                else:
                    found[key] = registry.as_path_id(key)
            bulk = registry.ip_path_ids(keys) if kind == "ip" else registry.as_path_ids(keys)
            assert bulk == found
            results.append((kind, index, found))
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(index, kind))
        for index in (0, 1)
        for kind in ("ip", "as")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert not errors
    by_kind: dict[str, list[dict]] = {"ip": [], "as": []}
    for kind, _, found in results:
        by_kind[kind].append(found)
    assert by_kind["ip"][0] == by_kind["ip"][1]
    assert by_kind["as"][0] == by_kind["as"][1]
    assert count(services, "traceroute_ip_paths") == 300
    assert count(services, "traceroute_as_paths") == 300
    assert len(set(by_kind["ip"][0].values())) == 300


def test_insert_racing_an_open_transaction_gets_its_id(services: Services) -> None:
    """A path being inserted by another writer: wait for its commit and use its id."""
    from nntsc.store.paths import PathRegistry, ip_fingerprint, ip_path_table

    hops = ["10.9.9.1", None, TARGET]
    result: list[int] = []
    with services.engine.connect() as other:
        transaction = other.begin()
        other_id = other.execute(
            ip_path_table.insert()
            .values(
                family="ipv4",
                length=3,
                hops=hops,
                fingerprint=ip_fingerprint("ipv4", hops),
            )
            .returning(ip_path_table.c.path_id)
        ).scalar_one()
        registry = PathRegistry(sessionmaker(services.engine))
        thread = threading.Thread(target=lambda: result.append(registry.ip_path_id("ipv4", hops)))
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # blocked on the uncommitted duplicate
        transaction.commit()
    thread.join(timeout=30)
    assert result == [other_id]
    assert count(services, "traceroute_ip_paths") == 1


def test_paths_on_sqlite(tmp_path) -> None:
    from nntsc.store.paths import distinct_paths

    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        ingest(
            services,
            [("mon-a", START + i * STEP, report_bytes(r)) for i, r in enumerate([ROUTE_A] * 3)],
        )
        assert count(services, "traceroute_ip_paths") == 1
        assert count(services, "traceroute_as_paths") == 1
        found = distinct_paths(
            services, TRACEROUTE, stream(services, TRACEROUTE), START, START + 3600
        )
        assert [p["count"] for p in found] == [3]
    finally:
        services.close()


def test_a_small_cache_evicts_least_recently_used(services: Services) -> None:
    from nntsc.store.paths import PathRegistry

    registry = PathRegistry(services.sessionmaker, cache_size=2)
    first = registry.as_path_id((1, 2))
    second = registry.as_path_id((1, 3))
    assert registry.as_path_id((1, 2)) == first  # now the most recently used
    third = registry.as_path_id((1, 4))  # evicts (1, 3)
    assert len(registry._as_ids) == 2
    assert registry._as_ids.get((1, 3)) is None
    assert registry._as_ids.get((1, 2)) == first
    # An evicted path is found again in the database, not inserted twice.
    assert registry.as_path_id((1, 3)) == second
    assert len({first, second, third}) == 3
    assert count(services, "traceroute_as_paths") == 3
