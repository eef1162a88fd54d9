"""Mergeable partial statistics: raw summaries, merging, columns, finalize, validation."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from nntsc.collections import Collection, Field, Property
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery
from nntsc.store.models import QUANTILE_POINTS, rollup_columns
from nntsc.store.partials import (
    Aggregation,
    _merge_quantiles,
    collect_values,
    columns_needed,
    finalize,
    merge,
    merge_columns,
    merge_stats,
    pack_quantiles,
    partial_from_columns,
    partial_from_rows,
    partial_to_columns,
    percentiles,
    row_finalizer,
    rows_merger,
    summarise_values,
    summary_columns,
    unpack_quantiles,
)


class Sample(Collection):
    """A small collection: one float, one int and one array field with percentiles."""

    name = "test-sample"
    view_style = "latency"
    properties = (Property("source", "Source"),)
    fields = (
        Field("x", "float"),
        Field("n", "int"),
        Field("arr", "array", quantiles=True),
    )
    presence_field = "n"


SAMPLE = Sample()
STATS = ("mean", "min", "max", "sum", "count", "stddev")


def aggs(field, functions=STATS):
    return [Aggregation(f, field, f) for f in functions]


def numpy_linear(sorted_values, point):
    """numpy.percentile's default ("linear") method, written out."""
    position = (len(sorted_values) - 1) * point / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def random_rows(rnd, count):
    rows = []
    for _ in range(count):
        rows.append(
            {
                "x": None if rnd.random() < 0.1 else rnd.uniform(-1e4, 1e6),
                "n": None if rnd.random() < 0.1 else rnd.randint(0, 10_000),
                "arr": None
                if rnd.random() < 0.1
                else [
                    None if rnd.random() < 0.2 else rnd.randint(1, 500_000)
                    for _ in range(rnd.randint(0, 6))
                ],
            }
        )
    return rows


def column_values(rows, field):
    if field == "arr":
        return [v for row in rows for v in (row["arr"] or []) if v is not None]
    return [row[field] for row in rows if row[field] is not None]


def check_stats(partial, rows, field, rel=1e-9):
    values = column_values(rows, field)
    mean, low, high, total, count, sd = finalize(partial, aggs(field))
    assert count == len(values)
    if not values:
        assert (mean, low, high, total, sd) == (None,) * 5
        return
    assert total == pytest.approx(math.fsum(values), rel=rel, abs=1e-9)
    assert mean == pytest.approx(statistics.fmean(values), rel=rel, abs=1e-9)
    assert low == min(values)
    assert high == max(values)
    if len(values) < 2:
        assert sd is None
    else:
        assert sd == pytest.approx(statistics.stdev(values), rel=rel, abs=1e-9)


# -- percentiles -------------------------------------------------------------------


def test_percentiles_of_known_values():
    values = [10, 20, 30, 40, 50]
    assert percentiles(values, [0, 25, 50, 75, 100]) == [10, 20, 30, 40, 50]
    assert percentiles(values, [10, 90]) == pytest.approx([14.0, 46.0])
    assert percentiles([1, 2], [50]) == [1.5]
    assert percentiles([42], [5, 50, 100]) == [42, 42, 42]


def test_percentiles_match_numpy_linear_on_random_data():
    rnd = random.Random(5)
    points = [0, 1, 2.5, *QUANTILE_POINTS, 33.3, 99.9]
    for _ in range(300):
        values = sorted(rnd.uniform(0, 1e5) for _ in range(rnd.randint(1, 80)))
        got = percentiles(values, points)
        want = [numpy_linear(values, p) for p in points]
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_percentiles_agree_with_statistics_quantiles_inclusive():
    rnd = random.Random(6)
    for _ in range(100):
        values = sorted(rnd.randint(0, 1000) for _ in range(rnd.randint(2, 60)))
        cuts = statistics.quantiles(values, n=20, method="inclusive")
        assert percentiles(values, range(5, 100, 5)) == pytest.approx(cuts, rel=1e-12, abs=1e-9)


# -- partial_from_rows ---------------------------------------------------------------


