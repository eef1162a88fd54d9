"""InfluxDB specifics: schema setup, tags, retention, nothing dropped in silence."""

from __future__ import annotations

import json
import random
import time

import pytest

from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.errors import BadReport
from nntsc.ingest.pipeline import Ingestor
from nntsc.store import Aggregation, influx
from nntsc.store.influx import InfluxBackend, _columns_encoder, _tag
from nntsc.store.models import QUANTILE_POINTS
from nntsc.store.partials import percentiles
from nntsc.store.schema import upgrade_all
from tests.conftest import make_services
from tests.rows import icmp_row

ICMP = get_collection("amp-icmp")


@pytest.fixture
def influx_services(tmp_path, influx_url):
    services = make_services(
        f"sqlite:///{tmp_path}/n.sqlite", influx_url, **{"nntsc.raw_retention": "2h"}
    )
    yield services
    services.close()


def _stream(services) -> tuple[int, dict]:
    props = {"source": "amp-a", "destination": "amp b,c", "family": "ipv4", "packet_size": "84"}
    stream_id = services.streams.stream_id(ICMP, props)
    return stream_id, {stream_id: props}


def test_schema_setup_is_idempotent(influx_services) -> None:
    upgrade_all(influx_services)
    upgrade_all(influx_services)
    store = influx_services.timeseries
    shown = store.backend.client.points(f'SHOW RETENTION POLICIES ON "{store.backend.database}"')
    policies = {p["name"]: p for p in shown}
    assert policies["raw"]["default"] is True
    assert policies["raw"]["duration"] == "2h0m0s"
    assert policies["rollups"]["duration"] == "0s"


def test_rows_are_tagged_with_stream_and_properties(influx_services) -> None:
    stream_id, tags = _stream(influx_services)
    now = int(time.time())
    influx_services.timeseries.write(ICMP, [icmp_row(stream_id, now - 60, 20_000)], tags)
    store = influx_services.timeseries
    keys = {p["tagKey"] for p in store.backend.client.points('SHOW TAG KEYS FROM "amp-icmp"')}
    assert keys == {"stream", "source", "destination", "family", "packet_size"}
    values = store.backend.client.points('SHOW TAG VALUES FROM "amp-icmp" WITH KEY = "destination"')
    assert [v["value"] for v in values] == ["amp b,c"]


def test_rows_beyond_raw_retention_go_to_rollups(influx_services) -> None:
    stream_id, tags = _stream(influx_services)
    now = int(time.time())
    old = now - 6 * 3600
    old -= old % 300
    rows = [
        icmp_row(stream_id, old + 10, 10_000),
        icmp_row(stream_id, old + 70, 30_000),
        icmp_row(stream_id, now - 30, 50_000),
    ]
    result = influx_services.timeseries.write(ICMP, rows, tags)
    assert (result.written, result.routed_to_rollups, result.dropped) == (1, 2, 0)
    # The raw store holds only the fresh row; the old ones live on in the rollups.
    assert [r.timestamp for r in influx_services.timeseries.raw(ICMP, [stream_id], old, now)] == [
        now - 30
    ]
    aggregated = influx_services.timeseries.aggregate(
        ICMP,
        [stream_id],
        old,
        old + 3600,
        3600,
        [Aggregation("mean", "median", "mean"), Aggregation("count", "median", "count")],
    )
    assert aggregated.rows[0][1:] == [20_000.0, 2]
    # A later maintenance run must not wipe the bin for lack of raw rows.
    influx_services.timeseries.process_rollups()
    again = influx_services.timeseries.aggregate(
        ICMP, [stream_id], old, old + 300, 300, [Aggregation("count", "median", "count")]
    )
    assert again.rows[0][1] == 2


def test_partial_write_drops_are_counted_not_silent(influx_services) -> None:
    stream_id, tags = _stream(influx_services)
    store = influx_services.timeseries
    # Pretend we do not know the retention, so InfluxDB itself drops the old points.
    store.backend.raw_retention = None
    now = int(time.time())
    result = store.write(
        ICMP, [icmp_row(stream_id, now - 5 * 3600, 1), icmp_row(stream_id, now - 10, 2)], tags
    )
    assert result.dropped == 1
    assert result.written == 1
    assert "points beyond retention policy dropped=1" in result.dropped_reasons[0]


