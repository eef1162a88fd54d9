"""Regression tests for defects found in review: each failed before its fix."""

from __future__ import annotations

import time

import pytest
from webtest import TestApp

from ampweb import main
from ampy.series import spec_for
from nntsc.collections import Row
from nntsc.collections import get as get_collection
from nntsc.errors import BadReport
from nntsc.ingest.pipeline import Ingestor
from nntsc.store.influx import _tag
from nntsc.store.models import RollupPending
from nntsc.store.rollups import HOUR
from tests.conftest import make_services

ICMP = get_collection("amp-icmp")


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


def test_an_hour_that_closes_between_prepare_and_write_is_marked_again(tmp_path) -> None:
    services = make_services(f"sqlite:///{tmp_path}/n.sqlite")
    store = services.timeseries
    stream_id = services.streams.stream_id(
        ICMP, {"source": "a", "destination": "b", "family": "ipv4", "packet_size": "84"}
    )
    hour = 1_790_000_000 - 1_790_000_000 % HOUR
    values = {
        "median": 1.0,
        "min": 1,
        "max": 1,
        "loss": 0,
        "results": 1,
        "lossrate": 0.0,
        "rtts": [1],
    }
    clock = [hour + 10.0]
    store.clock = lambda: clock[0]
    store.write(ICMP, [Row(stream_id, hour + 5, values)], {stream_id: {}})
    store.process_rollups(now=hour + HOUR + 3600)  # the hour is computed, its mark gone
    # The next row is prepared while the hour is open (its mark is skipped) ...
    prepared = store.prepare(ICMP, [Row(stream_id, hour + 50, values)], {stream_id: {}})
    assert prepared.marks == set()
    # ... and written after the hour closed and settled.
    clock[0] = hour + HOUR + 600
    store.write_prepared(prepared)
    with services.engine.connect() as connection:
        pending = connection.execute(RollupPending.__table__.select()).all()
    hours = [(row.stream_id, row.bin_start) for row in pending if row.level == HOUR]
    assert hours == [(stream_id, hour)]
    services.close()


def test_sql_outage_answers_503_not_500() -> None:
    app = TestApp(
        main(
            {},
            **{
                "nntsc.sql_url": "postgresql+psycopg2://postgres@127.0.0.1:9/x",
                "nntsc.timeseries_url": "sql",
                "ampweb.public_data": "true",
            },
        )
    )
    for path in ("/api/v1/streams/1", "/api/v1/collections/amp-icmp/streams"):
        response = app.get(path, status=503)
        assert response.json == {"error": "the SQL database is unavailable"}


def test_every_collection_has_a_history_spec() -> None:
    spec = spec_for("amp-dns")
    names = [column.name for column in spec.columns("full")]
    # DNS draws on latency graphs, so it answers the latency columns.
    assert names == ["latency", "min", "max", "loss", "results", "smoke"]


def test_a_binsize_no_rollup_divides_cannot_scan_years_of_raw_rows(tmp_path) -> None:
    from nntsc.errors import BadQuery
    from nntsc.store import Aggregation

    services = make_services(f"sqlite:///{tmp_path}/n.sqlite")
    end = int(time.time())
    with pytest.raises(BadQuery, match="multiple of 300"):
        services.timeseries.aggregate(
            ICMP, [1], end - 3650 * 86400, end, 1_209_599, [Aggregation("m", "median", "mean")]
        )
    services.close()


def test_history_of_a_collection_without_a_graph_style(tmp_path) -> None:
    """Data of a DNS stream once answered 404 "unknown collection"."""
    from nntsc import wire
    from nntsc.collections import for_amp_test
    from tests.unit.test_wire import REPORTS

    url = f"sqlite:///{tmp_path}/dns.sqlite"
    services = make_services(url)
    now = int(time.time())
    report = wire.decode("dns", wire.encode("dns", REPORTS["dns"]))
    with Ingestor(services) as ingestor:
        for offset in range(0, 3600, 300):
            ingestor.add_report(for_amp_test("dns"), report, "amp-a", now - 3600 + offset)
    stream = services.streams.find(get_collection("amp-dns")).items[0]
    services.close()
    app = TestApp(
        main(
            {},
            **{"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"},
        )
    )
    body = app.get(f"/api/v1/streams/{stream.stream_id}/data?start={now - 3600}&end={now}").json
    assert body["collection"] == "amp-dns"
    assert "latency" in body["columns"]
    assert "smoke" in body["columns"]
    assert any(row[body["columns"].index("latency")] is not None for row in body["rows"])