def test_partial_of_random_rows_matches_statistics():
    rnd = random.Random(7)
    for _ in range(200):
        rows = random_rows(rnd, rnd.randint(0, 40))
        partial = partial_from_rows(SAMPLE, rows)
        for field in ("x", "n", "arr"):
            check_stats(partial, rows, field)


def test_partial_of_known_rows():
    rows = [
        {"x": 1.0, "n": 3, "arr": [5, None, 1]},
        {"x": None, "n": 5, "arr": None},
        {"x": 4.0, "n": None, "arr": [3]},
    ]
    partial = partial_from_rows(SAMPLE, rows)
    assert partial["x"] == {"count": 2, "sum": 5.0, "sumsq": 17.0, "min": 1.0, "max": 4.0}
    assert partial["n"] == {"count": 2, "sum": 8, "sumsq": 34, "min": 3, "max": 5}
    assert partial["arr"]["count"] == 3
    assert partial["arr"]["q"] == percentiles([1, 3, 5], QUANTILE_POINTS)
    assert "q" not in partial["x"]
    assert finalize(partial, [Aggregation("sd", "x", "stddev")]) == [
        pytest.approx(statistics.stdev([1.0, 4.0]))
    ]


def test_quantiles_are_percentiles_of_the_values():
    rnd = random.Random(8)
    for _ in range(50):
        rows = random_rows(rnd, rnd.randint(1, 30))
        values = sorted(column_values(rows, "arr"))
        partial = partial_from_rows(SAMPLE, rows)
        if not values:
            assert "q" not in partial["arr"]
            continue
        want = [numpy_linear(values, p) for p in QUANTILE_POINTS]
        assert partial["arr"]["q"] == pytest.approx(want, rel=1e-12)


def test_empty_bin_finalizes_to_none_except_count():
    partial = partial_from_rows(SAMPLE, [{"x": None, "n": None, "arr": [None, None]}])
    functions = (*STATS, "smoke", "percentile-50")
    values = finalize(partial, aggs("arr", functions))
    assert dict(zip(functions, values, strict=True)) == {
        "mean": None,
        "min": None,
        "max": None,
        "sum": None,
        "count": 0,
        "stddev": None,
        "smoke": None,
        "percentile-50": None,
    }
    assert finalize(partial_from_rows(SAMPLE, []), aggs("x")) == [
        None,
        None,
        None,
        None,
        0,
        None,
    ]


def test_stddev_of_one_value_is_none_and_of_equal_values_zero():
    one = partial_from_rows(SAMPLE, [{"x": 3.5}])
    assert finalize(one, [Aggregation("sd", "x", "stddev")]) == [None]
    same = partial_from_rows(SAMPLE, [{"x": 0.1}] * 7)
    assert finalize(same, [Aggregation("sd", "x", "stddev")]) == [pytest.approx(0.0, abs=1e-9)]


def test_smoke_is_twenty_ascending_values_ending_at_max():
    rnd = random.Random(9)
    rows = [{"arr": [rnd.randint(1, 1000) for _ in range(25)]} for _ in range(4)]
    partial = partial_from_rows(SAMPLE, rows)
    (smoke,) = finalize(partial, [Aggregation("smoke", "arr", "smoke")])
    assert len(smoke) == 20
    assert smoke == sorted(smoke)
    values = column_values(rows, "arr")
    assert smoke[-1] == max(values)
    assert smoke[9] == pytest.approx(statistics.median(values))


def test_percentile_aggregation_on_one_partial_is_exact_at_kept_points():
    rnd = random.Random(10)
    rows = [{"arr": [rnd.randint(1, 10**6) for _ in range(30)]} for _ in range(3)]
    values = sorted(column_values(rows, "arr"))
    partial = partial_from_rows(SAMPLE, rows)
    for point in (5, 25, 50, 95, 100):
        (got,) = finalize(partial, [Aggregation("p", "arr", f"percentile-{point}")])
        assert got == pytest.approx(numpy_linear(values, point))
    (p1,) = finalize(partial, [Aggregation("p", "arr", "percentile-2.5")])
    assert values[0] <= p1 <= partial["arr"]["q"][0]


