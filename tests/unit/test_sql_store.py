"""The SQL time-series store on SQLite: idempotent writes, raw and rollup aggregation."""

from __future__ import annotations

import math
import random
import socket
import statistics

import pytest

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.collections.amp_icmp import AmpIcmp
from nntsc.errors import BadQuery, BadReport
from nntsc.ingest.pipeline import Ingestor
from nntsc.store import Aggregation
from tests.conftest import make_services
from tests.rows import icmp_bins

ICMP = get_collection("amp-icmp")
DAY = 86400
START = 1_790_000_000 - 1_790_000_000 % DAY
NOW = START + 30 * DAY
SOURCE = "amp-src"

EXACT = [
    Aggregation("mean", "median", "mean"),
    Aggregation("count", "median", "count"),
    Aggregation("sum", "median", "sum"),
    Aggregation("min", "rtts", "min"),
    Aggregation("max", "rtts", "max"),
    Aggregation("rtt_count", "rtts", "count"),
    Aggregation("rtt_sum", "rtts", "sum"),
    Aggregation("loss", "loss", "sum"),
    Aggregation("results", "results", "sum"),
    Aggregation("sd", "median", "stddev"),
]


@pytest.fixture
def services(tmp_path):
    services = make_services(f"sqlite:///{tmp_path}/t.sqlite")
    try:
        yield services
    finally:
        services.close()


def make_report(rnd, targets=("a", "b")):
    items = []
    for index, name in enumerate(targets):
        for host in (1, 2):
            rtt = None if rnd.random() < 0.15 else rnd.randint(5_000, 80_000)
            items.append(
                {
                    "name": name,
                    "address": bytes([192, 0, 2 + index, host]),
                    "family": socket.AF_INET,
                    "rtt": rtt,
                }
            )
    return {"header": {"packet_size": 84, "random": False, "dscp": 0}, "reports": items}


def make_reports(start, end, step, seed=1, targets=("a", "b")):
    rnd = random.Random(seed)
    return [(t, make_report(rnd, targets)) for t in range(start, end, step)]


def ingest(services, reports, source=SOURCE):
    with Ingestor(services) as ingestor:
        for timestamp, report in reports:
            ingestor.add("amp-icmp", report, source, timestamp)


def expected_rows(reports, destinations=None, source=SOURCE):
    """(timestamp, values) of every row the reports make, parsed here."""
    rows = []
    for timestamp, report in reports:
        for row in AmpIcmp().parse(report, source, timestamp):
            if destinations is None or row.properties["destination"] in destinations:
                rows.append((timestamp, row.values))
    return rows


def as_dicts(result):
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def assert_close(got, want):
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def assert_matches(result, expected, start, end):
    binsize = result.binsize
    assert [row["timestamp"] for row in as_dicts(result)] == list(
        range(start - start % binsize, end, binsize)
    )
    for row in as_dicts(result):
        found = expected.get(row["timestamp"])
        if found is None:
            assert all(row[name] is None for name in result.columns[1:]), row
            continue
        for name, value in found.exact().items():
            assert_close(row[name], value)


def ids_for(services, destinations=None):
    streams = services.streams.find(ICMP, pagesize=1000).items
    return [
        s.stream_id
        for s in streams
        if destinations is None or s.properties["destination"] in destinations
    ]


# -- writing -------------------------------------------------------------------------


def test_same_rows_twice_leave_one_row(services):
    reports = make_reports(START, START + 3600, 60)
    ingest(services, reports)
    ids = ids_for(services)
    assert len(ids) == 2
    first = services.timeseries.raw(ICMP, ids, START, START + DAY)
    assert len(first) == 2 * len(reports)
    ingest(services, reports)
    again = services.timeseries.raw(ICMP, ids, START, START + DAY)
    assert len(again) == len(first)
    assert [(r.stream_id, r.timestamp) for r in again] == [
        (r.stream_id, r.timestamp) for r in first
    ]
    assert services.streams.find(ICMP).total == 2


