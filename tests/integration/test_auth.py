"""Logging in and out, roles, CSRF, API tokens, login throttling and public data, over HTTP.

The app runs on WebTest over a SQLite file that is migrated once per module
and copied for each test, with one user per role. Anonymous, session and
Bearer requests are each checked against pages and the API; so is an app
built with none of the security settings, which must still refuse.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

import ampweb
from ampweb.accounts import BadCredentials, UserRegistry
from ampweb.security import LoginLimits, LoginThrottle
from ampweb.views.auth import safe_came_from
from nntsc.cli import main as cli
from nntsc.errors import ConfigurationError
from tests.conftest import make_services

PASSWORD = "a long enough password"
#: User name -> roles; ``nobody`` may log in but has no role.
USERS = {
    "root": ["admin"],
    "editor": ["editconfig"],
    "viewer": ["viewdata"],
    "nobody": [],
}
SECRET = "test-secret-" + "x" * 32


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at head with the users above and one site, made once for the module."""
    path = tmp_path_factory.mktemp("auth") / "head.sqlite"
    services = make_services(f"sqlite:///{path}")
    try:
        for username, roles in USERS.items():
            UserRegistry(services.sessionmaker).create_user(username, PASSWORD, roles)
        services.sites.create_site("site-a", "Site A", addresses=["192.0.2.1"])
    finally:
        services.close()
    return path