def test_expired_rows_in_several_batches_and_redelivered_are_all_counted_once(
    influx_services,
) -> None:
    """Bins of rows beyond the raw retention were once replaced batch by batch."""
    stream_id, tags = _stream(influx_services)
    store = influx_services.timeseries
    old = int(time.time()) - 6 * 3600
    old -= old % 300
    first, second, third = (icmp_row(stream_id, old + 10 * i, 10_000 * (i + 1)) for i in range(3))
    for batch in ([first, second], [third], [second]):
        store.write(ICMP, batch, tags)
    store.process_rollups()
    for binsize in (300, 3600, 86400):
        result = store.aggregate(
            ICMP,
            [stream_id],
            old,
            old + 300,
            binsize,
            [Aggregation("count", "median", "count"), Aggregation("mean", "median", "mean")],
        )
        assert result.rows[0][1:] == [3, 20_000.0], binsize


def test_percentile_list_gives_min_and_max_so_a_graph_reads_neither(influx_services) -> None:
    # A bin of 5 values keeps them sorted; a bin of 30 its minimum, its
    # percentiles to 5 digits and its maximum. Both start with the minimum and
    # end with the maximum, which the single-row read takes from there
    # instead of two more fields.
    stream_id, tags = _stream(influx_services)
    store = influx_services.timeseries
    hour = int(time.time()) // 3600 * 3600 - 3 * 3600
    rnd = random.Random(3)
    rows = [icmp_row(stream_id, hour + 60 * i, 1000 + 37 * i) for i in range(5)]
    wide = [[rnd.randint(900, 90_000) for _ in range(6)] for _ in range(5)]
    for i, rtts in enumerate(wide):
        row = icmp_row(stream_id, hour + 300 + 60 * i, rtts[0])
        row.values["rtts"] = rtts
        rows.append(row)
    store.write(ICMP, rows, tags)
    store.process_rollups()
    stored = [
        store.backend.kept_columns(ICMP, f'r="{point["r"]}"')["rtts_q"]
        for point in store.backend.client.points('SELECT "r" FROM "rollups"."amp-icmp_300"')
    ]
    values = sorted(v for rtts in wide for v in rtts)
    assert [len(numbers) for numbers in stored] == [5, 22]
    assert (stored[1][0], stored[1][-1]) == (values[0], values[-1])
    aggregations = [
        Aggregation("min", "rtts", "min"),
        Aggregation("max", "rtts", "max"),
        Aggregation("smoke", "rtts", "smoke"),
    ]
    statements: list[str] = []
    request = store.backend._request
    store.backend._request = lambda batch: statements.extend(batch) or request(batch)
    result = store.aggregate(ICMP, [stream_id], hour, hour + 600, 300, aggregations)
    assert result.levels_read == ("rollup-300",)
    assert not any('"rtts_min"' in s or '"rtts_max"' in s for s in statements)
    (first_min, first_max, first_smoke), (second_min, second_max, second_smoke) = [
        row[1:] for row in result.rows
    ]
    assert (first_min, first_max) == (1000, 1000 + 37 * 4)
    assert first_smoke[9] == 1000 + 37 * 2
    assert (second_min, second_max) == (values[0], values[-1])
    assert second_smoke == pytest.approx(percentiles(values, QUANTILE_POINTS), rel=1e-4)
    assert second_smoke[-1] == values[-1]