def test_rewritten_row_replaces_the_old_one(services):
    rnd = random.Random(3)
    ingest(services, [(START + 10, make_report(rnd))])
    replacement = make_report(rnd)
    ingest(services, [(START + 10, replacement)])
    ids = ids_for(services, {"a"})
    (row,) = services.timeseries.raw(ICMP, ids, START, START + 60)
    expected = expected_rows([(START + 10, replacement)], {"a"})[0][1]
    assert dict(row.values) == expected


def test_duplicate_within_one_batch_keeps_one_row(services):
    rnd = random.Random(4)
    first, second = make_report(rnd), make_report(rnd)
    ingest(services, [(START + 5, first), (START + 5, second)])
    rows = services.timeseries.raw(ICMP, ids_for(services), START, START + 60)
    assert len(rows) == 2
    by_stream = {r.stream_id: dict(r.values) for r in rows}
    assert (
        by_stream[ids_for(services, {"a"})[0]] == expected_rows([(START + 5, second)], {"a"})[0][1]
    )


def test_raw_rows_round_trip_values(services):
    reports = make_reports(START, START + 600, 60, seed=5)
    ingest(services, reports)
    ids = ids_for(services, {"b"})
    rows = services.timeseries.raw(ICMP, ids, START, START + 600)
    assert [(r.timestamp, dict(r.values)) for r in rows] == expected_rows(reports, {"b"})


def test_raw_limit(services):
    ingest(services, make_reports(START, START + 600, 60))
    ids = ids_for(services)
    assert len(services.timeseries.raw(ICMP, ids, START, START + 600, limit=20)) == 20
    with pytest.raises(BadQuery):
        services.timeseries.raw(ICMP, ids, START, START + 600, limit=19)


def test_malformed_report_writes_nothing(services):
    ingest(services, make_reports(START, START + 120, 60))
    ids = ids_for(services)
    total = services.streams.find(ICMP).total
    before = services.timeseries.raw(ICMP, ids, START, START + DAY)
    good = make_report(random.Random(9), targets=("new-target",))
    bad = {"header": {}, "reports": [*good["reports"], {"name": "x", "family": 2, "rtt": -5}]}
    with Ingestor(services) as ingestor:
        with pytest.raises(BadReport):
            ingestor.add("amp-icmp", bad, SOURCE, START + 600)
        with pytest.raises(BadReport):
            ingestor.add("amp-icmp", {"reports": []}, SOURCE, START + 660)
        with pytest.raises(BadReport):
            ingestor.add("amp-icmp", good, SOURCE, 0)
    assert services.streams.find(ICMP).total == total
    assert services.timeseries.raw(ICMP, ids, START, START + DAY) == before


def test_overlong_destination_is_bad_report_and_creates_no_stream(services):
    # The valid first target must not get a stream either: keys are checked before any is made.
    report = make_report(random.Random(2), targets=("ok-target", "x" * 300))
    with Ingestor(services) as ingestor, pytest.raises(BadReport):
        ingestor.add("amp-icmp", report, SOURCE, START + 60)
    assert services.streams.find(ICMP).total == 0


def test_ingest_updates_stream_first_and_last(services):
    ingest(services, make_reports(START + 60, START + 600, 60))
    ingest(services, make_reports(START, START + 60, 60))
    for stream in services.streams.find(ICMP).items:
        assert (stream.first, stream.last) == (START, START + 540)


# -- latest --------------------------------------------------------------------------


def test_latest_returns_newest_timestamp(services):
    ingest(services, make_reports(START, START + 2 * DAY, 3600))
    ingest(services, make_reports(START + 5 * DAY + 17, START + 5 * DAY + 18, 1, targets=("a",)))
    a, b = ids_for(services, {"a"}), ids_for(services, {"b"})
    now = START + 6 * DAY
    latest = services.timeseries.latest(ICMP, a + b, now=now)
    assert latest == {a[0]: START + 5 * DAY + 17, b[0]: START + 2 * DAY - 3600}


