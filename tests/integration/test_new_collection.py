"""A collection declared only in its own modules gets options, API, a graph page and a matrix tab.

The test declares ``test-gauge`` the way a new collection is added: a
`nntsc.collections.Collection` (storage) and an `ampy.collections.CollectionSpec`
(presentation), each registered, its tables created as its migration would,
rows ingested through the real pipeline into SQLite. Nothing else in ampy or
ampweb names it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

import ampweb
import nntsc.collections
from ampy import collections as presentation
from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import GroupSpec
from ampy.matrix import Metric
from ampy.series import Column, SeriesSpec, same_columns
from nntsc.collections import Collection, Field, ParsedRow, Property
from nntsc.errors import BadReport
from nntsc.ingest.pipeline import Ingestor
from nntsc.store import models
from tests.conftest import make_services

NAME = "test-gauge"
END = int(time.time()) // 300 * 300
START = END - 6 * 3600


class Gauge(Collection):
    """One reading per report from a site of a target."""

    name = NAME
    view_style = "gauge"
    title = "Gauge"
    description = "A test collection: one reading per report"
    properties = (Property("source", "Source"), Property("destination", "Target"))
    fields = (Field("reading", "float", "V", quantiles=True),)
    presence_field = "reading"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        if not isinstance(report, dict) or not isinstance(report.get("reading"), int | float):
            raise BadReport("a gauge report has a reading")
        return [ParsedRow({"source": source, "destination": report["target"]}, report)]


READING = Column("reading", "reading", "mean", unit="V")
SPEC = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("gauge", "Gauge readings", default_span=6 * 3600),),
    tab_order=5,
    groups=GroupSpec(
        NAME,
        ("source", "destination"),
        title=lambda v: f"{v['source']} reads {v['destination']}",
    ),
    series=SeriesSpec(
        NAME,
        60,
        "mean",
        same_columns((READING, Column("reading_smoke", "reading", "smoke", unit="V")), (READING,)),
    ),
    metrics=(
        Metric(
            name="gauge",
            position=99,
            label="Gauge",
            collection=NAME,
            style="gauge",
            numerator=("reading", "sum"),
            denominator=("reading", "count"),
            scale=1.0,
            unit="V",
            steps=(1, 2, 3, 4, 5, 6),
            stale_after=600,
        ),
    ),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    nntsc.collections.register(Gauge())
    tables = models.define_tables(Gauge())
    presentation.register(SPEC)
    url = f"sqlite:///{tmp_path_factory.mktemp('gauge')}/nntsc.sqlite"
    services = make_services(url)
    try:
        # What the collection's migration does.
        models.metadata.create_all(services.engine, tables=tables)
        with Ingestor(services) as ingestor:
            for timestamp in range(START, END, 300):
                for target in ("t1", "t2"):
                    report = {"target": target, "reading": 1.5 + (timestamp // 300) % 3}
                    ingestor.add(NAME, report, "site-a", timestamp)
    finally:
        services.close()
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    try:
        yield test_app
    finally:
        test_app.app.registry["ampy"].close()
        presentation.unregister(NAME)
        nntsc.collections.unregister(NAME)
        for table in tables:
            models.metadata.remove(table)


def page_data(response: webtest.TestResponse) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="page-data">(.*?)</script>', response.text, re.S
    )
    assert match
    return json.loads(match.group(1))


def csrf(app: webtest.TestApp) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', app.get("/").text)
    assert match
    return match.group(1)


def test_the_api_lists_it_and_its_style(app: webtest.TestApp) -> None:
    names = [c["name"] for c in app.get("/api/v1/collections").json["items"]]
    assert NAME in names
    styles = app.get("/api/v1/styles").json["items"]
    assert {"style": "gauge", "collections": [NAME]} in styles
    metrics = app.get("/api/v1/matrix").json["items"]
    assert {"name": "gauge", "label": "Gauge", "unit": "V", "style": "gauge"} in metrics


def test_options_walk_its_hierarchy(app: webtest.TestApp) -> None:
    answer = app.get(f"/api/v1/collections/{NAME}/options").json
    # The only source is chosen at once; the targets are offered next.
    assert answer["selected"] == ["site-a"]
    assert answer["property"] == "destination"
    assert [item["value"] for item in answer["items"]] == ["t1", "t2"]


def test_a_view_of_it_has_a_graph_page_and_history(app: webtest.TestApp) -> None:
    group = {"collection": NAME, "values": {"source": "site-a", "destination": "t2"}}
    view_id = app.post_json(
        "/api/v1/views",
        {"style": "gauge", "groups": [group]},
        headers={"X-CSRF-Token": csrf(app)},
    ).json["view_id"]
    page = app.get(f"/view/gauge/{view_id}")
    assert "<h1>Gauge readings" in page.text
    data = page_data(page)
    assert data["title"] == "Gauge readings"
    assert data["default_span"] == 6 * 3600
    # No script of its own: the page draws it with the generic style.
    assert data["style_module"] is None
    [line] = data["view"]["lines"]
    assert line["title"] == "site-a reads t2"
    history = app.get(data["history_url"], {"start": START, "end": END}).json
    [drawn] = history["lines"]
    assert drawn["columns"][:2] == ["timestamp", "reading"]
    assert drawn["units"]["reading"] == "V"
    readings = [row[1] for row in drawn["rows"] if row[1] is not None]
    # Readings cycle through 1.5, 2.5 and 3.5: every bin's mean lies within.
    assert len(readings) >= 60
    assert all(1.5 <= value <= 3.5 for value in readings)
    # The stream list has its tab, first in its tab order.
    index = app.get("/", {"collection": NAME})
    assert index.text.index(f"collection={NAME}") < index.text.index("collection=amp-icmp")
