"""Count file operations per minute, process and file: the reports of `fileops`.

Each call on a file (or a path) is counted once for its process and once for
its file, as a success or, when its result is negative, as a failure. A
minute is closed (and its report handed out) once events two minutes later
arrive, so a live pipe produces reports as it goes.

Bounded cardinality: every minute, only the `top_files` most active files
with at least `min_operations` operations keep a series of their own; the
others are folded into their directory cut at `fold_depth` components
(``/usr/lib/python3/dist-packages/x.py`` folds to ``/usr/lib/python3/`` at
depth 3). Directories are bounded the same way: beyond the `top_files`
busiest, or below `min_operations`, a directory folds into its top-level
one (``/tmp/tmpa81x/`` into ``/tmp/``). The threshold matters as much as
the rank: a file touched once (a session file, a temporary file) must not
become a series because the minute was quiet. A process name is a series
of its own: process names are few on any host.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from operator import add

from nntsc.sysdig.calls import Call, failed, result, target

#: The operation classes counted, in field order.
OPERATIONS = ("open", "read", "write", "close", "stat", "unlink", "rename", "mkdir", "other")

#: System call -> operation class. Calls not listed are not file operations.
CALL_OPERATION: Mapping[str, str] = {
    **dict.fromkeys(("open", "openat", "openat2", "creat", "open_by_handle_at"), "open"),
    **dict.fromkeys(("read", "pread", "pread64", "readv", "preadv", "preadv2"), "read"),
    **dict.fromkeys(("write", "pwrite", "pwrite64", "writev", "pwritev", "pwritev2"), "write"),
    "close": "close",
    **dict.fromkeys(
        (
            "stat",
            "lstat",
            "fstat",
            "stat64",
            "lstat64",
            "fstat64",
            "newfstatat",
            "fstatat64",
            "statx",
            "access",
            "faccessat",
            "faccessat2",
        ),
        "stat",
    ),
    **dict.fromkeys(("unlink", "unlinkat"), "unlink"),
    **dict.fromkeys(("rename", "renameat", "renameat2"), "rename"),
    **dict.fromkeys(("mkdir", "mkdirat"), "mkdir"),
    **dict.fromkeys(
        (
            "rmdir",
            "truncate",
            "ftruncate",
            "chmod",
            "fchmod",
            "fchmodat",
            "chown",
            "fchown",
            "lchown",
            "fchownat",
            "link",
            "linkat",
            "symlink",
            "symlinkat",
            "readlink",
            "readlinkat",
            "getdents",
            "getdents64",
            "fsync",
            "fdatasync",
            "utimensat",
            "mknod",
            "mknodat",
            "flock",
            "mmap",
            "mmap2",
        ),
        "other",
    ),
}

N_OPERATIONS = len(OPERATIONS)
#: Slots of a counts list: successes per operation, failures per operation, bytes.
SLOT_BYTES_READ = 2 * N_OPERATIONS
SLOT_BYTES_WRITTEN = SLOT_BYTES_READ + 1
N_SLOTS = SLOT_BYTES_WRITTEN + 1
#: System call -> index of its operation in `OPERATIONS`.
SLOT = {name: OPERATIONS.index(op) for name, op in CALL_OPERATION.items()}
SLOT_READ = OPERATIONS.index("read")
SLOT_WRITE = OPERATIONS.index("write")
#: Kinds of fd targets that are files or directories (a tty such as /dev/pts/0 is `f` too).
FILE_KINDS = frozenset(("f", "d"))

DEFAULT_TOP_FILES = 50
DEFAULT_FOLD_DEPTH = 3
DEFAULT_MIN_OPERATIONS = 10
#: The longest name a stream property holds.
MAX_NAME = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass
class MinuteReport:
    """One host-minute of counts: per process, per file, per folded directory, per action.

    Counts are lists of `N_SLOTS` integers (see `OPERATIONS`); `actions`
    maps (process, action name) to how many were recognised.
    """

    minute: int
    processes: dict[str, list[int]] = field(default_factory=dict)
    files: dict[str, list[int]] = field(default_factory=dict)
    directories: dict[str, list[int]] = field(default_factory=dict)
    actions: dict[tuple[str, str], int] = field(default_factory=dict)

    def series(self) -> int:
        """How many rows (one per series) this minute makes."""
        return len(self.processes) + len(self.files) + len(self.directories) + len(self.actions)


def fold(path: str, depth: int) -> str:
    """The directory `path` folds into: its first `depth` directories, ending in ``/``.

    A path ending in ``/`` is a directory itself, so it keeps its last component.
    """
    absolute = path.startswith("/")
    parts = path.strip("/").split("/")
    if not path.endswith("/"):
        parts = parts[:-1]
    parts = parts[:depth]
    folded = "/".join(parts)
    if absolute:
        return "/" + folded + "/" if folded else "/"
    return "./" + folded + "/" if folded else "./"


def safe_name(name: str) -> str:
    """A name fit for a stream property: no control characters or backslashes, at most 255."""
    if _UNSAFE.search(name):
        name = _UNSAFE.sub("?", name)
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 1] + "…"
    return name


class FileOpsCounter:
    """Counts calls into `MinuteReport`s; `add` each call, `closed()` hands out full minutes."""

    def __init__(
        self,
        top_files: int = DEFAULT_TOP_FILES,
        fold_depth: int = DEFAULT_FOLD_DEPTH,
        min_operations: int = DEFAULT_MIN_OPERATIONS,
    ) -> None:
        if top_files < 0 or fold_depth < 0 or min_operations < 0:
            raise ValueError("top_files, fold_depth and min_operations must not be negative")
        self.top_files = top_files
        self.min_operations = min_operations
        self.fold_depth = fold_depth
        self.counted = 0
        #: Calls or actions of a minute already handed out (or, from a text
        #: log, two minutes older than the newest line before them), so not counted.
        self.late = 0
        self._minutes: dict[int, tuple[dict[str, list[int]], dict[str, list[int]]]] = {}
        self._actions: dict[int, dict[tuple[str, str], int]] = {}
        # The newest minute of the log being read, and the minutes handed out.
        self._newest = 0
        self._written: set[int] = set()

    def add(self, call: Call) -> bool:
        """Count one call if it is a file operation; return whether it was counted.

        A call whose exit event was not captured has no result and is not counted.
        """
        slot = SLOT.get(call[2])
        if slot is None or call[8] is None:
            return False
        found = target(call)
        if found is None or found[0] not in FILE_KINDS:
            return False
        tables = self.tables(int(call[4]) // 60 * 60)
        if tables is None:
            return False
        processes, files = tables
        path = found[1]
        process = call[1]
        by_process = processes.get(process)
        if by_process is None:
            by_process = processes[process] = [0] * N_SLOTS
        by_file = files.get(path)
        if by_file is None:
            by_file = files[path] = [0] * N_SLOTS
        if failed(call):
            by_process[slot + N_OPERATIONS] += 1
            by_file[slot + N_OPERATIONS] += 1
        else:
            by_process[slot] += 1
            by_file[slot] += 1
            if slot in (SLOT_READ, SLOT_WRITE):
                size = result(call) or 0
                bytes_slot = SLOT_BYTES_READ if slot == SLOT_READ else SLOT_BYTES_WRITTEN
                by_process[bytes_slot] += size
                by_file[bytes_slot] += size
        self.counted += 1
        return True

    def tables(self, minute: int) -> tuple[dict[str, list[int]], dict[str, list[int]]] | None:
        """The (per process, per file) counts of `minute`; ``None`` if it was handed out.

        A call of a minute already handed out is counted in `late` instead.
        """
        counts = self._minutes.get(minute)
        if counts is None:
            if minute in self._written:
                self.late += 1
                return None
            counts = self._minutes[minute] = ({}, {})
            if minute > self._newest:
                self._newest = minute
        return counts

    def merge(
        self,
        minute: int,
        processes: dict[str, list[int]],
        files: dict[str, list[int]],
        counted: int,
    ) -> bool:
        """Add `counted` calls already summed per process and per file; return whether they were.

        The tables are taken over (not copied) when the minute is new. Calls
        of a minute already handed out are counted in `late` instead.
        """
        if minute in self._written:
            self.late += counted
            return False
        tables = self._minutes.get(minute)
        if tables is None:
            self._minutes[minute] = (processes, files)
            if minute > self._newest:
                self._newest = minute
        else:
            _add_counts(tables[0], processes)
            _add_counts(tables[1], files)
        self.counted += counted
        return True

    def start_log(self) -> None:
        """Start counting another log of the capture: minutes close by its own newest minute.

        Its calls in the minutes still open add to them; in minutes already
        handed out they are late.
        """
        self._newest = 0

    def observe(self, minute: int) -> None:
        """Note that the log has reached `minute` (events of any kind), for `closed`."""
        if minute > self._newest:
            self._newest = minute

    @property
    def newest(self) -> int:
        """The newest minute seen (0 before any)."""
        return self._newest

    def add_action(self, process: str, action: str, time: float, late: bool = False) -> None:
        """Count one recognised action of `process` at `time` (or in `late` when told it is)."""
        minute = int(time) // 60 * 60
        if late or minute in self._written:
            self.late += 1
            return
        actions = self._actions.setdefault(minute, {})
        actions[(process, action)] = actions.get((process, action), 0) + 1
        if minute > self._newest:
            self._newest = minute

    def closed(self) -> Iterator[MinuteReport]:
        """Reports of minutes that no later event can add to (two minutes behind the newest)."""
        return self._close_before(self._newest - 60)

    def flush(self) -> Iterator[MinuteReport]:
        """Reports of every minute still open (at the end of the import)."""
        return self._close_before(1 << 62)

    def _close_before(self, bound: int) -> Iterator[MinuteReport]:
        ready = sorted(m for m in set(self._minutes) | set(self._actions) if m < bound)
        for minute in ready:
            processes, files = self._minutes.pop(minute, ({}, {}))
            report = MinuteReport(
                minute, processes=processes, actions=self._actions.pop(minute, {})
            )
            self._fold(report, files)
            yield report
        self._written.update(ready)

    def _fold(self, report: MinuteReport, files: dict[str, list[int]]) -> None:
        """Keep the busiest files (see the module docstring); fold the rest into directories."""
        least = self.min_operations
        top = self.top_files
        # A busy minute has tens of thousands of files, nearly all folded: the
        # busiest are picked without sorting them all, and the folded ones
        # are grouped by directory first, then summed column by column.
        ranked = heapq.nsmallest(top, ((-_operations(c), p) for p, c in files.items()))
        for operations, path in ranked:
            if -operations >= least and safe_name(path) == path:
                report.files[path] = files[path]
        kept = report.files
        grouped: dict[str, list[list[int]]] = {}
        # A file (not a directory: its path ends in "/") folds by the part
        # of its path before its name: a busy minute has thousands of files
        # in a few directories.
        folded: dict[str, str] = {}
        for path, counts in files.items():
            if path not in kept:
                parent = path[: path.rfind("/") + 1]
                directory = folded.get(parent) if parent != path else None
                if directory is None:
                    directory = safe_name(fold(path, self.fold_depth))
                    if parent != path:
                        folded[parent] = directory
                group = grouped.get(directory)
                if group is None:
                    grouped[directory] = [counts]
                else:
                    group.append(counts)
        directories = {name: _column_sums(group) for name, group in grouped.items()}
        for rank, (directory, counts) in enumerate(sorted(directories.items(), key=_by_activity)):
            if rank < top and _operations(counts) >= least:
                _merge(report.directories, directory, counts)
            else:
                _merge(report.directories, fold(directory, 1), counts)


def _operations(counts: list[int]) -> int:
    return sum(counts[:SLOT_BYTES_READ])


def _by_activity(item: tuple[str, list[int]]) -> tuple[int, str]:
    """Sort key: most operations first, then by name so that ties are stable."""
    return -sum(item[1][:SLOT_BYTES_READ]), item[0]


def _column_sums(rows: list[list[int]]) -> list[int]:
    if len(rows) == 1:
        return list(rows[0])
    return [sum(column) for column in zip(*rows, strict=True)]


def _add_counts(into: dict[str, list[int]], more: dict[str, list[int]]) -> None:
    """Add the counts lists of `more` into `into`, name by name (taking over new names).

    Counts lists all have `N_SLOTS` entries.
    """
    for name, counts in more.items():
        mine = into.get(name)
        if mine is None:
            into[name] = counts
        else:
            into[name] = list(map(add, mine, counts))


def _merge(into: dict[str, list[int]], name: str, counts: list[int]) -> None:
    merged = into.get(name)
    if merged is None:
        into[name] = list(counts)
    else:
        for slot, value in enumerate(counts):
            merged[slot] += value