def test_latest_omits_streams_silent_for_over_a_year(services):
    ingest(services, make_reports(START, START + 60, 60))
    ids = ids_for(services)
    assert services.timeseries.latest(ICMP, ids, now=START + 400 * DAY) == {}
    assert set(services.timeseries.latest(ICMP, ids, now=START + 300 * DAY)) == set(ids)


# -- aggregation: raw path -----------------------------------------------------------


def test_raw_aggregation_matches_hand_computation(services):
    reports = make_reports(START + 7, START + 2 * 3600, 45, seed=11)
    ingest(services, reports)
    ids = ids_for(services)
    result = services.timeseries.aggregate(ICMP, ids, START, START + 2 * 3600, 60, EXACT, now=NOW)
    assert result.levels_read == ("raw",)
    assert len(result.rows) == 120
    assert_matches(result, icmp_bins(expected_rows(reports), 60), START, START + 2 * 3600)


def test_raw_percentile_of_one_bin_is_exact(services):
    reports = make_reports(START, START + 60, 20, seed=12)
    ingest(services, reports)
    ids = ids_for(services)
    result = services.timeseries.aggregate(
        ICMP,
        ids,
        START,
        START + 60,
        60,
        [Aggregation("p50", "rtts", "percentile-50"), Aggregation("smoke", "rtts", "smoke")],
        now=NOW,
    )
    (row,) = as_dicts(result)
    rtts = sorted(r for _, v in expected_rows(reports) for r in v["rtts"] or [] if r is not None)
    assert row["p50"] == pytest.approx(statistics.median(rtts))
    assert len(row["smoke"]) == 20
    assert row["smoke"] == sorted(row["smoke"])
    assert row["smoke"][-1] == max(rtts)


def test_aggregate_selects_streams(services):
    reports = make_reports(START, START + 3600, 60, seed=13)
    ingest(services, reports)
    result = services.timeseries.aggregate(
        ICMP, ids_for(services, {"b"}), START, START + 3600, 600, EXACT, now=NOW
    )
    assert_matches(result, icmp_bins(expected_rows(reports, {"b"}), 600), START, START + 3600)


# -- aggregation: rollup path --------------------------------------------------------


@pytest.fixture
def two_days(services):
    reports = make_reports(START + 13, START + 2 * DAY, 120, seed=21)
    ingest(services, reports)
    return services, reports


@pytest.mark.parametrize("binsize", [300, 3600, 86400])
def test_rollup_aggregation_equals_raw(two_days, binsize):
    services, reports = two_days
    ids = ids_for(services)
    end = START + 2 * DAY
    result = services.timeseries.aggregate(ICMP, ids, START, end, binsize, EXACT, now=NOW)
    assert result.levels_read[0] == f"rollup-{binsize}"
    assert "raw" not in result.levels_read
    assert len(result.rows) == 2 * DAY // binsize
    assert_matches(result, icmp_bins(expected_rows(reports), binsize), START, end)


def test_rollup_and_raw_answers_agree_bin_for_bin(two_days):
    services, _ = two_days
    ids = ids_for(services)
    end = START + 6 * 3600
    fine = services.timeseries.aggregate(ICMP, ids, START, end, 60, EXACT, now=NOW)
    coarse = services.timeseries.aggregate(ICMP, ids, START, end, 3600, EXACT, now=NOW)
    assert fine.levels_read == ("raw",)
    assert coarse.levels_read[0] == "rollup-3600"
    for hour in as_dicts(coarse):
        minutes = [
            r
            for r in as_dicts(fine)
            if hour["timestamp"] <= r["timestamp"] < hour["timestamp"] + 3600
        ]
        assert hour["count"] == sum(m["count"] or 0 for m in minutes)
        assert hour["results"] == sum(m["results"] or 0 for m in minutes)
        assert hour["min"] == min(m["min"] for m in minutes if m["min"] is not None)
        assert hour["max"] == max(m["max"] for m in minutes if m["max"] is not None)
        assert hour["sum"] == pytest.approx(
            math.fsum(m["sum"] for m in minutes if m["sum"] is not None), rel=1e-9
        )


