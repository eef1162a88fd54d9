"""ampy against real stores: SQLite + memory cache, and PostgreSQL + InfluxDB + Redis.

One database per store kind holds a small simulated mesh (3 sites, 26 hours,
5-minute ICMP and TCP ping, DNS), loaded through the real ingest path, with
the demo's sites and meshes. The data ends at the current 5-minute bin so
that the matrix's last closed hour and the tooltip's 24 hours have data. Two
hours have no report at all (every bin there must be null), and one pair's
ICMP data stops four hours early (its matrix cells must be stale).

Each test builds its own `Ampy` with its own cache (a fresh memory region,
or its own Redis key namespace), so no test sees another's cached blocks.
Hand computations read raw rows and aggregate them here.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from ampy.api import Ampy
from ampy.cache import BLOCK_BINS
from ampy.errors import BadQuery, BadTimeRange, UnknownCollection, UnknownMetric, UnknownView
from ampy.groups import make_group
from ampy.matrix import RELATIVE_STEPS
from nntsc.collections import for_amp_test
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.demo import (
    DEMO_MONITOR_MESH,
    DEMO_TARGET_MESH,
    DNS_RESOLVER,
    SimulatedMesh,
    demo_sites_and_meshes,
)
from nntsc.errors import StoreUnavailable, UnknownMesh
from nntsc.ingest.pipeline import Ingestor
from nntsc.store.rollups import SETTLE
from tests.conftest import INFLUX_HOST, POSTGRES_ADMIN_URL, _unique, make_services

HOUR = 3600
DAY = 86400
INTERVAL = 300
SITES = 3
SEED = 5
TESTS = ("icmp", "tcpping", "dns")
REDIS_URL = "redis://127.0.0.1:6379/2"
#: A TCP ping stream registered without data: its packet size makes a level with two values.
EXTRA_TCPPING_SIZE = "1500"

ICMP = get_collection("amp-icmp")
DNS = get_collection("amp-dns")


@dataclass(frozen=True)
class Dataset:
    """Where the loaded data is, and its shape."""

    sql_url: str
    timeseries_url: str
    cache_url: str
    start: int
    end: int
    gap_start: int
    gap_end: int
    #: The pair whose ICMP data stops at `stop`.
    stale_pair: tuple[str, str]
    stop: int
    sites: tuple[str, ...]

    @property
    def fresh_pair(self) -> tuple[str, str]:
        return (self.sites[1], self.sites[0])


def load(sql_url: str, timeseries_url: str, cache_url: str) -> Dataset:
    now = int(time.time())
    end = now - now % INTERVAL + INTERVAL  # the last report is at the current 5-minute bin
    start = end - 26 * HOUR
    gap_start = start - start % HOUR + 6 * HOUR
    # Reports reach back to the start of the day the relative matrix compares with.
    loaded_from = min(start, baseline_day(now)[0] - HOUR)
    mesh = SimulatedMesh(SITES, loaded_from, end, INTERVAL, seed=SEED)
    sites = tuple(site.name for site in mesh.sites)
    stale_pair = (sites[0], sites[2])
    stop = end - 4 * HOUR
    assert not any(behaviour.unreachable for behaviour in mesh.pairs.values())
    data = Dataset(
        sql_url,
        timeseries_url,
        cache_url,
        start,
        end,
        gap_start,
        gap_start + 2 * HOUR,
        stale_pair,
        stop,
        sites,
    )
    services = make_services(sql_url, timeseries_url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        with Ingestor(services) as ingestor:
            for test, source, timestamp, report in mesh.test_reports(TESTS):
                if data.gap_start <= timestamp < data.gap_end:
                    continue
                if test == "icmp" and source == stale_pair[0] and timestamp >= stop:
                    report = {
                        **report,
                        "reports": [r for r in report["reports"] if r["name"] != stale_pair[1]],
                    }
                ingestor.add_report(for_amp_test(test), report, source, timestamp)
        services.streams.stream_id(
            get_collection("amp-tcpping"),
            {
                "source": sites[0],
                "destination": sites[1],
                "port": "443",
                "family": "ipv4",
                "packet_size": EXTRA_TCPPING_SIZE,
            },
        )
        services.timeseries.process_rollups()
    finally:
        services.close()
    return data


@pytest.fixture(scope="module", params=["sqlite-memory", "postgres-influx-redis"])
def dataset(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dataset]:
    if request.param == "sqlite-memory":
        url = f"sqlite:///{tmp_path_factory.mktemp('ampy')}/nntsc.sqlite"
        yield load(url, "sql", "memory://")
        return
    # The conftest fixtures are per test; this database is shared by the module.
    name = _unique("nntsc_test_ampy")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield load(
            POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
            f"influxdb://{INFLUX_HOST}/{name}",
            REDIS_URL,
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        requests.post(
            f"http://{INFLUX_HOST}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=30
        )


@pytest.fixture
def make_ampy(dataset: Dataset) -> Iterator[Callable[..., Ampy]]:
    """Builds `Ampy` objects on the dataset, each with a cache of its own."""
    made: list[tuple[Ampy, str]] = []

    def build(cache_url: str | None = None) -> Ampy:
        namespace = f"test-ampy-{uuid.uuid4().hex}"
        services = make_services(
            dataset.sql_url,
            dataset.timeseries_url,
            **{
                "ampy.cache_url": cache_url or dataset.cache_url,
                "ampy.cache_namespace": namespace,
            },
        )
        ampy = Ampy(services)
        made.append((ampy, namespace))
        return ampy

    yield build
    for ampy, namespace in made:
        ampy.close()
        if dataset.cache_url.startswith("redis"):
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(f"{namespace}:*"))
            if keys:
                client.delete(*keys)
            client.close()


@pytest.fixture
def ampy(make_ampy: Callable[..., Ampy]) -> Ampy:
    return make_ampy()


class Counting:
    """Wraps a store method: counts calls and still calls it; can fail chosen calls."""

    def __init__(self, method: Callable[..., Any], delay: float = 0.0) -> None:
        self.method = method
        self.delay = delay
        self.calls: list[tuple[int, int]] = []
        self.fail_next = 0
        self.lock = threading.Lock()

    def __call__(self, collection: Any, stream_ids: Any, start: int, end: int, *a: Any, **k: Any):
        with self.lock:
            self.calls.append((start, end))
            fail = self.fail_next > 0
            self.fail_next -= fail
        if self.delay:
            time.sleep(self.delay)
        result = self.method(collection, stream_ids, start, end, *a, **k)
        if fail:
            # The store answered, but too late or cut short: nothing of it may be kept.
            raise StoreUnavailable("timed out (test)")
        return result


def count_aggregate(ampy: Ampy, monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> Counting:
    store = ampy.services.timeseries
    counting = Counting(store.aggregate, delay)
    monkeypatch.setattr(store, "aggregate", counting)
    return counting


# ---------------------------------------------------------------- hand computations


def raw_rows(ampy: Ampy, collection: Any, ids: Sequence[int], start: int, end: int):
    return ampy.services.timeseries.raw(collection, ids, start, end)


def mean_of(rows: Sequence[Any], field: str, scale: float) -> float | None:
    values = [r.values[field] for r in rows if r.values[field] is not None]
    return scale * sum(values) / len(values) if values else None


def stream_ids(ampy: Ampy, collection: str, **filters: str) -> list[int]:
    page = ampy.find_streams(collection, filters, pagesize=1000)
    assert not page.has_more
    return sorted(s.stream_id for s in page.items)


def icmp_view(ampy: Ampy, source: str, destination: str, family: str = "SPLIT") -> str:
    group = ampy.group(
        "amp-icmp",
        {"source": source, "destination": destination, "packet_size": "84"},
        {"FAMILY": family},
    )
    return ampy.create_view("latency", [group])


def assert_one_row_per_bin(rows: list[list[Any]], start: int, end: int, binsize: int) -> None:
    timestamps = [row[0] for row in rows]
    assert timestamps
    assert all(t % binsize == 0 for t in timestamps)
    assert all(b - a == binsize for a, b in itertools.pairwise(timestamps))
    assert timestamps[0] <= start < timestamps[0] + binsize
    assert timestamps[-1] < end <= timestamps[-1] + binsize


# ---------------------------------------------------------------- options


def test_options_first_level(ampy: Ampy, dataset: Dataset) -> None:
    options = ampy.options("amp-icmp")
    assert options.property == "source"
    assert options.selected == []
    assert [item.value for item in options.items] == sorted(dataset.sites)
    assert [item.label for item in options.items] == sorted(dataset.sites)
    assert options.total == SITES
    assert options.has_more is False


def test_options_term_is_case_insensitive_substring(ampy: Ampy, dataset: Dataset) -> None:
    wanted = dataset.sites[1]
    options = ampy.options("amp-icmp", term=wanted[-2:].upper())
    assert [item.value for item in options.items] == [wanted]
    assert options.total == 1
    assert ampy.options("amp-icmp", term="AMP-").total == SITES
    nothing = ampy.options("amp-icmp", term="%")
    assert nothing.items == []
    assert nothing.total == 0
    assert nothing.has_more is False


def test_options_pages(ampy: Ampy, dataset: Dataset) -> None:
    seen = []
    for page in (1, 2):
        options = ampy.options("amp-icmp", page=page, pagesize=2)
        assert options.total == SITES
        assert options.has_more is (page == 1)
        seen += [item.value for item in options.items]
    assert seen == sorted(dataset.sites)
    beyond = ampy.options("amp-icmp", page=3, pagesize=2)
    assert beyond.items == []
    assert beyond.total == SITES
    assert beyond.has_more is False
    beyond_term = ampy.options("amp-icmp", term="amp", page=9, pagesize=2)
    assert beyond_term.items == []
    assert beyond_term.total == SITES


def test_options_descend_single_valued_levels(ampy: Ampy, dataset: Dataset) -> None:
    source, destination = dataset.sites[0], dataset.sites[1]
    # ICMP has one packet size: the selection is complete, with the family split to choose.
    icmp = ampy.options("amp-icmp", [source, destination])
    assert icmp.property is None
    assert icmp.selected == [source, destination, "84"]
    assert icmp.items == []
    assert [(s.keyword, s.choices) for s in icmp.splits] == [
        ("FAMILY", ("SPLIT", "ALL", "ipv4", "ipv6"))
    ]
    # TCP ping: one port (chosen), then two packet sizes to browse.
    tcp = ampy.options("amp-tcpping", [source, destination])
    assert tcp.property == "packet_size"
    assert tcp.selected == [source, destination, "443"]
    assert [item.value for item in tcp.items] == ["1500", "64"]
    # The term applies to the level browsed only: "15" matches no port, yet 443 is chosen.
    termed = ampy.options("amp-tcpping", [source, destination], term="15")
    assert termed.selected == [source, destination, "443"]
    assert [item.value for item in termed.items] == ["1500"]
    assert termed.total == 1
    # The other pairs have one size: descended to the end.
    other = ampy.options("amp-tcpping", [destination, source])
    assert other.property is None
    assert other.selected == [destination, source, "443", "64"]


def test_options_dns_descends_to_the_end(ampy: Ampy, dataset: Dataset) -> None:
    options = ampy.options("amp-dns", [dataset.sites[0], DNS_RESOLVER])
    assert options.property is None
    assert options.selected[:3] == [dataset.sites[0], DNS_RESOLVER, "www.example.com"]
    assert len(options.selected) == 9
    assert options.splits[0].keyword == "FAMILY"


def test_latency_style_pages_across_collections(ampy: Ampy, dataset: Dataset) -> None:
    source = dataset.sites[0]
    expected = sorted(
        {
            s.properties["destination"]
            for collection in ("amp-icmp", "amp-tcpping", "amp-dns")
            for s in ampy.find_streams(collection, {"source": source}, pagesize=1000).items
        }
    )
    assert DNS_RESOLVER in expected  # only DNS has it
    assert len(expected) == SITES
    seen = []
    for page in range(1, len(expected) + 1):
        options = ampy.options("latency", [source], page=page, pagesize=1)
        assert options.property == "destination"
        assert options.total == len(expected)
        assert options.has_more is (page < len(expected))
        seen += [item.value for item in options.items]
    assert seen == expected
    past = ampy.options("latency", [source], page=len(expected) + 1, pagesize=1)
    assert past.items == []
    assert past.total == len(expected)
    assert past.has_more is False
    termed = ampy.options("latency", [source], term="8.8")
    assert [item.value for item in termed.items] == [DNS_RESOLVER]
    assert termed.total == 1
    assert [item.value for item in ampy.options("latency").items] == sorted(dataset.sites)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"page": 0}, "page"),
        ({"pagesize": 0}, "pagesize"),
        ({"pagesize": 100_000}, "pagesize"),
        ({"term": "x" * 500}, "term"),
        ({"selected": ["a", "b", "c", "d"]}, "selected"),
        ({"selected": ["amp-nowhere", "x"]}, "amp-nowhere"),
        ({"selected": ["amp-nowhere"]}, "amp-nowhere"),
    ],
)
def test_options_bad_requests(ampy: Ampy, kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(BadQuery) as raised:
        ampy.options("amp-icmp", **kwargs)
    assert named in str(raised.value)


def test_options_complete_selection_no_stream_has(ampy: Ampy, dataset: Dataset) -> None:
    with pytest.raises(BadQuery, match="selected"):
        ampy.options("amp-icmp", [dataset.sites[0], dataset.sites[1], "9000"])


def test_options_unknown_collection(ampy: Ampy) -> None:
    with pytest.raises(UnknownCollection):
        ampy.options("amp-nothing")


# ---------------------------------------------------------------- legends


def test_legend_lines_are_the_streams_of_the_table(ampy: Ampy, dataset: Dataset) -> None:
    source, destination = dataset.sites[0], dataset.sites[1]
    view_id = icmp_view(ampy, source, destination)
    legend = ampy.legend(view_id)
    assert legend.style == "latency"
    assert [line.line_id for line in legend.lines] == ["g0-ipv4", "g0-ipv6"]
    for line, family in zip(legend.lines, ("ipv4", "ipv6"), strict=True):
        expected = stream_ids(
            ampy, "amp-icmp", source=source, destination=destination, family=family
        )
        assert list(line.stream_ids) == expected
        assert line.collection == "amp-icmp"
        assert line.label == family.replace("ipv", "IPv")
    assert len({line.colour for line in legend.lines}) == 2

    # DNS splits by the family of each address; ALL draws one line of everything.
    dns_values = dict(
        zip(
            ("source", "destination", "query", "query_type", "query_class",
             "udp_payload_size", "recurse", "dnssec", "nsid"),
            ampy.options("amp-dns", [source, destination]).selected,
            strict=True,
        )
    )  # fmt: skip
    dns_all = make_group("amp-dns", dns_values, {"FAMILY": "ALL"})
    mixed = ampy.add_group(view_id, dns_all)
    lines = ampy.legend(mixed).lines
    dns_lines = [line for line in lines if line.collection == "amp-dns"]
    assert len(dns_lines) == 1
    assert list(dns_lines[0].stream_ids) == stream_ids(
        ampy, "amp-dns", source=source, destination=destination
    )
    assert len(lines) == 3
    assert len({line.colour for line in lines}) == 3
    # The same view twice: the same lines and colours.
    assert ampy.legend(mixed) == ampy.legend(mixed)
    assert ampy.legend(mixed).as_dict()["groups"] == sorted(
        [make_group("amp-icmp", {"source": source, "destination": destination,
                                 "packet_size": "84"}).description, dns_all.description]
    )  # fmt: skip


# ---------------------------------------------------------------- history


def check_gap(columns: list[str], rows: list[list[Any]], binsize: int, data: Dataset) -> None:
    inside = [row for row in rows if data.gap_start <= row[0] and row[0] + binsize <= data.gap_end]
    assert inside, "no bin lies wholly inside the gap"
    for row in inside:
        assert row[1:] == [None] * (len(columns) - 1), row
    outside = [row for row in rows if row[0] + binsize <= data.gap_start or row[0] >= data.gap_end]
    filled = [row for row in outside if row[1] is not None]
    assert len(filled) >= 0.9 * len(outside)


@pytest.mark.parametrize("detail", ["full", "summary", "matrix", "tooltip", "spark"])
def test_view_history_one_row_per_bin_with_nulls_in_the_gap(
    ampy: Ampy, dataset: Dataset, detail: str
) -> None:
    source, destination = dataset.fresh_pair
    view_id = icmp_view(ampy, source, destination)
    start, end = dataset.start + 17, dataset.end - 29
    lines = ampy.view_history(view_id, start, end, detail)
    assert [line.line_id for line in lines] == ["g0-ipv4", "g0-ipv6"]
    for line in lines:
        assert line.columns[:2] == ["timestamp", "latency"]
        assert line.units["latency"] == "ms"
        assert_one_row_per_bin(line.rows, start, end, line.binsize)
        assert all(len(row) == len(line.columns) for row in line.rows)
        check_gap(line.columns, line.rows, line.binsize, dataset)
    if detail in ("full", "summary"):
        assert lines[0].binsize == 300
        assert "smoke" in lines[0].columns
    else:
        assert len(lines[0].rows) <= 50
        assert "smoke" not in lines[0].columns


def test_view_history_values_equal_raw_means(ampy: Ampy, dataset: Dataset) -> None:
    source, destination = dataset.fresh_pair
    view_id = icmp_view(ampy, source, destination, "ipv4")
    start, end = dataset.end - 6 * HOUR, dataset.end
    (line,) = ampy.view_history(view_id, start, end, "full", binsize=1800)
    # Bins are whole: the first starts before `start`, the last ends after `end`.
    first, last = line.rows[0][0], line.rows[-1][0] + 1800
    raw = raw_rows(ampy, ICMP, line_streams(ampy, view_id), first, last)
    column = line.columns.index("latency")
    checked = 0
    for row in line.rows:
        inside = [r for r in raw if row[0] <= r.timestamp < row[0] + 1800]
        expected = mean_of(inside, "median", 0.001)
        if expected is None:
            assert row[column] is None
        else:
            assert row[column] == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked >= 10


def line_streams(ampy: Ampy, view_id: str) -> list[int]:
    return [s for line in ampy.legend(view_id).lines for s in line.stream_ids]


def test_view_history_raw(ampy: Ampy, dataset: Dataset) -> None:
    source, destination = dataset.fresh_pair
    view_id = icmp_view(ampy, source, destination, "ipv4")
    start, end = dataset.gap_start - HOUR, dataset.gap_end + HOUR
    (line,) = ampy.view_history(view_id, start, end, "raw")
    assert line.binsize == 0
    assert line.columns[:3] == ["timestamp", "stream_id", "median"]
    timestamps = [row[0] for row in line.rows]
    assert timestamps
    assert not [t for t in timestamps if dataset.gap_start <= t < dataset.gap_end]
    assert all(start <= t < end for t in timestamps)
    expected = raw_rows(ampy, ICMP, line_streams(ampy, view_id), start, end)
    assert len(line.rows) == len(expected)


# ---------------------------------------------------------------- cache


def history_ranges(data: Dataset) -> list[tuple[int, int, str]]:
    now = int(time.time())
    block = 300 * BLOCK_BINS
    boundary = data.gap_end + block - data.gap_end % block
    return [
        (data.start, data.end, "full"),
        (data.start + 17, data.end - 29, "summary"),
        (boundary - 2 * block - 700, boundary + block + 1100, "full"),  # across three boundaries
        (boundary - 300, boundary + 300, "full"),  # two bins either side of one
        (now - 3 * HOUR - 13, now, "full"),  # reaching to now
        (now - 2 * DAY, now + HOUR, "spark"),  # beyond the data both ways
        (data.start, now, "matrix"),
        (now - 20 * HOUR, now - HOUR, "tooltip"),
    ]


def test_cached_history_is_identical_to_uncached(
    make_ampy: Callable[..., Ampy], dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    uncached = make_ampy("null://")
    cached = make_ampy()
    assert cached.cache.region is not None
    counting = count_aggregate(cached, monkeypatch)
    source, destination = dataset.fresh_pair
    view_id = icmp_view(cached, source, destination)
    for index, (start, end, detail) in enumerate(history_ranges(dataset)):
        expected = uncached.view_history(view_id, start, end, detail)
        first = cached.view_history(view_id, start, end, detail)
        assert first == expected, (start, end, detail)
        computed = len(counting.calls)
        if index == 0:
            assert computed > 0, "a fresh cache answered without the store"
        second = cached.view_history(view_id, start, end, detail)
        assert second == expected, (start, end, detail)
        assert len(counting.calls) == computed, "the second call read the store"
    # Panning within blocks already fetched reads nothing more.
    calls = len(counting.calls)
    panned = cached.view_history(view_id, dataset.start + 300, dataset.end - 600, "full")
    assert len(counting.calls) == calls
    assert panned == uncached.view_history(view_id, dataset.start + 300, dataset.end - 600)


def test_first_call_reads_whole_blocks_once(
    ampy: Ampy, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = count_aggregate(ampy, monkeypatch)
    view_id = icmp_view(ampy, *dataset.fresh_pair, "ipv4")
    start, end = dataset.start, dataset.end
    ampy.view_history(view_id, start, end, "full")
    length = 300 * BLOCK_BINS
    assert counting.calls
    for first, last in counting.calls:
        assert first % length == 0
        assert last % length == 0
    # Finished blocks in one query, the recent one in another at most.
    assert len(counting.calls) <= 2
    covered = sorted(counting.calls)
    assert covered[0][0] <= start
    assert covered[-1][1] >= end


def test_failed_store_call_caches_nothing(
    make_ampy: Callable[..., Ampy], dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    uncached = make_ampy("null://")
    ampy = make_ampy()
    counting = count_aggregate(ampy, monkeypatch)
    view_id = icmp_view(ampy, *dataset.fresh_pair, "ipv4")
    start, end = dataset.end - 8 * HOUR, dataset.end - 3 * HOUR
    counting.fail_next = 1
    with pytest.raises(StoreUnavailable):
        ampy.view_history(view_id, start, end)
    failed = list(counting.calls)
    assert failed
    # The same blocks are read again, and the answer is the store's.
    answer = ampy.view_history(view_id, start, end)
    assert counting.calls[len(failed) :] == failed
    assert answer == uncached.view_history(view_id, start, end)
    # Now they are cached.
    calls = len(counting.calls)
    assert ampy.view_history(view_id, start, end) == answer
    assert len(counting.calls) == calls


def test_unreachable_store_fails_quickly_and_caches_nothing(
    make_ampy: Callable[..., Ampy], dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The InfluxDB store (SQL store on SQLite) pointed at a dead port for one call."""
    ampy = make_ampy()
    view_id = icmp_view(ampy, *dataset.fresh_pair, "ipv4")
    start, end = dataset.end - 5 * HOUR, dataset.end - 2 * HOUR
    store = ampy.services.timeseries
    if dataset.timeseries_url.startswith("influxdb"):
        # Nothing listens on port 9 (discard) on the test machines.
        broken = Services.from_settings(
            {"nntsc.sql_url": dataset.sql_url, "nntsc.timeseries_url": "influxdb://127.0.0.1:9/x"},
            environ={},
        )
        try:
            monkeypatch.setattr(store, "aggregate", broken.timeseries.aggregate)
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                ampy.view_history(view_id, start, end)
            assert time.monotonic() - started < 30
            monkeypatch.undo()
        finally:
            broken.close()
    counting = count_aggregate(ampy, monkeypatch)
    ampy.view_history(view_id, start, end)
    assert counting.calls