@pytest.fixture
def sql_url(migrated: Path, tmp_path: Path) -> str:
    path = tmp_path / "auth.sqlite"
    shutil.copyfile(migrated, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_app(sql_url: str) -> Iterator:
    """Build apps over this test's database; ``None`` leaves a setting out entirely."""
    apps: list[webtest.TestApp] = []

    def build(**overrides: str | None) -> webtest.TestApp:
        settings = {
            "nntsc.sql_url": sql_url,
            "nntsc.timeseries_url": "sql",
            "ampweb.session_secret": SECRET,
            **overrides,
        }
        app = webtest.TestApp(
            ampweb.main({}, **{k: v for k, v in settings.items() if v is not None}),
            extra_environ={"REMOTE_ADDR": "198.51.100.7"},
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.app.registry["ampy"].close()


@pytest.fixture
def app(make_app) -> webtest.TestApp:
    return make_app()


def csrf_token(app: webtest.TestApp) -> str:
    """The session's CSRF token, as a page carries it in its head."""
    page = app.get("/login")
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text).group(1)


def login(app: webtest.TestApp, username: str, password: str = PASSWORD, status: int = 303):
    form = app.get("/login").forms[0]
    form["username"] = username
    form["password"] = password
    return form.submit(status=status)


def token_for(sql_url: str, username: str) -> tuple[int, str]:
    services = make_services(sql_url)
    try:
        info, token = UserRegistry(services.sessionmaker).create_token(username, "test script")
    finally:
        services.close()
    return info.token_id, token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- login and logout


def test_login_and_logout(app: webtest.TestApp) -> None:
    redirect = app.get("/admin", status=303)
    assert redirect.location == "http://localhost/login?came_from=%2Fadmin"
    form = redirect.follow().forms[0]
    assert form["came_from"].value == "/admin"
    form["username"] = "viewer"
    form["password"] = PASSWORD
    answer = form.submit(status=303)
    assert answer.location == "http://localhost/admin"
    cookie = answer.headers["Set-Cookie"]
    assert "nntsc_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = answer.follow()
    assert 'data-testid="current-user">viewer<' in page.text
    assert app.get("/api/v1/collections").json["total"] > 0

    logged_out = page.forms[0].submit(status=303).follow()
    assert "You are logged out." in logged_out.text
    assert app.get("/admin", status=303).location.startswith("http://localhost/login")
    app.get("/api/v1/collections", status=401)


def test_login_page_shows_who_is_logged_in(app: webtest.TestApp) -> None:
    login(app, "editor")
    page = app.get("/login")
    assert 'data-testid="current-user">editor<' in page.text
    assert app.get("/logout", status=303).location == "http://localhost/login"


def test_wrong_password_and_unknown_user_are_refused_alike(app: webtest.TestApp) -> None:
    wrong = login(app, "viewer", "not the password", status=400)
    unknown = login(app, "no-such-user", PASSWORD, status=400)
    for answer in (wrong, unknown):
        assert "Wrong user name or password." in answer.text
    assert "nntsc_session" not in str(app.get("/admin", status=303))
    app.get("/api/v1/collections", status=401)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/view/latency/abc", "/view/latency/abc"),
        ("/matrix?x=1", "/matrix?x=1"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/logout", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_returned_to(value: str | None, expected: str) -> None:
    assert safe_came_from(value) == expected


def test_login_needs_the_csrf_token(app: webtest.TestApp) -> None:
    app.get("/login")
    app.post("/login", {"username": "viewer", "password": PASSWORD}, status=400)
    app.get("/api/v1/collections", status=401)


def test_disabled_user_loses_their_session(app: webtest.TestApp, sql_url: str) -> None:
    login(app, "viewer")
    app.get("/api/v1/collections", status=200)
    services = make_services(sql_url)
    try:
        UserRegistry(services.sessionmaker).disable_user("viewer")
    finally:
        services.close()
    app.get("/api/v1/collections", status=401)
    login(app, "viewer", status=400)


# ---------------------------------------------------------------- throttling


def _fail(app: webtest.TestApp, username: str, times: int, **headers: str) -> None:
    for _ in range(times):
        form = app.get("/login").forms[0]
        form["username"] = username
        form["password"] = "wrong password"
        form.submit(headers=headers, status=400)


def test_guessing_a_password_locks_that_name_out_from_that_address(make_app) -> None:
    app = make_app()
    _fail(app, "viewer", 5)
    blocked = login(app, "viewer", PASSWORD, status=429)
    assert 1 <= int(blocked.headers["Retry-After"]) <= 300
    assert "Too many failed logins" in blocked.text
    # The same name from another address, and other names from this one, may log in.
    elsewhere = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    login(elsewhere, "viewer", PASSWORD, status=303)
    login(app, "editor", PASSWORD, status=303)


def test_users_behind_one_address_do_not_lock_each_other_out(make_app) -> None:
    """Everyone behind one proxy or NAT (the Docker gateway) shares an address."""
    app = make_app()
    _fail(app, "viewer", 5)
    login(app, "viewer", status=429)
    for username in ("root", "editor", "nobody"):
        _fail(app, username, 4)
        person = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "198.51.100.7"})
        login(person, username, status=303)


def test_guessing_one_name_from_many_addresses_is_limited(make_app) -> None:
    app = make_app()
    for number in range(20):
        guesser = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": f"192.0.2.{number}"})
        _fail(guesser, "viewer", 1)
    fresh = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "203.0.113.30"})
    login(fresh, "viewer", status=429)
    login(fresh, "editor", status=303)


def test_guessing_many_names_from_one_address_meets_its_ceiling(make_app) -> None:
    app = make_app(**{"ampweb.login_address_rate_limit": "8 per 5 minutes"})
    for number in range(8):
        _fail(app, f"guess{number}", 1)
    login(app, "root", PASSWORD, status=429)
    other = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "203.0.113.10"})
    login(other, "root", PASSWORD, status=303)


def test_default_limits() -> None:
    limits = LoginThrottle.from_settings({}).limits
    assert limits == LoginLimits("5 per 5 minutes", "20 per 5 minutes", "100 per 5 minutes")
    with pytest.raises(ConfigurationError):
        LoginThrottle.from_settings({"ampweb.login_user_rate_limit": "many"})


