"""Malformed requests answer 4xx, never 500; errors are the site's pages (or JSON on the API).

WebTest on the real WSGI app over a SQLite file with the demo sites and
meshes, private (no `public_data`): what an anonymous client can reach must
hold too. Requests are made with raw URLs so that the invalid bytes reach
WebOb exactly as a client sent them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import webtest

import ampweb
from nntsc.demo import SimulatedMesh, demo_sites_and_meshes
from tests.conftest import make_services


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('bad-requests')}/nntsc.sqlite"
    services = make_services(url)
    try:
        services.sites.save_all(*demo_sites_and_meshes(SimulatedMesh(3, 0, 3600, 300, seed=1)))
    finally:
        services.close()
    return url


def _app(sqlite_url: str, **settings: str) -> webtest.TestApp:
    return webtest.TestApp(
        ampweb.main({}, **{"nntsc.sql_url": sqlite_url, "nntsc.timeseries_url": "sql", **settings})
    )


@pytest.fixture(scope="module")
def anonymous(sqlite_url: str) -> Iterator[webtest.TestApp]:
    app = _app(sqlite_url)
    yield app
    app.app.registry["ampy"].close()


@pytest.fixture(scope="module")
def public(sqlite_url: str) -> Iterator[webtest.TestApp]:
    """Anonymous reads allowed, so that requests reach the views' own parameter handling."""
    app = _app(sqlite_url, **{"ampweb.public_data": "true"})
    yield app
    app.app.registry["ampy"].close()


API_URLS = [
    "/api/v1/collections/amp-icmp/streams?cursor=%00%ff",
    "/api/v1/streams/15/data?start=%ff&end=1",
    "/api/v1/matrix/latency?src_mesh=%ff&dst_mesh=a",
    "/api/v1/sites?term=%ff",
    "/api/v1/sites?%ff=1",
    "/api/v1/sites/%ff",
    "/api/v1/sites/a%00b",
    "/api/v1/meshes?term=a%00b",
    "/api/v1/views/%c3%28",
    "/api/v1/collections/amp-icmp/options?selected=%ff",
]
PAGE_URLS = [
    "/login?came_from=%ff",
    "/?collection=%ff",
    "/view/latency/%ff",
    "/matrix/latency/%ff/a",
    "/%ff",
]


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.parametrize("who", ["anonymous", "public"])
def test_invalid_utf8_or_nul_on_the_api_is_a_json_400(
    url: str, who: str, request: pytest.FixtureRequest
) -> None:
    app: webtest.TestApp = request.getfixturevalue(who)
    response = app.get(url, status=400)
    assert response.content_type == "application/json"
    assert "UTF-8" in response.json["error"] or "NUL" in response.json["error"]


@pytest.mark.parametrize("url", PAGE_URLS)
def test_invalid_utf8_on_a_page_is_the_html_error_page(
    url: str, anonymous: webtest.TestApp
) -> None:
    # A fresh client: webtest's cookie jar cannot itself read such a URL.
    response = webtest.TestApp(anonymous.app).get(url, status=400)
    assert response.content_type == "text/html"
    assert "Bad request" in response.text
    assert "not valid UTF-8" in response.text
    assert 'href="/"' in response.text


@pytest.mark.parametrize("cookie", ["nntsc_session=a\x00b", "nntsc_session=\xff\xfe", "a=%ff"])
def test_a_malformed_cookie_is_ignored(cookie: str, anonymous: webtest.TestApp) -> None:
    """WebOb drops a cookie it cannot read: the request is anonymous, not a 500."""
    response = webtest.TestApp(anonymous.app).get(
        "/api/v1/sites", headers={"Cookie": cookie}, status=401
    )
    assert response.content_type == "application/json"


def test_a_form_body_that_is_not_utf8_is_still_a_400(anonymous: webtest.TestApp) -> None:
    anonymous.post(
        "/login",
        b"username=%ff&password=%ff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        status=400,
    )


def test_a_json_body_with_nul_is_a_400(public: webtest.TestApp) -> None:
    page = public.get("/")
    token = page.html.find("meta", attrs={"name": "csrf-token"})["content"]
    response = public.post_json(
        "/api/v1/views",
        {"style": "latency", "groups": ["icmp\x00"]},
        headers={"X-CSRF-Token": token},
        status=400,
    )
    assert "NUL" in response.json["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/views/" + "a" * 3000,
        "/api/v1/sites/" + "b" * 3000,
        "/api/v1/matrix/" + "c" * 3000 + "?src_mesh=a&dst_mesh=b",
        "/api/v1/collections/" + "d" * 3000 + "/streams",
    ],
)
def test_error_messages_echo_a_bounded_prefix(url: str, public: webtest.TestApp) -> None:
    message = public.get(url, status=(400, 404)).json["error"]
    assert len(message) <= 300, message