def test_concurrent_misses_compute_once(
    make_ampy: Callable[..., Ampy], dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    view_id = icmp_view(make_ampy(), *dataset.fresh_pair, "ipv4")
    start, end = dataset.end - 10 * HOUR, dataset.end - 4 * HOUR
    # How many store queries one caller makes for this range.
    alone = make_ampy()
    solo = count_aggregate(alone, monkeypatch)
    expected = alone.view_history(view_id, start, end)
    ampy = make_ampy()
    counting = count_aggregate(ampy, monkeypatch, delay=0.3)
    threads = 6
    barrier = threading.Barrier(threads)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def ask() -> None:
        barrier.wait()
        try:
            answers.append(ampy.view_history(view_id, start, end))
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors
    assert len(answers) == threads
    assert all(answer == expected for answer in answers)
    assert sorted(counting.calls) == sorted(solo.calls)


# ---------------------------------------------------------------- matrix


def last_closed_hour() -> tuple[int, int]:
    end = int(time.time()) - SETTLE
    end -= end % HOUR
    return end - HOUR, end


def pair_streams(ampy: Ampy, source: str, destination: str, family: str) -> list[int]:
    return stream_ids(
        ampy, "amp-icmp", source=source, destination=destination, family=family, packet_size="84"
    )


def test_latency_matrix_equals_raw_rows_of_the_last_closed_hour(
    ampy: Ampy, dataset: Dataset
) -> None:
    matrix = ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    # The hour may have turned since the matrix was made.
    assert matrix.end in (last_closed_hour()[1], last_closed_hour()[0])
    assert matrix.end - matrix.start == HOUR
    assert matrix.sources == matrix.destinations == sorted(dataset.sites)
    assert matrix.splits == ["ipv4", "ipv6"]
    assert matrix.unit == "ms"
    pairs = {(s, d) for s in dataset.sites for d in dataset.sites if s != d}
    assert {(c.source, c.destination) for c in matrix.cells} == pairs
    now = time.time()
    for cell in matrix.cells:
        ids = pair_streams(ampy, cell.source, cell.destination, cell.split)
        assert ids, cell
        rows = raw_rows(ampy, ICMP, ids, matrix.start, matrix.end)
        expected = mean_of(rows, "median", 0.001)
        stale = (cell.source, cell.destination) == dataset.stale_pair
        if stale:
            assert cell.value is None
            assert cell.colour_class == "none"
            assert cell.stale is True
            assert cell.last_result is not None
            assert cell.last_result < dataset.stop
        else:
            assert expected is not None
            assert cell.value == pytest.approx(expected, rel=1e-9, abs=1e-9)
            assert cell.stale is False, cell
            assert now - cell.last_result <= 600 + 60
            assert cell.colour_class.startswith("c")
        assert cell.baseline is None
        # The cell opens a view whose lines are its streams.
        legend = ampy.legend(cell.view_id)
        assert legend.style == "latency"
        by_id = {line.line_id: list(line.stream_ids) for line in legend.lines}
        assert by_id[f"g0-{cell.split}"] == ids


def test_loss_matrix_equals_raw_rows(ampy: Ampy, dataset: Dataset) -> None:
    matrix = ampy.matrix("loss", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    assert matrix.unit == "%"
    for cell in matrix.cells:
        if (cell.source, cell.destination) == dataset.stale_pair:
            continue
        ids = pair_streams(ampy, cell.source, cell.destination, cell.split)
        rows = raw_rows(ampy, ICMP, ids, matrix.start, matrix.end)
        lost = sum(r.values["loss"] or 0 for r in rows)
        sent = sum(r.values["results"] or 0 for r in rows)
        assert cell.value == pytest.approx(100.0 * lost / sent, abs=1e-9)


def baseline_day(now: float) -> tuple[int, int]:
    """The relative mode's baseline: the last UTC day closed (and settled) by the matrix's hour."""
    hour_end = int(now) - SETTLE
    hour_start = hour_end - hour_end % HOUR - HOUR
    day_end = hour_start - hour_start % DAY
    if day_end + SETTLE > now:
        day_end -= DAY
    return day_end - DAY, day_end


def baseline_window(matrix: Any) -> tuple[int, int]:
    return baseline_day(matrix.generated)


def test_relative_matrix_baseline_is_the_last_complete_day(ampy: Ampy, dataset: Dataset) -> None:
    matrix = ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH, "relative")
    assert matrix.mode == "relative"
    checked = 0
    for cell in matrix.cells:
        ids = pair_streams(ampy, cell.source, cell.destination, cell.split)
        rows = raw_rows(ampy, ICMP, ids, *baseline_window(matrix))
        baseline = mean_of(rows, "median", 0.001)
        assert baseline is not None
        assert cell.baseline == pytest.approx(baseline, rel=1e-9)
        if cell.value is None:
            assert cell.colour_class == "none"
            continue
        change = (cell.value - baseline) / baseline
        assert cell.colour_class == f"c{sum(1 for step in RELATIVE_STEPS if change >= step)}"
        checked += 1
    assert checked >= len(matrix.cells) - 2


def test_dns_matrix_to_the_target_mesh(ampy: Ampy, dataset: Dataset) -> None:
    matrix = ampy.matrix("dns", DEMO_MONITOR_MESH, DEMO_TARGET_MESH)
    assert DNS_RESOLVER in matrix.destinations
    resolver_cells = [c for c in matrix.cells if c.destination == DNS_RESOLVER]
    assert {c.source for c in resolver_cells} == set(dataset.sites)
    assert {c.split for c in resolver_cells} == {"ipv4"}
    for cell in matrix.cells:
        filters = {"source": cell.source, "destination": cell.destination}
        if cell.destination != DNS_RESOLVER:
            filters["recurse"] = "false"  # the metric's preferred variant
        ids = [
            s.stream_id
            for s in ampy.find_streams("amp-dns", filters, pagesize=1000).items
            if (":" in s.properties["address"]) == (cell.split == "ipv6")
        ]
        rows = raw_rows(ampy, DNS, ids, matrix.start, matrix.end)
        assert cell.value == pytest.approx(mean_of(rows, "rtt", 0.001), rel=1e-9)
        assert cell.stale is False


def test_matrix_cells_carry_their_recent_events(ampy: Ampy, dataset: Dataset) -> None:
    """A cell lists its streams' recent events (6 hours, newest first), says if one is open."""
    from nntsc.events.models import Event, EventGroup, EventGroupMember
    from tests.events_factory import event_row, store_events

    source, destination = dataset.fresh_pair
    (ipv4,) = pair_streams(ampy, source, destination, "ipv4")
    (ipv6,) = pair_streams(ampy, destination, source, "ipv6")
    (tcpping, *_) = stream_ids(
        ampy, "amp-tcpping", source=source, destination=destination, family="ipv4"
    )
    now = int(time.time())
    ends = {"source": source, "target": destination}
    rows = [
        event_row(ipv4, now - 8 * HOUR, severity=90, **ends),  # before the window
        event_row(ipv4, now - 2 * HOUR, severity=70, description="the older", **ends),
        event_row(ipv4, now - 60, severity=20, description="the newer", **ends),
        event_row(ipv6, now - 3 * HOUR, severity=40, source=destination, target=source),
        # Another collection's stream of the same pair: not in the latency matrix.
        event_row(tcpping, now - 600, collection="amp-tcpping", **ends),
    ]
    try:
        stored = [store_events(ampy.services, [row])[0].id for row in rows]
        matrix = ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
        cells = {(c.source, c.destination, c.split): c for c in matrix.cells}
        cell = cells[(source, destination, "ipv4")]
        assert [e["id"] for e in cell.events] == [stored[2], stored[1]]
        assert [e["description"] for e in cell.events] == ["the newer", "the older"]
        assert cell.events[0]["open"] is True
        assert cell.events[1]["open"] is False
        assert (cell.event_count, cell.event_open) == (2, True)
        other = cells[(destination, source, "ipv6")]
        assert ([e["id"] for e in other.events], other.event_open) == ([stored[3]], False)
        assert cells[(source, destination, "ipv6")].event_count == 0
        quiet = [
            c
            for key, c in cells.items()
            if key[:2] not in {(source, destination), (destination, source)}
        ]
        assert quiet
        assert all(c.events == [] and not c.event_open for c in quiet)
        assert cell.as_dict()["event_count"] == 2
    finally:
        with ampy.services.sessionmaker.begin() as session:
            for table in (EventGroupMember, EventGroup, Event):
                session.query(table).delete()


def test_matrix_is_cached(ampy: Ampy, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    store = ampy.services.timeseries
    calls: list[Any] = []
    real = store.totals
    monkeypatch.setattr(store, "totals", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH) == first
    assert calls == []


# ---------------------------------------------------------------- tooltips


def tooltip_window() -> tuple[int, int]:
    now = int(time.time())
    end = now - now % 300 + 300
    return end - DAY, end


def test_tooltip_equals_raw_rows(ampy: Ampy, dataset: Dataset) -> None:
    source, destination = dataset.fresh_pair
    for _ in range(3):
        before = tooltip_window()
        tip = ampy.tooltip("latency", source, destination)
        if tooltip_window() == before:
            break
    start, end = before
    assert tip["metric"] == "latency"
    assert set(tip["splits"]) == {"ipv4", "ipv6"}
    for family, answer in tip["splits"].items():
        ids = pair_streams(ampy, source, destination, family)
        rows = raw_rows(ampy, ICMP, ids, start, end)
        hours = list(range(start - start % HOUR, end, HOUR))
        assert [point[0] for point in answer["sparkline"]] == hours
        assert len(answer["sparkline"]) == len(hours) in (24, 25)
        for hour, value in answer["sparkline"]:
            inside = [r for r in rows if hour <= r.timestamp < hour + HOUR]
            expected = mean_of(inside, "median", 0.001)
            if expected is None:
                assert value is None
            else:
                assert value == pytest.approx(expected, rel=1e-9)
        gap_hours = [v for h, v in answer["sparkline"] if dataset.gap_start <= h < dataset.gap_end]
        assert gap_hours == [None, None]
        for label, span in (("1h", HOUR), ("6h", 6 * HOUR), ("24h", DAY)):
            inside = [r for r in rows if r.timestamp >= end - span]
            assert answer["stats"][label] == pytest.approx(
                mean_of(inside, "median", 0.001), rel=1e-9
            )
        assert answer["unit"] == "ms"
        assert answer["last_result"] == max(r.timestamp for r in rows)


def test_tooltip_of_a_pair_without_streams(ampy: Ampy, dataset: Dataset) -> None:
    with pytest.raises(BadQuery, match="no amp-icmp streams"):
        ampy.tooltip("latency", dataset.sites[0], "amp-nowhere")


# ---------------------------------------------------------------- errors


def test_errors_are_types(ampy: Ampy, dataset: Dataset) -> None:
    view_id = icmp_view(ampy, *dataset.fresh_pair)
    with pytest.raises(UnknownView):
        ampy.view_history("abcdefghijkl", dataset.start, dataset.end)
    with pytest.raises(UnknownView):
        ampy.legend("not a view")
    with pytest.raises(UnknownMetric):
        ampy.matrix("nonsense", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH)
    with pytest.raises(UnknownMetric):
        ampy.tooltip("nonsense", *dataset.fresh_pair)
    with pytest.raises(UnknownMesh):
        ampy.matrix("latency", "no-such-mesh", DEMO_MONITOR_MESH)
    with pytest.raises(UnknownMesh):
        ampy.matrix("latency", DEMO_MONITOR_MESH, "no-such-mesh")
    with pytest.raises(BadQuery, match="mode"):
        ampy.matrix("latency", DEMO_MONITOR_MESH, DEMO_MONITOR_MESH, "sideways")
    for start, end in (
        (dataset.end, dataset.end),
        (dataset.end, dataset.start),
        (-5, dataset.end),
        (0, 20 * 366 * DAY),
        (dataset.start, int(time.time()) + 2 * 366 * DAY),
    ):
        with pytest.raises(BadTimeRange):
            ampy.view_history(view_id, start, end)
    with pytest.raises(BadQuery, match="detail"):
        ampy.view_history(view_id, dataset.start, dataset.end, "extreme")
    with pytest.raises(BadQuery, match="binsize"):
        ampy.view_history(view_id, dataset.start, dataset.end, binsize=0)
    assert not isinstance(UnknownView("x"), BadQuery)
    assert issubclass(BadTimeRange, BadQuery)


def test_ping(ampy: Ampy) -> None:
    answer = ampy.ping()
    assert set(answer.values()) == {"ok"}
