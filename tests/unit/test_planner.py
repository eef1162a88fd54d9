"""The read planner: which rollup levels and raw range an aggregate reads (no store)."""

from __future__ import annotations

import pytest

from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery
from nntsc.store.partials import Aggregation, columns_needed, merge_columns, merge_stats
from nntsc.store.planner import MAX_BINS, MAX_RAW_SPAN, plan_aggregate, totals_level
from nntsc.store.rollups import DAY, HOUR, SETTLE

ICMP = get_collection("amp-icmp")
MEAN = [Aggregation("mean", "median", "mean")]
#: A quarter past ten on some day: its hour is open, the previous one settled.
NOW = 1_700_000_000 - 1_700_000_000 % DAY + 10 * HOUR + 900
MIDNIGHT = NOW - NOW % DAY


def _spans(plan) -> list[tuple[int, int, int]]:
    return [(read.level, read.start, read.end) for read in plan.reads]


def test_a_closed_range_reads_one_level_and_no_raw_rows() -> None:
    start, end = MIDNIGHT - 30 * DAY, MIDNIGHT
    plan = plan_aggregate(ICMP, 1, start, end, DAY, MEAN, NOW)
    assert _spans(plan) == [(DAY, start, end)]
    assert plan.raw_from is None
    assert plan.levels_read == ("rollup-86400",)
    assert list(plan.bins) == list(range(start, end, DAY))


def test_a_range_up_to_now_stitches_finer_levels_then_the_raw_tail() -> None:
    start = MIDNIGHT - 3 * DAY
    plan = plan_aggregate(ICMP, 1, start, NOW, DAY, MEAN, NOW)
    settled_hour = NOW - NOW % HOUR  # the previous hour closed over SETTLE seconds ago
    assert _spans(plan) == [(DAY, start, MIDNIGHT), (HOUR, MIDNIGHT, settled_hour)]
    assert plan.raw_from == settled_hour
    assert plan.levels_read == ("rollup-86400", "rollup-3600", "raw")


def test_an_hour_closed_less_than_settle_ago_is_read_raw() -> None:
    now = MIDNIGHT + 10 * HOUR + SETTLE - 1
    plan = plan_aggregate(ICMP, 1, MIDNIGHT, now, 300, MEAN, now)
    assert _spans(plan) == [(300, MIDNIGHT, MIDNIGHT + 9 * HOUR)]
    assert plan.raw_from == MIDNIGHT + 9 * HOUR


def test_a_binsize_no_rollup_divides_reads_raw_rows_only() -> None:
    plan = plan_aggregate(ICMP, 1, NOW - DAY, NOW, 60, MEAN, NOW)
    assert plan.reads == ()
    assert plan.raw_from == NOW - DAY - (NOW - DAY) % 60
    assert not plan.uses_rollups
    with pytest.raises(BadQuery, match="days of raw rows"):
        plan_aggregate(ICMP, 1, NOW - MAX_RAW_SPAN - 120, NOW, 120, MEAN, NOW)


def test_no_streams_read_no_raw_rows() -> None:
    plan = plan_aggregate(ICMP, 0, NOW - DAY, NOW, 300, MEAN, NOW)
    assert plan.raw_from is None
    assert "raw" not in plan.levels_read


def test_one_stream_at_the_rollup_binsize_reads_only_the_columns_it_answers_from() -> None:
    aggregations = [Aggregation("smoke", "rtts", "smoke")]
    one = plan_aggregate(ICMP, 1, MIDNIGHT - DAY, MIDNIGHT, HOUR, aggregations, NOW)
    many = plan_aggregate(ICMP, 2, MIDNIGHT - DAY, MIDNIGHT, HOUR, aggregations, NOW)
    assert list(one.reads[0].columns) == columns_needed(aggregations)
    assert list(many.reads[0].columns) == merge_columns(merge_stats(aggregations))
    # Bins merged from 5-minute rows need the mergeable statistics even for one stream.
    coarse = plan_aggregate(ICMP, 1, MIDNIGHT - DAY, MIDNIGHT, 2 * HOUR, aggregations, NOW)
    assert list(coarse.reads[0].columns) == merge_columns(merge_stats(aggregations))


def test_raw_rows_are_read_with_the_field_every_row_has() -> None:
    plan = plan_aggregate(ICMP, 1, NOW - HOUR, NOW, 300, MEAN, NOW)
    assert plan.fields == ("median",)
    assert set(plan.raw_fields) == {"median", ICMP.presence_field}


@pytest.mark.parametrize(
    ("start", "end", "binsize", "message"),
    [
        (NOW - DAY, NOW, 0, "binsize must be a positive"),
        (NOW, NOW, 300, "end must be after start"),
        (NOW - (MAX_BINS + 1) * 300, NOW, 300, "bins asked for"),
    ],
)
def test_bad_queries_are_refused(start: int, end: int, binsize: int, message: str) -> None:
    with pytest.raises(BadQuery, match=message):
        plan_aggregate(ICMP, 1, start, end, binsize, MEAN, NOW)


def test_an_aggregation_of_an_unknown_field_is_refused() -> None:
    with pytest.raises(BadQuery):
        plan_aggregate(ICMP, 1, NOW - DAY, NOW, 300, [Aggregation("x", "nope", "mean")], NOW)


def test_totals_read_daily_rollups_for_whole_days_else_hourly() -> None:
    assert totals_level(ICMP, MIDNIGHT - 2 * DAY, MIDNIGHT, ["median"], NOW) == DAY
    assert totals_level(ICMP, MIDNIGHT - 2 * HOUR, MIDNIGHT, ["median"], NOW) == HOUR
    with pytest.raises(BadQuery, match="whole hours"):
        totals_level(ICMP, MIDNIGHT - 100, MIDNIGHT, ["median"], NOW)
    with pytest.raises(BadQuery, match="closed hours"):
        totals_level(ICMP, MIDNIGHT, NOW - NOW % HOUR + HOUR, ["median"], NOW)
    with pytest.raises(BadQuery, match="no field"):
        totals_level(ICMP, MIDNIGHT - DAY, MIDNIGHT, ["nope"], NOW)
