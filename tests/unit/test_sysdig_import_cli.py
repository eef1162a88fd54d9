"""`nntsc import sysdig` fails (exit 1) when nothing was imported or too many lines were rejected.

It then names the first rejected lines and why. On SQLite, through the real command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nntsc.cli import main
from nntsc.sysdig.reader import rejection_reason
from tests.tools.sysdig_fixtures import HANDCOUNT


@pytest.fixture(scope="module")
def ini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sysdig-cli") / "nntsc.ini"
    path.write_text(
        f"[app:main]\nnntsc.sql_url = sqlite:///{path.parent}/nntsc.sqlite\n"
        "nntsc.timeseries_url = sql\n"
    )
    assert CliRunner().invoke(main, ["db", "upgrade", "-c", str(path)]).exit_code == 0
    return path


def run(ini: Path, *arguments: str, stdin: str | None = None) -> Result:
    command = ["import", "sysdig", "-c", str(ini), "--host", "web1", "--date", "2026-11-02"]
    return CliRunner().invoke(main, [*command, "--min-ops", "1", *arguments], input=stdin)


def test_a_file_of_garbage_fails_and_says_why(ini: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.log"
    garbage.write_text('hello world\n12 noon 0 sh (1) > open\n\n{"evt.num": 1}\n')
    result = run(ini, str(garbage))
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert "error: nothing imported: 4 lines, 0 events, 3 lines rejected" in lines
    assert (
        f"  {garbage}:1: not a sysdig event: 'hello world'"
        in lines[lines.index("error: nothing imported: 4 lines, 0 events, 3 lines rejected") + 1]
    )
    assert f"  {garbage}:2: time 'noon' is neither a time of day" in result.stderr
    assert f"  {garbage}:4: JSON event without 'proc.name'" in result.stderr


def test_an_empty_file_imports_nothing_and_fails(ini: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = run(ini, str(empty))
    assert result.exit_code == 1
    assert "error: nothing imported: 0 lines, 0 events, 0 lines rejected" in result.stderr


def test_garbage_on_stdin_fails_with_the_line_numbers(ini: Path) -> None:
    result = run(ini, "-", stdin="not sysdig\nnor this\n")
    assert result.exit_code == 1
    assert "error: nothing imported" in result.stderr
    assert "  -: lines 1, 2 rejected" in result.stderr


def test_rejects_within_the_default_threshold_pass(ini: Path) -> None:
    # 2 of the 32 event lines are rejected: 6.25 %, under the default 10 %.
    result = run(ini, str(HANDCOUNT))
    assert result.exit_code == 0, result.output
    assert "2 lines rejected (lines 14, 29)" in result.stdout


@pytest.mark.parametrize(("limit", "shown"), [("1", "1"), ("5%", "5%")])
def test_rejects_beyond_max_rejects_fail_with_the_first_reasons(
    ini: Path, limit: str, shown: str
) -> None:
    result = run(ini, "--max-rejects", limit, str(HANDCOUNT))
    assert result.exit_code == 1, result.output
    assert (
        f"error: 2 of 32 event lines rejected, more than --max-rejects {shown} allows"
        in result.stderr
    )
    assert f"  {HANDCOUNT}:14: not a sysdig event: 'this line is not an event'" in result.stderr
    assert f"  {HANDCOUNT}:29: time 'garbage' is neither" in result.stderr
    assert run(ini, "--max-rejects", "2", str(HANDCOUNT)).exit_code == 0


@pytest.mark.parametrize("limit", ["many", "-1", "150%"])
def test_a_bad_max_rejects_is_a_usage_error(ini: Path, limit: str) -> None:
    result = run(ini, "--max-rejects", limit, str(HANDCOUNT))
    assert result.exit_code == 2
    assert "--max-rejects" in result.output


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("x" * 200, "not a sysdig event: '" + "x" * 80 + "...'"),
        ("1 10:00:00.5 cpu0 sh (1) > open", "cpu 'cpu0' is not a number"),
        ('{"evt.num": 1', "not JSON (Expecting ',' delimiter)"),
        ('["a"]', "not a JSON object"),
        ("1 10:00:00.5 0 sh (t1) > open", "thread id 't1' is not a number"),
        (
            '{"evt.num": 1, "proc.name": "a", "thread.tid": 1, "evt.dir": ">", "evt.type": "x"}',
            "JSON event without evt.outputtime, evt.rawtime or evt.time",
        ),
        (
            '{"evt.num": 1, "proc.name": "a", "thread.tid": 1, "evt.dir": "=", "evt.type": "x",'
            ' "evt.time": 1}',
            "evt.dir '=' is neither > nor <",
        ),
    ],
)
def test_rejection_reasons(line: str, reason: str) -> None:
    assert rejection_reason(line).startswith(reason)


@pytest.mark.parametrize(
    "command", [["sysdig", "patterns"], ["sysdig", "actions"], ["sysdig", "actions", "--summary"]]
)
def test_looking_into_a_log_without_events_fails(command: list[str], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.log"
    garbage.write_text("hello world\nnot an event either\n")
    result = CliRunner().invoke(main, [*command, str(garbage)])
    assert result.exit_code == 1, result.output
    assert f"error: no sysdig events in {garbage}: 2 lines, 2 rejected" in result.stderr
    assert f"  {garbage}:1: not a sysdig event: 'hello world'" in result.stderr
    piped = CliRunner().invoke(main, [*command, "-"], input="hello world\n")
    assert piped.exit_code == 1
    assert "error: no sysdig events in -: 1 line, 1 rejected" in piped.stderr
    assert CliRunner().invoke(main, [*command, str(HANDCOUNT)]).exit_code == 0