def test_rollup_percentiles_are_one_string_field_and_read_back(influx_services) -> None:
    # Reading 20 float fields cost a graph more than one string field (measured),
    # and InfluxDB's writes cost it per field value: a point is one string field
    # (and an hourly point the integer "m"); the 5-minute smoke comes back exactly.
    stream_id, tags = _stream(influx_services)
    store = influx_services.timeseries
    hour = int(time.time()) // 3600 * 3600 - 3 * 3600
    rtts = [1000 + 37 * i for i in range(5)]
    store.write(ICMP, [icmp_row(stream_id, hour + 60 * i, rtt) for i, rtt in enumerate(rtts)], tags)
    store.process_rollups()
    # The rows are in one 5-minute bin: the hour's point stands for it (no 5-minute point).
    assert not store.backend.client.points('SELECT * FROM "rollups"."amp-icmp_300"')
    fields = {
        point["fieldKey"]: point["fieldType"]
        for point in store.backend.client.points('SHOW FIELD KEYS FROM "rollups"."amp-icmp_3600"')
    }
    assert fields == {"r": "string", "m": "integer"}
    # Five values are shorter than their 20 percentiles, and give them back exactly.
    (stored,) = store.backend.client.points('SELECT "r" FROM "rollups"."amp-icmp_3600"')
    assert stored["r"].endswith(",[" + ",".join(str(rtt) for rtt in rtts) + "]]]")
    result = store.aggregate(
        ICMP,
        [stream_id],
        hour,
        hour + 300,
        300,
        [Aggregation("smoke", "rtts", "smoke"), Aggregation("n", "rtts", "count")],
    )
    assert result.levels_read == ("rollup-300",)
    smoke, count = result.rows[0][1:]
    assert count == 5
    assert smoke[-1] == max(rtts)
    assert smoke[9] == 1000 + 37 * 2  # the median of five


def _report(name: str) -> dict:
    return {
        "header": {"packet_size": 84},
        "reports": [{"name": name, "family": 2, "address": b"\xc0\x00\x02\x01", "rtt": 1000}],
    }


@pytest.mark.parametrize("name", ["x\nforged", "x\\", "tab\there", "nul\x00"])
def test_names_that_would_break_line_protocol_are_bad_reports(tmp_path, influx_url, name) -> None:
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite", influx_url)
    with Ingestor(services) as ingestor, pytest.raises(BadReport, match="control character"):
        ingestor.add(ICMP, _report(name), "amp-a", int(time.time()) - 60)
    assert services.streams.find(ICMP).total == 0
    services.close()


def test_tag_values_escape_backslashes_first() -> None:
    assert _tag("a b,c=d\\e") == "a\\ b\\,c\\=d\\\\e"
    # Each character alone is escaped; a value without any is kept as it is.
    assert [_tag(c) for c in "\\, ="] == ["\\\\", "\\,", "\\ ", "\\="]
    assert _tag("amp-mon-001.example.net") == "amp-mon-001.example.net"
    assert _tag(84) == "84"


def test_line_protocol_tags_sorted_escaped_and_empty_ones_left_out() -> None:
    """Tag text is built once per stream from names escaped once per collection."""
    backend = InfluxBackend(None, "unused")
    tags = {
        7: {"source": "a b", "destination": "c,d=e", "packet_size": "", "family": "ipv4"},
        8: {"family": "ipv6", "destination": "x", "packet_size": "84", "source": "y"},
    }
    rows = [Row(7, 60, {"results": 1}), Row(8, 60, {"results": 2}), Row(7, 120, {"results": 3})]
    lines, empty = backend.line_protocol(ICMP, rows, tags)
    assert empty == 0
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "amp-icmp,stream=7,destination=c\\,d\\=e,family=ipv4,source=a\\ b",
        "amp-icmp,stream=8,destination=x,family=ipv6,packet_size=84,source=y",
        "amp-icmp,stream=7,destination=c\\,d\\=e,family=ipv4,source=a\\ b",
    ]
    # The next batch takes the streams' text from what the first kept.
    assert backend.line_protocol(ICMP, rows, tags) == (lines, 0)
    assert backend.line_protocol(ICMP, rows[1:2], {})[0] == lines[1:2]


