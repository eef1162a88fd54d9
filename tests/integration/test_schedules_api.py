"""The schedule REST API and `/yaml/{site}` over HTTP: roles, bad input, Last-Modified, 304.

The app runs on WebTest, on SQLite and on PostgreSQL for the API, with an
editconfig user and a viewdata user, each with an API token. Anonymous
requests are refused everywhere except on the few routes meant for them
(the schedule amplet2 fetches, logging in, health and the API document),
which a walk over every route of the app checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import webtest
import yaml

import ampweb
from ampweb.accounts import UserRegistry
from tests.conftest import make_services
from tests.unit.test_schedules import read_as_amplet2

PASSWORD = "a long enough password"


@pytest.fixture
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, unless a test asks for PostgreSQL (``indirect`` parametrization)."""
    if getattr(request, "param", "sqlite") == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path}/schedules.sqlite"


@pytest.fixture
def tokens(sql_url: str) -> dict[str, str]:
    """Sites amp-a, amp-b, amp-c; mesh-1 = a, b; mesh-2 = a, c; the users' tokens by role."""
    services = make_services(sql_url)
    try:
        for name in ("amp-a", "amp-b", "amp-c"):
            services.sites.create_site(name)
        services.sites.create_mesh("mesh-1", members=["amp-a", "amp-b"])
        services.sites.create_mesh("mesh-2", members=["amp-a", "amp-c"])
        users = UserRegistry(services.sessionmaker)
        found = {}
        for username, role in (("editor", "editconfig"), ("viewer", "viewdata")):
            users.create_user(username, PASSWORD, [role])
            found[role] = users.create_token(username, "test")[1]
        return found
    finally:
        services.close()


@pytest.fixture
def app(sql_url: str, tokens: dict[str, str]) -> Iterator[webtest.TestApp]:
    settings = {"nntsc.sql_url": sql_url, "nntsc.timeseries_url": "sql"}
    app = webtest.TestApp(ampweb.main({}, **settings))
    yield app
    app.app.registry["ampy"].close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ICMP = {"test": "icmp", "frequency": 60, "args": "-s 84", "destination_meshes": ["mesh-1"]}


