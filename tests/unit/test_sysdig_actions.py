"""Action FSMs: every planted action is found, and nothing where there is none."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from nntsc.cli import main
from nntsc.demo.busy_host import BusyHost
from nntsc.sysdig.actions import (
    ActionRecognizer,
    CallSequence,
    SequenceMachine,
    Step,
)
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.reader import EventReader, read_events
from tests.tools.sysdig_fixtures import DATA, DATE, HANDCOUNT, TRACES, write_sysdig_log

#: A successful open of a shared library in strace's own output.
_STRACE_LIBRARY = re.compile(r'openat\(AT_FDCWD<[^>]*>, "([^"]+\.so(?:\.[0-9.]+)?)", .*\) = \d+<')
_STRACE_MODULE = re.compile(r'openat\(AT_FDCWD<[^>]*>, "([^"]+\.pyc?)", .*\) = \d+<')
_STRACE_CONFIG = re.compile(
    r'openat\(AT_FDCWD<[^>]*>, "([^"]+/modprobe\.d/[^"]+\.conf)", .*\) = \d+<'
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sysdig")


def recognise(lines: list[str]) -> list:
    return list(ActionRecognizer().recognise(pair_calls(EventReader(lines, DATE))))


def opened(name: str, pattern: re.Pattern[str]) -> list[str]:
    """Files the traced program opened, read from the strace trace itself."""
    text = (DATA / TRACES[name]).read_text()
    return [m.group(1) for m in pattern.finditer(text)]


@pytest.mark.parametrize("name", ["ls", "python", "modprobe"])
def test_real_traces_libraries_modules_and_configs(logs: Path, name: str) -> None:
    actions = recognise(write_sysdig_log(logs, name).read_text().splitlines())
    found = Counter(a.name for a in actions)
    libraries = opened(name, _STRACE_LIBRARY)
    assert [a.subject for a in actions if a.name == "LoadSharedLibrary"] == libraries
    assert len(libraries) == {"ls": 3, "python": 5, "modprobe": 4}[name]
    modules = opened(name, _STRACE_MODULE)
    assert [a.subject for a in actions if a.name == "LoadPythonModule"] == modules
    assert len(modules) == {"ls": 0, "python": 22, "modprobe": 0}[name]
    configs = opened(name, _STRACE_CONFIG)
    assert [a.subject for a in actions if a.name == "ReadModprobeConfig"] == configs
    assert len(configs) == {"ls": 0, "python": 0, "modprobe": 3}[name]
    assert found["SSHCharInput"] == 0
    assert sum(found.values()) == len(libraries) + len(modules) + len(configs)


def test_real_ssh_session_keystrokes(logs: Path) -> None:
    actions = recognise(write_sysdig_log(logs, "ssh").read_text().splitlines())
    typed = [a for a in actions if a.name == "SSHCharInput"]
    # "ls" Enter, then "exit" Enter; sysdig prints the carriage return as a dot.
    assert [a.subject for a in typed] == ["l", "s", ".", "e", "x", "i", "t", "."]
    assert {a.process for a in typed} == {"sshd"}
    assert all(a.first_line < a.last_line and a.start < a.end for a in typed)
    # The shell's read and echo are part of each keystroke.
    events = {e.line: e for e in read_events(str(write_sysdig_log(logs, "ssh")), DATE)}
    assert {events[n].process for n in typed[0].lines} == {"sshd", "bash"}
    assert Counter(a.name for a in actions)["LoadSharedLibrary"] == 3  # the ls run


def test_busy_host_every_planted_action_and_nothing_else() -> None:
    host = BusyHost(seed=11)
    actions = recognise(list(host.lines(60_000)))
    assert Counter((a.name, a.process) for a in actions) == host.planted
    assert len(host.planted) >= 8


def test_no_action_in_a_log_without_any() -> None:
    assert recognise(HANDCOUNT.read_text().splitlines()) == []


def _loader_lines(
    path: str = "/lib/x86_64-linux-gnu/libacl.so.1",
    flags: str = "524288(O_RDONLY|O_CLOEXEC)",
    fstats: int = 1,
    mmaps: int = 2,
    close: bool = True,
    read_path: str | None = None,
) -> list[str]:
    calls = [
        (
            "openat",
            f"dirfd=-100(AT_FDCWD) name={path} flags={flags}",
            f"fd=3(<f>{path}) name={path}",
        ),
        ("read", f"fd=3(<f>{read_path or path}) size=832", "res=832 data=.ELF"),
        *[("fstat", f"fd=3(<f>{path})", "res=0")] * fstats,
        *[("mmap", f"addr=0 length=8192 fd=3(<f>{path}) offset=0", "res=7F00")] * mmaps,
        ("mprotect", "addr=7F00 length=4096 prot=0", "res=0"),
        ("mmap", "addr=7F10 length=4096 fd=4294967295 offset=0", "res=7F10"),
    ]
    if close:
        calls.append(("close", f"fd=3(<f>{path})", "res=0"))
    lines = []
    for index, (kind, enter, exit_) in enumerate(calls):
        stamp = f"10:00:00.{index:06d}000"
        lines.append(f"{2 * index + 1} {stamp} 0 date (77) > {kind} {enter}")
        lines.append(f"{2 * index + 2} {stamp} 0 date (77) < {kind} {exit_}")
        # Another thread's calls in between do not disturb the match.
        lines.append(f"{2 * index + 2} {stamp} 1 nginx (78) > futex addr=1 op=1 val=1")
    return lines


@pytest.mark.parametrize(
    ("variation", "found"),
    [
        ({}, 1),
        ({"flags": "0(O_RDONLY)"}, 1),
        ({"fstats": 0}, 1),
        ({"fstats": 2}, 1),
        ({"mmaps": 1}, 1),
        ({"mmaps": 4}, 1),
        ({"close": False}, 0),
        ({"read_path": "/etc/passwd"}, 0),
        ({"path": "/etc/ld.so.cache"}, 0),
    ],
)
def test_shared_library_variations(variation: dict, found: int) -> None:
    actions = recognise(_loader_lines(**variation))
    assert [a.name for a in actions] == ["LoadSharedLibrary"] * found


def test_ssh_keystroke_echoed_by_the_terminal_alone() -> None:
    socket = "fd=4(<4t>127.0.0.1:2222->127.0.0.1:36004)"
    lines = [
        f"1 10:00:00.000001000 0 sshd (90) > read {socket} size=262144",
        "2 10:00:00.000002000 0 sshd (90) < read res=36 data=........",
        "3 10:00:00.000003000 0 sshd (90) > write fd=3(<f>/dev/ptmx) size=1",
        "4 10:00:00.000004000 0 sshd (90) < write res=1 data=q",
        "5 10:00:00.000005000 0 sshd (90) > read fd=7(<f>/dev/ptmx) size=32768",
        "6 10:00:00.000006000 0 sshd (90) < read res=1 data=q",
        f"7 10:00:00.000007000 0 sshd (90) > write {socket} size=36",
        "8 10:00:00.000008000 0 sshd (90) < write res=36 data=........",
    ]
    (action,) = recognise(lines)
    assert (action.name, action.subject, action.first_line, action.last_line) == (
        "SSHCharInput",
        "q",
        1,
        8,
    )
    # Without the network read first, writing to the pty is not a keystroke.
    assert recognise(lines[2:]) == []


def test_a_new_machine_is_data() -> None:
    sequence = CallSequence(
        "ReadPasswd",
        (
            Step(frozenset({"openat"}), r"^/etc/passwd$", main=True),
            Step(frozenset({"read"}), least=1, most=10),
            Step(frozenset({"close"})),
        ),
    )
    lines = HANDCOUNT.read_text().replace("/var/www/index.html", "/etc/passwd").splitlines()
    actions = list(
        ActionRecognizer([SequenceMachine(sequence)]).recognise(
            pair_calls(EventReader(lines, DATE))
        )
    )
    assert [(a.name, a.subject, a.first_line, a.last_line) for a in actions] == [
        ("ReadPasswd", "/etc/passwd", 1, 11)
    ]


def test_actions_command_rewrites_summarises_and_prints_json(logs: Path) -> None:
    path = str(write_sysdig_log(logs, "ls"))
    runner = CliRunner()
    original = Path(path).read_text().splitlines()
    rewritten = runner.invoke(main, ["sysdig", "actions", path, "--date", "2026-11-02"])
    assert rewritten.exit_code == 0, rewritten.output
    lines = [line for line in rewritten.output.splitlines() if " = " in line]
    recognised = recognise(original)
    assert lines[1] == (
        f"{recognised[1].first_line} {original[recognised[1].first_line - 1].split()[1]} 1 ls "
        f"(9667) = LoadSharedLibrary subject=/lib/x86_64-linux-gnu/libc.so.6 "
        f"lines={recognised[1].first_line}-{recognised[1].last_line}"
    )
    covered = sum(len(a.lines) for a in recognised)
    assert len(rewritten.output.splitlines()) == len(original) - covered + len(recognised)

    as_json = runner.invoke(main, ["sysdig", "actions", path, "--json"])
    records = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["subject"] for r in records] == opened("ls", _STRACE_LIBRARY)
    assert set(records[0]) == {
        "action",
        "process",
        "thread",
        "start",
        "end",
        "first_line",
        "last_line",
        "subject",
    }

    summary = runner.invoke(main, ["sysdig", "actions", path, "--summary"])
    assert "3  LoadSharedLibrary    ls" in summary.output
    bad = runner.invoke(main, ["sysdig", "actions", path, "--summary", "--json"])
    assert bad.exit_code != 0