@pytest.mark.parametrize("trust", ["setting", "network", "environment"])
def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    make_app, monkeypatch: pytest.MonkeyPatch, trust: str
) -> None:
    if trust == "setting":
        app = make_app(**{"ampweb.trusted_proxies": "198.51.100.7 ::1"})
    elif trust == "network":
        app = make_app(**{"ampweb.trusted_proxies": "::1, 198.51.100.0/24"})
    else:
        monkeypatch.setenv("AMPWEB_TRUSTED_PROXIES", "198.51.100.7")
        app = make_app(**{"ampweb.trusted_proxies": "127.0.0.1"})
    for number in range(5):
        # nginx appends the peer it saw; the client wrote the first address
        # itself, a different one each time, hoping to be counted afresh.
        _fail(app, "root", 1, **{"X-Forwarded-For": f"192.0.2.{number}, 203.0.113.1"})
    form = app.get("/login").forms[0]
    form["username"] = "root"
    form["password"] = PASSWORD
    form.submit(headers={"X-Forwarded-For": "192.0.2.200, 203.0.113.1"}, status=429)
    form.submit(headers={"X-Forwarded-For": "203.0.113.50"}, status=303)


def test_a_forwarded_address_from_anyone_else_is_ignored(make_app) -> None:
    direct = make_app()
    for number in range(5):
        _fail(direct, "root", 1, **{"X-Forwarded-For": f"203.0.113.{number}"})
    login(direct, "root", status=429)


def test_a_bad_trusted_proxy_is_a_configuration_error(make_app) -> None:
    with pytest.raises(ConfigurationError, match="nginx"):
        make_app(**{"ampweb.trusted_proxies": "127.0.0.1 nginx.local"})


def test_a_success_clears_the_user_name_count(make_app) -> None:
    app = make_app()
    for _ in range(4):
        login(app, "viewer", "wrong password", status=400)
    login(app, "viewer", status=303)
    other = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "203.0.113.11"})
    for _ in range(4):
        login(other, "viewer", "wrong password", status=400)
    login(other, "viewer", status=303)


def test_throttle_uses_redis_when_the_app_has_one() -> None:
    settings = {"ampy.cache_url": "memory://", "nntsc.live_url": "redis://127.0.0.1:6379/1"}
    assert LoginThrottle.from_settings(settings).storage_url == "redis://127.0.0.1:6379/1"
    assert LoginThrottle.from_settings({"ampy.cache_url": "memory://"}).storage_url == "memory://"
    limits = LoginLimits("2 per 1 minute", "3 per 1 minute", "4 per 1 minute")
    throttle = LoginThrottle("redis://127.0.0.1:6379/1", limits)
    # Names of their own, so that other tests sharing this Redis are not disturbed.
    name, address = f"redis-user-{uuid.uuid4().hex}", f"192.0.2.{uuid.uuid4().int % 200}"
    assert throttle.retry_after(name, address) is None
    throttle.failed(name, address)
    throttle.failed(name, address)
    assert 1 <= throttle.retry_after(name, address) <= 60
    # Another process (worker) with its own throttle sees the same counts.
    assert LoginThrottle("redis://127.0.0.1:6379/1", limits).retry_after(name, address) is not None
    assert throttle.retry_after(name, "198.51.100.99") is None
    throttle.failed(name, "198.51.100.99")
    assert throttle.retry_after(name, "198.51.100.98") is not None  # 3 for the name
    throttle.succeeded(name, address)
    assert throttle.retry_after(name, address) is None
    throttle.failed(f"{name}-b", address)
    throttle.failed(f"{name}-c", address)
    assert throttle.retry_after(f"{name}-d", address) is not None  # 4 for the address


# ---------------------------------------------------------------- CSRF and API tokens


