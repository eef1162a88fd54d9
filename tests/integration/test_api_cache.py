"""Cached JSON answers: gzip for clients that accept it, the same JSON for those that don't."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator

import pytest
import webtest
from webob import Request

import ampweb
from nntsc.demo import SimulatedMesh, demo_sites_and_meshes
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services

END = int(time.time()) // 300 * 300
START = END - 6 * 3600


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cache')}/nntsc.sqlite"
    services = make_services(url)
    mesh = SimulatedMesh(3, START, END, 300, seed=4)
    with Ingestor(services) as ingestor:
        for source, timestamp, report in mesh.reports():
            ingestor.add("amp-icmp", report, source, timestamp)
    services.sites.save_all(*demo_sites_and_meshes(mesh))
    services.close()
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    yield test_app
    test_app.app.registry["ampy"].close()


def view_id(app: webtest.TestApp) -> str:
    ampy = app.app.registry["ampy"]
    source, destination = (s.name for s in SimulatedMesh(3, START, END, 300, seed=4).sites[:2])
    return ampy.create_view(
        "latency", [f"amp-icmp FROM {source} TO {destination} SIZE 84 FAMILY SPLIT"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/views/{view}/history?start={start}&end={end}",
        "/api/v1/matrix/latency?src_mesh=demo-monitors&dst_mesh=demo-targets",
    ],
)
def test_gzip_and_plain_answers_carry_the_same_json(app: webtest.TestApp, path: str) -> None:
    url = path.format(view=view_id(app), start=START, end=END)
    plain = app.get(url)
    # WebTest would undo an encoding itself: ask the WSGI app directly too.
    bare = Request.blank(url).get_response(app.app)
    assert bare.headers.get("Content-Encoding") is None, "gzip sent to a client that did not ask"
    assert bare.json == plain.json
    assert "Accept-Encoding" in plain.headers["Vary"]
    zipped = Request.blank(url, headers={"Accept-Encoding": "gzip, deflate"}).get_response(app.app)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.body) < len(plain.body)
    assert json.loads(gzip.decompress(zipped.body)) == plain.json
    # Asked again, the answer is the cached one, byte for byte.
    again = Request.blank(url, headers={"Accept-Encoding": "gzip"}).get_response(app.app)
    assert again.body == zipped.body