# -- merge ---------------------------------------------------------------------------


def split(rnd, rows, chunks):
    cuts = sorted(rnd.randint(0, len(rows)) for _ in range(chunks - 1))
    bounds = [0, *cuts, len(rows)]
    return [rows[a:b] for a, b in itertools.pairwise(bounds)]


def test_merge_of_chunks_equals_partial_of_all_rows():
    rnd = random.Random(12)
    for _ in range(150):
        rows = random_rows(rnd, rnd.randint(1, 60))
        parts = [partial_from_rows(SAMPLE, chunk) for chunk in split(rnd, rows, rnd.randint(2, 6))]
        merged = merge(SAMPLE, parts)
        whole = partial_from_rows(SAMPLE, rows)
        for field in ("x", "n", "arr"):
            assert merged[field]["count"] == whole[field]["count"]
            for stat in ("sum", "sumsq", "min", "max"):
                if whole[field]["count"]:
                    assert merged[field][stat] == pytest.approx(
                        whole[field][stat], rel=1e-9, abs=1e-9
                    )
                else:
                    assert merged[field][stat] is None
            for got, want in zip(
                finalize(merged, aggs(field)), finalize(whole, aggs(field)), strict=True
            ):
                if want is None:
                    assert got is None
                else:
                    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
            check_stats(merged, rows, field)


def test_merged_percentiles_are_bounded_and_monotonic():
    rnd = random.Random(13)
    for _ in range(150):
        rows = random_rows(rnd, rnd.randint(2, 60))
        parts = [partial_from_rows(SAMPLE, chunk) for chunk in split(rnd, rows, rnd.randint(2, 6))]
        merged = merge(SAMPLE, parts)["arr"]
        if not merged["count"]:
            assert "q" not in merged
            continue
        q = merged["q"]
        assert len(q) == len(QUANTILE_POINTS)
        assert all(a <= b for a, b in itertools.pairwise(q))
        assert all(merged["min"] <= v <= merged["max"] for v in q)
        assert q[-1] == merged["max"]


def test_merge_of_one_partial_is_identity():
    rows = random_rows(random.Random(14), 10)
    partial = partial_from_rows(SAMPLE, rows)
    assert merge(SAMPLE, [partial]) == partial_from_rows(SAMPLE, rows)


def test_merge_ignores_empty_partials():
    rows = [{"x": 2.0, "n": 1, "arr": [1, 2, 3, 4, 100]}]
    partial = partial_from_rows(SAMPLE, rows)
    empty = partial_from_rows(SAMPLE, [])
    merged = merge(SAMPLE, [empty, partial, empty])
    assert merged["arr"] == partial["arr"]
    assert merged["x"] == partial["x"]
    assert merge(SAMPLE, [empty, empty])["arr"] == {
        "count": 0,
        "sum": None,
        "sumsq": None,
        "min": None,
        "max": None,
    }


def test_merge_of_identical_partials_keeps_percentiles_close():
    rnd = random.Random(15)
    rows = [{"arr": [rnd.randint(1, 1000) for _ in range(50)]}]
    partial = partial_from_rows(SAMPLE, rows)
    merged = merge(SAMPLE, [partial, partial])
    assert merged["arr"]["count"] == 2 * partial["arr"]["count"]
    assert merged["arr"]["sum"] == 2 * partial["arr"]["sum"]
    spread = partial["arr"]["max"] - partial["arr"]["min"]
    for got, want in zip(merged["arr"]["q"], partial["arr"]["q"], strict=True):
        assert abs(got - want) <= 0.1 * spread


# -- columns -------------------------------------------------------------------------


def test_columns_round_trip():
    rnd = random.Random(16)
    for _ in range(50):
        partial = partial_from_rows(SAMPLE, random_rows(rnd, rnd.randint(0, 10)))
        columns = partial_to_columns(SAMPLE, partial)
        assert set(columns) == set(rollup_columns(SAMPLE))
        assert partial_from_columns(SAMPLE, columns) == partial


