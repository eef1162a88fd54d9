"""File-operation counts: hand-counted values, folding, the collection's rows, the fast path."""

# The /tmp paths below are contents of a log, never files made on this machine.
# ruff: noqa: S108

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nntsc.collections import get as get_collection
from nntsc.collections.fileops import SLOT_FIELDS
from nntsc.demo.busy_host import BusyHost
from nntsc.errors import BadReport
from nntsc.sysdig.actions import ActionRecognizer
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.metrics import N_SLOTS, FileOpsCounter, MinuteReport, fold, safe_name
from nntsc.sysdig.reader import EventReader, ReadStats, local_midnight
from nntsc.sysdig.scan import scan_text
from tests.tools.sysdig_fixtures import DATE, HANDCOUNT, TRACES, write_sysdig_log

FILEOPS = get_collection("fileops")
NINE_59 = int(local_midnight(DATE)) + 9 * 3600 + 59 * 60


def counts(**values: int) -> list[int]:
    """A counts list from field names (see `SLOT_FIELDS`)."""
    row = [0] * N_SLOTS
    for name, value in values.items():
        row[SLOT_FIELDS.index(name)] = value
    return row


def general_reports(
    lines: list[str], top_files: int = 50, fold_depth: int = 3, min_operations: int = 0
) -> tuple:
    counter = FileOpsCounter(top_files, fold_depth, min_operations)
    recognizer = ActionRecognizer()
    actions = []
    for call in pair_calls(EventReader(lines, DATE)):
        counter.add(call)
        for action in recognizer.feed(call):
            actions.append(action)
            counter.add_action(action.process, action.name, action.end)
    return list(counter.flush()), actions, counter.counted


def fast_reports(
    lines: list[str], top_files: int = 50, fold_depth: int = 3, min_operations: int = 0
) -> tuple:
    counter = FileOpsCounter(top_files, fold_depth, min_operations)
    actions: list = []
    stats = ReadStats()
    scan_text(lines, DATE, counter, ActionRecognizer(), stats, actions.append, lambda: None, 100)
    return list(counter.flush()), actions, counter.counted, stats


def test_hand_counted_log() -> None:
    reports, actions, counted = general_reports(HANDCOUNT.read_text().splitlines())
    assert actions == []
    assert [r.minute for r in reports] == [NINE_59, NINE_59 + 60]
    first, second = reports
    assert first.processes == {
        "nginx": counts(
            opens=1, failed_opens=1, reads=2, closes=1, writes=1, bytes_read=612, bytes_written=80
        ),
        "postgres": counts(reads=1, bytes_read=8192),
        "Web Content": counts(failed_stats=1),
    }
    assert first.files == {
        "/var/www/index.html": counts(opens=1, reads=2, closes=1, bytes_read=612),
        "/var/www/missing.png": counts(failed_opens=1),
        "/var/log/nginx/access.log": counts(writes=1, bytes_written=80),
        "/var/lib/postgresql/15/main/base/16384/16400": counts(reads=1, bytes_read=8192),
        "/home/u/.mozilla/x.sqlite": counts(failed_stats=1),
    }
    assert second.processes == {
        "java": counts(mkdirs=1, renames=1, unlinks=1, failed_unlinks=1),
        "postgres": counts(writes=1, bytes_written=8192),
    }
    assert set(second.files) == {
        "/tmp/tmp1/",
        "/tmp/tmp1/a.part",
        "/tmp/tmp1/a.dat",
        "/tmp/tmp1/b.dat",
        "/var/lib/postgresql/15/main/base/16384/16401",
    }
    # The socket write (sendto) and the fsync without its enter are not counted.
    assert counted == 13


def test_collection_rows_of_a_report() -> None:
    first = general_reports(HANDCOUNT.read_text().splitlines())[0][0]
    first.actions[("sshd", "SSHCharInput")] = 3
    rows = FILEOPS.parse(first, "web1", NINE_59)
    by_key = {
        (r.properties["kind"], r.properties["name"], r.properties["process"]): r for r in rows
    }
    nginx = by_key["process", "nginx", "nginx"].values
    assert (nginx["opens"], nginx["failed_opens"], nginx["reads"], nginx["count"]) == (1, 1, 2, 6)
    assert nginx["bytes_read"] == 612
    assert by_key["file", "/var/www/index.html", "all"].values["count"] == 4
    action = by_key["action", "SSHCharInput", "sshd"].values
    assert action["count"] == 3
    assert action["opens"] is None
    assert set(nginx) == set(FILEOPS.field_names)
    assert all(r.properties["host"] == "web1" for r in rows)
    with pytest.raises(BadReport, match="not its minute"):
        FILEOPS.parse(first, "web1", NINE_59 + 1)
    with pytest.raises(BadReport, match="MinuteReport"):
        FILEOPS.parse({"processes": {}}, "web1", NINE_59)