@pytest.mark.parametrize(
    "sql_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_schedule_api_by_role(app: webtest.TestApp, tokens: dict[str, str]) -> None:
    editor, viewer = bearer(tokens["editconfig"]), bearer(tokens["viewdata"])
    path = "/api/v1/meshes/mesh-1/schedule"
    app.post_json(path, ICMP, status=401)
    assert "editconfig" in app.post_json(path, ICMP, headers=viewer, status=403).json["error"]

    created = app.post_json(path, ICMP, headers=editor, status=201)
    item = created.json
    item_path = f"{path}/{item['id']}"
    assert created.location == f"http://localhost{item_path}"
    assert (item["source_kind"], item["source"], item["end"]) == ("mesh", "mesh-1", 86400)

    # Readers read; only editors change.
    assert app.get(path, headers=viewer).json["items"] == [item]
    assert app.get(item_path, headers=viewer).json == item
    inherited = app.get("/api/v1/sites/amp-b/schedule?inherited=true", headers=viewer).json
    assert [i["id"] for i in inherited["items"]] == [item["id"]]
    assert app.get("/api/v1/sites/amp-b/schedule", headers=viewer).json["items"] == []
    for method, url, body in (
        ("put", item_path, {"frequency": 300}),
        ("put", f"{item_path}/status", {"enabled": False}),
        ("post", f"{item_path}/destinations", {"site": "amp-c"}),
    ):
        getattr(app, f"{method}_json")(url, body, headers=viewer, status=403)
    app.delete(f"{item_path}/destinations/meshes/mesh-1", headers=viewer, status=403)
    app.delete(item_path, headers=viewer, status=403)

    # Bad input answers 400 naming what is wrong, and changes nothing.
    for body, message in (
        ({**ICMP, "args": "-y 3"}, "unknown option -y for the icmp test"),
        ({**ICMP, "args": "-s big"}, "needs a whole number"),
        ({**ICMP, "colour": "red"}, "unknown field"),
        ({**ICMP, "test": "ping"}, "test"),
        ({**ICMP, "frequency": 90000, "period": "day"}, "frequency"),
        ({**ICMP, "period": "month"}, "period"),
        ({**ICMP, "destination_meshes": ["mesh-9"]}, "unknown mesh 'mesh-9'"),
        ({**ICMP, "destination_meshes": []}, "needs at least 1 destination"),
        ({"test": "http", "frequency": 600}, "needs option -u, --url"),
    ):
        answer = app.post_json(path, body, headers=editor, status=400)
        assert message in answer.json["error"], (body, answer.json)
    app.put_json(item_path, {"args": "--nope"}, headers=editor, status=400)
    app.put_json(f"{item_path}/status", {"enabled": "no"}, headers=editor, status=400)
    app.post_json(f"{item_path}/destinations", {"site": "amp-zzz"}, headers=editor, status=400)
    app.delete(f"{item_path}/destinations/sites/amp-c", headers=editor, status=400)
    app.delete(f"{item_path}/destinations/meshes/mesh-1", headers=editor, status=400)
    assert app.get(path, headers=viewer).json["items"] == [item]

    # Unknown owners and items of another owner are not found.
    app.get("/api/v1/meshes/mesh-9/schedule", headers=viewer, status=404)
    app.get(f"/api/v1/meshes/mesh-2/schedule/{item['id']}", headers=viewer, status=404)
    app.get(f"/api/v1/sites/amp-a/schedule/{item['id']}", headers=viewer, status=404)
    app.get("/api/v1/networks/x/schedule", headers=viewer, status=404)

    changed = app.put_json(item_path, {"frequency": 300, "mesh_offset": 5}, headers=editor).json
    assert (changed["frequency"], changed["mesh_offset"], changed["args"]) == (300, 5, "-s 84")
    assert (
        app.put_json(f"{item_path}/status", {"enabled": False}, headers=editor).json["enabled"]
        is False
    )
    added = app.post_json(f"{item_path}/destinations", {"site": "amp-c!v6"}, headers=editor).json
    assert added["destination_sites"] == ["amp-c!v6"]
    removed = app.delete(f"{item_path}/destinations/meshes/mesh-1", headers=editor).json
    assert removed["destination_meshes"] == []
    # The mesh's admin page lists it in its schedule table, with the dialog.
    page = app.get("/admin/meshes?edit=mesh-1", headers=editor)
    row = page.html.select_one(f'tr[data-item="{item["id"]}"]').get_text(" ", strip=True)
    assert "ICMP Every 5 minutes" in row
    assert "amp-c" in row
    assert page.html.select_one("#schedule-dialog") is not None
    app.get("/admin/meshes?edit=mesh-1", headers=viewer, status=403)

    app.delete(item_path, headers=editor, status=204)
    app.delete(item_path, headers=editor, status=404)
    assert app.get(path, headers=viewer).json["items"] == []

    tests = app.get("/api/v1/schedule-tests", headers=viewer).json["items"]
    assert [t["name"] for t in tests] == [
        "icmp", "tcpping", "dns", "traceroute", "http", "throughput",
        "udpstream", "youtube", "fastping", "external", "sip",
    ]  # fmt: skip


def _http_date(response: webtest.TestResponse) -> str:
    return response.headers["Last-Modified"]


def test_amplet_schedule_yaml_last_modified_and_304(
    app: webtest.TestApp, tokens: dict[str, str]
) -> None:
    editor = bearer(tokens["editconfig"])
    app.post_json("/api/v1/meshes/mesh-1/schedule", ICMP, headers=editor, status=201)
    app.post_json(
        "/api/v1/meshes/mesh-2/schedule",
        {"test": "traceroute", "frequency": 900, "destination_meshes": ["mesh-2"]},
        headers=editor,
        status=201,
    )

    # No login: amplet2 fetches its schedule without credentials.
    first = app.get("/yaml/amp-a")
    assert first.content_type == "application/yaml"
    tests = read_as_amplet2(first.text)
    assert [(t["test"], t["targets"]) for t in tests] == [
        ("icmp", ["amp-b"]),
        ("traceroute", ["amp-c"]),
    ]
    modified = parsedate_to_datetime(_http_date(first))
    assert app.get("/yaml/amp-a", headers={"If-Modified-Since": _http_date(first)}, status=304)
    later = format_datetime(modified.replace(year=modified.year + 1), usegmt=True)
    app.get("/yaml/amp-a", headers={"If-Modified-Since": later}, status=304)

    # A change to a mesh amp-a is in makes the document newer, even within the same second.
    app.post_json(
        "/api/v1/meshes/mesh-2/schedule/2/destinations", {"site": "amp-b"}, headers=editor
    )
    again = app.get("/yaml/amp-a", headers={"If-Modified-Since": _http_date(first)}, status=200)
    assert parsedate_to_datetime(_http_date(again)) > modified
    assert read_as_amplet2(again.text)[1]["targets"] == ["amp-c", "amp-b"]

    # A site without a schedule has an empty one; an unknown site is not found.
    app.post_json("/api/v1/sites", {"name": "amp-new"}, headers=editor, status=201)
    assert yaml.safe_load(app.get("/yaml/amp-new").text) == {"targets": {}, "tests": []}
    app.get("/yaml/amp-zzz", status=404)
    app.get("/yaml/bad%20name", status=400)


def test_a_site_whose_name_holds_a_slash_fetches_its_schedule(
    app: webtest.TestApp, tokens: dict[str, str]
) -> None:
    """Names may hold "/" (nz/akl); amplet2 asks for /yaml/<name> as it is."""
    editor = bearer(tokens["editconfig"])
    app.post_json("/api/v1/sites", {"name": "nz/akl"}, headers=editor, status=201)
    app.put_json("/api/v1/meshes/mesh-1", {"members": ["amp-a", "amp-b", "nz/akl"]}, headers=editor)
    app.post_json("/api/v1/meshes/mesh-1/schedule", ICMP, headers=editor, status=201)
    for path in ("/yaml/nz/akl", "/yaml/nz%2Fakl"):
        answer = app.get(path)
        assert answer.content_type == "application/yaml"
        (test,) = read_as_amplet2(answer.text)
        assert (test["test"], sorted(test["targets"])) == ("icmp", ["amp-a", "amp-b"])
    # Another site's schedule lists it as a destination, by its whole name.
    assert "nz/akl" in read_as_amplet2(app.get("/yaml/amp-a").text)[0]["targets"]
    app.get("/yaml/nz/wlg", status=404)
    app.get("/yaml/nz/akl/", status=404)
    app.get("/yaml/nz/a%20kl", status=400)


@pytest.mark.parametrize(
    "sql_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_every_route_with_a_site_or_mesh_name_reaches_one_that_holds_a_slash(
    app: webtest.TestApp, tokens: dict[str, str]
) -> None:
    """/api/v1/sites/{name}, /api/v1/meshes/{name}, the schedule routes and the admin pages.

    Each takes the name as it is (nz/akl) or with %2F (nz%2Fakl), as /yaml does.
    """
    editor, viewer = bearer(tokens["editconfig"]), bearer(tokens["viewdata"])
    created = app.post_json("/api/v1/sites", {"name": "nz/akl"}, headers=editor, status=201)
    assert created.location == "http://localhost/api/v1/sites/nz/akl"
    app.post_json("/api/v1/sites", {"name": "nz/wlg"}, headers=editor, status=201)
    for path in ("/api/v1/sites/nz/akl", "/api/v1/sites/nz%2Fakl", created.location):
        assert app.get(path, headers=viewer).json["name"] == "nz/akl"
    changed = app.put_json("/api/v1/sites/nz/akl", {"long_name": "Auckland"}, headers=editor).json
    assert (changed["name"], changed["long_name"]) == ("nz/akl", "Auckland")
    app.get("/api/v1/sites/nz/hlz", headers=viewer, status=404)
    app.get("/api/v1/sites/nz/a%20kl", headers=viewer, status=400)

    mesh = app.post_json(
        "/api/v1/meshes", {"name": "nz/north", "members": ["nz/akl"]}, headers=editor, status=201
    )
    assert mesh.location == "http://localhost/api/v1/meshes/nz/north"
    app.put_json("/api/v1/meshes/nz/north", {"members": ["nz/akl", "amp-a"]}, headers=editor)
    for path in ("/api/v1/meshes/nz/north", "/api/v1/meshes/nz%2Fnorth"):
        assert app.get(path, headers=viewer).json["members"] == ["amp-a", "nz/akl"]

    # A site's schedule, an item, its status and destinations (a site with "/" among them).
    for owner, name in (("sites", "nz/akl"), ("meshes", "nz/north")):
        path = f"/api/v1/{owner}/{name}/schedule"
        answer = app.post_json(path, ICMP, headers=editor, status=201)
        item = answer.json
        assert (item["source"], answer.location) == (
            name,
            f"http://localhost/api/v1/{owner}/{name}/schedule/{item['id']}",
        )
        for spelling in (path, path.replace("nz/", "nz%2F")):
            assert [i["id"] for i in app.get(spelling, headers=viewer).json["items"]] == [
                item["id"]
            ]
            assert app.get(f"{spelling}/{item['id']}", headers=viewer).json == item
        item_path = f"{path}/{item['id']}"
        assert app.put_json(item_path, {"frequency": 300}, headers=editor).json["frequency"] == 300
        status = app.put_json(f"{item_path}/status", {"enabled": False}, headers=editor).json
        assert status["enabled"] is False
        added = app.post_json(f"{item_path}/destinations", {"site": "nz/wlg"}, headers=editor)
        assert added.json["destination_sites"] == ["nz/wlg"]
        app.post_json(f"{item_path}/destinations", {"mesh": "mesh-2"}, headers=editor)
        for spelling in ("sites/nz/wlg", "meshes/mesh-2"):
            removed = app.delete(f"{item_path}/destinations/{spelling}", headers=editor).json
        assert (removed["destination_sites"], removed["destination_meshes"]) == ([], ["mesh-1"])
        app.delete(item_path.replace("nz/", "nz%2F"), headers=editor, status=204)
        app.get(item_path, headers=viewer, status=404)
    assert app.get("/api/v1/sites/nz/akl/schedule?inherited=true", headers=viewer).json == {
        "items": []
    }

    # The admin page of the site shows its schedule table, whose API path reaches it.
    item = app.post_json("/api/v1/sites/nz/akl/schedule", ICMP, headers=editor).json
    page = app.get("/admin/sites?edit=nz/akl", headers=editor)
    assert page.html.select_one(f'tr[data-item="{item["id"]}"]') is not None
    (api,) = re.findall(r'"api": "([^"]+)"', page.text)
    assert api == "/api/v1/sites/nz/akl/schedule"
    assert app.get(f"{api}/{item['id']}", headers=viewer).json == item

    # A name whose API paths would read as another's schedule is refused, and nothing made.
    for body in ({"name": "nz/schedule"}, {"name": "nz/schedule/1"}):
        for kind in ("sites", "meshes"):
            answer = app.post_json(f"/api/v1/{kind}", body, headers=editor, status=400)
            assert '"/schedule"' in answer.json["error"]
    # The admin pages' form says why, and makes nothing either.
    browser = webtest.TestApp(app.app)
    form = browser.get("/login").forms[0]
    form["username"], form["password"] = "editor", PASSWORD
    form.submit(status=303)
    page = browser.get("/admin/sites")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text).group(1)
    refused = browser.post(
        "/admin/sites", {"action": "create", "name": "nz/schedule", "csrf_token": token}, status=303
    )
    assert "may not hold" in refused.follow().text
    assert app.get("/api/v1/sites?term=schedule", headers=viewer).json["items"] == []
    assert app.get("/api/v1/meshes?term=schedule", headers=viewer).json["items"] == []
    # Such a path is about a schedule, never a site's or mesh's own (not a 405 for one).
    app.get("/api/v1/sites/nz/schedule", headers=viewer, status=404)
    app.post_json("/api/v1/sites/nz/schedule/x/y", {}, headers=editor, status=404)
    # Only after its first segment: "schedule" and "schedule/x" are names like any.
    for name in ("schedule", "schedule/x"):
        app.post_json("/api/v1/sites", {"name": name}, headers=editor, status=201)
        assert app.get(f"/api/v1/sites/{name}", headers=viewer).json["name"] == name
    app.post_json("/api/v1/sites/schedule/schedule", ICMP, headers=editor, status=201)

    for path in ("/api/v1/sites/nz/wlg", "/api/v1/meshes/nz%2Fnorth"):
        app.delete(path, headers=editor, status=204)
        app.get(path, headers=viewer, status=404)


