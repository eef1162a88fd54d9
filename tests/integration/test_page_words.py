"""Page text counts and names things right: "1 stream", "(3 sites)", one "Log out" button."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import webtest

import ampweb
from ampweb.accounts import UserRegistry
from nntsc.collections import get as get_collection
from nntsc.demo import DEMO_MONITOR_MESH, SimulatedMesh, demo_sites_and_meshes
from tests.conftest import make_services

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webtest.TestApp]:
    url = f"sqlite:///{tmp_path_factory.mktemp('words')}/nntsc.sqlite"
    end = int(time.time()) // 3600 * 3600
    services = make_services(url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(SimulatedMesh(3, end - 3600, end, 300)))
        UserRegistry(services.sessionmaker).create_user("root", PASSWORD, ["admin"])
        services.streams.stream_id(
            get_collection("amp-tcpping"),
            {
                "source": "a",
                "destination": "b",
                "port": "80",
                "family": "ipv4",
                "packet_size": "64",
            },
        )
    finally:
        services.close()
    settings = {"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.public_data": "true"}
    test_app = webtest.TestApp(ampweb.main({}, **settings))
    yield test_app
    test_app.app.registry["ampy"].close()


def test_the_stream_count_is_singular_for_one(app: webtest.TestApp) -> None:
    text = app.get("/", {"collection": "amp-tcpping"}).text
    assert "1 stream in" in text
    assert "1 streams" not in text
    assert "no streams in" in app.get("/", {"collection": "amp-dns"}).text


def test_mesh_choices_count_their_sites(app: webtest.TestApp) -> None:
    page = app.get(f"/matrix/latency/{DEMO_MONITOR_MESH}/{DEMO_MONITOR_MESH}")
    options = [o.get_text() for o in page.html.select("#src-mesh option")]
    assert options
    assert all(re.search(r"\((no sites|1 site|\d+ sites)\)$", text) for text in options), options


def test_one_log_out_button_on_every_page(app: webtest.TestApp) -> None:
    form = app.get("/login").forms[0]
    form["username"] = "root"
    form["password"] = PASSWORD
    form.submit(status=303)
    for path in ("/", "/admin", "/admin/users", "/login", "/matrix"):
        page = app.get(path).maybe_follow()
        assert page.text.count('action="/logout"') == 1, path
        assert len(re.findall(r">\s*Log out\b", page.text)) == 1, path