def test_state_changing_requests_need_the_csrf_token(app: webtest.TestApp) -> None:
    login(app, "editor")
    body = {"name": "site-b"}
    missing = app.post_json("/api/v1/sites", body, status=400)
    assert "CSRF" in missing.json["error"]
    app.post_json("/api/v1/sites", body, headers={"X-CSRF-Token": "forged"}, status=400)
    app.get("/api/v1/sites/site-b", status=404)
    token = csrf_token(app)
    created = app.post_json("/api/v1/sites", body, headers={"X-CSRF-Token": token}, status=201)
    assert created.json["name"] == "site-b"
    app.delete("/api/v1/sites/site-b", status=400)
    app.delete("/api/v1/sites/site-b", headers={"X-CSRF-Token": token}, status=204)


def test_a_malformed_form_body_is_a_bad_request(make_app) -> None:
    app = make_app(**{"ampweb.public_data": "true"})
    answer = app.post(
        "/api/v1/views",
        b"--x--",
        headers={"Content-Type": "multipart/form-data", "X-CSRF-Token": csrf_token(app)},
        status=400,
    )
    assert "Content-Type" in answer.json["error"]


def test_creating_a_view_needs_view_permission_and_the_csrf_token(make_app, sql_url) -> None:
    """As the graph pages do it: anonymous on a public site, with the page's CSRF token."""
    public = make_app(**{"ampweb.public_data": "true"})
    body = {"style": "latency", "groups": []}
    assert "CSRF" in public.post_json("/api/v1/views", body, status=400).json["error"]
    created = public.post_json(
        "/api/v1/views", body, headers={"X-CSRF-Token": csrf_token(public)}, status=201
    )
    assert created.json["view_id"]
    private = make_app()
    private.post_json(
        "/api/v1/views", body, headers={"X-CSRF-Token": csrf_token(private)}, status=401
    )
    _, token = token_for(sql_url, "viewer")
    private.post_json("/api/v1/views", body, headers=bearer(token), status=201)


def test_bearer_token_needs_no_csrf_token_and_sets_no_cookie(
    app: webtest.TestApp, sql_url: str
) -> None:
    _, token = token_for(sql_url, "editor")
    created = app.post_json(
        "/api/v1/sites",
        {"name": "site-c", "location": "Hamilton"},
        headers=bearer(token),
        status=201,
    )
    assert created.json["location"] == "Hamilton"
    assert "Set-Cookie" not in created.headers
    assert app.get("/api/v1/sites/site-c", headers=bearer(token)).json["name"] == "site-c"


def test_bearer_token_ignores_a_session_cookie(app: webtest.TestApp, sql_url: str) -> None:
    """A request naming a token is judged by the token alone, even with an admin's cookie."""
    login(app, "root")
    _, token = token_for(sql_url, "viewer")
    app.post_json("/api/v1/sites", {"name": "site-d"}, headers=bearer(token), status=403)


def test_a_request_looks_its_token_up_once(app: webtest.TestApp, sql_url: str) -> None:
    """The identity is found once per request, however often the checks and the view ask
    (here the permission, the admin check of `owner_scope` and the caller's name)."""
    from sqlalchemy import event

    _, token = token_for(sql_url, "viewer")
    engine = app.app.registry["ampy"].services.engine
    lookups: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" in statement:
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(2):
            answer = app.get("/api/v1/notification-channels", headers=bearer(token))
            assert answer.json == {"items": []}
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(lookups) == 2


def test_revoked_or_unknown_token_is_refused(app: webtest.TestApp, sql_url: str) -> None:
    token_id, token = token_for(sql_url, "editor")
    app.get("/api/v1/sites", headers=bearer(token), status=200)
    services = make_services(sql_url)
    try:
        UserRegistry(services.sessionmaker).revoke_token(token_id)
        with pytest.raises(BadCredentials):
            UserRegistry(services.sessionmaker).verify_token(token)
    finally:
        services.close()
    for headers in (bearer(token), bearer("nntsc_made-up"), bearer("")):
        refused = app.get("/api/v1/sites", headers=headers, status=401)
        assert refused.json == {"error": "invalid or revoked API token"}
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="nntsc"'
    app.post_json("/api/v1/sites", {"name": "site-e"}, headers=bearer(token), status=401)


