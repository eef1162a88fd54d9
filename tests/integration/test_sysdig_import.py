"""Importing sysdig logs into PostgreSQL + InfluxDB and SQLite; a second import changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from nntsc.cli import main
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.ingest.pipeline import Ingestor
from nntsc.sysdig.importer import import_logs
from nntsc.sysdig.reader import local_midnight
from tests.conftest import make_services
from tests.tools.sysdig_fixtures import DATE, HANDCOUNT, write_sysdig_log

FILEOPS = get_collection("fileops")
MIDNIGHT = int(local_midnight(DATE))
NINE_59 = MIDNIGHT + 9 * 3600 + 59 * 60
DAY_END = MIDNIGHT + 86400


@pytest.fixture(params=["sqlite", "postgres+influx"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    if request.param == "sqlite":
        built = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    else:
        built = make_services(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("influx_url")
        )
    try:
        yield built
    finally:
        built.close()


def stored(services: Services) -> dict[tuple[str, str, str], list[tuple[int, dict]]]:
    """Every fileops row of host web1, by (kind, name, process)."""
    streams = services.streams.find(FILEOPS, {"host": "web1"}, pagesize=1000).items
    by_id = {s.stream_id: s.properties for s in streams}
    rows: dict[tuple[str, str, str], list[tuple[int, dict]]] = {}
    for row in services.timeseries.raw(FILEOPS, list(by_id), MIDNIGHT, DAY_END):
        props = by_id[row.stream_id]
        key = (props["kind"], props["name"], props["process"])
        rows.setdefault(key, []).append((row.timestamp, dict(row.values)))
    return rows


def run_import(services: Services, paths: list[str]) -> int:
    with Ingestor(services, batch_size=50) as ingestor:
        summary = import_logs(
            ingestor, paths, "web1", DATE, top_files=50, fold_depth=3, min_operations=1
        )
    assert summary.rejected == 2
    return summary.rows


def test_import_twice_through_the_ingest_path(services: Services, tmp_path: Path) -> None:
    paths = [str(HANDCOUNT), str(write_sysdig_log(tmp_path, "ls"))]
    rows = run_import(services, paths)
    first = stored(services)
    assert sum(len(v) for v in first.values()) == rows

    ((timestamp, nginx),) = first["process", "nginx", "nginx"]
    assert timestamp == NINE_59
    assert (nginx["count"], nginx["opens"], nginx["failed_opens"], nginx["reads"]) == (6, 1, 1, 2)
    assert (nginx["bytes_read"], nginx["bytes_written"], nginx["renames"]) == (612, 80, 0)
    ((_, page),) = first["file", "/var/www/index.html", "all"]
    assert (page["opens"], page["reads"], page["closes"], page["count"]) == (1, 2, 1, 4)
    ((_, java),) = first["process", "java", "java"]
    assert (java["mkdirs"], java["renames"], java["unlinks"], java["failed_unlinks"]) == (
        1,
        1,
        1,
        1,
    )
    ((when, loads),) = first["action", "LoadSharedLibrary", "ls"]
    assert loads["count"] == 3
    assert loads["opens"] is None
    assert when == MIDNIGHT + 13 * 3600 + 5 * 60

    streams_before = services.streams.find(FILEOPS, pagesize=1000).total
    assert run_import(services, paths) == rows
    assert stored(services) == first
    assert services.streams.find(FILEOPS, pagesize=1000).total == streams_before


def test_import_command_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    ini = tmp_path / "nntsc.ini"
    ini.write_text(
        "[app:main]\n"
        f"nntsc.sql_url = sqlite:///{tmp_path}/nntsc.sqlite\n"
        "nntsc.timeseries_url = sql\n"
    )
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "-c", str(ini)]).exit_code == 0
    log = write_sysdig_log(tmp_path, "modprobe")
    command = ["import", "sysdig", "-c", str(ini), "--host", "web1", "--date", "2026-11-02"]
    command += ["--min-ops", "1"]
    result = runner.invoke(main, [*command, str(log), str(HANDCOUNT)])
    assert result.exit_code == 0, result.output
    assert f"{HANDCOUNT}: 32 lines, 30 events, 2 lines rejected (lines 14, 29)" in result.output
    assert "7 actions in 3 minutes" in result.output
    piped = runner.invoke(main, [*command, "-"], input=log.read_text())
    assert piped.exit_code == 0, piped.output
    assert "-: 218 lines, 218 events, 0 lines rejected" in piped.output
    services = make_services(f"sqlite:///{tmp_path}/nntsc.sqlite")
    try:
        kinds = {s.properties["kind"] for s in services.streams.find(FILEOPS, pagesize=500).items}
        assert kinds == {"process", "file", "action"}
    finally:
        services.close()
    missing = runner.invoke(main, [*command, str(tmp_path / "none.log")])
    assert missing.exit_code != 0