#: Routes an anonymous client may read, with no `ampweb.public_data`: the
#: schedule amplet2 fetches, the login page, health and metrics, the API
#: document and its page.
ANONYMOUS_ROUTES = {
    "amplet.schedule",
    "auth.login",
    "health",
    "metrics",
    "api.v1.openapi",
    "api.v1.docs",
}


def test_nothing_else_is_readable_without_logging_in(app: webtest.TestApp, sql_url: str) -> None:
    if not sql_url.startswith("sqlite"):
        pytest.skip("the same routes on every database: checked once")
    from pyramid.interfaces import IRoutesMapper

    routes = app.app.registry.getUtility(IRoutesMapper).get_routes()
    readable = set()
    for route in routes:
        if route.name.startswith("__"):
            continue
        # Every placeholder filled with something its pattern accepts.
        path = re.sub(
            r"\{(\w+)(?::([^}]*))?\}",
            lambda m: (
                {"owner": "sites", "kind": "sites"}.get(m.group(1))
                or ("1" if m.group(2) and "d" in m.group(2) else "amp-a")
            ),
            route.pattern,
        )
        answer = app.get(path, status="*")
        if answer.status_int < 300 or answer.status_int == 304:
            readable.add(route.name)
        else:
            assert answer.status_int in (303, 401, 404, 405), (route.name, answer.status)
    assert readable == ANONYMOUS_ROUTES


