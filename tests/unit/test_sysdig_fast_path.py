"""The import's fast path on random logs: what the general pipeline counts, however it is cut.

`tests.tools.sysdig_fuzz` writes logs with every shape the scan has a
path for (memos by enter text, by exit text and by both, odd annotations,
pairs apart, missing enters and exits, bad lines), around the planted
actions of a busy host.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path
from types import ModuleType

import pytest

from nntsc.sysdig import _scan, scan
from nntsc.sysdig.actions import Action, ActionRecognizer
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.importer import Workers, count_log
from nntsc.sysdig.metrics import FileOpsCounter
from nntsc.sysdig.reader import EventReader, ReadStats
from tests.tools.sysdig_fuzz import fuzz_log

DATE = dt.date(2026, 11, 2)
SEEDS = range(8)


def general(lines: list[str]) -> tuple[list[dict], list[Action], int, ReadStats]:
    """Counts and actions of the general pipeline: an Event and a Call for every line."""
    counter = FileOpsCounter(top_files=5, min_operations=2)
    recognizer = ActionRecognizer()
    actions: list[Action] = []
    reader = EventReader(lines, DATE)
    for call in pair_calls(reader):
        counter.add(call)
        for action in recognizer.feed(call):
            actions.append(action)
            counter.add_action(action.process, action.name, action.end)
    for action in recognizer.finish():
        actions.append(action)
        counter.add_action(action.process, action.name, action.end)
    return [vars(r) for r in counter.flush()], actions, counter.counted, reader.stats


def fast(
    lines: list[str], piece_lines: int, implementation: ModuleType = scan.implementation
) -> tuple[list[dict], list[Action], int, ReadStats]:
    """Counts and actions of `scan_text` of `implementation` (the compiled build, when built)."""
    counter = FileOpsCounter(top_files=5, min_operations=2)
    recognizer = ActionRecognizer()
    actions: list[Action] = []
    stats = ReadStats()
    implementation.scan_text(
        lines, DATE, counter, recognizer, stats, actions.append, lambda: None, piece_lines
    )
    for action in recognizer.finish():
        actions.append(action)
        counter.add_action(action.process, action.name, action.end)
    return [vars(r) for r in counter.flush()], actions, counter.counted, stats


# The source runs where no build is (or an outdated one): it must count the same.
IMPLEMENTATIONS = [scan.implementation] if not scan.COMPILED else [scan.implementation, _scan]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("seed", SEEDS)
def test_fast_path_counts_what_the_general_path_counts(
    seed: int, implementation: ModuleType
) -> None:
    start = dt.datetime(2026, 11, 2, 23, 58, 0) if seed % 2 else dt.datetime(2026, 11, 2, 9)
    lines = fuzz_log(seed, 6000, start)
    reports, actions, counted, stats = general(lines)
    # The log is what it should be: actions, bad lines, calls counted.
    assert actions
    assert stats.rejected
    assert counted > 1000
    for piece_lines in (1 << 20, 97):
        fast_reports, fast_actions, fast_counted, fast_stats = fast(
            lines, piece_lines, implementation
        )
        assert fast_reports == reports
        assert fast_actions == actions
        assert fast_counted == counted
        assert (fast_stats.lines, fast_stats.events, fast_stats.rejected) == (
            stats.lines,
            stats.events,
            stats.rejected,
        )
        assert fast_stats.rejected_lines == stats.rejected_lines


def counted_in_chunks(
    path: Path, chunk_bytes: int | None, workers: int
) -> tuple[list[dict], list[Action], dict, int, int]:
    counter = FileOpsCounter(top_files=5, min_operations=2)
    actions: list[Action] = []
    with Workers(workers) as pool:
        stats = count_log(
            str(path), DATE, counter, ActionRecognizer(), actions.append, pool, chunk_bytes
        )
    return [vars(r) for r in counter.flush()], actions, vars(stats), counter.counted, counter.late


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_random_logs_in_random_chunks_count_what_one_scan_counts(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "fuzz.log"
    path.write_text("".join(fuzz_log(seed, 4000, dt.datetime(2026, 11, 2, 23, 59, 0))))
    whole = counted_in_chunks(path, None, 1)
    rng = random.Random(seed)
    for _ in range(3):
        chunk_bytes = rng.choice((1, 50, 333, 4096, 20000))
        assert counted_in_chunks(path, chunk_bytes, 1) == whole
    # Real worker processes, which hand their pieces back through files.
    assert counted_in_chunks(path, 9000, 2) == whole


def test_workers_leave_no_pieces_behind(tmp_path: Path) -> None:
    path = tmp_path / "fuzz.log"
    path.write_text("".join(fuzz_log(3, 3000)))
    counter = FileOpsCounter()
    with Workers(2) as pool:
        count_log(str(path), DATE, counter, ActionRecognizer(), lambda _: None, pool, 5000)
        spool = pool.spool
        assert spool is not None
        # Every piece was read back (and removed) by the merge.
        assert os.listdir(spool) == []
    assert not os.path.exists(spool)


# A log that lost events: an enter or exit of a type nothing counts or
# recognises, between a call's enter and exit, ends that call as in
# `pair_calls` (the enter is left without its exit, the exit without its enter).
LOST_EVENTS = [
    [
        "1 09:00:00.000000001 1 sshd (501) > stat dirfd=6(<d>/tmp) name=/tmp/x\n",
        "2 09:00:00.000000002 1 sshd (501) < futex res=0\n",
        "3 09:00:00.000000003 1 sshd (501) < stat res=0\n",
    ],
    [
        "1 09:00:00.000000001 1 cat (7) > read fd=3(<f>/etc/hosts) size=10\n",
        "2 09:00:00.000000002 1 cat (7) > futex addr=7F uaddr=0 op=128\n",
        "3 09:00:00.000000003 1 cat (7) < read res=10 data=abc\n",
    ],
    # An event sysdig writes without exit does not end the call around it.
    [
        "1 09:00:00.000000001 1 cat (7) > read fd=3(<f>/etc/hosts) size=10\n",
        "2 09:00:00.000000002 1 cat (7) > switch next=0 pgft_maj=0 pgft_min=0\n",
        "3 09:00:00.000000003 1 cat (7) < read res=10 data=abc\n",
    ],
]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("lines", LOST_EVENTS, ids=["unused-exit", "unused-enter", "enter-only"])
def test_an_unused_event_between_enter_and_exit_ends_the_call(
    tmp_path: Path, lines: list[str], implementation: ModuleType
) -> None:
    reports, _, counted, _ = general(lines)
    assert fast(lines, 1 << 20, implementation)[:3] == (reports, [], counted)
    assert counted == (1 if "switch" in lines[1] else 0)
    # Cut after every line: the unused event is the thread's first in its chunk.
    path = tmp_path / "lost.log"
    path.write_text("".join(lines))
    assert counted_in_chunks(path, 1, 1) == counted_in_chunks(path, None, 1)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda m: m.__name__)
def test_a_rejected_line_does_not_move_the_clock(implementation: ModuleType) -> None:
    lines = [
        "1 09:00:00.000000001 1 cat (7) > read fd=3(<f>/etc/hosts) size=10\n",
        "2 09:00:00.000000002 1 cat (7) < read res=10 data=abc\n",
        # Not an event (its number): its time, minutes later, is no time of the log.
        "x3 09:05:00.000000000 1 cat (7) > read fd=3(<f>/etc/hosts) size=10\n",
        "4 09:00:01.000000001 1 cat (7) > read fd=3(<f>/etc/hosts) size=10\n",
        "5 09:00:01.000000002 1 cat (7) < read res=10 data=abc\n",
    ]
    reports, _, counted, stats = general(lines)
    assert (counted, stats.rejected) == (2, 1)
    fast_reports, _, fast_counted, fast_stats = fast(lines, 1 << 20, implementation)
    assert (fast_reports, fast_counted, fast_stats.rejected) == (reports, 2, 1)