def test_rollup_percentiles_bounded_and_monotonic(two_days):
    services, _ = two_days
    ids = ids_for(services)
    result = services.timeseries.aggregate(
        ICMP,
        ids,
        START,
        START + 2 * DAY,
        3600,
        [
            Aggregation("smoke", "rtts", "smoke"),
            Aggregation("min", "rtts", "min"),
            Aggregation("max", "rtts", "max"),
            Aggregation("p50", "rtts", "percentile-50"),
        ],
        now=NOW,
    )
    assert result.levels_read[0] == "rollup-3600"
    for row in as_dicts(result):
        smoke = row["smoke"]
        assert len(smoke) == 20
        assert smoke == sorted(smoke)
        assert all(row["min"] <= v <= row["max"] for v in smoke)
        assert smoke[-1] == row["max"]
        assert row["min"] <= row["p50"] <= row["max"]


def test_range_not_aligned_to_rollups_is_stitched(two_days):
    services, reports = two_days
    ids = ids_for(services)
    end = START + DAY + 5 * 3600 + 600 + 60
    result = services.timeseries.aggregate(ICMP, ids, START, end, 86400, EXACT, now=NOW)
    assert result.levels_read == ("rollup-86400", "rollup-3600", "rollup-300", "raw")
    in_range = [(t, v) for t, v in expected_rows(reports) if t < end]
    assert_matches(result, icmp_bins(in_range, 86400), START, end)


def test_open_bins_are_read_raw(two_days):
    services, reports = two_days
    ids = ids_for(services)
    now = START + DAY + 1800
    result = services.timeseries.aggregate(ICMP, ids, START, START + 2 * DAY, 3600, EXACT, now=now)
    # The open hour is read raw: its 5-minute bins are final only once it has closed.
    assert result.levels_read == ("rollup-3600", "raw")
    assert_matches(result, icmp_bins(expected_rows(reports), 3600), START, START + 2 * DAY)


def test_late_row_reaches_rolled_up_bin(two_days):
    services, reports = two_days
    ids = ids_for(services, {"a"})
    query = {
        "collection": ICMP,
        "stream_ids": ids,
        "start": START,
        "end": START + DAY,
        "binsize": 3600,
        "aggregations": EXACT,
        "now": NOW,
    }
    before = as_dicts(services.timeseries.aggregate(**query))
    late_ts = START + 5 * 3600 + 17  # no report at this second: the grid is START+13+120k
    late = {
        "header": {"packet_size": 84},
        "reports": [
            {"name": "a", "address": b"\xc0\x00\x02\x01", "family": socket.AF_INET, "rtt": 999_000},
        ],
    }
    ingest(services, [(late_ts, late)])
    after_result = services.timeseries.aggregate(**query)
    assert after_result.levels_read[0] == "rollup-3600"
    after = as_dicts(after_result)
    hour = 5
    assert after[hour]["count"] == before[hour]["count"] + 1
    assert after[hour]["max"] == 999_000
    assert after[hour]["results"] == before[hour]["results"] + 1
    assert after[hour]["sum"] == pytest.approx(before[hour]["sum"] + 999_000.0, rel=1e-9)
    assert after[hour]["mean"] == pytest.approx(after[hour]["sum"] / after[hour]["count"])
    assert [r for i, r in enumerate(after) if i != hour] == [
        r for i, r in enumerate(before) if i != hour
    ]
    rows = [(t, v) for t, v in expected_rows(reports, {"a"})] + expected_rows([(late_ts, late)])
    assert_matches(after_result, icmp_bins(rows, 3600), START, START + DAY)


