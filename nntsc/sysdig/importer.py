"""Import sysdig logs into the fileops collection through the ingest pipeline.

Every log given to one import is read in order through one counter, so a
capture split into several files (or a minute spanning two of them) counts
as one. Each closed minute becomes one report of the host, handed to the
same `Ingestor` the AMP collections use: streams are created on first
sight, rows are written in batches, and writing the same minute again
replaces its rows, so importing a log twice leaves the same data.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from nntsc.collections import get as get_collection
from nntsc.collections.fileops import ALL_PROCESSES
from nntsc.ingest.pipeline import Ingestor
from nntsc.sysdig.actions import Action, ActionRecognizer
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.metrics import (
    DEFAULT_FOLD_DEPTH,
    DEFAULT_MIN_OPERATIONS,
    DEFAULT_TOP_FILES,
    FileOpsCounter,
    MinuteReport,
)
from nntsc.sysdig.reader import EventReader, ReadStats, SysdigLog
from nntsc.sysdig.scan import scan_text

#: Lines between two checks for closed minutes and progress updates.
CHECK_EVERY = 8192


@dataclass
class FileSummary:
    """What one log held."""

    path: str
    lines: int = 0
    events: int = 0
    rejected: int = 0
    rejected_lines: str = ""


@dataclass
class ImportSummary:
    """What an import did, for the end-of-import report."""

    files: list[FileSummary] = field(default_factory=list)
    calls_counted: int = 0
    actions: int = 0
    minutes: int = 0
    rows: int = 0
    series: set[tuple[str, str, str]] = field(default_factory=set)
    late: int = 0

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)


def import_logs(
    ingestor: Ingestor,
    paths: Sequence[str],
    host: str,
    date: dt.date | None = None,
    top_files: int = DEFAULT_TOP_FILES,
    fold_depth: int = DEFAULT_FOLD_DEPTH,
    progress: Callable[[int], None] | None = None,
    min_operations: int = DEFAULT_MIN_OPERATIONS,
) -> ImportSummary:
    """Count the logs at `paths` (``-`` is standard input) and buffer their rows in `ingestor`.

    `date` is the date of the first event of each log in the time-of-day
    format (default: the file's modification date, today for a pipe).
    `progress` is called with bytes read (lines for a pipe) as the import
    goes. `top_files`, `fold_depth` and `min_operations` bound the series
    (see `nntsc.sysdig.metrics`). The caller flushes the ingestor. Returns the summary; raises
    `BadSysdigLog` for a file that cannot be opened.
    """
    collection = get_collection("fileops")
    counter = FileOpsCounter(top_files, fold_depth, min_operations)
    recognizer = ActionRecognizer()
    summary = ImportSummary()

    def write(reports: Iterable[MinuteReport]) -> None:
        series = summary.series
        for report in reports:
            summary.minutes += 1
            summary.rows += ingestor.add(collection, report, host, report.minute)
            series.update(("process", name, name) for name in report.processes)
            series.update(("file", name, ALL_PROCESSES) for name in report.files)
            series.update(("directory", name, ALL_PROCESSES) for name in report.directories)
            series.update(("action", action, process) for process, action in report.actions)

    def on_action(action: Action) -> None:
        counter.add_action(action.process, action.name, action.end)
        summary.actions += 1

    for path in paths:
        with SysdigLog(path, date) as log:
            stats = _read_log(
                log, counter, recognizer, on_action, lambda: write(counter.closed()), progress
            )
        summary.files.append(
            FileSummary(path, stats.lines, stats.events, stats.rejected, stats.rejected_text())
        )
    for action in recognizer.finish():
        on_action(action)
    write(counter.flush())
    summary.calls_counted = counter.counted
    summary.late = counter.late
    return summary


def _read_log(
    log: SysdigLog,
    counter: FileOpsCounter,
    recognizer: ActionRecognizer,
    on_action: Callable[[Action], None],
    on_tick: Callable[[], None],
    progress: Callable[[int], None] | None,
) -> ReadStats:
    """Count and recognise one open log; return what its reader saw."""
    stats = ReadStats()
    reported = 0

    def tick() -> None:
        nonlocal reported
        on_tick()
        if progress is not None:
            position = log.position() if log.size is not None else stats.lines
            progress(position - reported)
            reported = position

    lines = iter(log.lines())
    first_line, number = _first_event_line(lines, stats)
    if first_line is not None and first_line.lstrip()[:1] in ("[", "{", ","):
        # JSON is rare and slow to decode anyway: the general pipeline reads it.
        reader = EventReader(itertools.chain([first_line], lines), log.date, number)
        stats = reader.stats
        for index, call in enumerate(pair_calls(reader), 1):
            counter.add(call)
            for action in recognizer.feed(call):
                on_action(action)
            if not index % CHECK_EVERY:
                tick()
    elif first_line is not None:
        scan_text(
            itertools.chain([first_line], lines),
            number,
            log.date,
            counter,
            recognizer,
            stats,
            on_action,
            tick,
            CHECK_EVERY,
        )
    if progress is not None:
        position = log.size if log.size is not None else stats.lines
        progress(max(0, (position or 0) - reported))
    return stats


def _first_event_line(lines: Iterable[str], stats: ReadStats) -> tuple[str | None, int]:
    """The first non-blank line and its number (blank lines before it are counted)."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            return line, number
        stats.lines = number
    return None, stats.lines + 1