def test_rollup_points_written_before_the_compact_layout_read_the_same(
    tmp_path, influx_url
) -> None:
    # Points of the first layout state every statistic; points written now
    # are one packed field. A graph over both reads what it read before, and
    # a rewrite (late rows) is read as the rewrite.
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite", influx_url)
    try:
        stream_id, tags = _stream(services)
        store = services.timeseries
        hour = int(time.time()) // 3600 * 3600 - 3 * 3600
        rnd = random.Random(8)
        old = [icmp_row(stream_id, hour + 60 * m, rnd.randint(1_000, 90_000)) for m in range(5)]
        new = [icmp_row(stream_id, hour + 300 + 60 * m, 7_000) for m in range(5)]
        store.write(ICMP, old + new, tags)
        store.process_rollups()
        aggregations = [
            Aggregation(f"{function}", "median", function)
            for function in ("count", "mean", "min", "max", "stddev", "sum")
        ] + [
            Aggregation("smoke", "rtts", "smoke"),
            Aggregation("rmax", "rtts", "max"),
            Aggregation("lowest", "min", "min"),
            Aggregation("slowest", "max", "stddev"),
        ]
        expected = store.aggregate(ICMP, [stream_id], hour, hour + 600, 300, aggregations).rows
        (constant,) = store.backend.client.points(
            f'SELECT * FROM "rollups"."amp-icmp_300" WHERE time = {hour + 300}s'
        )
        written = ("median_count", "median_sumsq", "rtts_min", "min_count", "max_sum", "m")
        assert [constant.get(n) for n in written] == [None] * len(written)
        # The second and third fields (min, max) repeat the first (median).
        assert constant["r"].startswith("[1,[5,35000],0,0,")
        # The first bin as the former layout wrote it: every statistic, no "m".
        values = {
            name: value
            for _, _, columns in store.backend.read_rollup(ICMP, 300, [stream_id], hour, hour + 1)
            for name, value in columns.items()
        }
        store.backend.client.query(
            f'DELETE FROM "amp-icmp_300" WHERE time = {hour}s', database=store.backend.database
        )
        fields = [
            f"{name}={float(value)!r}"
            for name, value in values.items()
            if value is not None and name != "rtts_q" and not name.startswith("rtts_p")
        ]
        fields.append(f'rtts_q="{json.dumps(values["rtts_q"]).replace(" ", "")}"')
        store.backend.client.write(
            [f"amp-icmp_300,stream={stream_id} {','.join(fields)} {hour}"],
            store.backend.database,
            "rollups",
        )
        (legacy,) = store.backend.client.points(
            f'SELECT * FROM "rollups"."amp-icmp_300" WHERE time = {hour}s'
        )
        # As a process started after the former points were written finds them.
        store.backend._former.clear()
        assert legacy.get("m") is None
        assert legacy.get("r") is None
        assert legacy["rtts_min"] is not None
        assert store.aggregate(ICMP, [stream_id], hour, hour + 600, 300, aggregations).rows == (
            expected
        )
        # Both bins merged into one, as a coarser graph does.
        medians = [r.values["median"] for r in old] + [7_000.0] * 5
        merged = store.aggregate(ICMP, [stream_id], hour, hour + 600, 600, aggregations).rows[0]
        assert merged[1:5] == [10, pytest.approx(sum(medians) / 10), min(medians), max(medians)]
        # Rewritten with other values, the varying bin becomes constant and the
        # constant one varies: the fields the first write left do not count.
        store.write(ICMP, [icmp_row(stream_id, r.timestamp, 3_000) for r in old], tags)
        store.write(
            ICMP, [icmp_row(stream_id, hour + 300 + 60 * m, 4_000 + m) for m in range(5)], tags
        )
        store.process_rollups()
        rows = store.aggregate(ICMP, [stream_id], hour, hour + 600, 300, aggregations).rows
        assert rows[0][1:6] == [5, 3_000.0, 3_000.0, 3_000.0, 0.0]
        assert rows[0][7:] == [[3_000] * 20, 3_000, 3_000, 0.0]
        assert rows[1][1:5] == [5, 4_002.0, 4_000.0, 4_004.0]
        assert rows[1][5] == pytest.approx(1.5811388, rel=1e-6)
        # The minimum and maximum fields (one probe: the median) read as the median.
        assert rows[1][9:] == [4_000, rows[1][5]]
    finally:
        services.close()


