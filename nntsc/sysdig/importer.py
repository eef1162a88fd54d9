"""Import sysdig logs into the fileops collection through the ingest pipeline.

Every log given to one import is read in order through one counter, so a
capture split into several files (or a minute spanning two of them) counts
as one; give them in time order, since calls in a minute already handed
out are late. A large plain text log is cut into chunks at line ends,
scanned in `workers` processes at once and merged in order, with the same
result as one scan (see `nntsc.sysdig.scan`); a gzip log, standard input
or JSON is read in this process. Each closed minute becomes one report of
the host, handed to the same `Ingestor` the AMP collections use: streams
are created on first sight, rows are written in batches, and writing the
same minute again replaces its rows, so importing a log twice leaves the
same data.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nntsc.collections import get as get_collection
from nntsc.collections.fileops import ALL_PROCESSES
from nntsc.ingest.pipeline import Ingestor, fewer_collections
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
from nntsc.sysdig.scan import (
    PIECE_LINES,
    CutTooLate,
    Piece,
    Prefilter,
    TextMerger,
    scan_chunk,
    scan_lines,
)

#: Calls of a JSON log, or lines of a pipe, between two checks for closed
#: minutes and progress updates: a live capture's rows come out as it goes.
CHECK_EVERY = 8192
#: A plain text log at least this large is cut into chunks scanned by worker processes.
PARALLEL_BYTES = 8 << 20
#: Bounds of a chunk's size (a chunk is scanned in one go, in one worker).
MIN_CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 32 << 20


@dataclass
class FileSummary:
    """What one log held."""

    path: str
    lines: int = 0
    events: int = 0
    rejected: int = 0
    rejected_lines: str = ""
    #: The first rejected line numbers (`nntsc.sysdig.reader.MAX_REJECTED_KEPT` at most).
    rejected_numbers: list[int] = field(default_factory=list)


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
    progress: Callable[[int], object] | None = None,
    min_operations: int = DEFAULT_MIN_OPERATIONS,
    workers: int | None = None,
    chunk_bytes: int | None = None,
) -> ImportSummary:
    """Count the logs at `paths` (``-`` is standard input) and buffer their rows in `ingestor`.

    `date` is the date of the first event of each log in the time-of-day
    format (default: the file's modification date, today for a pipe).
    `progress` is called with bytes read (lines for a pipe) as the import
    goes. `top_files`, `fold_depth` and `min_operations` bound the series
    (see `nntsc.sysdig.metrics`). `workers` is how many processes scan a
    large plain text log (default: one per CPU; 1 scans in this process);
    `chunk_bytes` fixes the size of its chunks (default: from the size of
    the log), and cuts even a small log. The caller flushes the ingestor.
    Returns the summary; raises `BadSysdigLog` for a file that cannot be opened.
    """
    collection = get_collection("fileops")
    counter = FileOpsCounter(top_files, fold_depth, min_operations)
    recognizer = ActionRecognizer()
    summary = ImportSummary()
    workers = workers if workers is not None else os.cpu_count() or 1

    def write(reports: Iterable[MinuteReport]) -> None:
        series = summary.series
        for report in reports:
            summary.minutes += 1
            summary.rows += ingestor.add(collection, report, host, report.minute)
            series.update(("process", name, name) for name in report.processes)
            series.update(("file", name, ALL_PROCESSES) for name in report.files)
            series.update(("directory", name, ALL_PROCESSES) for name in report.directories)
            series.update(("action", action, process) for process, action in report.actions)

    def on_action(_: Action) -> None:
        summary.actions += 1

    def tick() -> None:
        write(counter.closed())

    with Workers(workers) as pool:
        for path in paths:
            stats = count_log(
                path, date, counter, recognizer, on_action, pool, chunk_bytes, tick, progress
            )
            summary.files.append(
                FileSummary(
                    path,
                    stats.lines,
                    stats.events,
                    stats.rejected,
                    stats.rejected_text(),
                    list(stats.rejected_lines),
                )
            )
    for action in recognizer.finish():
        counter.add_action(action.process, action.name, action.end)
        on_action(action)
    write(counter.flush())
    summary.calls_counted = counter.counted
    summary.late = counter.late
    return summary


def count_log(
    path: str,
    date: dt.date | None,
    counter: FileOpsCounter,
    recognizer: ActionRecognizer,
    on_action: Callable[[Action], object],
    workers: Workers,
    chunk_bytes: int | None = None,
    tick: Callable[[], None] | None = None,
    progress: Callable[[int], object] | None = None,
) -> ReadStats:
    """Count and recognise the log at `path` (``-``: stdin) into `counter`; return its stats.

    Each action recognised is counted, then given to `on_action`. A plain
    text log of `PARALLEL_BYTES` or more is cut into chunks for `workers`
    when there are several; `chunk_bytes` cuts any plain text log into
    chunks of that size (scanned in this process by a single worker).
    `tick` is called whenever closed minutes may be handed out.
    """
    tick = tick or _nothing
    counter.start_log()
    # Counting keeps its tables and memos to the end of a minute or a log:
    # young-generation collections would only walk them, again and again.
    with fewer_collections(), SysdigLog(path, date) as log:
        stats = ReadStats()
        lines = iter(log.lines())
        head = _head_lines(lines)
        if head and head[-1].lstrip()[:1] in ("[", "{", ","):
            # JSON is rare and slow to decode anyway: the general pipeline reads it.
            return _read_json(
                log, itertools.chain(head, lines), counter, recognizer, on_action, tick, progress
            )
        merger = TextMerger(log.date, counter, recognizer, stats, on_action)
        size = log.size or 0
        plain = log.size is not None and not log.compressed
        if plain and chunk_bytes is not None:
            _scan_in_chunks(workers, path, size, chunk_bytes, merger, tick, progress)
        elif plain and workers.count > 1 and size >= PARALLEL_BYTES:
            chunk_bytes = _chunk_size(size, workers.count)
            _scan_in_chunks(workers, path, size, chunk_bytes, merger, tick, progress)
        else:
            _scan_here(log, itertools.chain(head, lines), merger, tick, progress)
        return stats


def _nothing() -> None:
    pass


def _head_lines(lines: Iterator[str]) -> list[str]:
    """The lines up to the first non-blank one (all of them if none is)."""
    head = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    return head


def _scan_here(
    log: SysdigLog,
    lines: Iterable[str],
    merger: TextMerger,
    tick: Callable[[], None],
    progress: Callable[[int], object] | None,
) -> None:
    """Scan a text log in this process, piece by piece (a pipe or gzip log, or one worker)."""
    reported = 0
    first = True
    # A file's pieces are larger: each is merged into the counts of its minutes.
    piece_lines = CHECK_EVERY if log.size is None else PIECE_LINES
    matching = merger.recognizer.active()
    for piece in scan_lines(lines, merger.midnight, merger.prefilter, None, piece_lines, matching):
        if first:
            merger.begin_chunk(piece, piece, rescanned=True)
            first = False
        merger.add(piece)
        tick()
        if progress is not None:
            position = log.position() if log.size is not None else merger.stats.lines
            progress(position - reported)
            reported = position
    if progress is not None:
        position = log.size if log.size is not None else merger.stats.lines
        progress(max(0, (position or 0) - reported))


def _chunk_size(size: int, workers: int) -> int:
    """Four chunks a worker, within bounds: the merge of a chunk overlaps the scan of the next.

    The merge of the last chunk does not (nor does the rest of the import):
    smaller chunks make it shorter, but each chunk costs its set-up and the
    first calls of its threads, sent to the merge in case a match is under way.
    """
    return max(MIN_CHUNK_BYTES, min(MAX_CHUNK_BYTES, size // (workers * 4) + 1))


def _chunk_bounds(path: str, size: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """(start, end) byte ranges of about `chunk_bytes`, each ending at a line end."""
    bounds = []
    start = 0
    with open(path, "rb") as log:
        while start < size:
            log.seek(min(size, start + chunk_bytes) - 1)
            log.readline()
            end = min(size, log.tell())
            bounds.append((start, end))
            start = end
    return bounds


def _scan_in_chunks(
    workers: Workers,
    path: str,
    size: int,
    chunk_bytes: int,
    merger: TextMerger,
    tick: Callable[[], None],
    progress: Callable[[int], object] | None,
) -> None:
    """Scan a plain text log in chunks in the worker processes; merge them in order."""
    bounds = _chunk_bounds(path, size, chunk_bytes)
    prefilter = merger.prefilter
    midnight = merger.midnight
    ahead: deque[Future[Any]] = deque()
    waiting = iter(bounds)

    # No match can be under way at the start of a log if none is when it starts.
    matching = {0: merger.recognizer.active()}

    def submit() -> None:
        for start, end in itertools.islice(waiting, 1):
            ahead.append(
                workers.scan(path, start, end, midnight, prefilter, matching.get(start, True))
            )

    # A few chunks ahead of the merge: enough to keep every worker busy,
    # few enough that the pieces waiting stay small.
    for _ in range(workers.count * 2):
        submit()
    for start, end in bounds:
        piece = workers.piece(ahead.popleft())
        submit()
        try:
            merger.begin_chunk(piece, piece)
        except CutTooLate:
            piece = scan_chunk(path, start, end, midnight, prefilter, merger.clock, True)
            merger.begin_chunk(piece, piece, rescanned=True)
        merger.add(piece)
        tick()
        if progress is not None:
            progress(end - start)


class Workers:
    """Processes that scan chunks of logs, started the first time a log is cut into chunks.

    With a `count` of 1 the chunks are scanned in this process, one after
    the other. Use as a context manager.
    """

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._executor: ProcessPoolExecutor | None = None
        self._spool: tempfile.TemporaryDirectory[str] | None = None

    def submit(self, *call: Any) -> Future[Any]:
        """Run ``call[0](*call[1:])`` in a worker (here, at once, for one)."""
        if self.count == 1:
            done: Future[Any] = Future()
            done.set_result(call[0](*call[1:]))
            return done
        if self._executor is None:
            # Forked: a worker starts at once with the scan already imported
            # (a spawned one imports the command and its dependencies again,
            # seconds on a busy machine, longer than a chunk takes). It only
            # scans: it never touches the connections or threads it inherits,
            # and it is started before this import writes its first rows,
            # so before the ingestor's writer threads, unless an earlier log
            # of the same import was read without workers.
            context = multiprocessing.get_context("fork")
            self._executor = ProcessPoolExecutor(self.count, mp_context=context)
        return self._executor.submit(*call)

    def scan(
        self,
        path: str,
        start: int,
        end: int,
        midnight: float,
        prefilter: Prefilter,
        matching: bool,
    ) -> Future[Any]:
        """`scan_chunk` of bytes `start` to `end` of `path` in a worker; `piece` gives its piece.

        A worker writes its piece to a file and hands back only the file's
        name: a piece is megabytes, and sent through the pool's pipe it
        would stall the worker until this process, busy merging, had read
        it all, instead of scanning its next chunk.
        """
        if self.count == 1:
            return self.submit(scan_chunk, path, start, end, midnight, prefilter, None, matching)
        if self._spool is None:
            self._spool = tempfile.TemporaryDirectory(prefix="nntsc-sysdig-")
        return self.submit(
            _scan_to_file, self._spool.name, path, start, end, midnight, prefilter, matching
        )

    @property
    def spool(self) -> str | None:
        """The directory the workers' pieces pass through (None before the first)."""
        return self._spool.name if self._spool is not None else None

    def piece(self, scanned: Future[Any]) -> Piece:
        """The piece of a `scan`, once it is done."""
        result = scanned.result()
        if isinstance(result, Piece):
            return result
        # Written by our own worker, in a directory only this user can read.
        with open(result, "rb") as spooled:
            piece: Piece = pickle.load(spooled)  # noqa: S301
        os.unlink(result)
        return piece

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
        if self._spool is not None:
            self._spool.cleanup()


def _scan_to_file(
    spool: str,
    path: str,
    start: int,
    end: int,
    midnight: float,
    prefilter: Prefilter,
    matching: bool,
) -> str:
    """`scan_chunk` in a worker: the piece is written to a new file in `spool`; returns its name."""
    # A scan keeps its counts and memos to the end: collections would only walk them.
    with fewer_collections():
        piece = scan_chunk(path, start, end, midnight, prefilter, None, matching)
    with tempfile.NamedTemporaryFile(dir=spool, suffix=".piece", delete=False) as spooled:
        pickle.dump(piece, spooled, protocol=pickle.HIGHEST_PROTOCOL)
    return spooled.name


def _read_json(
    log: SysdigLog,
    lines: Iterable[str],
    counter: FileOpsCounter,
    recognizer: ActionRecognizer,
    on_action: Callable[[Action], object],
    tick: Callable[[], None],
    progress: Callable[[int], object] | None,
) -> ReadStats:
    """Count and recognise a JSON log through the general pipeline; return what its reader saw."""
    reader = EventReader(lines, log.date)
    reported = 0

    def advance() -> None:
        nonlocal reported
        position = log.position() if log.size is not None else reader.stats.lines
        progress(position - reported)  # type: ignore[misc]
        reported = position

    for index, call in enumerate(pair_calls(reader), 1):
        counter.add(call)
        for action in recognizer.feed(call):
            counter.add_action(action.process, action.name, action.end)
            on_action(action)
        if not index % CHECK_EVERY:
            tick()
            if progress is not None:
                advance()
    if progress is not None:
        position = log.size if log.size is not None else reader.stats.lines
        progress(max(0, (position or 0) - reported))
    return reader.stats