def test_an_invalid_token_is_refused_even_when_data_is_public(make_app) -> None:
    app = make_app(**{"ampweb.public_data": "true"})
    app.get("/api/v1/collections", status=200)
    app.get("/api/v1/collections", headers=bearer("nntsc_made-up"), status=401)


# ---------------------------------------------------------------- public data and roles


def test_private_data_needs_viewdata(app: webtest.TestApp) -> None:
    assert (
        app.get("/api/v1/collections", status=401)
        .json["error"]
        .startswith("authentication required")
    )
    assert app.get("/", status=303).location == "http://localhost/login?came_from=%2F"
    app.get("/healthz", status=200)
    app.get("/metrics", status=200)
    app.get("/static/css/admin.css", status=200)
    login(app, "nobody")
    assert "viewdata" in app.get("/api/v1/collections", status=403).json["error"]
    assert "Not allowed" in app.get("/", status=403).text
    for username in ("viewer", "editor", "root"):
        user = webtest.TestApp(app.app)
        login(user, username)
        user.get("/api/v1/collections", status=200)
        user.get("/api/v1/sites", status=200)
        user.get("/", status=200)


def test_public_data_lets_anyone_view_but_not_write(make_app) -> None:
    app = make_app(**{"ampweb.public_data": "true"})
    app.get("/api/v1/collections", status=200)
    app.get("/api/v1/sites/site-a", status=200)
    app.get("/", status=200)
    app.post_json(
        "/api/v1/sites", {"name": "x"}, headers={"X-CSRF-Token": csrf_token(app)}, status=401
    )
    app.get("/admin/sites", status=303)
    login(app, "nobody")
    app.get("/api/v1/collections", status=200)


def test_authorization_is_enforced_when_settings_are_unset(make_app, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="ampweb.security"):
        app = make_app(**{"ampweb.session_secret": None})
    assert "ampweb.session_secret is not set" in caplog.text
    app.get("/api/v1/collections", status=401)
    app.get("/api/v1/sites", status=401)
    app.get("/", status=303)
    for path in ("/admin", "/admin/users", "/admin/sites", "/admin/meshes", "/admin/tokens"):
        app.get(path, status=303)
    app.post_json("/api/v1/sites", {"name": "x"}, status=401)
    app.delete("/api/v1/sites/site-a", status=401)
    # Logging in still works, with the secret kept in the database.
    login(app, "editor")
    app.get("/admin/sites", status=200)


def test_without_a_secret_every_process_shares_the_stored_one(make_app) -> None:
    """Two apps over one database (two worker processes) accept each other's cookies."""

    def copy_cookies(source: webtest.TestApp, target: webtest.TestApp) -> None:
        for name, value in source.cookies.items():
            target.set_cookie(name, value)

    first = make_app(**{"ampweb.session_secret": None})
    second = make_app(**{"ampweb.session_secret": None})
    form = first.get("/login").forms[0]
    copy_cookies(first, second)
    form.response.test_app = second  # the form from one worker, posted to the other
    form["username"] = "editor"
    form["password"] = PASSWORD
    form.submit(status=303)
    copy_cookies(second, first)
    first.get("/admin/sites", status=200)
    second.get("/admin/sites", status=200)
    # An app with its own secret does not accept them.
    other = make_app(**{"ampweb.session_secret": "another-secret-" + "y" * 32})
    copy_cookies(second, other)
    other.get("/admin/sites", status=303)