def test_a_refused_name_is_quoted_in_part(app: webtest.TestApp, tokens: dict[str, str]) -> None:
    """The API accepts names of up to 255 characters; one refused for its "/schedule"
    is quoted to its first 60, as docs/api.md says of every message."""
    name = "n" * 240 + "/schedule"
    for kind in ("sites", "meshes"):
        error = app.post_json(
            f"/api/v1/{kind}", {"name": name}, headers=bearer(tokens["editconfig"]), status=400
        ).json["error"]
        assert error.startswith("name: '" + "n" * 60 + "'…"), error
        assert name not in error


def test_answers_are_compact_utf8_json(app: webtest.TestApp, tokens: dict[str, str]) -> None:
    """What docs/api.md and the document's description tell scripts of the text they get
    (orjson since 23ab919): UTF-8, not ``\\u`` escapes, and no spaces between items."""
    editor = bearer(tokens["editconfig"])
    body = {"name": "zrh", "long_name": "Zürich – ✓", "location": "a: b, c"}
    app.post_json("/api/v1/sites", body, headers=editor, status=201)
    answer = app.get("/api/v1/sites/zrh", headers=bearer(tokens["viewdata"]))
    assert answer.content_type == "application/json"
    assert '"long_name":"Zürich – ✓"'.encode() in answer.body
    assert b"\\u" not in answer.body
    assert b'"location":"a: b, c"' in answer.body
    # The only ", " and ": " are inside that string.
    assert answer.body.count(b", ") == answer.body.count(b": ") == 1
    assert answer.json["long_name"] == "Zürich – ✓"