# ---------------------------------------------------------------- error pages (issue 15.4)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/graph/999999", "unknown stream 999999"),
        ("/view/latency/aaaaaaaaaaaa", "unknown view 'aaaaaaaaaaaa'"),
        ("/view/nosuchstyle/aaaaaaaaaaaa", "no such graph style"),
        ("/no/such/page", "no such page: /no/such/page"),
    ],
)
def test_unknown_things_answer_the_html_error_page_with_404(
    url: str, message: str, public: webtest.TestApp
) -> None:
    response = public.get(url, status=404)
    assert response.content_type == "text/html"
    page = response.html
    assert page.find("h1").text == "Not found"
    assert message in page.find(class_="error-message").text
    # The way back and the search, inside the site's own layout.
    assert page.find("header", class_="site-header") is not None
    assert page.find("a", href="/") is not None
    search = page.find("form", role="search")
    assert search is not None
    assert search.find("input", type="search") is not None


def test_unknown_things_on_the_api_stay_json(public: webtest.TestApp) -> None:
    for url in ("/api/v1/streams/999999", "/api/v1/no/such/thing", "/api/v1/views/aaaaaaaaaaaa"):
        response = public.get(url, status=404)
        assert response.content_type == "application/json"
        assert set(response.json) == {"error"}


def test_a_bad_parameter_on_a_page_is_the_html_error_page(public: webtest.TestApp) -> None:
    response = public.get("/graph/5/100/50", status=400)
    assert response.content_type == "text/html"
    assert response.html.find("h1").text == "Bad request"


def test_the_stream_search_finds_streams_by_any_property(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The error page's search: `/?q=` lists the streams with a property containing the term."""
    from nntsc.ingest.pipeline import Ingestor

    url = f"sqlite:///{tmp_path_factory.mktemp('search')}/nntsc.sqlite"
    mesh = SimulatedMesh(3, 0, 600, 300, seed=1)
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in mesh.reports():
                ingestor.add("amp-icmp", report, source, timestamp)
    finally:
        services.close()
    app = _app(url, **{"ampweb.public_data": "true"})
    try:
        site = mesh.sites[1].name
        everything = app.get("/").html.select("table.stream-table tbody tr")
        found = app.get("/", {"q": site.upper()}).html
        rows = found.select("table.stream-table tbody tr")
        assert 0 < len(rows) < len(everything)
        assert all(site in row.text for row in rows)
        assert found.find("input", attrs={"name": "q"})["value"] == site.upper()
        # Wildcards of SQL match themselves only.
        assert app.get("/", {"q": "%"}).html.select("table.stream-table tbody tr") == []
        app.get("/", {"q": "x" * 201}, status=400)
    finally:
        app.app.registry["ampy"].close()


def test_a_large_body_leaves_no_open_temporary_file(public: webtest.TestApp) -> None:
    """WebOb spools a body over 10 kB to a temporary file: it is closed once answered."""
    import gc
    import warnings

    token = public.get("/").html.find("meta", attrs={"name": "csrf-token"})["content"]
    body = {"style": "latency", "groups": ["x" * 1000] * 40}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        public.post_json("/api/v1/views", body, headers={"X-CSRF-Token": token}, status=400)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", "Bearer \xff\xfe"),
        ("Authorization", "Bearer " + "a" * 5000),
        ("Authorization", "Basic \xff"),
        ("X-CSRF-Token", "\xff"),
        ("Accept-Encoding", "\xff;q=x"),
        ("Accept", "\xff/\xff;q=2"),
        ("X-Forwarded-For", "\xff, 192.0.2.1"),
        ("Content-Type", "application/json; charset=\xff"),
        ("If-None-Match", "\xff"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/v1/sites"), ("GET", "/"), ("POST", "/api/v1/views")]
)
def test_malformed_headers_never_answer_5xx(
    name: str, value: str, method: str, path: str, anonymous: webtest.TestApp
) -> None:
    """Headers reach WSGI as latin-1 text: odd bytes in them are refused or ignored, not a 500."""
    response = webtest.TestApp(anonymous.app).request(
        path,
        method=method,
        headers={name: value},
        body=b'{"style": "latency"}' if method == "POST" else b"",
        expect_errors=True,
    )
    assert response.status_int < 500


# ------------------------------------------- integers are decimal digits only


@pytest.mark.parametrize("number", ["+5", " 5", "5 ", "1_000", "--5", "9" * 5000])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/events?min_severity={}",  # checked against openapi.yaml's integer
        "/api/v1/event-groups?pagesize={}",
        "/events?event={}",  # a page's own `int_param`
    ],
)
def test_an_integer_parameter_must_be_plain_digits(
    url: str, number: str, public: webtest.TestApp
) -> None:
    """`int()` takes signs, spaces and underscores, and raises on 4,301 digits: a 400 each."""
    from urllib.parse import quote

    response = public.get(url.format(quote(number)), status=400)
    if url.startswith("/api/"):
        assert "must be an integer" in response.json["error"]
