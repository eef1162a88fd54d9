"""The schedule table and its add/edit dialog on the site admin page, in Chromium.

An editconfig user logs in, opens a site in two meshes (one mesh with an
item of its own), adds a test through the dialog (a bad argument first,
which the dialog shows and which stores nothing), edits it, disables it and
deletes it; `/yaml/<site>` follows each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

PASSWORD = "browser test password"


@pytest.fixture(scope="module")
def schedule_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free port: sites amp-a, amp-b, amp-c, meshes m1 (a, b) and m2 (a, c)."""
    from ampweb.accounts import UserRegistry
    from tests.conftest import make_services, serve_app

    url = f"sqlite:///{tmp_path_factory.mktemp('schedule-browser')}/nntsc.sqlite"
    services = make_services(url)
    try:
        for name in ("amp-a", "amp-b", "amp-c"):
            services.sites.create_site(name, long_name=f"Site {name[-1].upper()}")
        services.sites.create_mesh("m1", members=["amp-a", "amp-b"])
        services.sites.create_mesh("m2", members=["amp-a", "amp-c"])
        services.schedules.create_item(
            "mesh", "m2", test="traceroute", frequency=900, destination_meshes=["m2"]
        )
        UserRegistry(services.sessionmaker).create_user("editor", PASSWORD, ["editconfig"])
    finally:
        services.close()
    settings = {
        "nntsc.sql_url": url,
        "nntsc.timeseries_url": "sql",
        "ampweb.session_secret": "s" * 40,
    }
    with serve_app(**settings) as server_url:
        yield server_url


def _tests(server: str) -> list[tuple[str, Any]]:
    document = yaml.safe_load(requests.get(f"{server}/yaml/amp-a", timeout=30).text)
    return [(test["test"], test.get("target")) for test in document["tests"]]


def test_schedule_dialog_adds_edits_and_deletes(
    schedule_server: str, watched: Any, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{schedule_server}/login?came_from=/admin/sites%3Fedit%3Damp-a")
    page.get_by_label("User name").fill("editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/sites?edit=amp-a")

    schedule = page.get_by_test_id("schedule")
    # The mesh's item is listed, inherited, without buttons of its own.
    inherited = schedule.locator("tbody tr").first
    assert "Traceroute" in inherited.inner_text()
    assert "from mesh m2" in inherited.inner_text()

    page.get_by_role("button", name="Add a test").click()
    dialog = page.locator("#schedule-dialog")
    dialog.get_by_label("Test").select_option("icmp")
    dialog.get_by_label("Arguments").fill("-s 84 -y 3")
    dialog.get_by_label("Every").fill("1")
    dialog.get_by_label("Unit").select_option("60")
    dialog.get_by_label("Destination sites (separated by spaces)").fill("amp-c")
    dialog.get_by_label("Destination meshes (separated by spaces)").fill("m1")
    dialog.locator("summary").click()
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator(".dialog-error")
    error.wait_for()
    assert "unknown option -y for the icmp test" in error.inner_text()
    page.screenshot(path=str(artifacts / "schedule-dialog.png"), full_page=False)
    assert _tests(schedule_server) == [("traceroute", ["amp-c"])]

    dialog.get_by_label("Arguments").fill("-s 84")
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    row = schedule.locator("tbody tr", has_text="ICMP")
    row.wait_for()
    assert "Every minute" in row.inner_text()
    assert "-s 84" in row.inner_text()
    assert sorted(_tests(schedule_server)) == [
        ("icmp", [["amp-b"], "amp-c"]),
        ("traceroute", ["amp-c"]),
    ]
    page.screenshot(path=str(artifacts / "schedule-table.png"), full_page=True)

    # Edit: a time window on weekdays' mornings, weekly.
    row.get_by_role("button", name="Edit").click()
    assert dialog.get_by_label("Arguments").input_value() == "-s 84"
    dialog.locator('select[name="period"]').select_option("week")
    dialog.get_by_label("Run all period long").uncheck()
    dialog.get_by_label("From day").select_option("1")
    dialog.get_by_label("From time").fill("06:00:00")
    dialog.get_by_label("Until day").select_option("1")
    dialog.get_by_label("Until time").fill("09:00:00")
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    row = schedule.locator("tbody tr", has_text="ICMP")
    row.get_by_text("Monday 06:00:00 to Monday 09:00:00 weekly (UTC)").wait_for()

    row.get_by_role("button", name="Disable").click()
    page.wait_for_load_state("load")
    schedule.locator("tbody tr", has_text="ICMP").get_by_text("disabled").wait_for()
    assert _tests(schedule_server) == [("traceroute", ["amp-c"])]

    page.once("dialog", lambda confirm: confirm.accept())
    schedule.locator("tbody tr", has_text="ICMP").get_by_role("button", name="Delete").click()
    page.wait_for_load_state("load")
    schedule.locator("tbody tr", has_text="ICMP").wait_for(state="detached")
    # The bad argument answered 400: the one failed request, and it was meant.
    assert [p for p in watched.problems if "400" not in p] == []