def test_columns_of_empty_partial_are_null():
    columns = partial_to_columns(SAMPLE, partial_from_rows(SAMPLE, []))
    assert columns["arr_count"] == 0
    assert all(v is None for k, v in columns.items() if not k.endswith("_count"))
    back = partial_from_columns(SAMPLE, columns)
    assert back["arr"] == {"count": 0, "sum": None, "sumsq": None, "min": None, "max": None}


def test_columns_round_trip_for_amp_icmp():
    icmp = get_collection("amp-icmp")
    rows = [
        {
            "median": 1500.0,
            "min": 1000,
            "max": 2000,
            "loss": 1,
            "results": 3,
            "lossrate": 1 / 3,
            "rtts": [1000, 2000, None],
        },
        {
            "median": None,
            "min": None,
            "max": None,
            "loss": None,
            "results": 0,
            "lossrate": None,
            "rtts": None,
        },
    ]
    partial = partial_from_rows(icmp, rows)
    columns = partial_to_columns(icmp, partial)
    assert list(columns) == rollup_columns(icmp)
    assert columns["rtts_p50"] == 1500.0
    assert columns["results_count"] == 2
    assert partial_from_columns(icmp, columns) == partial


def test_row_finalizer_equals_finalize_of_the_row_read_back():
    # The single-row path reads only `columns_needed` (no count for min, max
    # and sum); over random and empty bins it must answer what the general path does.
    functions = [*STATS, "smoke", "percentile-50", "percentile-2.5"]
    rnd = random.Random(17)
    for _ in range(50):
        columns = partial_to_columns(
            SAMPLE, partial_from_rows(SAMPLE, random_rows(rnd, rnd.randint(0, 6)))
        )
        for field in ("x", "n", "arr"):
            wanted = [Aggregation(f, field, f) for f in (functions if field == "arr" else STATS)]
            needed = {name: columns[name] for name in columns_needed(wanted)}
            assert row_finalizer(wanted)(needed) == finalize(
                partial_from_columns(SAMPLE, columns), wanted
            )


def test_scaled_aggregations_are_the_values_times_the_scale_except_counts():
    # Both paths, single rollup rows (SQL columns and a packed InfluxDB list)
    # and merged partials, give what scaling the unscaled answer afterwards gives.
    functions = [*STATS, "smoke", "percentile-50"]
    rnd = random.Random(23)
    for _ in range(60):
        rows = random_rows(rnd, rnd.randint(0, 25))
        partial = partial_from_rows(SAMPLE, rows)
        columns = partial_to_columns(SAMPLE, partial)
        summary = partial["arr"]
        packed = dict(columns)
        if summary["count"]:
            packed["arr_q"] = pack_quantiles(summary["count"], summary["min"], summary["q"])
        for field in ("x", "n", "arr"):
            chosen = functions if field == "arr" else STATS
            plain = [Aggregation(f, field, f) for f in chosen]
            scaled = [Aggregation(f, field, f, 0.001) for f in chosen]

            def times(values, plain=plain):
                return [
                    value
                    if value is None or a.function == "count"
                    else [v * 0.001 for v in value]
                    if isinstance(value, list)
                    else value * 0.001
                    for a, value in zip(plain, values, strict=True)
                ]

            want = times(finalize(partial, plain))
            assert finalize(partial, scaled) == want
            assert row_finalizer(scaled)(columns) == want
            if field == "arr":
                assert row_finalizer(scaled)(packed) == times(row_finalizer(plain)(packed))


@pytest.mark.parametrize("scale", [0, -1.0, math.nan, math.inf])
def test_scale_must_be_a_positive_number(scale):
    with pytest.raises(BadQuery, match="scale"):
        Aggregation("out", "x", "mean", scale).validate(SAMPLE)