def test_the_stored_secret_is_read_when_the_app_is_built(make_app, sql_url: str) -> None:
    """Sessions (and the pages that carry a CSRF token) keep working if SQL goes away later."""
    app = make_app(**{"ampweb.session_secret": None})
    engine = create_engine(sql_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE ampweb_secrets"))
    engine.dispose()
    assert 'name="csrf-token"' in app.get("/login", status=200).text


def test_revoked_sessions_end_at_once(app: webtest.TestApp, sql_url: str) -> None:
    login(app, "editor")
    app.get("/admin/sites", status=200)
    services = make_services(sql_url)
    try:
        UserRegistry(services.sessionmaker).revoke_sessions("editor")
    finally:
        services.close()
    app.get("/admin/sites", status=303)
    app.get("/api/v1/sites", status=401)
    # Logging in again starts a session of the new generation.
    login(app, "editor")
    app.get("/admin/sites", status=200)


def test_a_session_does_not_outlive_its_user(app: webtest.TestApp, sql_url: str) -> None:
    """A user deleted and made again under the same name does not inherit the old sessions."""
    login(app, "editor")
    app.get("/admin/sites", status=200)
    services = make_services(sql_url)
    try:
        users = UserRegistry(services.sessionmaker)
        users.delete_user("editor")
        users.create_user("editor", PASSWORD, ["editconfig"])
    finally:
        services.close()
    app.get("/admin/sites", status=303)


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        (None, {"/admin": 303, "/admin/tokens": 303, "/admin/users": 303, "/admin/sites": 303}),
        ("nobody", {"/admin": 200, "/admin/tokens": 200, "/admin/users": 403, "/admin/sites": 403}),
        ("viewer", {"/admin": 200, "/admin/users": 403, "/admin/sites": 403, "/admin/meshes": 403}),
        ("editor", {"/admin/users": 403, "/admin/sites": 200, "/admin/meshes": 200}),
        ("root", {"/admin/users": 200, "/admin/sites": 200, "/admin/meshes": 200}),
    ],
)
def test_admin_pages_by_role(app: webtest.TestApp, username: str | None, expected: dict) -> None:
    if username is not None:
        login(app, username)
    assert {path: app.get(path, status="*").status_int for path in expected} == expected


@pytest.mark.parametrize("kind", ["sites", "meshes"])
def test_site_and_mesh_writes_by_role(app: webtest.TestApp, sql_url: str, kind: str) -> None:
    body = (
        {"name": "new-one", "long_name": "New", "addresses": ["2001:db8::1"]}
        if kind == "sites"
        else {"name": "new-one", "is_source": True, "members": ["site-a"]}
    )
    path = f"/api/v1/{kind}"
    app.post_json(path, body, status=401)
    _, viewer = token_for(sql_url, "viewer")
    assert (
        "editconfig" in app.post_json(path, body, headers=bearer(viewer), status=403).json["error"]
    )
    app.put_json(f"{path}/site-a", {}, headers=bearer(viewer), status=403)
    app.delete(f"{path}/site-a", headers=bearer(viewer), status=403)

    _, editor = token_for(sql_url, "editor")
    created = app.post_json(path, body, headers=bearer(editor), status=201)
    assert created.json["name"] == "new-one"
    assert created.location == f"http://localhost{path}/new-one"
    app.post_json(path, body, headers=bearer(editor), status=409)
    app.post_json(path, {**body, "colour": "red"}, headers=bearer(editor), status=400)
    app.post_json(path, {**body, "name": "bad name"}, headers=bearer(editor), status=400)
    app.post(path, "not json", headers=bearer(editor), status=400)
    changed = app.put_json(
        f"{path}/new-one", {"long_name": "Renamed"}, headers=bearer(editor), status=200
    )
    assert changed.json["long_name"] == "Renamed"
    app.put_json(f"{path}/new-one", {"name": "other"}, headers=bearer(editor), status=400)
    app.put_json(f"{path}/missing", {"long_name": "x"}, headers=bearer(editor), status=404)
    app.delete(f"{path}/new-one", headers=bearer(editor), status=204)
    app.delete(f"{path}/new-one", headers=bearer(editor), status=404)


# ---------------------------------------------------------------- admin pages


