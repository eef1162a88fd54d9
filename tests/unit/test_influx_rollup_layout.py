"""How rollup rows become InfluxDB points and back: fewer field values, the same columns.

Points are written in the packed layout: all of a row's statistics in one
string field, ``r``. Points of the layouts before it (a field per
statistic; with the spread left out where it follows from count and sum
and an ``m`` field saying which fields state theirs; and before that every
statistic) are still read. Reading any of them must give the columns the
rollup pass computed, exactly, even where a rewrite of the point left fields
of an earlier write behind (InfluxDB keeps them).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from nntsc.collections import get as get_collection
from nntsc.collections.base import Collection, Field, Property
from nntsc.store.influx import (
    MARKED_FIELDS,
    PACKED_FIELD,
    SPREAD_FIELD,
    InfluxBackend,
    PackedRollupError,
    _columns_encoder,
    _decoded_rows,
    _packed_encoder,
    _packed_reading,
    _rollup_reading,
)
from nntsc.store.models import rollup_columns
from nntsc.store.partials import (
    collect_values,
    merge,
    pack_quantiles,
    partial_from_columns,
    partial_to_columns,
    summary_columns,
)
from nntsc.store.rollups import HOUR, shared_kept, summaries
from tests.rows import icmp_probes, icmp_values

ICMP = get_collection("amp-icmp")
_FIELD = re.compile(r'(\w+)=("[^"]*"|[^,]+)')


def stored(line: str) -> dict[str, Any]:
    """The fields of one line-protocol point as InfluxDB answers them (numbers, text)."""
    fields: dict[str, Any] = {}
    for name, value in _FIELD.findall(line):
        if value.startswith('"'):
            fields[name] = value[1:-1]
        elif value.endswith("i"):
            fields[name] = int(value[:-1])
        else:
            fields[name] = json.loads(value) if value[0] != "n" else float(value)
    return fields


def read(point: dict[str, Any], names: list[str], collection: Collection = ICMP) -> dict[str, Any]:
    """`names` of a point (of either layout) as `InfluxBackend` reads them."""
    fields, packed, complete = _rollup_reading(collection, tuple(names))
    unpack = _packed_reading(collection, tuple(names))
    selected = [*fields, *packed, PACKED_FIELD]
    series = [({"stream": "1"}, ["time", *selected], [[0, *(point.get(n) for n in selected)]])]
    (row,), _ = _decoded_rows(packed, complete, unpack, series)
    return row[2]


def legacy(values: dict[str, Any]) -> dict[str, Any]:
    """The point the former layout wrote: every statistic, percentiles packed."""
    point = {
        name: float(value)
        for name, value in values.items()
        if value is not None and not name.startswith("rtts_p")
    }
    if values["rtts_count"]:
        kept = [values[f"rtts_p{p}"] for p in range(5, 101, 5)]
        packed = pack_quantiles(int(values["rtts_count"]), values["rtts_min"], kept)
        point["rtts_q"] = json.dumps(packed).replace(" ", "")
    return point


def bins(rnd: random.Random) -> list[dict[str, Any]]:
    """Rollup columns of 5-minute and hourly bins: constant, varying, lost, single rows."""
    found = []
    for case in range(40):
        rows = []
        for minute in range(rnd.choice([1, 2, 5, 12, 60])):
            rtt = 1500 if case % 3 == 0 else rnd.randint(1_000, 250_000)
            lost = case % 5 == 1 and rnd.random() < 0.5
            # One probe (median, minimum and maximum the same) or three.
            probes = 3 if case % 4 == 2 else 1
            rtts = [None if lost else rtt * (1 if case % 2 else 1.25) + p for p in range(probes)]
            rows.append((60 * minute, icmp_probes(rtts)))
        five, hourly = summaries(ICMP, 1, rows)
        found.extend(row.values for row in [*five, *hourly])
    return found


def test_fields_left_out_come_back_exactly() -> None:
    encode = _columns_encoder(ICMP)
    names = rollup_columns(ICMP)
    for values in bins(random.Random(4)):
        point = stored(encode(values))
        assert not any(name.startswith("rtts_p") for name in point)
        assert not {"rtts_min", "rtts_max"} & set(point)
        got = read(point, names)
        # The same columns as the former layout gives (its percentiles are packed the same).
        assert got == read(legacy(values), names)
        for name in names:
            if not name.startswith("rtts_p"):
                assert got[name] == values[name], name
        # A few columns, as a graph reads them.
        for few in (["rtts_min"], ["rtts_max", "median_min"], ["median_sumsq", "loss_max"]):
            assert {name: read(point, few)[name] for name in few} == {n: values[n] for n in few}


def test_a_bin_of_equal_values_keeps_count_and_sum_only() -> None:
    rows = [
        (60 * m, {"median": 2000.0, "loss": 0, "results": 1, "lossrate": 0.0}) for m in range(5)
    ]
    (five,), _ = summaries(ICMP, 1, rows)
    point = stored(_columns_encoder(ICMP)(five.values))
    assert point == {
        "median_count": 5,
        "median_sum": 10_000,
        "min_count": 0,
        "max_count": 0,
        "loss_count": 5,
        "loss_sum": 0,
        "results_count": 5,
        "results_sum": 5,
        "lossrate_count": 5,
        "lossrate_sum": 0,
        "rtts_count": 0,
        # min and max have no values, the median has: they repeat nothing.
        SPREAD_FIELD: 0,
    }
    got = read(point, ["median_min", "median_max", "median_sumsq", "lossrate_max", "max_count"])
    assert (got["median_min"], got["median_max"], got["median_sumsq"]) == (2000, 2000, 2e7)
    assert got["lossrate_max"] == 0
    assert got["max_count"] == 0


def test_a_field_repeating_the_one_before_writes_nothing() -> None:
    # One probe a result: its median, minimum and maximum are the same
    # numbers in the same unit, so only the median's are written.
    rows = [(60 * m, icmp_values(1_000 + 7 * m)) for m in range(3)]
    (five,), _ = summaries(ICMP, 1, rows)
    point = stored(_columns_encoder(ICMP)(five.values))
    assert not [name for name in point if name.startswith(("min_", "max_"))]
    # m, the median's 5 statistics, 2 each of loss, results and lossrate, and the
    # rtts' count, sum, sum of squares and percentile list: 16 fields of 36.
    assert len(point) == 16
    few = ["max_count", "max_sum", "max_min", "max_max", "min_sumsq", "max_sumsq"]
    got = read(point, few)
    assert {name: got[name] for name in few} == {name: five.values[name] for name in few}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rewritten_point_is_read_as_the_last_write(seed: int) -> None:
    # InfluxDB merges a rewrite into the point: fields it leaves out keep
    # their former values. Whatever came before, the last write is read.
    encode = _columns_encoder(ICMP)
    names = rollup_columns(ICMP)
    rnd = random.Random(seed)
    found = bins(rnd)
    for _ in range(60):
        first, second = rnd.choice(found), rnd.choice(found)
        for before in (stored(encode(first)), legacy(first)):
            point = {**before, **stored(encode(second))}
            assert read(point, names) == read(stored(encode(second)), names)


def test_a_repeated_field_is_read_from_its_run_s_first_only() -> None:
    # amp-udpstream's jitter percentiles are a run of eleven fields in one
    # unit: reading one of them reads its own fields, the run's first and m.
    udpstream = get_collection("amp-udpstream")
    fields, _, _ = _rollup_reading(
        udpstream, ("jitter_percentile_90_count", "jitter_percentile_90_sum")
    )
    assert len(fields) == 5
    assert SPREAD_FIELD in fields
    # Minimum and maximum equal, the median not: both are written, neither
    # is read as the other (nor as the median).
    values = icmp_values(1_000) | {"median": 1_500.0}
    (five,), _ = summaries(ICMP, 1, [(0, values), (60, values)])
    point = stored(_columns_encoder(ICMP)(five.values))
    assert point["min_sum"] == point["max_sum"] == 2_000
    few = ["median_sum", "min_sum", "max_sum", "max_min", "min_max"]
    got = read(point, few)
    assert [got[name] for name in few] == [3_000, 2_000, 2_000, 1_000, 1_000]


class _Wide(Collection):
    """A collection of 40 fields in one unit: more than `m` has bits for."""

    name = "test-wide"
    view_style = "test-wide"
    properties = (Property("source", "Source"),)
    fields = tuple(Field(f"f{index}", "float", unit="ms") for index in range(40))
    presence_field = "f0"


def test_fields_beyond_the_bits_of_m_state_everything() -> None:
    # Two bits a field, and InfluxDB's integers are signed 64-bit: a 33rd field's
    # bits would make m a number InfluxDB refuses, and with it every rollup point
    # of the collection. Fields from MARKED_FIELDS on state their whole spread.
    wide = _Wide()
    names = rollup_columns(wide)
    encode = _columns_encoder(wide)
    same = {f"f{index}": 5.0 for index in range(40)}
    varying = {f"f{index}": float(index % 7) for index in range(40)}
    for rows in ([(0, same), (60, same)], [(0, same), (60, varying)]):
        (five,), _ = summaries(wide, 1, rows)
        point = stored(encode(five.values))
        assert 0 <= point[SPREAD_FIELD] < 2**63
        for index in range(MARKED_FIELDS, 40):
            assert {f"f{index}_{stat}" for stat in ("count", "sum", "sumsq", "min", "max")} <= set(
                point
            )
        fields, packed, complete = _rollup_reading(wide, tuple(names))
        selected = [*fields, *packed]
        series = [({"stream": "1"}, ["time", *selected], [[0, *(point.get(n) for n in selected)]])]
        got = InfluxBackend._rollup_rows(packed, series)
        complete(got)
        assert {name: got[0][2][name] for name in names} == {n: five.values[n] for n in names}


# -- work shared between levels (issue 17.5) --------------------------------------------


def test_an_hour_of_one_bin_shares_the_bin_s_columns() -> None:
    # Its values in the same order give the same statistics: computed once,
    # and the hourly row's dict is the bin's, so a store encodes it once.
    rnd = random.Random(8)
    for _ in range(50):
        minute = rnd.randint(0, 11)
        rows = [
            (3600 + 300 * minute + rnd.randint(0, 299), icmp_probes(probe_rtts(rnd)))
            for _ in range(rnd.randint(1, 6))
        ]
        rows.sort(key=lambda row: row[0])
        (five,), (hourly,) = summaries(ICMP, 1, rows)
        assert hourly.values is five.values
        assert hourly.timestamp == 3600
        assert hourly.values == summary_columns(ICMP, collect_values(ICMP, [v for _, v in rows]))
    # An hour of two bins has its own row.
    rows = [(0, icmp_values(1_000)), (300, icmp_values(2_000))]
    five, (hourly,) = summaries(ICMP, 1, rows)
    assert len(five) == 2
    assert all(hourly.values is not row.values for row in five)
    assert hourly.values["median_count"] == 2


def test_shared_kept_encodes_a_shared_hour_once() -> None:
    backend = InfluxBackend(None, "unused")  # type: ignore[arg-type]
    rows = [(0, icmp_values(1_000)), (60, icmp_values(1_200))]
    five, hourly = summaries(ICMP, 1, rows)
    five_b, hourly_b = summaries(ICMP, 2, [(0, icmp_values(1_000)), (300, icmp_values(2_000))])
    kept = shared_kept(backend, ICMP, [*five, *five_b], [*hourly, *hourly_b])
    encode = _packed_encoder(ICMP)
    assert kept[300] == [encode(row.values) for row in [*five, *five_b]]
    assert kept[HOUR] == [encode(row.values) for row in [*hourly, *hourly_b]]
    assert kept[HOUR][0] is kept[300][0]


def probe_rtts(rnd: random.Random) -> list[Any]:
    """Round-trip times of a result of 1-3 probes: varied, equal, near-integer, lost."""
    kind = rnd.randrange(4)
    count = rnd.randint(1, 3)
    if kind == 0:
        return [rnd.randint(1_000, 250_000) for _ in range(count)]
    if kind == 1:
        return [1_500] * count
    if kind == 2:
        # Values a hair off integers: the minimum worked back out of a list is rounded.
        return [rnd.randint(1_000, 9_000) + 1e-11 * rnd.randint(1, 9) for _ in range(count)]
    return [None if rnd.random() < 0.5 else rnd.random() * 1e4 for _ in range(count)]


@pytest.mark.parametrize("seed", range(6))
def test_a_day_of_one_hour_written_as_its_hour_reads_as_the_merge(seed: int) -> None:
    # The daily row of a day of one hour is the merge of that hour's columns as
    # read. Where `kept_alone` gives the hour's own point instead, reading it
    # must give exactly the columns reading the merge's point gives.
    backend = InfluxBackend(None, "unused")  # type: ignore[arg-type]
    encode = _packed_encoder(ICMP)
    names = rollup_columns(ICMP)
    rnd = random.Random(seed)
    short = long = 0
    for _ in range(300):
        rows = [
            (60 * rnd.randint(0, 59), icmp_probes(probe_rtts(rnd)))
            for _ in range(rnd.choice([1, 1, 2, 3, 4, 6, 30]))
        ]
        rows.sort(key=lambda row: row[0])
        _, (hourly,) = summaries(ICMP, 1, rows)
        kept = encode(hourly.values)
        columns = backend.kept_columns(ICMP, kept)
        merged = encode(
            partial_to_columns(ICMP, merge(ICMP, [partial_from_columns(ICMP, columns)]))
        )
        alone = backend.kept_alone(ICMP, kept)
        lists = columns["rtts_q"] or []
        if len(lists) >= 20:
            long += 1
            assert alone is None
            continue
        short += 1
        assert alone is kept
        assert backend.kept_columns(ICMP, alone) == backend.kept_columns(ICMP, merged)
        assert read(stored(alone), names) == read(stored(merged), names)
    assert short > 60
    assert long > 10


# -- the packed layout: a point's statistics in one string field -----------------------


@pytest.mark.parametrize("seed", [4, 5])
def test_a_packed_point_reads_as_the_former_layouts(seed: int) -> None:
    # One field instead of 10-36; the same columns as the points of the layouts
    # before it (a field per statistic, then with the spread left out) give.
    encode = _packed_encoder(ICMP)
    former = _columns_encoder(ICMP)
    names = rollup_columns(ICMP)
    for values in bins(random.Random(seed)):
        point = stored(encode(values))
        assert list(point) == [PACKED_FIELD]
        got = read(point, names)
        assert got == read(stored(former(values)), names)
        assert got == read(legacy(values), names)
        for name in names:
            if not name.startswith("rtts_p"):
                assert got[name] == values[name], name
        for few in (["rtts_min"], ["rtts_max", "median_min"], ["max_sumsq", "loss_max"]):
            assert {name: read(point, few)[name] for name in few} == {n: values[n] for n in few}
            assert {name: read(point, few)[name] for name in few} == {
                name: read(stored(former(values)), few)[name] for name in few
            }


@pytest.mark.parametrize("seed", [1, 2])
def test_a_packed_rewrite_of_a_former_point_is_read_as_itself(seed: int) -> None:
    # InfluxDB keeps the fields a rewrite leaves out: a point first written with a
    # field per statistic, then packed, is read from its packed field alone.
    encode = _packed_encoder(ICMP)
    names = rollup_columns(ICMP)
    rnd = random.Random(seed)
    found = bins(rnd)
    for _ in range(60):
        first, second = rnd.choice(found), rnd.choice(found)
        for before in (stored(_columns_encoder(ICMP)(first)), legacy(first)):
            point = {**before, **stored(encode(second))}
            assert read(point, names) == read(stored(encode(second)), names)


def test_a_packed_point_of_many_fields_repeats_and_implies_any_of_them() -> None:
    # No bits of m limit the packed layout: the 40th field of a run in one unit
    # repeats the first, and every field's spread may be implied.
    wide = _Wide()
    names = rollup_columns(wide)
    encode = _packed_encoder(wide)
    same = {f"f{index}": 5.0 for index in range(40)}
    varying = {f"f{index}": float(index % 7) for index in range(40)}
    for rows, text in (
        ([(0, same), (60, same)], "[1,[2,10]" + ",0" * 39 + "]"),
        ([(0, same), (60, varying)], None),
    ):
        (five,), _ = summaries(wide, 1, rows)
        point = stored(encode(five.values))
        if text is not None:
            assert point == {PACKED_FIELD: text}
        got = read(point, names, wide)
        assert {name: got[name] for name in names} == {n: five.values[n] for n in names}


def test_a_packed_point_written_before_a_field_was_added_reads_it_as_null() -> None:
    (five,), _ = summaries(ICMP, 1, [(0, icmp_values(1_000)), (60, icmp_values(1_300))])
    text = stored(_packed_encoder(ICMP)(five.values))[PACKED_FIELD]
    shorter = json.dumps(json.loads(text)[:-1])
    got = read({PACKED_FIELD: shorter}, rollup_columns(ICMP))
    assert got["median_sum"] == 2_300
    assert [got[name] for name in ("rtts_count", "rtts_sum", "rtts_q", "rtts_min")] == [None] * 4


def test_a_packed_point_that_cannot_be_read_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (five,), _ = summaries(ICMP, 1, [(0, icmp_values(1_000)), (60, icmp_values(1_300))])
    good = stored(_packed_encoder(ICMP)(five.values))[PACKED_FIELD]
    names = tuple(rollup_columns(ICMP))
    bad = [
        "[2" + good[2:],  # a later version
        "[1,[2,1,2,3]",  # not JSON
        "[1,[2,1,2]]",  # three statistics of a plain field
        '[1,"x"]',
        "{}",
        good[:-1] + ",null]",  # more fields than the collection has
    ]
    fields, packed, complete = _rollup_reading(ICMP, names)
    selected = ["time", *fields, *packed, PACKED_FIELD]
    points = [
        [n, *([None] * (len(selected) - 2)), text] for n, text in enumerate([good, *bad, good])
    ]
    with caplog.at_level("ERROR", logger="nntsc.store.influx"):
        rows, _ = _decoded_rows(
            packed, complete, _packed_reading(ICMP, names), [({"stream": "1"}, selected, points)]
        )
    assert [timestamp for _, timestamp, _ in rows] == [0, len(bad) + 1]
    assert rows[0][2]["median_sum"] == 2_300
    (record,) = caplog.records
    assert "skipped 6 amp-icmp rollup points" in record.getMessage()
    assert "unknown packed rollup version 2" in record.getMessage()
    with pytest.raises(PackedRollupError):
        InfluxBackend(None, "unused").kept_columns(ICMP, f'r="{bad[0]}"')  # type: ignore[arg-type]