def _merge_quantiles_reference(summaries):
    """The merge of percentile summaries as first written: a walk over the sorted midpoints."""
    if len(summaries) == 1:
        return list(summaries[0]["q"])
    weighted = []
    for summary in summaries:
        bounds = [summary["min"], *summary["q"]]
        weight = summary["count"] / len(QUANTILE_POINTS)
        weighted.extend(((bounds[i] + bounds[i + 1]) / 2, weight) for i in range(20))
    weighted.sort()
    total = sum(weight for _, weight in weighted)
    result = []
    cumulative = 0.0
    index = 0
    for point in QUANTILE_POINTS:
        if point == 100:
            result.append(max(summary["max"] for summary in summaries))
            continue
        target = total * point / 100
        while index < len(weighted) - 1 and cumulative + weighted[index][1] < target:
            cumulative += weighted[index][1]
            index += 1
        result.append(weighted[index][0])
    return result


def test_merged_percentiles_equal_the_walk_they_replace():
    rnd = random.Random(29)
    for _ in range(500):
        summaries = []
        for _ in range(rnd.randint(1, 12)):
            rows = [{"arr": [rnd.choice([5.0, 7.5, rnd.uniform(0, 100)])]} for _ in range(9)]
            rows += random_rows(rnd, rnd.randint(1, 30))
            summary = partial_from_rows(SAMPLE, rows)["arr"]
            if summary["count"]:
                summaries.append(summary)
        if summaries:
            assert _merge_quantiles(summaries) == _merge_quantiles_reference(summaries)


def test_merging_rows_of_the_statistics_asked_for_answers_as_merging_partials():
    # A query reads and merges `merge_stats` (InfluxDB answers faster with
    # fewer fields) straight from the rows; rollup rows with and without data
    # (SQL columns or a packed list), with and without a raw partial, must
    # answer every aggregation as finalize(merge(...)) of all statistics does.
    functions = [*STATS, "smoke", "percentile-50", "percentile-2.5"]
    rnd = random.Random(31)
    for _ in range(200):
        partials = [
            partial_from_rows(SAMPLE, random_rows(rnd, rnd.choice([0, 1, 4, 30])))
            for _ in range(rnd.randint(2, 5))
        ]
        columns = [partial_to_columns(SAMPLE, partial) for partial in partials]
        for row, partial in zip(columns, partials, strict=True):
            summary = partial["arr"]
            if summary["count"] and rnd.random() < 0.5:
                row["arr_q"] = pack_quantiles(summary["count"], summary["min"], summary["q"])
        raw = partial_from_rows(SAMPLE, random_rows(rnd, rnd.randint(0, 5)), ["x", "n", "arr"])
        for field in ("x", "n", "arr"):
            chosen = rnd.sample(functions if field == "arr" else STATS, rnd.randint(1, 3))
            wanted = [Aggregation(f, field, f) for f in chosen]
            read = [
                {name: row[name] for name in merge_columns(merge_stats(wanted)) if name in row}
                | ({"arr_q": row["arr_q"]} if "arr_q" in row else {})
                for row in columns
            ]
            full = [partial_from_columns(SAMPLE, row, [field]) for row in columns]
            for extra in ([], [raw]):
                merged = rows_merger(wanted)(
                    [*read, *(partial_to_columns(SAMPLE, part) for part in extra)]
                )
                assert merged == finalize(merge(SAMPLE, [*full, *extra], [field]), wanted), (
                    field,
                    chosen,
                )


def test_columns_count_read_back_as_int():
    columns = partial_to_columns(SAMPLE, partial_from_rows(SAMPLE, [{"n": 4}, {"n": 6}]))
    columns = {k: (float(v) if isinstance(v, int) else v) for k, v in columns.items()}
    back = partial_from_columns(SAMPLE, columns)
    assert back["n"]["count"] == 2
    assert isinstance(back["n"]["count"], int)


# -- Aggregation.validate ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "function"),
    [
        ("x", "mean"),
        ("n", "count"),
        ("x", "stddev"),
        ("arr", "smoke"),
        ("arr", "percentile-50"),
        ("arr", "percentile-99.9"),
        ("arr", "percentile-100"),
        ("arr", "percentile-0.5"),
    ],
)
def test_valid_aggregations(field, function):
    Aggregation("out", field, function).validate(SAMPLE)