def test_totals_of_a_field_repeating_the_one_before(tmp_path, influx_url) -> None:
    # One probe a result: the minimum field repeats the median, and its point
    # holds no min_count or min_sum; a matrix's totals of it are still right,
    # over one hour (points read) and over a day of hours (summed by InfluxDB
    # for fields that never repeat).
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite", influx_url)
    try:
        stream_id, tags = _stream(services)
        store = services.timeseries
        day = int(time.time()) // 86400 * 86400 - 2 * 86400
        rtts = [1_000 + 13 * m for m in range(0, 1440, 30)]
        rows = [
            icmp_row(stream_id, day + 60 * m, rtt)
            for m, rtt in zip(range(0, 1440, 30), rtts, strict=True)
        ]
        store.write(ICMP, rows, tags)
        store.process_rollups()
        (point,) = store.backend.client.points(
            f'SELECT * FROM "rollups"."amp-icmp_3600" WHERE time = {day}s'
        )
        assert point.get("min_count") is None
        fields = ["min", "median", "loss"]
        hour = store.totals(ICMP, [stream_id], day, day + 3600, fields)
        assert hour[stream_id] == {
            "min_count": 2,
            "min_sum": rtts[0] + rtts[1],
            "median_count": 2,
            "median_sum": rtts[0] + rtts[1],
            "loss_count": 2,
            "loss_sum": 0,
        }
        for start, end in ((day, day + 86400), (day + 3600, day + 12 * 3600)):
            expected = [
                rtt for row, rtt in zip(rows, rtts, strict=True) if start <= row.timestamp < end
            ]
            got = store.totals(ICMP, [stream_id], start, end, fields)[stream_id]
            assert got["min_count"] == got["median_count"] == len(expected)
            assert got["min_sum"] == got["median_sum"] == sum(expected)
    finally:
        services.close()


def test_a_measurement_without_former_fields_is_read_from_the_packed_field_alone(
    influx_services, monkeypatch
) -> None:
    # Selecting fields a measurement does not have costs InfluxDB time: where no
    # point of the former layouts was written, a read selects "r" alone. A
    # collector of an earlier version may still write them: looked at again
    # after FORMER_RECHECK, their points are read.
    stream_id, tags = _stream(influx_services)
    store = influx_services.timeseries
    hour = int(time.time()) // 3600 * 3600 - 3 * 3600
    store.write(ICMP, [icmp_row(stream_id, hour + 60 * m, 1_000 + m) for m in range(7)], tags)
    store.process_rollups()
    statements: list[str] = []
    request = store.backend._request
    store.backend._request = lambda batch: statements.extend(batch) or request(batch)
    aggregations = [Aggregation("n", "median", "count"), Aggregation("mean", "median", "mean")]
    result = store.aggregate(ICMP, [stream_id], hour, hour + 900, 300, aggregations)
    assert [row[1:] for row in result.rows] == [[5, 1_002.0], [2, 1_005.5], [None, None]]
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 2
    assert all(s.startswith('SELECT "r"') and "median_count" not in s for s in selects)
    # A point of the former layout, as an earlier collector writes it.
    former = _columns_encoder(ICMP)(
        {
            "median_count": 3,
            "median_sum": 30.0,
            "median_sumsq": 300.0,
            "median_min": 10.0,
            "median_max": 10.0,
        }
    )
    store.backend.client.write(
        [f"amp-icmp_300,stream={stream_id} {former} {hour + 600}"],
        store.backend.database,
        "rollups",
    )
    again = store.aggregate(ICMP, [stream_id], hour, hour + 900, 300, aggregations)
    assert again.rows == result.rows
    monkeypatch.setattr(influx, "FORMER_RECHECK", 0)
    statements.clear()
    again = store.aggregate(ICMP, [stream_id], hour, hour + 900, 300, aggregations)
    assert [row[1:] for row in again.rows] == [[5, 1_002.0], [2, 1_005.5], [3, 10.0]]
    assert any('"median_count"' in s for s in statements if s.startswith("SELECT"))
