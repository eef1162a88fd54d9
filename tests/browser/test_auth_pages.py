"""Logging in and out in Chromium, and a non-admin refused an admin page.

The app here keeps its data private (``ampweb.public_data`` unset), so that a
visitor is sent to the login page first; it needs no measurements, only users.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with private data on a free 127.0.0.1 port; users ``root`` and ``viewer``."""

    from ampweb.accounts import UserRegistry
    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('auth-browser')}/nntsc.sqlite"
    services = make_services(url)
    try:
        users = UserRegistry(services.sessionmaker)
        users.create_user("root", PASSWORD, ["admin"], long_name="Root")
        users.create_user("viewer", PASSWORD, ["viewdata"])
    finally:
        services.close()
    with serve_app(
        **{"nntsc.sql_url": url, "nntsc.timeseries_url": "sql", "ampweb.session_secret": "b" * 40}
    ) as server_url:
        yield server_url


def _log_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_log_in_and_out(private_server: str, watched: Any, artifacts: Path) -> None:
    page = watched.page
    page.goto(f"{private_server}/admin")
    # Private data: the admin page sends a visitor to log in first, and back after.
    page.wait_for_url("**/login?came_from=%2Fadmin")
    page.screenshot(path=str(artifacts / "auth-login.png"), full_page=True)

    _log_in(page, "root", "not the password")
    page.get_by_role("alert").wait_for()
    assert "Wrong user name or password." in page.get_by_role("alert").inner_text()

    _log_in(page, "root")
    page.wait_for_url(f"{private_server}/admin")
    assert page.get_by_test_id("current-user").inner_text() == "root"
    page.get_by_role("link", name="Users").first.click()
    page.wait_for_url(f"{private_server}/admin/users")
    assert page.locator('tr[data-username="viewer"]').count() == 1
    page.screenshot(path=str(artifacts / "auth-admin-users.png"), full_page=True)

    # The header's is the one "Log out" button, named with who is logged in.
    assert page.get_by_role("button", name=re.compile("^Log out")).count() == 1
    page.get_by_role("button", name="Log out root", exact=True).click()
    page.wait_for_url(f"{private_server}/login")
    page.get_by_text("You are logged out.").wait_for()
    page.screenshot(path=str(artifacts / "auth-logged-out.png"), full_page=True)
    page.goto(f"{private_server}/admin/users")
    page.wait_for_url("**/login?came_from=%2Fadmin%2Fusers")

    # The only failure is the deliberate wrong password (400), as a response and on the console.
    assert [p for p in watched.problems if "400" not in p] == []


def test_non_admin_is_refused_an_admin_page(
    private_server: str, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{private_server}/login")
    _log_in(page, "viewer")
    page.wait_for_url(f"{private_server}/")
    response = page.goto(f"{private_server}/admin/users")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "this needs the admin role" in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts / "auth-forbidden.png"), full_page=True)

    # Their own tokens page is theirs to use; the menu offers no Users link.
    page.goto(f"{private_server}/admin/tokens")
    assert page.get_by_role("link", name="Users").count() == 0
    page.get_by_label("What it is for").fill("browser script")
    page.get_by_role("button", name="Create token").click()
    assert page.get_by_test_id("new-token").inner_text().count("nntsc_") == 1
    assert [p for p in watched.problems if "403" not in p] == []