@pytest.mark.parametrize(
    ("field", "function"),
    [
        ("nope", "mean"),
        ("x", "median"),
        ("x", ""),
        ("arr", "percentile-0"),
        ("arr", "percentile-101"),
        ("arr", "percentile-100.5"),
        ("arr", "percentile-"),
        ("arr", "percentile-abc"),
        ("x", "smoke"),
        ("x", "percentile-50"),
    ],
)
def test_invalid_aggregations(field, function):
    with pytest.raises(BadQuery):
        Aggregation("out", field, function).validate(SAMPLE)


def test_validate_against_amp_icmp_fields():
    icmp = get_collection("amp-icmp")
    Aggregation("smoke", "rtts", "smoke").validate(icmp)
    with pytest.raises(BadQuery):
        Aggregation("smoke", "median", "smoke").validate(icmp)


# -- packed percentiles ----------------------------------------------------------------


def test_packed_percentiles_give_back_the_same_percentiles():
    # Exactly from a short list of sorted values; to 5 significant digits of
    # the largest from the long form, whose minimum and maximum are exact.
    rnd = random.Random(18)
    packed_counts = []
    long_forms = 0
    for trial in range(3000):
        count = rnd.randint(1, 25)
        if trial % 4 == 0:
            values = sorted(rnd.randint(1000, 900_000) for _ in range(count))
        elif trial % 4 == 1:
            values = sorted(rnd.uniform(0, 1e4) for _ in range(count))
        elif trial % 4 == 2:
            values = sorted(rnd.uniform(-0.02, 0.02) for _ in range(count))
        else:
            values = sorted(float(rnd.randint(0, 3)) for _ in range(count))
        kept = percentiles(values, QUANTILE_POINTS)
        packed = pack_quantiles(count, values[0], kept)
        back = unpack_quantiles(packed)
        # Minimum first, maximum last, in every form.
        assert (packed[0], packed[-1]) == (values[0], values[-1])
        assert back[-1] == kept[-1]
        if len(packed) < len(QUANTILE_POINTS):
            assert back == kept
        else:
            long_forms += 1
            assert len(packed) == 22
            largest = max(abs(v) for v in kept[:-1])
            assert all(abs(b - k) <= 5e-5 * largest for b, k in zip(back, kept, strict=True))
        if trial % 4 == 0 and count < len(QUANTILE_POINTS):
            # Integer values (microseconds) always pack to themselves.
            assert packed == values
            packed_counts.append(count)
    assert packed_counts
    assert long_forms


def test_percentiles_of_20_or_more_values_pack_to_steps_of_a_unit():
    values = list(range(10_100, 12_600, 100))
    kept = percentiles(values, QUANTILE_POINTS)
    # Five digits of 12,380 (the 95th percentile): units of 1.
    assert kept[:2] == [10_220.0, 10_340.0]
    packed = pack_quantiles(len(values), 10_100, kept)
    assert packed[:4] == [10_100, 0, 10_220, 120]
    assert packed[-1] == 12_500
    assert unpack_quantiles(packed) == kept
    assert unpack_quantiles(packed, 0.001) == [v * 0.001 for v in kept]


@pytest.mark.parametrize("name", ["amp-icmp", "amp-throughput", "amp-tcpping"])
def test_summary_columns_are_the_columns_of_the_summary(name: str) -> None:
    """The rollup pass's direct `summary_columns` gives what the partial path gives:
    every field, empty ones as a zero count and nulls, percentiles exact."""
    collection = get_collection(name)
    rnd = random.Random(17)

    def value(kind: str):
        if rnd.random() < 0.2:
            return None
        if kind == "array":
            return [
                None if rnd.random() < 0.1 else rnd.randint(1, 9_000)
                for _ in range(rnd.randint(0, 7))
            ]
        return rnd.randint(0, 500) if kind == "int" else rnd.uniform(0, 1e6)

    for size in [0, 1, 2, 5, 19, 21, 60]:
        rows = [{fld.name: value(fld.kind) for fld in collection.fields} for _ in range(size)]
        expected = partial_to_columns(
            collection, summarise_values(collection, collect_values(collection, rows))
        )
        found = summary_columns(collection, collect_values(collection, rows))
        assert found == expected
        assert list(found) == rollup_columns(collection)
