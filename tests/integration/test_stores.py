"""Both time-series stores (SQLite, PostgreSQL, InfluxDB) behave the same.

Rollups are checked against sums computed here from the raw rows, including
after late and backfilled rows arrive, which InfluxDB continuous queries
would miss.
"""

from __future__ import annotations

import math
import statistics
import time

import pytest

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.demo import SimulatedMesh
from nntsc.errors import BadQuery
from nntsc.ingest.pipeline import Ingestor
from nntsc.store import Aggregation
from tests.conftest import make_services
from tests.rows import IcmpBin, icmp_bins, icmp_probes

ICMP = get_collection("amp-icmp")
DAY = 86400
# A fixed, day-aligned period so that expectations do not depend on the clock.
START = 1_790_000_000 - 1_790_000_000 % DAY
NOW = START + 10 * DAY

AGGREGATIONS = [
    Aggregation("mean", "median", "mean"),
    Aggregation("min", "rtts", "min"),
    Aggregation("max", "rtts", "max"),
    Aggregation("loss", "loss", "sum"),
    Aggregation("results", "results", "sum"),
    Aggregation("count", "median", "count"),
    Aggregation("sd", "median", "stddev"),
    Aggregation("smoke", "rtts", "smoke"),
    Aggregation("p50", "rtts", "percentile-50"),
]


def load_mesh(services: Services, sites: int = 3, days: float = 2, interval: int = 300) -> None:
    mesh = SimulatedMesh(sites, START, START + int(days * DAY), interval, seed=7)
    with Ingestor(services, batch_size=2000) as ingestor:
        for source, timestamp, report in mesh.reports():
            ingestor.add(ICMP, report, source, timestamp)


def stream_ids(services: Services) -> list[int]:
    return [s.stream_id for s in services.streams.find(ICMP, pagesize=1000).items]


def expected_bins(
    services: Services, ids: list[int], start: int, end: int, binsize: int
) -> dict[int, IcmpBin]:
    """The stored raw rows' bins, computed here."""
    rows = services.timeseries.raw(ICMP, ids, start, end)
    return icmp_bins(((row.timestamp, row.values) for row in rows), binsize)