def test_late_row_reaches_daily_rollup(two_days):
    services, reports = two_days
    ids = ids_for(services, {"b"})
    query = {
        "collection": ICMP,
        "stream_ids": ids,
        "start": START,
        "end": START + 2 * DAY,
        "binsize": DAY,
        "aggregations": EXACT,
        "now": NOW,
    }
    before = as_dicts(services.timeseries.aggregate(**query))
    late = {"reports": [{"name": "b", "address": b"\xc0\x00\x03\x01", "family": 2, "rtt": 1}]}
    ingest(services, [(START + DAY + 7, late)])
    after = as_dicts(services.timeseries.aggregate(**query))
    assert after[0] == before[0]
    assert after[1]["count"] == before[1]["count"] + 1
    assert after[1]["min"] == 1
    rows = expected_rows(reports, {"b"}) + expected_rows([(START + DAY + 7, late)])
    assert_matches(
        services.timeseries.aggregate(**query), icmp_bins(rows, DAY), START, START + 2 * DAY
    )


def test_rolled_up_answer_does_not_change_when_asked_again(two_days):
    services, _ = two_days
    ids = ids_for(services)
    args = (ICMP, ids, START, START + 2 * DAY, 3600, EXACT)
    first = services.timeseries.aggregate(*args, now=NOW)
    second = services.timeseries.aggregate(*args, now=NOW)
    assert first.rows == second.rows
    assert services.timeseries.process_rollups(now=NOW) == 0


# -- gaps, alignment and bad queries ------------------------------------------------


def test_gaps_are_none_rows_and_bins_are_aligned(services):
    reports = [
        (START + 310, make_report(random.Random(1))),
        (START + 1250, make_report(random.Random(2))),
    ]
    ingest(services, reports)
    ids = ids_for(services)
    start, end = START + 130, START + 1500
    result = services.timeseries.aggregate(ICMP, ids, start, end, 300, EXACT, now=NOW)
    rows = as_dicts(result)
    assert [r["timestamp"] for r in rows] == [START + 300 * k for k in range(5)]
    assert all(r["timestamp"] % 300 == 0 for r in rows)
    assert rows[0]["timestamp"] <= start < rows[0]["timestamp"] + 300
    assert rows[-1]["timestamp"] < end <= rows[-1]["timestamp"] + 300
    filled = {r["timestamp"] for r in rows if r["results"] is not None}
    assert filled == {START + 300, START + 1200}
    for row in rows:
        if row["timestamp"] not in filled:
            assert all(v is None for k, v in row.items() if k != "timestamp")
    assert_matches(result, icmp_bins(expected_rows(reports), 300), start, end)


def test_bin_of_unprobed_target_counts_zero(services):
    report = {"reports": [{"name": "a", "address": None, "family": 2, "rtt": None}]}
    ingest(services, [(START + 30, report)])
    result = services.timeseries.aggregate(
        ICMP, ids_for(services), START, START + 120, 60, EXACT, now=NOW
    )
    first, second = as_dicts(result)
    assert first["results"] == 0
    assert first["count"] == 0
    assert first["mean"] is None
    assert first["min"] is None
    assert all(v is None for k, v in second.items() if k != "timestamp")


@pytest.mark.parametrize(
    ("start", "end", "binsize", "aggregations"),
    [
        (START, START + 3600, 0, EXACT),
        (START, START + 3600, -60, EXACT),
        (START + 3600, START + 3600, 60, EXACT),
        (START + 3600, START, 60, EXACT),
        (START, START + 365 * DAY, 60, EXACT),
        (START, START + 3600, 60, [Aggregation("x", "nope", "mean")]),
        (START, START + 3600, 60, [Aggregation("x", "median", "smoke")]),
    ],
)
def test_bad_queries(services, start, end, binsize, aggregations):
    with pytest.raises(BadQuery):
        services.timeseries.aggregate(ICMP, [1], start, end, binsize, aggregations, now=NOW)