def _form_with(page: webtest.TestResponse, action: str, **fields: str):
    """The form of `page` whose hidden ``action`` is `action` (and whose fields match)."""
    for form in page.forms.values():
        if (
            "action" in form.fields
            and form["action"].value == action
            and all(form[name].value == value for name, value in fields.items())
        ):
            return form
    raise AssertionError(f"no {action} form with {fields}")


def test_admin_manages_users(app: webtest.TestApp) -> None:
    login(app, "root")
    page = app.get("/admin/users")
    form = _form_with(page, "create")
    form["username"] = "carol"
    form["long_name"] = "Carol"
    form["password"] = PASSWORD
    form["role_editconfig"] = True
    page = form.submit(status=303).follow()
    assert "User carol created." in page.text
    assert 'data-username="carol"' in page.text

    duplicate = _form_with(page, "create")
    duplicate["username"] = "carol"
    assert "already exists" in duplicate.submit(status=303).follow().text

    edit = app.get("/admin/users?edit=carol")
    form = _form_with(edit, "update", username="carol")
    form["role_viewdata"] = True
    form["enabled"] = False
    assert "User carol updated." in form.submit(status=303).follow().text

    me = _form_with(app.get("/admin/users?edit=root"), "update", username="root")
    me["role_admin"] = False
    assert "own admin role" in me.submit(status=303).follow().text
    app.get("/admin/users?edit=nobody-at-all", status=404)

    other = webtest.TestApp(app.app, extra_environ={"REMOTE_ADDR": "203.0.113.20"})
    login(other, "carol", status=400)  # disabled

    delete = _form_with(app.get("/admin/users"), "delete", username="carol")
    assert "User carol deleted." in delete.submit(status=303).follow().text
    token = csrf_token(app)
    refused = app.post(
        "/admin/users", {"action": "delete", "username": "root", "csrf_token": token}, status=303
    )
    assert "cannot delete yourself" in refused.follow().text


def test_editor_manages_sites_and_meshes(app: webtest.TestApp) -> None:
    login(app, "editor")
    page = app.get("/admin/sites")
    form = _form_with(page, "create")
    form["name"] = "site-z"
    form["addresses"] = "192.0.2.9, 2001:db8::9"
    page = form.submit(status=303).follow()
    assert "Site site-z created." in page.text
    bad = _form_with(page, "create")
    bad["name"] = "site-y"
    bad["addresses"] = "not-an-address"
    assert "not an IP address" in bad.submit(status=303).follow().text
    edit = _form_with(app.get("/admin/sites?edit=site-z"), "update", name="site-z")
    edit["location"] = "Auckland"
    assert "Site site-z updated." in edit.submit(status=303).follow().text
    assert app.get("/api/v1/sites/site-z").json["location"] == "Auckland"

    page = app.get("/admin/meshes")
    form = _form_with(page, "create")
    form["name"] = "mesh-z"
    form["members"] = "site-a site-z"
    form["is_source"] = True
    page = form.submit(status=303).follow()
    assert "Mesh mesh-z created." in page.text
    assert app.get("/api/v1/meshes/mesh-z").json["members"] == ["site-a", "site-z"]
    edit = _form_with(app.get("/admin/meshes?edit=mesh-z"), "update", name="mesh-z")
    edit["members"] = "site-a"
    edit.submit(status=303)
    assert app.get("/api/v1/meshes/mesh-z").json["members"] == ["site-a"]
    delete = _form_with(app.get("/admin/meshes"), "delete", name="mesh-z")
    assert "Mesh mesh-z deleted." in delete.submit(status=303).follow().text
    delete = _form_with(app.get("/admin/sites"), "delete", name="site-z")
    assert "Site site-z deleted." in delete.submit(status=303).follow().text