def test_top_files_and_folding() -> None:
    lines = HANDCOUNT.read_text().splitlines()
    first = general_reports(lines, top_files=3, fold_depth=2)[0][0]
    # Ranked by operations, then by name: index.html (4), then the others (1 each).
    assert list(first.files) == [
        "/var/www/index.html",
        "/home/u/.mozilla/x.sqlite",
        "/var/lib/postgresql/15/main/base/16384/16400",
    ]
    assert first.directories == {
        "/var/log/": counts(writes=1, bytes_written=80),
        "/var/www/": counts(failed_opens=1),
    }
    # Beyond top_files directories, the rest fold into their top-level directory.
    folded = general_reports(lines, top_files=1, fold_depth=2)[0][0]
    assert list(folded.files) == ["/var/www/index.html"]
    assert folded.directories == {
        "/home/u/": counts(failed_stats=1),
        "/var/": counts(failed_opens=1, reads=1, writes=1, bytes_read=8192, bytes_written=80),
    }


def test_files_and_directories_below_the_threshold_fold() -> None:
    lines = HANDCOUNT.read_text().splitlines()
    first = general_reports(lines, top_files=50, fold_depth=2, min_operations=2)[0][0]
    # Only index.html has 2 or more operations; so has no directory but /var/.
    assert list(first.files) == ["/var/www/index.html"]
    assert first.directories == {
        "/var/": counts(failed_opens=1, reads=1, writes=1, bytes_read=8192, bytes_written=80),
        "/home/": counts(failed_stats=1),
    }
    second = general_reports(lines, min_operations=10)[0][1]
    assert (second.files, list(second.directories)) == ({}, ["/tmp/", "/var/"])


def test_fold_and_safe_names() -> None:
    assert fold("/usr/lib/python3/dist-packages/x.py", 3) == "/usr/lib/python3/"
    assert fold("/etc/passwd", 3) == "/etc/"
    assert fold("/vmlinuz", 3) == "/"
    assert fold("relative/dir/file", 1) == "./relative/"
    assert fold("/tmp/tmpa81x/", 1) == "/tmp/"
    assert safe_name("/tmp/a\\b\x01") == "/tmp/a?b?"
    assert len(safe_name("/x" * 300)) == 255


def test_minutes_close_two_minutes_behind() -> None:
    counter = FileOpsCounter()
    lines = HANDCOUNT.read_text().splitlines()
    for call in pair_calls(EventReader(lines, DATE)):
        counter.add(call)
    # The newest minute is 10:00, so 09:59 may still receive events.
    assert list(counter.closed()) == []
    assert len(list(counter.flush())) == 2
    counter.add_action("sshd", "SSHCharInput", NINE_59 + 1)
    assert counter.late == 1
    with pytest.raises(ValueError, match="negative"):
        FileOpsCounter(top_files=-1)
    with pytest.raises(ValueError, match="negative"):
        FileOpsCounter(min_operations=-1)


def test_empty_report_makes_no_rows() -> None:
    assert FILEOPS.parse(MinuteReport(NINE_59), "web1", NINE_59) == []


def test_fast_path_counts_and_recognises_what_the_general_path_does(tmp_path: Path) -> None:
    logs = [HANDCOUNT.read_text().splitlines(keepends=True)]
    logs += [write_sysdig_log(tmp_path, name).read_text().splitlines(True) for name in TRACES]
    logs.append([line + "\n" for line in BusyHost(seed=3).lines(20_000)])
    for lines in logs:
        reports, actions, counted = general_reports(lines)
        fast, fast_actions, fast_counted, stats = fast_reports(lines)
        assert [vars(r) for r in fast] == [vars(r) for r in reports]
        assert fast_actions == actions
        assert fast_counted == counted
        assert stats.events + stats.rejected == sum(1 for line in lines if line.strip())


@pytest.mark.parametrize(
    ("start", "absolute"),
    [(dt.datetime(2026, 11, 2, 23, 58, 50), False), (dt.datetime(2026, 11, 2, 9, 0, 0), True)],
    ids=["across-midnight", "absolute-times"],
)
def test_fast_path_rows_equal_the_general_paths_on_a_busy_host(
    start: dt.datetime, absolute: bool
) -> None:
    # Several minutes of a busy host (the default thresholds fold most files),
    # so the memos of the fast path and the folding see repeated and new files.
    host = BusyHost(seed=11, start=start, events_per_second=500, absolute=absolute)
    lines = [line + "\n" for line in host.lines(60_000)]
    reports, actions, counted = general_reports(lines, min_operations=10)
    fast, fast_actions, fast_counted, stats = fast_reports(lines, min_operations=10)
    assert len(reports) > 1
    assert fast_actions == actions
    assert fast_counted == counted
    assert stats.events == len(lines)
    for mine, theirs in zip(fast, reports, strict=True):
        assert vars(mine) == vars(theirs)
        assert FILEOPS.parse(mine, "web1", mine.minute) == FILEOPS.parse(
            theirs, "web1", theirs.minute
        )
