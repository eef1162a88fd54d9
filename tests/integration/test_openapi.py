"""The OpenAPI document: valid, served, and true of the running app.

The app runs on waitress on a loopback port over a SQLite file loaded with a
small simulated mesh (every AMP test, the demo sites and meshes), with
``ampweb.public_data = true`` so that anonymous requests may read. Two kinds
of check run against it:

- schemathesis generates requests from the document for every read
  operation (and view creation) and checks that none answers 5xx, that each
  status is one the document lists and that each body fits its schema;
- requests with real parameters (a stream, a view taken from a matrix cell,
  a mesh) check the answers that carry data against the document too, since
  generated parameters mostly name things that do not exist.

The site and mesh writes need a user with role editconfig; their behaviour
is tested with the authentication tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import yaml
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

import ampweb
from ampweb.accounts import UserRegistry
from ampweb.validation import template_of
from ampweb.views.openapi import documented_yaml, openapi_document

SPEC = Path(ampweb.__file__).parent / "openapi.yaml"
DAY = 86400
#: A small mesh: three amplets testing one another for a day.
SITES = 3
INTERVAL = 300
SEED = 3

schema = schemathesis.openapi.from_path(SPEC)


@schema.hook
def filter_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> bool:
    """No query value that is sent empty: the app reads one as absent (as HTML forms send them)."""
    return all(value not in ("", None, [], {}) for value in (query or {}).values())


# Writes to sites and meshes need an editconfig user: fuzzed apart, with a token.
fuzzed = schema.exclude(method=["PUT", "DELETE"]).exclude(
    method="POST", path_regex=r"^/api/v1/(sites|meshes)$"
)
writes = schema.include(path_regex=r"^/api/v1/(sites|meshes)").exclude(method="GET")
# Schedule changes, by the same editor: checked for 5xx and the documented
# answers, not for accepting every schema-valid body (the arguments, the
# times within the period and the destinations are checked in code).
schedule_writes = schema.include(path_regex=r"^/api/v1/\{owner\}").exclude(method="GET")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free 127.0.0.1 port over a freshly loaded SQLite file."""

    from nntsc.collections import for_amp_test
    from nntsc.demo import ALL_TESTS, SimulatedMesh, demo_sites_and_meshes
    from nntsc.ingest.pipeline import Ingestor
    from tests.conftest import make_services, serve_app

    end = int(time.time()) // 60 * 60
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi')}/nntsc.sqlite"
    mesh = SimulatedMesh(SITES, end - DAY, end, INTERVAL, seed=SEED)
    services = make_services(url)
    try:
        with Ingestor(services) as ingestor:
            for source, timestamp, report in mesh.reports():
                ingestor.add("amp-icmp", report, source, timestamp)
            others = [test for test in ALL_TESTS if test != "icmp"]
            for test, source, timestamp, report in mesh.test_reports(others):
                for collection in for_amp_test(test):
                    ingestor.add(collection.name, report, source, timestamp)
        services.sites.save_all(*demo_sites_and_meshes(mesh))
        services.timeseries.process_rollups()
    finally:
        services.close()

    settings = {
        "nntsc.sql_url": url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
    }
    with serve_app(**settings) as server_url:
        yield server_url


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL, editor's token) of an app over its own database, for the write fuzzing.

    Apart from `live_url`, whose sites and meshes the other tests read.
    """

    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('openapi-writes')}/nntsc.sqlite"
    services = make_services(url)
    try:
        services.sites.create_site("amp-a", addresses=["192.0.2.1"])
        services.sites.create_mesh("mesh-a", is_source=True, members=["amp-a"])
        services.schedules.create_item(
            "mesh", "mesh-a", test="icmp", frequency=60, destination_meshes=["mesh-a"]
        )
        UserRegistry(services.sessionmaker).create_user("editor", roles=["editconfig"])
        _, token = UserRegistry(services.sessionmaker).create_token("editor", "schemathesis")
    finally:
        services.close()
    with serve_app(**{"nntsc.sql_url": url, "nntsc.timeseries_url": "sql"}) as server_url:
        yield server_url, token


def test_document_is_valid_openapi() -> None:
    validate(openapi_document())


def test_document_covers_every_api_route(live_url: str) -> None:
    """Every /api/v1 route of routes.py, /healthz and /metrics is in the document."""
    from pyramid.interfaces import IRoutesMapper

    app = ampweb.main({}, **{"nntsc.sql_url": "sqlite://", "nntsc.timeseries_url": "sql"})
    try:
        routes = app.registry.getUtility(IRoutesMapper).get_routes()
        patterns = {
            template_of(route.pattern)
            for route in routes
            if route.pattern.startswith("/api/") or route.pattern in ("/healthz", "/metrics")
        }
    finally:
        app.registry["ampy"].close()
    assert patterns == set(openapi_document()["paths"])


def test_document_is_served_as_json(live_url: str) -> None:
    response = requests.get(f"{live_url}/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == openapi_document()


@fuzzed.parametrize()
@hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_conforms_to_document(case: schemathesis.Case, live_url: str) -> None:
    case.call_and_validate(base_url=live_url, checks=CHECKS, timeout=30)


@writes.parametrize()
@hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_site_and_mesh_writes_conform_to_document(
    case: schemathesis.Case, writable: tuple[str, str]
) -> None:
    """Creates, updates and deletes by an editconfig user's token: no 5xx, answers as documented.

    Their bodies are described whole, so every schema-valid one must also be
    accepted (positive_data_acceptance): the document says what the code enforces.
    """
    url, token = writable
    case.call_and_validate(
        base_url=url,
        checks=[*CHECKS, positive_data_acceptance],
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )


@schedule_writes.parametrize()
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_schedule_writes_conform_to_document(
    case: schemathesis.Case, writable: tuple[str, str]
) -> None:
    """Bodies fuzzed against mesh-a and its item 1, so the registry's own checks run too."""
    url, token = writable
    if case.path_parameters is not None:
        case.path_parameters.update(owner="meshes", name="mesh-a", item_id=1)
    case.call_and_validate(
        base_url=url, checks=CHECKS, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


# ------------------------------------------------------------- answers with real data


def _get(live_url: str, path: str, template: str | None = None, **params: object):
    """GET `path`, check the answer against the document's `template` operation, return it."""
    response = requests.get(f"{live_url}{path}", params=params, timeout=60)
    schema[template or path]["GET"].validate_response(response)
    return response


def test_data_answers_conform(live_url: str) -> None:
    collections = _get(live_url, "/api/v1/collections").json()
    _get(live_url, "/api/v1/styles")
    for collection in collections["items"]:
        name = collection["name"]
        streams = _get(
            live_url,
            f"/api/v1/collections/{name}/streams",
            "/api/v1/collections/{collection}/streams",
            pagesize=2,
        ).json()
        options = "/api/v1/collections/{collection}/options"
        selected: list[str] = []
        for _level in collection["properties"]:
            found = _get(
                live_url, f"/api/v1/collections/{name}/options", options, selected=selected
            ).json()
            if not found["items"]:
                break
            selected = [*found["selected"], found["items"][0]["value"]]
        if not streams["items"]:
            continue
        stream_id = streams["items"][0]["stream_id"]
        _get(live_url, f"/api/v1/streams/{stream_id}", "/api/v1/streams/{stream_id}")
        data = "/api/v1/streams/{stream_id}/data"
        for params in ({}, {"binsize": 0}, {"binsize": 3600}, {"format": "csv"}):
            _get(live_url, f"/api/v1/streams/{stream_id}/data", data, **params)


def test_matrix_and_view_answers_conform(live_url: str) -> None:
    metrics = _get(live_url, "/api/v1/matrix").json()["items"]
    meshes = _get(live_url, "/api/v1/meshes").json()["items"]
    _get(live_url, "/api/v1/sites")
    _get(live_url, f"/api/v1/meshes/{meshes[0]['name']}", "/api/v1/meshes/{name}")
    site = meshes[0]["members"][0]
    _get(live_url, f"/api/v1/sites/{site}", "/api/v1/sites/{name}")
    sources = next(m["name"] for m in meshes if m["is_source"])
    destinations = next(m["name"] for m in meshes if m["is_destination"])
    view_ids = []
    for metric in metrics:
        for mode in ("absolute", "relative"):
            matrix = _get(
                live_url,
                f"/api/v1/matrix/{metric['name']}",
                "/api/v1/matrix/{metric}",
                src_mesh=sources,
                dst_mesh=destinations,
                mode=mode,
            ).json()
        cell = next((c for c in matrix["cells"] if c["value"] is not None), None)
        if cell is None:
            continue
        _get(
            live_url,
            f"/api/v1/matrix/{metric['name']}/tooltip",
            "/api/v1/matrix/{metric}/tooltip",
            source=cell["source"],
            destination=cell["destination"],
        )
        view_ids.append(cell["view_id"])
    assert view_ids, "no matrix cell has a value"
    history = "/api/v1/views/{view_id}/history"
    for view_id in view_ids:
        _get(live_url, f"/api/v1/views/{view_id}", "/api/v1/views/{view_id}")
        for detail in ("full", "summary", "matrix", "tooltip", "spark", "raw"):
            _get(live_url, f"/api/v1/views/{view_id}/history", history, detail=detail)
        _get(live_url, f"/api/v1/views/{view_id}/history", history, format="csv")
        legend = requests.get(f"{live_url}/api/v1/views/{view_id}", timeout=30).json()
        if legend["style"] == "traceroute":
            paths = "/api/v1/views/{view_id}/paths"
            for kind in ("ip", "as"):
                for output in ("json", "csv"):
                    _get(
                        live_url,
                        f"/api/v1/views/{view_id}/paths",
                        paths,
                        kind=kind,
                        format=output,
                    )


def _browser_session(live_url: str) -> requests.Session:
    """A session as a page's scripts have it: its cookie, and its CSRF token as a header."""
    session = requests.Session()
    page = session.get(f"{live_url}/", timeout=30).text
    token = re.search(r'<meta name="csrf-token" content="([^"]*)"', page)
    if token:
        session.headers["X-CSRF-Token"] = token.group(1)
    return session


def test_created_and_derived_views_conform(live_url: str) -> None:
    view_id = _get(
        live_url, "/api/v1/matrix/latency", "/api/v1/matrix/{metric}",
        src_mesh="demo-monitors", dst_mesh="demo-monitors",
    ).json()["cells"][0]["view_id"]  # fmt: skip
    legend = requests.get(f"{live_url}/api/v1/views/{view_id}", timeout=30).json()
    operation = schema["/api/v1/views"]["POST"]
    session = _browser_session(live_url)
    created = session.post(
        f"{live_url}/api/v1/views",
        json={"style": legend["style"], "groups": legend["groups"]},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    operation.validate_response(created)
    assert created.json()["view_id"] == view_id
    emptied = session.post(
        f"{live_url}/api/v1/views",
        json={"view_id": view_id, "remove": legend["groups"][0]},
        timeout=30,
    )
    assert emptied.status_code == 200, emptied.text
    operation.validate_response(emptied)


def test_health_and_metrics_conform(live_url: str) -> None:
    _get(live_url, "/healthz")
    _get(live_url, "/metrics")


# ------------------------------------------------------------- malformed input


#: What careless or hostile clients send: invalid UTF-8 (a lone byte, a bad
#: sequence, an encoded surrogate), NUL bytes and values far too long.
NASTY = ["%ff", "%c3%28", "%ed%a0%80", "%00", "a%00b", "x" * 5000]
#: A plausible value of each path parameter, so that a request reaches its view.
PATH_VALUES = {
    "collection": "amp-icmp",
    "stream_id": "1",
    "view_id": "aaaaaaaaaaaa",
    "metric": "latency",
    "name": "a",
    "owner": "sites",
    "item_id": "1",
    "kind": "meshes",
    "destination": "b",
}


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    document = openapi_document()
    found = []
    for parameter in item.get("parameters", []) + operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        found.append(parameter)
    return found


def _nasty_urls() -> Iterator[str]:
    """Every read operation of the document with each parameter (and a name) made malformed."""
    for template, item in openapi_document()["paths"].items():
        if "get" not in item:
            continue
        parameters = _parameters(item, item["get"])
        path = template
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        required = {p["name"]: "a" for p in parameters if p["in"] == "query" and p.get("required")}
        base = "&".join(f"{k}={v}" for k, v in required.items())
        yield f"{path}?%ff=1&{base}"
        yield f"{path}?{base}&{'n' * 5000}=1"
        for parameter in parameters:
            for value in NASTY:
                if parameter["in"] == "path":
                    yield template.replace("{" + parameter["name"] + "}", value).format(
                        **PATH_VALUES
                    )
                elif parameter["in"] == "query":
                    query = {**required, parameter["name"]: value}
                    yield f"{path}?" + "&".join(f"{k}={v}" for k, v in query.items())


NASTY_BODIES = [
    b'{"style": "\xff", "groups": []}',
    b'{"style": "latency\\u0000", "groups": []}',
    b'{"style": "latency", "groups": ["\\u0000"]}',
    b'{"style": "latency", "groups": ["\\ud800"]}',
    b'{"view_id": "' + b"a" * 5000 + b'", "add": "x"}',
    b"\xff\xfe",
    b"[" * 5000,
]


def _check_nasty_requests(url: str) -> None:
    """No malformed request answers 5xx; the API answers JSON errors."""
    session = _browser_session(url)
    failures = []
    sent = 0
    for path in _nasty_urls():
        response = session.get(f"{url}{path}", timeout=30)
        sent += 1
        refused_as_json = response.status_code < 400 or response.headers["Content-Type"].startswith(
            "application/json"
        )
        if response.status_code >= 500 or not refused_as_json:
            failures.append(f"GET {path[:120]} -> {response.status_code}")
    for body in NASTY_BODIES:
        response = session.post(
            f"{url}/api/v1/views",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        sent += 1
        if response.status_code >= 500:
            failures.append(f"POST {body[:60]!r} -> {response.status_code}")
    assert sent > 300
    assert not failures, "\n".join(failures)


def test_malformed_parameters_never_answer_5xx(live_url: str) -> None:
    _check_nasty_requests(live_url)


def test_malformed_parameters_never_answer_5xx_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL refuses NUL in text where SQLite stores it: the same requests on it."""
    from tests.conftest import make_services, serve_app

    services = make_services(postgres_url)
    try:
        services.sites.create_site("a", addresses=["192.0.2.1"])
        services.sites.create_mesh("a", is_source=True, is_destination=True, members=["a"])
    finally:
        services.close()
    settings = {
        "nntsc.sql_url": postgres_url,
        "nntsc.timeseries_url": "sql",
        "ampweb.public_data": "true",
    }
    with serve_app(**settings) as url:
        _check_nasty_requests(url)


# ---------------------------------------------------- the document is what the code enforces

#: Schema-valid requests the code used to refuse (schemathesis, issue 14.5), as
#: (method, path, body): each is now either refused by the document too, and
#: answered 400 (or 405), or accepted by the code.
DOCUMENT_REFUSES = [
    ("PUT", "/api/v1/sites/amp-a", {"name": "other", "long_name": "x"}),
    ("PUT", "/api/v1/meshes/mesh-a", {"name": "0", "members": []}),
    ("POST", "/api/v1/sites", {"name": "s1", "addresses": [""]}),
    ("POST", "/api/v1/sites", {"name": "s2", "x-extra": 1}),
    ("POST", "/api/v1/meshes", {"name": "m1", "members": [""]}),
    ("POST", "/api/v1/meshes", {"name": "m2", "x-extra": ""}),
    ("POST", "/api/v1/sites", {"name": "a b"}),
    ("POST", "/api/v1/views", {"style": "no-such-style", "groups": []}),
    ("POST", "/api/v1/views", {"view_id": "", "add": ""}),
    ("POST", "/api/v1/views", {"view_id": "aaaaaaaaaaaa"}),
    ("GET", "/api/v1/sites/%2B", None),
    ("GET", "/api/v1/meshes/%05%C3%BA", None),
    ("DELETE", "/api/v1/sites/%05%C3%BA", None),
    ("GET", "/api/v1/streams/1/data?end=0", None),
    ("GET", "/api/v1/views/aaaaaaaaaaaa/history?end=0", None),
]
#: Schema-valid requests the code must accept (answer anything but 400).
DOCUMENT_ACCEPTS = [
    ("GET", "/api/v1/streams/1/data?end=1", None),
    ("GET", "/api/v1/views/aaaaaaaaaaaa/history?end=1&detail=full&binsize=1", None),
    ("GET", "/api/v1/views/aaaaaaaaaaaa/paths?end=1", None),
    ("PUT", "/api/v1/sites/amp-a", {"long_name": "A", "addresses": ["192.0.2.7", "2001:db8::7"]}),
    ("PUT", "/api/v1/meshes/mesh-a", {"members": ["amp-a"], "public": True}),
]


def _document_accepts_body(method: str, path: str, body: Any) -> bool:
    """The document's verdict on `body`, by jsonschema directly (not through the app's code)."""
    from jsonschema import Draft202012Validator

    template = re.sub(r"/api/v1/(sites|meshes)/[^/?]+", r"/api/v1/\1/{name}", path)
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", template, method.lower(), "requestBody", "content")
    )
    # The whole document as the root, so that its "#/components/..." references resolve.
    schema = {
        **openapi_document(),
        "$ref": f"#/{pointer}/application~1json/schema",
    }
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(body)


@pytest.mark.parametrize(("method", "path", "body"), DOCUMENT_REFUSES)
def test_what_the_document_refuses_is_a_400(
    method: str, path: str, body: Any, writable: tuple[str, str]
) -> None:
    url, token = writable
    if body is not None:
        assert not _document_accepts_body(method, path, body)
    response = requests.request(
        method,
        f"{url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(("method", "path", "body"), DOCUMENT_ACCEPTS)
def test_what_the_document_accepts_is_not_refused(
    method: str, path: str, body: Any, writable: tuple[str, str]
) -> None:
    url, token = writable
    if body is not None:
        assert _document_accepts_body(method, path, body)
    response = requests.request(
        method,
        f"{url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code in (200, 404), response.text


def test_a_method_a_path_does_not_offer_is_a_405_with_allow(live_url: str) -> None:
    response = requests.request("PATCH", f"{live_url}/api/v1/sites", timeout=30)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert "PATCH" in response.json()["error"]


def test_the_documented_view_styles_are_the_apps() -> None:
    """The document's enum of styles is checked against the registry that declares them."""
    from ampy import Ampy

    ampy = Ampy.from_settings({"nntsc.sql_url": "sqlite://", "nntsc.timeseries_url": "sql"})
    try:
        styles = sorted(ampy.view_styles())
    finally:
        ampy.close()
    # The YAML itself lists the shipped styles, for people reading it; the
    # served document (and validation) takes them from the registry.
    written = yaml.safe_load(documented_yaml())["components"]["schemas"]["ViewStyleName"]["enum"]
    assert sorted(written) == styles
    assert openapi_document()["components"]["schemas"]["ViewStyleName"]["enum"] == styles
