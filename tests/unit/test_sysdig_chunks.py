"""A log cut into chunks, scanned apart and merged in order, counts exactly what one scan counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nntsc.demo.busy_host import BusyHost
from nntsc.sysdig.actions import Action, ActionRecognizer
from nntsc.sysdig.importer import Workers, count_log
from nntsc.sysdig.metrics import FileOpsCounter
from nntsc.sysdig.reader import ReadStats
from nntsc.sysdig.scan import scan_text

DATE = dt.date(2026, 11, 2)


def busy_log(start: dt.datetime, lines: int, absolute: bool = False) -> list[str]:
    """A busy host's log, with the disorder real captures have around midnight and late calls.

    Just after midnight a thread's enter event from just before it is
    written (its exit comes after midnight); near the end a thread's call
    from three minutes before arrives (its minute is written by then); a
    malformed line and a blank one are in between.
    """
    host = BusyHost(seed=13, start=start, events_per_second=40, absolute=absolute)
    log = [line + "\n" for line in host.lines(lines)]
    if not absolute:
        after = next(i for i, line in enumerate(log) if line.split(" ")[1] < "12")
        log[after + 1 : after + 1] = [
            "900001 23:59:59.990000000 1 nginx (4242) > read fd=9(<f>/var/www/late.css) size=4\n",
            "900002 00:00:00.004000000 1 nginx (4242) < read res=4 data=body\n",
        ]
    clock = log[-40].split(" ")[1]
    stamp = (
        f"{float(clock) - 180:.9f}"
        if absolute
        else (dt.datetime.strptime(clock[:8], "%H:%M:%S") - dt.timedelta(minutes=3)).strftime(
            "%H:%M:%S"
        )
        + clock[8:]
    )
    log[-30:-30] = [
        f"900003 {stamp} 2 php-fpm8.2 (4343) > read fd=7(<f>/var/lib/php/x) size=9\n",
        f"900004 {stamp} 2 php-fpm8.2 (4343) < read res=9 data=.........\n",
        "this is not an event\n",
        "\n",
    ]
    return log


def counted(
    path: Path, chunk_bytes: int | None, workers: int
) -> tuple[list[dict], list[Action], ReadStats, int, int]:
    counter = FileOpsCounter(top_files=5, min_operations=2)
    actions: list[Action] = []
    with Workers(workers) as pool:
        stats = count_log(
            str(path), DATE, counter, ActionRecognizer(), actions.append, pool, chunk_bytes
        )
    reports = [vars(report) for report in counter.flush()]
    return reports, actions, stats, counter.counted, counter.late


@pytest.mark.parametrize(
    ("start", "absolute"),
    [(dt.datetime(2026, 11, 2, 23, 55, 0), False), (dt.datetime(2026, 11, 2, 23, 55, 0), True)],
    ids=["across-midnight", "absolute-times"],
)
def test_chunks_of_any_size_count_what_one_scan_counts(
    tmp_path: Path, start: dt.datetime, absolute: bool
) -> None:
    path = tmp_path / "busy.log"
    path.write_text("".join(busy_log(start, 30_000, absolute)))
    whole = counted(path, None, 1)
    reports, actions, stats, calls, late = whole
    # The log is what the test says: several minutes, actions, late calls, a rejected line.
    assert len(reports) > 5
    assert len(actions) > 100
    assert late > 0
    assert stats.rejected == 1
    # Cuts just before the line from before midnight and the late call.
    text = path.read_bytes()
    cuts = [text.index(marker) for marker in (b"\n900001 ", b"\n900003 ") if marker in text]
    sizes = [(1, 1), (700, 1), (5000, 2)] + [(cut + 1, 1) for cut in cuts]
    for chunk_bytes, workers in sizes:
        # Every line a chunk, chunks of a few lines (every action crosses a
        # cut), real worker processes, a chunk starting at each odd line.
        reports, actions, stats, calls, late = counted(path, chunk_bytes, workers)
        assert reports == whole[0]
        assert actions == whole[1]
        assert vars(stats) == vars(whole[2])
        assert (calls, late) == whole[3:]


def test_one_scan_of_a_file_is_the_scan_of_its_lines(tmp_path: Path) -> None:
    lines = busy_log(dt.datetime(2026, 11, 2, 23, 58, 0), 8000)
    path = tmp_path / "busy.log"
    path.write_text("".join(lines))
    counter = FileOpsCounter(top_files=5, min_operations=2)
    actions: list[Action] = []
    stats = ReadStats()
    scan_text(lines, DATE, counter, ActionRecognizer(), stats, actions.append, lambda: None, 500)
    reports = [vars(report) for report in counter.flush()]
    assert counted(path, None, 1) == (reports, actions, stats, counter.counted, counter.late)


def test_chunks_of_a_log_with_carriage_returns(tmp_path: Path) -> None:
    # Universal newlines: a chunk's lines end where the whole file's do.
    lines = busy_log(dt.datetime(2026, 11, 2, 23, 59, 0), 4000)
    path = tmp_path / "busy.log"
    path.write_bytes("".join(lines).replace("\n", "\r\n").encode())
    whole = counted(path, None, 1)
    assert whole[2].lines == len(lines)
    for chunk_bytes in (1, 700):
        assert counted(path, chunk_bytes, 1) == whole
