"""Pattern mining: the repeated sequences of real traces, ranked by the share they explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nntsc.cli import main
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.patterns import find_patterns, format_report, generalise
from nntsc.sysdig.reader import read_events
from tests.tools.sysdig_fixtures import DATE, write_sysdig_log


@pytest.fixture(scope="module")
def python_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sysdig_log(tmp_path_factory.mktemp("sysdig"), "python")


def test_generalisation() -> None:
    assert generalise("f", "/lib/x86_64-linux-gnu/libc.so.6") == "<lib>.so"
    assert generalise("f", "/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc") == (
        "<module>.pyc"
    )
    assert generalise("f", "/lib/modprobe.d/aliases.conf") == "<modprobe.d>/<conf>.conf"
    assert generalise("f", "/dev/pts/3") == "/dev/pts/<n>"
    assert generalise("4t", "127.0.0.1:22->127.0.0.1:5555") == "<tcp>"
    assert generalise("f", "/var/log/app-2026.log") == "/var/log/app-<n>.log"


def test_module_import_is_the_top_pattern_of_import_json(python_log: Path) -> None:
    report = find_patterns(pair_calls(read_events(str(python_log), DATE)), top=5)
    top = report.patterns[0]
    assert "openat <module>.pyc" in top.tokens
    assert top.tokens[-1] == "close <module>.pyc"
    assert top.count >= 15
    assert top.processes == {"python3": top.count}
    assert top.calls == top.count * len(top.tokens)
    # Patterns are ranked by calls explained, and explain a good part of the log.
    assert [p.calls for p in report.patterns] == sorted(
        (p.calls for p in report.patterns), reverse=True
    )
    assert 0.3 < report.explained <= 1
    events = {e.line: e for e in read_events(str(python_log), DATE)}
    for first, last in top.examples:
        assert events[first].type == top.tokens[0].split()[0]
        assert events[last].type == top.tokens[-1].split()[0]
    assert any("<lib>.so" in " ".join(p.tokens) for p in report.patterns)
    assert "#1" in format_report(report)


def test_patterns_command_json(python_log: Path) -> None:
    result = CliRunner().invoke(
        main, ["sysdig", "patterns", str(python_log), "--json", "--top", "3"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["calls"] > 500
    assert len(document["patterns"]) == 3
    first = document["patterns"][0]
    assert set(first) == {"tokens", "count", "calls", "share", "processes", "examples"}
    assert first["examples"][0]["first_line"] < first["examples"][0]["last_line"]
    text = CliRunner().invoke(main, ["sysdig", "patterns", str(python_log)])
    assert "patterns explain" in text.output