def test_direct_write_is_idempotent_and_counts(services):
    ingest(services, make_reports(START, START + 60, 60))
    stream = ids_for(services, {"a"})[0]
    tags = services.streams.properties_of(ICMP, [stream])
    values = {
        "median": 10.0,
        "min": 10,
        "max": 10,
        "loss": 0,
        "results": 1,
        "lossrate": 0.0,
        "rtts": [10],
    }
    rows = [Row(stream, START + 600 + k, values) for k in range(3)]
    assert services.timeseries.write(ICMP, rows, tags).written == 3
    services.timeseries.write(ICMP, rows, tags)
    assert len(services.timeseries.raw(ICMP, [stream], START + 600, START + 700)) == 3


def test_matching_finds_the_streams_of_many_property_tuples(services):
    ingest(services, make_reports(START, START + 120, 60, targets=("a", "b", "c")))
    everything = services.streams.find(ICMP, pagesize=1000).items
    found = services.streams.matching(
        ICMP, ("source", "destination"), [(SOURCE, "a"), (SOURCE, "c"), ("x", "a")]
    )
    assert sorted(s.stream_id for s in found) == sorted(
        s.stream_id for s in everything if s.properties["destination"] in ("a", "c")
    )
    assert all(s.properties["source"] == SOURCE for s in found)
    assert services.streams.matching(ICMP, ("source",), []) == []
    with pytest.raises(BadQuery):
        services.streams.matching(ICMP, ("colour",), [("red",)])


def test_stream_properties_are_read_once_and_given_as_copies(services):
    """`properties_of` reads only ids it has not found before, per collection."""
    from sqlalchemy import event

    ingest(services, make_reports(START, START + 60, 60))
    ids = ids_for(services, {"a", "b"})
    statements: list[str] = []
    event.listen(services.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first = services.streams.properties_of(ICMP, ids[:1])
    assert len(statements) == 1
    both = services.streams.properties_of(ICMP, ids)
    assert len(statements) == 2
    assert "stream_id IN" in statements[-1]
    assert services.streams.properties_of(ICMP, ids) == both
    assert len(statements) == 2
    assert both[ids[0]] == first[ids[0]]
    both[ids[0]]["destination"] = "changed"  # the caller's copy
    assert services.streams.properties_of(ICMP, ids[:1]) == first
    # Streams known to be another collection's are not this one's (nothing to read).
    assert services.streams.properties_of(get_collection("amp-dns"), ids) == {}
    assert len(statements) == 2


def test_remembered_stream_properties_stay_bounded_and_still_answer(services):
    """`properties_of` remembers the `properties_cache` streams asked for last, no more."""
    from sqlalchemy import event

    from nntsc.store.streams import StreamRegistry

    targets = tuple("abcdefgh")
    ingest(services, make_reports(START, START + 60, 60, targets=targets))
    ids = sorted(ids_for(services))
    assert len(ids) >= len(targets)
    expected = services.streams.properties_of(ICMP, ids)
    registry = StreamRegistry(services.engine, properties_cache=3)
    statements: list[str] = []
    event.listen(services.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for stream_id in ids:
        assert registry.properties_of(ICMP, [stream_id]) == {stream_id: expected[stream_id]}
        assert len(registry._properties) <= 3
    assert len(statements) == len(ids)
    # The three asked for last are remembered; the first was forgotten, and is read again.
    assert registry.properties_of(ICMP, ids[-3:]) == {i: expected[i] for i in ids[-3:]}
    assert len(statements) == len(ids)
    assert registry.properties_of(ICMP, ids[:1]) == {ids[0]: expected[ids[0]]}
    assert len(statements) == len(ids) + 1
    # Many at once: all answered, three remembered.
    assert registry.properties_of(ICMP, ids) == expected
    assert len(registry._properties) == 3