def test_tokens_page_shows_a_new_token_once(app: webtest.TestApp) -> None:
    login(app, "viewer")
    form = _form_with(app.get("/admin/tokens"), "create")
    form["name"] = "nightly export"
    shown = form.submit(status=200)
    assert shown.headers["Cache-Control"] == "no-store"
    token = re.search(r"<code>(nntsc_[\w-]+)</code>", shown.text).group(1)
    listed = app.get("/admin/tokens")
    assert token not in listed.text
    assert token[:12] in listed.text

    anonymous = webtest.TestApp(app.app)
    anonymous.get("/api/v1/collections", headers=bearer(token), status=200)

    # Someone else does not see it, and cannot revoke it; an admin sees everyone's.
    other = webtest.TestApp(app.app)
    login(other, "editor")
    assert token[:12] not in other.get("/admin/tokens").text
    token_id = re.search(r'data-token-id="(\d+)"', listed.text).group(1)
    other.post(
        "/admin/tokens",
        {"action": "revoke", "token_id": token_id, "csrf_token": csrf_token(other)},
        status=303,
    )
    anonymous.get("/api/v1/collections", headers=bearer(token), status=200)
    admin = webtest.TestApp(app.app)
    login(admin, "root")
    assert token[:12] in admin.get("/admin/tokens").text

    revoke = _form_with(listed, "revoke", token_id=token_id)
    assert f"Token {token_id} revoked." in revoke.submit(status=303).follow().text
    anonymous.get("/api/v1/collections", headers=bearer(token), status=401)


# ---------------------------------------------------------------- command line


def test_nntsc_user_add_and_token(sql_url: str, tmp_path: Path) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text(f"[app:main]\nnntsc.sql_url = {sql_url}\nnntsc.timeseries_url = sql\n")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["user", "add", "-c", str(ini), "alice", "--role", "admin", "--password-stdin"],
        input="first admin password\n",
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    assert "user alice created with roles: admin" in added.output
    prompted = runner.invoke(
        cli,
        ["user", "add", "-c", str(ini), "bob", "--role", "viewdata", "--role", "editconfig"],
        input="bobs password\nbobs password\n",
        catch_exceptions=False,
    )
    assert prompted.exit_code == 0, prompted.output
    assert "roles: editconfig, viewdata" in prompted.output
    mismatch = runner.invoke(
        cli, ["user", "add", "-c", str(ini), "eve"], input="one password\nanother one\n"
    )
    assert mismatch.exit_code != 0
    tokened = runner.invoke(
        cli, ["user", "token", "-c", str(ini), "alice", "--name", "backup"], catch_exceptions=False
    )
    assert tokened.exit_code == 0
    token = tokened.stdout.strip().splitlines()[-1]
    assert token.startswith("nntsc_")

    services = make_services(sql_url)
    try:
        assert UserRegistry(services.sessionmaker).authenticate(
            "alice", "first admin password"
        ).roles == ("admin",)
        assert UserRegistry(services.sessionmaker).verify_token(token).username == "alice"
        with pytest.raises(BadCredentials):
            UserRegistry(services.sessionmaker).authenticate("eve", "one password")
    finally:
        services.close()


def test_nntsc_user_add_refuses_an_unknown_role(sql_url: str, tmp_path: Path) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text(f"[app:main]\nnntsc.sql_url = {sql_url}\n")
    result = CliRunner().invoke(
        cli,
        ["user", "add", "-c", str(ini), "mallory", "--role", "root", "--password-stdin"],
        input="some password\n",
    )
    assert result.exit_code != 0
    assert "'root' is not a role" in str(result.exception)


def test_every_page_header_offers_log_in_or_log_out(app: webtest.TestApp) -> None:
    anonymous = app.get("/login")
    assert 'href="/login"' in anonymous.text
    assert "Log out" not in anonymous.text.split("<main", 1)[0]
    login(app, "viewer")
    header = app.get("/").text.split("<main", 1)[0]
    assert "Log out viewer" in header
    assert 'action="/logout"' in header
