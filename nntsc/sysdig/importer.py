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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from nntsc.collections import get as get_collection
from nntsc.collections.fileops import ALL_PROCESSES
from nntsc.ingest.pipeline import Ingestor
from nntsc.sysdig.actions import ActionRecognizer
from nntsc.sysdig.calls import pair_calls
from nntsc.sysdig.metrics import (
    DEFAULT_FOLD_DEPTH,
    DEFAULT_TOP_FILES,
    FileOpsCounter,
    MinuteReport,
)
from nntsc.sysdig.reader import SysdigLog

#: Calls between two checks for closed minutes and progress updates.
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
) -> ImportSummary:
    """Count the logs at `paths` (``-`` is standard input) and buffer their rows in `ingestor`.

    `date` is the date of the first event of each log in the time-of-day
    format (default: the file's modification date, today for a pipe).
    `progress` is called with bytes read (lines for a pipe) as the import
    goes. The caller flushes the ingestor. Returns the summary; raises
    `BadSysdigLog` for a file that cannot be opened.
    """
    collection = get_collection("fileops")
    counter = FileOpsCounter(top_files, fold_depth)
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

    feed = recognizer.feed
    count = counter.add
    add_action = counter.add_action
    for path in paths:
        with SysdigLog(path, date) as log:
            events = log.events()
            reported = 0
            for checked, call in enumerate(pair_calls(events), 1):
                count(call)
                for action in feed(call):
                    add_action(action.process, action.name, action.end)
                    summary.actions += 1
                if not checked % CHECK_EVERY:
                    write(counter.closed())
                    if progress is not None:
                        position = log.position() if log.size is not None else events.stats.lines
                        progress(position - reported)
                        reported = position
            stats = events.stats
            if progress is not None:
                position = log.size if log.size is not None else stats.lines
                progress(max(0, (position or 0) - reported))
        summary.files.append(
            FileSummary(path, stats.lines, stats.events, stats.rejected, stats.rejected_text())
        )
    for action in recognizer.finish():
        add_action(action.process, action.name, action.end)
        summary.actions += 1
    write(counter.flush())
    summary.calls_counted = counter.counted
    summary.late = counter.late
    return summary