def test_same_rows_twice_leave_one_row(store_services: Services) -> None:
    load_mesh(store_services, days=0.5)
    ids = stream_ids(store_services)
    before = len(store_services.timeseries.raw(ICMP, ids, START, NOW))
    load_mesh(store_services, days=0.5)
    assert len(store_services.timeseries.raw(ICMP, ids, START, NOW)) == before
    assert before == len(ids) * (0.5 * DAY // 300 - 1) or before > 0


@pytest.mark.parametrize("binsize", [3600, 86400])
def test_rollups_equal_raw_aggregation(store_services: Services, binsize: int) -> None:
    load_mesh(store_services)
    ids = stream_ids(store_services)[:3]
    result = store_services.timeseries.aggregate(
        ICMP, ids, START, START + 2 * DAY, binsize, AGGREGATIONS, now=NOW
    )
    assert result.levels_read[0] == f"rollup-{binsize}"
    assert "raw" not in result.levels_read
    expected = expected_bins(store_services, ids, START, START + 2 * DAY, binsize)
    assert len(result.rows) == 2 * DAY // binsize
    for row in result.rows:
        values = dict(zip(result.columns, row, strict=True))
        want = expected[values["timestamp"]]
        assert values["count"] == len(want.medians)
        assert values["mean"] == pytest.approx(statistics.fmean(want.medians), rel=1e-9)
        assert values["sd"] == pytest.approx(statistics.stdev(want.medians), rel=1e-6)
        assert values["min"] == min(want.rtts)
        assert values["max"] == max(want.rtts)
        assert values["loss"] == sum(want.losses)
        assert values["results"] == sum(want.results)
        smoke = values["smoke"]
        assert len(smoke) == 20
        assert smoke == sorted(smoke)
        assert smoke[-1] == max(want.rtts)
        # Merged percentiles are an interpolation: close to the exact median.
        exact = statistics.median(want.rtts)
        spread = max(want.rtts) - min(want.rtts)
        assert abs(values["p50"] - exact) <= 0.1 * spread + 1


def test_raw_path_matches_hand_computation(store_services: Services) -> None:
    load_mesh(store_services, days=0.25)
    ids = stream_ids(store_services)[:2]
    end = START + 6 * 3600
    result = store_services.timeseries.aggregate(ICMP, ids, START, end, 600, AGGREGATIONS, now=NOW)
    assert result.levels_read == ("rollup-300", "raw") or result.levels_read == ("rollup-300",)
    raw_result = store_services.timeseries.aggregate(
        ICMP, ids, START, end, 120, AGGREGATIONS, now=NOW
    )
    assert raw_result.levels_read == ("raw",)
    expected = expected_bins(store_services, ids, START, end, 120)
    for row in raw_result.rows:
        values = dict(zip(raw_result.columns, row, strict=True))
        want = expected.get(values["timestamp"])
        if want is None:
            assert values["mean"] is None
            assert values["count"] is None
            continue
        if not want.medians:
            assert values["mean"] is None
            assert values["count"] == 0
            continue
        assert values["mean"] == pytest.approx(statistics.fmean(want.medians))
        assert values["p50"] == pytest.approx(statistics.median(want.rtts))


def test_late_and_backfilled_rows_reach_the_rollups(store_services: Services) -> None:
    load_mesh(store_services, days=1)
    ids = stream_ids(store_services)[:1]
    stream = ids[0]
    tags = store_services.streams.properties_of(ICMP, ids)
    query = {
        "collection": ICMP,
        "stream_ids": ids,
        "binsize": DAY,
        "aggregations": AGGREGATIONS,
        "now": NOW,
    }
    before = store_services.timeseries.aggregate(start=START, end=START + DAY, **query)
    count_before = dict(zip(before.columns, before.rows[0], strict=True))["count"]
    # A late row, into a day whose rollups are already computed.
    late = Row(stream, START + 3 * 3600 + 17, icmp_probes([999_000]))
    # A backfilled row, half a year before anything else.
    backfill = Row(stream, START - 180 * DAY + 5, icmp_probes([5_000, None]))
    store_services.timeseries.write(ICMP, [late, backfill], tags)
    after = dict(
        zip(
            before.columns,
            store_services.timeseries.aggregate(start=START, end=START + DAY, **query).rows[0],
            strict=True,
        )
    )
    assert after["count"] == count_before + 1
    assert after["max"] == 999_000
    old = store_services.timeseries.aggregate(
        start=START - 180 * DAY, end=START - 179 * DAY, **query
    )
    values = dict(zip(old.columns, old.rows[0], strict=True))
    assert old.levels_read == ("rollup-86400",)
    assert (values["count"], values["loss"], values["results"]) == (1, 1, 2)
    assert values["mean"] == 5_000.0
    # The maintenance command finds nothing left to do afterwards.
    assert store_services.timeseries.process_rollups(ICMP, ids, now=NOW) == 0


def test_latest_is_found_in_bounded_windows(store_services: Services) -> None:
    load_mesh(store_services, days=0.5)
    ids = stream_ids(store_services)
    latest = store_services.timeseries.latest(ICMP, ids, now=START + DAY)
    last_report = max(range(START, START + DAY // 2, 300))
    assert set(latest) == set(ids)
    assert set(latest.values()) == {last_report}
    # A year later nothing is "latest": the search is bounded.
    assert store_services.timeseries.latest(ICMP, ids, now=START + 400 * DAY) == {}


def test_raw_reads_are_bounded(store_services: Services) -> None:
    load_mesh(store_services, days=0.5)
    ids = stream_ids(store_services)
    with pytest.raises(BadQuery, match="more than 10 raw rows"):
        store_services.timeseries.raw(ICMP, ids, START, NOW, limit=10)
    with pytest.raises(BadQuery):
        store_services.timeseries.aggregate(ICMP, ids, START, NOW, 1, AGGREGATIONS)
    with pytest.raises(BadQuery):
        store_services.timeseries.aggregate(
            ICMP, ids, START, NOW, 60, [Aggregation("x", "nope", "mean")]
        )


def test_gaps_are_nulls_and_bins_are_aligned(store_services: Services) -> None:
    load_mesh(store_services, days=0.25)
    ids = stream_ids(store_services)[:1]
    start = START - 3600 + 123
    result = store_services.timeseries.aggregate(
        ICMP, ids, start, START + 3600, 300, AGGREGATIONS, now=NOW
    )
    assert result.rows[0][0] == start - start % 300
    assert all(row[0] % 300 == 0 for row in result.rows)
    before_data = [row for row in result.rows if row[0] < START]
    assert before_data
    assert all(v is None for row in before_data for v in row[1:6])
    assert math.isclose(len(result.rows), (START + 3600 - result.rows[0][0]) / 300)


def test_a_binsize_no_rollup_divides_cannot_scan_years_of_raw_rows(tmp_path) -> None:
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite")
    end = int(time.time())
    with pytest.raises(BadQuery, match="multiple of 300"):
        services.timeseries.aggregate(
            ICMP, [1], end - 3650 * 86400, end, 1_209_599, [Aggregation("m", "median", "mean")]
        )
    services.close()
