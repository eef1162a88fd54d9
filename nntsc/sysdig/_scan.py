"""The import's fast path for sysdig's text formats: parse, pair and count in one loop, in pieces.

The general pipeline (`EventReader` -> `pair_calls` -> `FileOpsCounter.add`
and `ActionRecognizer.feed`) builds an `Event` and a `Call` for every line,
which costs several microseconds a line. `scan_lines` keeps each line as
the strings `str.split` gives, skips lines whose type neither the counts nor
any machine uses after one set lookup (they only end the thread's pending
call, as in `pair_calls`), converts a time of day only when its
second changes, remembers the file of each argument text it has parsed (a
thread repeats its calls on a file), and builds a `Call` only for the calls
a machine may use. It hands out `Piece`s: the counts of its lines per
minute, process and file, and those calls. `TextMerger` adds the pieces
into a `FileOpsCounter` and feeds the calls to the `ActionRecognizer`.

A log can thus be cut into chunks of lines scanned apart (in other
processes: see `nntsc.sysdig.importer`) and merged in order, with the same
result as one scan of the whole, although a scan starts knowing nothing of
the lines before its chunk:

- a thread's call whose enter event is in an earlier chunk: the first exit
  event of each thread is handed out raw (`HeadExit`), and the merger,
  which keeps the enter events left open by every chunk before, pairs and
  counts it;
- actions: machines run only in the merger, over the calls of every chunk
  in order, and see the calls one scan would show them. A scan sends every
  call that may start a match (the machines' prefilter) and, since a
  per-thread match takes at most `Machine.max_calls` calls of its machine
  in its thread, the calls of a thread until it has made as many of the
  types every per-thread machine looks at (`Prefilter.window`) after a
  possible start, or since the start of the chunk (a match begun in an
  earlier one); the merger gives those to the machines only while a match
  is under way in the thread, as one scan does;
- the day of a time of day: a scan starts on day 0 and reports its first
  time of day; the merger knows the last time of day of the chunks before
  and the day it was on, so it shifts the chunk's minutes and times by
  whole days, or scans the chunk again from that clock in the one case the
  first line alone cannot tell (a line from before midnight that follows
  one after it, just at the cut);
- calls that arrive late: a call is counted unless its minute is two or
  more minutes before the newest minute of the lines before it. A scan
  knows the newest minute of its own lines, the merger that of the chunks
  before, which only decides whole minutes of the chunk.

The tests compare the fast path with the general pipeline on every fixture
log and on generated busy-host logs, and a scan in tiny chunks with one scan.

This module is plain Python that Cython compiles at install (`setup.py`):
its `cython` declarations (typed locals, an extension type, a branch for
the compiled build) change nothing when it runs as Python.
`nntsc.sysdig.scan` gives the build when it is current, else this module.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import cython

from nntsc.ingest.pipeline import fewer_collections
from nntsc.sysdig.actions import Action, ActionRecognizer
from nntsc.sysdig.calls import ENTER_ONLY, Call, result_of, target_of
from nntsc.sysdig.metrics import (
    FILE_KINDS,
    N_OPERATIONS,
    N_SLOTS,
    SLOT,
    SLOT_BYTES_READ,
    SLOT_BYTES_WRITTEN,
    SLOT_READ,
    SLOT_WRITE,
    FileOpsCounter,
)
from nntsc.sysdig.reader import (
    MAX_REJECTED_KEPT,
    WRAP_THRESHOLD,
    ReadStats,
    local_midnight,
    split_text_line,
)

_new_call = tuple.__new__
#: The slot of the bytes a successful call of a slot moves (0: none).
BYTES_SLOT = {SLOT_READ: SLOT_BYTES_READ, SLOT_WRITE: SLOT_BYTES_WRITTEN}
#: The result of a read or write exit: ``res=832 data=...``.
_RESULT = re.compile(r"res=(\d+)")
#: Enter texts whose fd target is remembered; past this the memo starts again,
#: so memory stays bounded on a log with ever new files.
KNOWN_TARGETS = 65536
#: Lines of a piece when scanning a stream (a chunk is one piece).
PIECE_LINES = 65536
#: A call two minutes or more older than the newest line before it is late.
LATE_AFTER = 120
#: Newest minute before any line.
NO_MINUTE = -(1 << 62)
_DAY = 86400.0


@dataclass(frozen=True)
class Prefilter:
    """What a scan needs to know of the machines: which calls they may use (picklable)."""

    vocabulary: frozenset[str]
    start_patterns: dict[str, re.Pattern[str] | None]
    process_prefixes: tuple[str, ...]
    path_prefixes: tuple[str, ...]
    window_types: frozenset[str]
    #: Calls of those types after one that may start a match that may still be part of it.
    window: int

    @classmethod
    def of(cls, recognizer: ActionRecognizer) -> Prefilter:
        """The prefilter of `recognizer`'s machines."""
        return cls(
            recognizer.vocabulary,
            recognizer.start_patterns,
            recognizer.process_prefixes,
            recognizer.path_prefixes,
            recognizer.window_types,
            recognizer.window,
        )


class HeadExit(NamedTuple):
    """The first event of a thread in a chunk, an exit: paired and counted by the merger.

    `day_start`, `last_clock` and `newest` are the scan's clock and newest
    minute at the line, in the chunk's days.
    """

    number: int
    tid: str
    process: str
    type: str
    info: str
    clock: str
    minute: int
    day_start: float
    last_clock: int
    newest: int


#: A call that may start a match: the fields of its `Call`, its target and
#: the newest minute at its exit line, as a plain tuple (it crosses
#: processes faster).
Candidate = tuple[Any, ...]


class Continuation(NamedTuple):
    """A call the machines use only if a match is under way in its thread: built by the merger.

    The fields `scan_lines` would build its `Call` from, in the chunk's lines and days.
    """

    number: int
    tid: str
    process: str
    type: str
    enter_info: str | None
    info: str
    clock: str
    enter_clock: str | None
    enter_number: int | None
    day_start: float
    last_clock: int
    newest: int
    found: tuple[str, str] | None


@dataclass
class Piece:
    """What a scan found in a run of lines (numbered from 1 at the start of its chunk)."""

    last_line: int = 0
    blank: int = 0
    rejected: int = 0
    rejected_lines: list[int] = field(default_factory=list)
    #: Minute -> (counts per process, counts per file), and the calls counted in them.
    minutes: dict[int, tuple[dict[str, list[int]], dict[str, list[int]]]] = field(
        default_factory=dict
    )
    counted: dict[int, int] = field(default_factory=dict)
    #: Calls not counted because they arrived late.
    late: int = 0
    #: `Candidate`s, `Continuation`s and `HeadExit`s as plain tuples, in line order.
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    #: The first time of day of the chunk (seconds), if the piece has it.
    first_of_day: int | None = None
    #: The clock at the end: last time of day (-1: none yet), day offset, newest minute.
    last_clock: int = -1
    day_offset: float = 0.0
    newest: int = NO_MINUTE
    #: At the end of a chunk: each thread's open enter event (or None).
    pending: dict[str, tuple[str, str, int, str] | None] | None = None


def epoch(clock: str, day_start: float, newest_of_day: int) -> float:
    """Epoch seconds of a timestamp: absolute, or a time of day in the day starting `day_start`.

    `newest_of_day` is the newest time of day seen; a time much later than it
    is from before the last midnight wrap (an enter event just before midnight).
    """
    if clock[2:3] != ":":
        return float(clock)
    of_day = int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
    if of_day > newest_of_day + WRAP_THRESHOLD:
        day_start -= _DAY
    return day_start + of_day + float(clock[8:])


#: A call's target as the scan uses it: (kind, name) as `target` gives it
#: (or None), the name, whether it is a file or directory (counted), and
#: whether its path passes the machines' path prefixes.
_Target = tuple["tuple[str, str] | None", "str | None", bool, bool]
_NO_TARGET: _Target = (None, None, False, False)


def _target(found: tuple[str, str] | None, path_prefixes: tuple[str, ...]) -> _Target:
    """The `_Target` of a call whose `target` is `found`."""
    if found is None:
        return _NO_TARGET
    return found, found[1], found[0] in FILE_KINDS, found[1].startswith(path_prefixes)


@cython.cclass
class _CallType:
    """A call type a scan looks at: what it needs of it, and the targets of its calls it remembers.

    Targets that the enter text's fd annotation does not give are
    remembered by the exit text when that starts with an fd annotation (an
    open's), by both texts otherwise (a path argument: a host stats the
    same files over and over). Each memo starts again past
    `KNOWN_TARGETS`, so memory stays bounded on a log with ever new files.
    """

    # Compiled, an extension type: the scan reads these fields without a lookup by name.
    name = cython.declare(str, visibility="readonly")
    slot: object
    in_vocabulary: cython.bint
    pattern: object
    path_prefixes: tuple
    by_exit: dict
    by_texts: dict
    starting: dict

    def __init__(self, name: str, prefilter: Prefilter) -> None:
        self.name = name
        #: The slot it counts in (None: not a file operation).
        self.slot = SLOT.get(name)
        #: Whether a machine looks at it, and its start pattern (`_MISSING`: none).
        self.in_vocabulary = name in prefilter.vocabulary
        self.pattern = prefilter.start_patterns.get(name, _MISSING)
        self.path_prefixes = prefilter.path_prefixes
        self.by_exit: dict[str, _Target | bool] = {}
        self.by_texts: dict[tuple[str | None, str], _Target] = {}
        self.starting: dict[str | None, bool] = {}

    @cython.ccall
    def target(self, enter_info: str | None, info: str) -> _Target:
        """The `_Target` of a call whose enter text gives none, or whose exit text has one."""
        if info[:3] == "fd=":
            target = self.by_exit.get(info)
            if target is None:
                if len(self.by_exit) >= KNOWN_TARGETS:
                    self.by_exit.clear()
                # Not when the open failed: its target is then read from the enter.
                found = _annotation(info) if info[3:4] != "-" else None
                target = self.by_exit[info] = found is not None and _target(
                    found, self.path_prefixes
                )
            if target:
                return target
            return _target(exit_target(enter_info, info), self.path_prefixes)
        if enter_info is not None and enter_info[:3] == "fd=":
            found = target_of(enter_info.rstrip("\r\n"), info.rstrip("\r\n"))
            return _target(found, self.path_prefixes)
        texts = (enter_info, info)
        target = self.by_texts.get(texts)
        if target is None:
            if len(self.by_texts) >= KNOWN_TARGETS:
                self.by_texts.clear()
            found = exit_target(enter_info, info)
            target = self.by_texts[texts] = _target(found, self.path_prefixes)
        return target

    @cython.ccall
    def may_start(self, path: str | None) -> bool:
        """Whether a call of this type on `path` may start a match (`_may_start`, remembered)."""
        starts = self.starting.get(path)
        if starts is None:
            if len(self.starting) >= KNOWN_TARGETS:
                self.starting.clear()
            starts = self.starting[path] = _may_start(path, self.pattern, self.path_prefixes)  # type: ignore[arg-type]
        return starts


# Compiled (see setup.py), these locals are C values and exact strs and dicts.
@cython.locals(
    line=str,
    num=str,
    clock_text=str,
    process=str,
    tid=str,
    direction=str,
    etype=str,
    info=str,
    second=str,
    last_second=str,
    number=cython.Py_ssize_t,
    first=cython.Py_ssize_t,
    of_day=cython.longlong,
    last_clock=cython.longlong,
    minute=cython.longlong,
    newest=cython.longlong,
    midnight=cython.double,
    day_offset=cython.double,
    late=cython.bint,
    negative=cython.bint,
    equals=cython.Py_ssize_t,
    types=dict,
    targets=dict,
    annotations=dict,
    pending=dict,
    window=dict,
    watched=dict,
    processes=dict,
    files=dict,
    calls=list,
    kind=_CallType,
    digits=cython.bint,
    digit=cython.Py_UCS4,
    fields=list,
)
def scan_lines(
    lines: Iterable[str],
    midnight: float,
    prefilter: Prefilter,
    clock: tuple[int, float] | None = None,
    piece_lines: int = PIECE_LINES,
    matching: bool = True,
) -> Iterator[Piece]:
    """Scan text-format `lines` (a chunk, from line 1); hand out a `Piece` every `piece_lines`.

    `midnight` is the epoch of the local midnight starting the first day;
    `clock` (last time of day, day offset) continues the clock of the lines
    before, when known; `matching` says whether a match may be under way
    when the chunk starts (not at the start of a log, when the machines are
    idle). The last piece carries the open enter events.
    """
    process_prefixes = prefilter.process_prefixes
    path_prefixes = prefilter.path_prefixes
    window_types = prefilter.window_types
    window_size = prefilter.window
    head_window = window_size if matching else 0
    missing = _MISSING
    # The call types the counts or the machines use, with what the scan
    # remembers of their calls; a type not in it is skipped at once.
    types = {name: _CallType(name, prefilter) for name in frozenset(SLOT) | prefilter.vocabulary}
    # The target of each enter text that starts with an fd annotation
    # (whatever the call type), or False when that is not of the common
    # shape; and the same by the annotation alone (see `_fd_target`).
    targets: dict[str, _Target | bool] = {}
    annotations: dict[str, _Target | bool] = {}
    # Each thread's enter event waiting for its exit, by its tid as printed
    # ("(1234)"): its type, text, line and time; None once its exit came. A
    # thread not in it has not been seen in this chunk: its first exit goes
    # to the merger.
    pending: dict[str, tuple[_CallType, str, int, str] | None] = {}
    # Calls of a thread still sent to the machines (see the module docstring).
    window: dict[str, int] = {}
    # Whether each process name starts with a machine's process prefix.
    watched: dict[str, bool] = {}

    last_clock, day_offset = clock if clock is not None else (-1, 0.0)
    first_of_day: int | None = None
    newest = NO_MINUTE
    # The tables (per process, per file) of the minute being counted, in the piece.
    tables_minute: int | None = None
    processes: dict[str, list[int]] = {}
    files: dict[str, list[int]] = {}
    # Per second of the log: its minute (most lines share it) and lateness.
    last_second = ""
    minute = 0
    late = False
    piece = Piece()
    calls = piece.calls
    number = 0
    # The lines of a piece, then one more to know that another piece follows.
    following = iter(lines)
    batch: Iterable[str] = itertools.islice(following, piece_lines)

    while True:
        first = number + 1
        for number, line in enumerate(batch, first):
            try:
                fields = line.split(" ", 7)
                if len(fields) != 8 or fields[4][:1] != "(" or fields[5] not in (">", "<"):
                    # No argument text, spaces in the process name, or not an event.
                    fields = _odd_fields(line)
                num, clock_text, _, process, tid, direction, etype, info = fields
                if cython.compiled:
                    # ASCII digits, checked in place (any other: what isdigit says),
                    # before the clock, which a rejected line must not move.
                    digits = len(num) > 0
                    for digit in num:
                        if digit < "0" or digit > "9":
                            digits = num.isdigit()
                            break
                else:
                    digits = num.isdigit()
                if not digits:
                    raise ValueError(num)
                if clock_text[:8] != last_second:
                    second = clock_text[:8]
                    if clock_text[2:3] == ":":
                        if clock_text[8:9] != ".":
                            raise ValueError(clock_text)
                        of_day = (
                            int(clock_text[:2]) * 3600
                            + int(clock_text[3:5]) * 60
                            + int(clock_text[6:8])
                        )
                        if first_of_day is None:
                            first_of_day = of_day
                        if of_day < last_clock - WRAP_THRESHOLD:
                            day_offset += _DAY
                        if of_day > last_clock + WRAP_THRESHOLD and last_clock >= 0:
                            # Just before midnight, written after an event just past it.
                            minute = int(midnight + day_offset - _DAY + of_day) // 60 * 60
                            second = ""
                        else:
                            last_clock = of_day
                            minute = int(midnight + day_offset + of_day) // 60 * 60
                    else:
                        # Epoch seconds (``-t a``): the first eight characters are
                        # not the second, and the float may round up into the next
                        # minute as the general reader's does, so nothing is cached.
                        minute = int(float(clock_text)) // 60 * 60
                        second = ""
                    last_second = second
                    if minute > newest:
                        newest = minute
                    late = minute <= newest - LATE_AFTER
            except (ValueError, IndexError):
                if line.strip():
                    piece.rejected += 1
                    if len(piece.rejected_lines) < MAX_REJECTED_KEPT:
                        piece.rejected_lines.append(number)
                else:
                    piece.blank += 1
                continue
            kind = types.get(etype)
            if kind is None:
                # Unused, but it ends the thread's pending call as in `pair_calls`
                # (an enter or exit of another type between a call's enter and
                # exit: a log that lost events), unless it has no exit at all.
                if etype in ENTER_ONLY:
                    continue
                if direction == ">" or tid in pending:
                    pending[tid] = None
                    continue
                # The thread's first event in the chunk, an exit: the merger
                # drops the enter left open before it (a `HeadExit`, below).
            elif direction == ">":
                pending[tid] = (kind, info, number, clock_text)
                continue
            enter = pending.get(tid, missing)
            if enter is None:
                enter_info = target = None
            elif enter is missing:
                # Its enter event may be in an earlier chunk: the merger knows.
                pending[tid] = None
                calls.append(
                    (  # A `HeadExit`, as a plain tuple: it crosses processes faster.
                        number,
                        tid,
                        process,
                        etype,
                        info,
                        clock_text,
                        minute,
                        midnight + day_offset,
                        last_clock,
                        newest,
                    )
                )
                continue
            else:
                pending[tid] = None
                if enter[0] is kind:
                    # Most calls (reads, writes, closes, fstats, ...) name their
                    # file by an fd annotation first in the enter text, and a
                    # thread repeats its calls on a file: their targets are
                    # remembered by the enter text (whatever the call type).
                    enter_info = enter[1]
                    target = targets.get(enter_info)
                    if target is None:
                        if len(targets) >= KNOWN_TARGETS:
                            targets.clear()
                        target = targets[enter_info] = _fd_target(
                            enter_info, annotations, path_prefixes
                        )
                else:
                    enter = enter_info = target = None
            if not target or info[:3] == "fd=":
                # An fd annotation first in the exit (opens), remembered per
                # exit text; or a path argument (stat, unlink, ...), per pair
                # of texts, since a host stats the same files over and over.
                if info[:3] == "fd=":
                    target = kind.by_exit.get(info)  # type: ignore[union-attr]
                else:
                    target = kind.by_texts.get((enter_info, info))  # type: ignore[union-attr]
                if not target:
                    target = kind.target(enter_info, info)  # type: ignore[union-attr]
            found, path, on_file, starts = target  # type: ignore[misc]
            slot = kind.slot if on_file else None  # type: ignore[union-attr]
            if slot is not None:
                if late:
                    piece.late += 1
                else:
                    if minute != tables_minute:
                        tables = piece.minutes.get(minute)
                        if tables is None:
                            tables = piece.minutes[minute] = ({}, {})
                        processes, files = tables
                        tables_minute = minute
                    by_process = processes.get(process)
                    if by_process is None:
                        by_process = processes[process] = [0] * N_SLOTS
                    by_file = files.get(path)  # type: ignore[arg-type]
                    if by_file is None:
                        by_file = files[path] = [0] * N_SLOTS  # type: ignore[index]
                    # Failed: a negative result, after the first "=" (most
                    # exits start with "res=": slicing is cheaper than find).
                    if info[:4] == "res=":
                        negative = info[4:5] == "-"
                    else:
                        equals = info.find("=")
                        negative = info[equals + 1 : equals + 2] == "-"
                    if negative:
                        by_process[slot + N_OPERATIONS] += 1  # type: ignore[operator]
                        by_file[slot + N_OPERATIONS] += 1  # type: ignore[operator]
                    else:
                        by_process[slot] += 1  # type: ignore[index]
                        by_file[slot] += 1  # type: ignore[index]
                        if slot in BYTES_SLOT:
                            value = _moved(info)
                            bytes_slot = BYTES_SLOT[slot]
                            by_process[bytes_slot] += value
                            by_file[bytes_slot] += value
            if not kind.in_vocabulary:  # type: ignore[union-attr]
                continue
            if not starts and kind.pattern is not missing:  # type: ignore[union-attr]
                starts = kind.may_start(path)  # type: ignore[union-attr]
            # Not a possible start by its path: by its process (remembered)?
            if not starts:
                starts = watched.get(process)
                if starts is None:
                    starts = watched[process] = process.startswith(process_prefixes)
            if not starts:
                remaining = window.get(tid, head_window)
                if not remaining:
                    continue
                if etype in window_types:
                    window[tid] = remaining - 1
                # Useful only if a match is under way in the thread, which the
                # merger knows: it builds the call then (see `Continuation`).
                calls.append(
                    (
                        number,
                        tid,
                        process,
                        etype,
                        enter_info,
                        info,
                        clock_text,
                        enter[3] if enter is not None else None,
                        enter[2] if enter is not None else None,
                        midnight + day_offset,
                        last_clock,
                        newest,
                        found,
                    )
                )
                continue
            window[tid] = window_size
            day_start = midnight + day_offset
            end = epoch(clock_text, day_start, last_clock)
            if enter is not None:
                start, first_line = epoch(enter[3], day_start, last_clock), enter[2]
            else:
                start, first_line = end, number
            calls.append(
                (
                    int(tid[1:-1]),
                    process,
                    etype,
                    start,
                    end,
                    first_line,
                    number,
                    enter_info.rstrip("\r\n") if enter_info is not None else None,
                    info.rstrip("\r\n"),
                    found,
                    newest,
                )
            )
        line = next(following, None)  # type: ignore[assignment]
        if line is None:
            break
        _count_calls(piece)
        tables_minute = None
        piece.last_line = number
        piece.first_of_day = first_of_day
        piece.last_clock, piece.day_offset, piece.newest = last_clock, day_offset, newest
        yield piece
        piece = Piece()
        calls = piece.calls
        batch = itertools.chain((line,), itertools.islice(following, piece_lines - 1))
    _count_calls(piece)
    piece.last_line = number
    piece.first_of_day = first_of_day
    piece.last_clock, piece.day_offset, piece.newest = last_clock, day_offset, newest
    piece.pending = {
        tid: None if enter is None else (enter[0].name, enter[1], enter[2], enter[3])
        for tid, enter in pending.items()
    }
    yield piece


@cython.cfunc
@cython.locals(space=cython.Py_ssize_t, size_text=str)
def _moved(info: str) -> object:
    """Bytes a successful read or write moved, from its exit text (``res=832 data=...``)."""
    if info[:4] == "res=":
        # The digits up to the first space, without the regular expression.
        space = info.find(" ", 4)
        size_text = info[4:space] if space >= 0 else info[4:].rstrip("\r\n")
        if size_text.isdecimal():
            return int(size_text)
    size = _RESULT.match(info)
    return int(size.group(1)) if size is not None else result_of(info) or 0


def _count_calls(piece: Piece) -> None:
    """Fill in `piece.counted`: a call counts once in one operation slot of its process."""
    for minute, (processes, _) in piece.minutes.items():
        piece.counted[minute] = sum(sum(row[:SLOT_BYTES_READ]) for row in processes.values())


def _fd_target(
    enter_info: str, annotations: dict[str, _Target | bool], path_prefixes: tuple[str, ...]
) -> _Target | bool:
    """The `_Target` of `_enter_target` of an enter text starting with ``fd=``.

    False unless the enter text starts with an fd annotation of the common
    shape. `annotations` remembers them by the annotation alone (without
    the fd number and the other arguments): files recur more than texts.
    """
    opening = enter_info.find("(", 3, 16)
    if opening < 0 or enter_info[:3] != "fd=" or enter_info[3] == "-":
        return False
    end = enter_info.find(") ", opening)
    if end < 0:
        end = enter_info.rfind(")")
        if end < opening:
            return False
    annotation = enter_info[opening:end]
    target = annotations.get(annotation)
    if target is None:
        if len(annotations) >= KNOWN_TARGETS:
            annotations.clear()
        close = annotation.find(">")
        target = annotations[annotation] = (
            annotation[1:2] == "<"
            and close > 0
            and _target((annotation[2:close], annotation[close + 1 :]), path_prefixes)
        )
    return target


def _odd_fields(line: str) -> list[str]:
    """The eight fields of a line that `str.split` alone does not give.

    A line without argument text (its type ends it) or whose process name
    has spaces; raises `ValueError` or `IndexError` when it is not an event.
    """
    parts = line.split(" ", 7)
    if len(parts) != 8:
        # No argument text: the type ends the line.
        parts[6] = parts[6].rstrip("\r\n")
        parts.append("")
    tid, direction = parts[4], parts[5]
    if not tid or tid[0] != "(" or (direction != ">" and direction != "<"):
        # A process name with spaces: the regular expression finds the fields.
        parts = split_text_line(line)
        parts[4] = f"({parts[4]})"
    return parts


_MISSING: tuple[str, str] = ("", "")
_HEAD_EXIT_FIELDS = len(HeadExit._fields)
_CONTINUATION_FIELDS = len(Continuation._fields)


def _may_start(
    path: str | None, pattern: re.Pattern[str] | tuple[str, str] | None, prefixes: tuple[str, ...]
) -> bool:
    """Whether a call on `path` passes the machines' prefilter by its path.

    `pattern` is the start pattern of the call's type (`_MISSING`: its type starts nothing).
    """
    if path is not None and path.startswith(prefixes):
        return True
    if pattern is _MISSING:
        return False
    return pattern is None or (path is not None and pattern.search(path) is not None)  # type: ignore[union-attr]


def _enter_target(enter_info: str) -> tuple[str, str] | None:
    """`fd_target` of an enter text starting with ``fd=``, for the common shape only."""
    opening = enter_info.find("(", 3, 16)
    if opening > 0 and enter_info[3] != "-" and enter_info[opening + 1 : opening + 2] == "<":
        end = enter_info.find(") ", opening)
        if end < 0:
            end = enter_info.rfind(")")
        close = enter_info.find(">", opening)
        if opening < close < end:
            return enter_info[opening + 2 : close], enter_info[close + 1 : end]
    return None


def exit_target(enter_info: str | None, info: str) -> tuple[str, str] | None:
    """The target of a call from its enter text (None: not seen) and exit text.

    What `scan_lines` finds, without its memos.
    """
    if enter_info is not None and enter_info[:3] == "fd=" and info[:3] != "fd=":
        found = _enter_target(enter_info)
    elif info[:3] == "fd=":
        found = _annotation(info) if info[3:4] != "-" else None
    else:
        found = None
    if found is None:
        found = target_of(
            enter_info.rstrip("\r\n") if enter_info is not None else None, info.rstrip("\r\n")
        )
    return found


def _annotation(info: str) -> tuple[str, str] | None:
    """(kind, name) of an ``fd=N(<k>name)`` annotation at the start of `info`."""
    opening = info.find("(<", 3, 16)
    if opening < 0:
        return None
    close = info.find(">", opening)
    end = info.find(") ", close)
    if end < 0:
        end = info.rfind(")")
        if end < close:
            return None
    return info[opening + 2 : close], info[close + 1 : end]


def scan_chunk(
    path: str,
    start: int,
    end: int,
    midnight: float,
    prefilter: Prefilter,
    clock: tuple[int, float] | None = None,
    matching: bool = True,
) -> Piece:
    """Scan bytes `start` to `end` of the plain text log at `path` (cut at line ends) as one piece.

    The bytes are decoded as `SysdigLog` decodes the whole file (universal
    newlines), so the lines are the same. They are decoded as the scan goes:
    a chunk decoded and split at once costs three times as much (its million
    strings are made at once and outlive the cache; 0.41 s against 0.13 s
    for the 100 MB of the benchmark's log).
    """
    with open(path, "rb") as log:
        log.seek(start)
        data = log.read(end - start)
    lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    (piece,) = scan_lines(lines, midnight, prefilter, clock, 1 << 62, matching)
    return piece


class CutTooLate(Exception):
    """The day of a chunk's first line depends on the lines before: scan it from their clock."""


class TextMerger:
    """Adds the pieces of one log, chunk after chunk, into `counter` and `recognizer`.

    `on_action` gets each recognised action (already counted); `stats` counts
    the log's lines as `EventReader` does.
    """

    def __init__(
        self,
        date: dt.date,
        counter: FileOpsCounter,
        recognizer: ActionRecognizer,
        stats: ReadStats,
        on_action: Callable[[Action], object],
    ) -> None:
        self.midnight = local_midnight(date)
        self.counter = counter
        self.recognizer = recognizer
        self.prefilter = Prefilter.of(recognizer)
        self.stats = stats
        self.on_action = on_action
        # Open enter events of the chunks merged, numbered in the whole log.
        self._pending: dict[str, tuple[str, str, int, str] | None] = {}
        # The clock after the chunks merged: last time of day, day offset.
        self._last_clock = -1
        self._day_offset = 0.0
        # The chunk being merged: its first line's number - 1, its shift in
        # seconds (whole days), the newest minute before it.
        self._offset = 0
        self._shift = 0
        self._before = NO_MINUTE

    @property
    def clock(self) -> tuple[int, float]:
        """The clock after the chunks merged (for `scan_lines` or `scan_chunk`)."""
        return self._last_clock, self._day_offset

    def begin_chunk(self, first: Piece, last: Piece, rescanned: bool = False) -> None:
        """Start merging a chunk whose first and last pieces are given (the same for one piece).

        Raises `CutTooLate` when the chunk must be scanned again from `clock`;
        `rescanned` says it was.
        """
        shift = self._day_offset
        if not rescanned and first.first_of_day is not None and self._last_clock >= 0:
            if first.first_of_day > self._last_clock + WRAP_THRESHOLD:
                raise CutTooLate
            if first.first_of_day < self._last_clock - WRAP_THRESHOLD:
                shift += _DAY
        if rescanned:
            shift = 0.0
        if shift and not _same_binade(
            self.midnight - _DAY, self.midnight + last.day_offset + shift + 2 * _DAY
        ):
            # Times are moved by whole days exactly only within one power of two.
            raise CutTooLate
        self._shift = int(shift)
        self._offset = self.stats.lines
        self._before = max(self._before, self.counter.newest)

    def add(self, piece: Piece) -> None:
        """Merge one piece of the chunk begun (pieces in order)."""
        stats = self.stats
        offset = self._offset
        shift = self._shift
        counter = self.counter
        floor = self._before - LATE_AFTER
        lines = piece.last_line + offset - stats.lines
        stats.lines = piece.last_line + offset
        stats.events += lines - piece.blank - piece.rejected
        stats.rejected += piece.rejected
        room = MAX_REJECTED_KEPT - len(stats.rejected_lines)
        stats.rejected_lines.extend(n + offset for n in piece.rejected_lines[:room])
        for minute, (processes, files) in piece.minutes.items():
            counted = piece.counted[minute]
            minute += shift
            if minute <= floor:
                counter.late += counted
            else:
                counter.merge(minute, processes, files, counted)
        counter.late += piece.late
        feed = self.recognizer.feed_with_target
        busy = self.recognizer.busy
        for entry in piece.calls:
            if len(entry) == _HEAD_EXIT_FIELDS:
                candidate = self._head_exit(HeadExit(*entry))
                if candidate is None:
                    continue
                call, found, newest = candidate
            elif len(entry) == _CONTINUATION_FIELDS:
                if not busy(int(entry[1][1:-1])):
                    continue
                call, found, newest = self._continuation(Continuation(*entry))
            else:
                found = entry[9]
                newest = entry[10] + shift
                if offset or shift:
                    call = _new_call(
                        Call,
                        (
                            entry[0],
                            entry[1],
                            entry[2],
                            entry[3] + shift,
                            entry[4] + shift,
                            entry[5] + offset,
                            entry[6] + offset,
                            entry[7],
                            entry[8],
                        ),
                    )
                else:
                    call = _new_call(Call, entry[:9])
            actions = feed(call, found)
            if actions:
                newest = max(newest, self._before)
                for action in actions:
                    late = int(action.end) // 60 * 60 <= newest - LATE_AFTER
                    counter.add_action(action.process, action.name, action.end, late)
                    self.on_action(action)
        counter.observe(max(self._before, piece.newest + shift))
        if piece.pending is not None:
            self._end_chunk(piece)

    def _end_chunk(self, last: Piece) -> None:
        offset = self._offset
        for tid, enter in last.pending.items():  # type: ignore[union-attr]
            if enter is not None and offset:
                enter = (enter[0], enter[1], enter[2] + offset, enter[3])
            self._pending[tid] = enter
        if last.last_clock >= 0:
            self._last_clock = last.last_clock
            self._day_offset = last.day_offset + self._shift

    def _continuation(self, later: Continuation) -> tuple[Call, tuple[str, str] | None, int]:
        """The call of a `Continuation`, as `scan_lines` builds a `Candidate`'s, then moved."""
        end = epoch(later.clock, later.day_start, later.last_clock)
        if later.enter_clock is not None:
            start = epoch(later.enter_clock, later.day_start, later.last_clock)
            first_line = later.enter_number + self._offset  # type: ignore[operator]
        else:
            start, first_line = end, later.number + self._offset
        call = _new_call(
            Call,
            (
                int(later.tid[1:-1]),
                later.process,
                later.type,
                start + self._shift,
                end + self._shift,
                first_line,
                later.number + self._offset,
                later.enter_info.rstrip("\r\n") if later.enter_info is not None else None,
                later.info.rstrip("\r\n"),
            ),
        )
        return call, later.found, max(self._before, later.newest + self._shift)

    def _head_exit(self, head: HeadExit) -> tuple[Call, tuple[str, str] | None, int] | None:
        """Pair, count and (for the machines) build the first exit of a thread in a chunk."""
        enter = self._pending.pop(head.tid, None)
        if head.type not in SLOT and head.type not in self.prefilter.vocabulary:
            # An exit of a type nothing uses: it only ends the call left open.
            return None
        if enter is not None and enter[0] != head.type:
            enter = None
        enter_info = enter[1] if enter is not None else None
        info = head.info
        found = exit_target(enter_info, info)
        minute = head.minute + self._shift
        newest = max(self._before, head.newest + self._shift)
        slot = SLOT.get(head.type) if found is not None and found[0] in FILE_KINDS else None
        if slot is not None:
            if minute <= newest - LATE_AFTER:
                self.counter.late += 1
            else:
                counts = [0] * N_SLOTS
                equals = info.find("=")
                if info[equals + 1 : equals + 2] == "-":
                    counts[slot + N_OPERATIONS] = 1
                else:
                    counts[slot] = 1
                    if slot in BYTES_SLOT:
                        counts[BYTES_SLOT[slot]] = _moved(info)
                self.counter.merge(
                    minute,
                    {head.process: counts},
                    {found[1]: list(counts)},  # type: ignore[index]
                    1,
                )
        if head.type not in self.prefilter.vocabulary:
            return None
        day_start = head.day_start + self._shift
        end = epoch(head.clock, day_start, head.last_clock)
        number = head.number + self._offset
        if enter is not None:
            start, first_line = epoch(enter[3], day_start, head.last_clock), enter[2]
        else:
            start, first_line = end, number
        call = _new_call(
            Call,
            (
                int(head.tid[1:-1]),
                head.process,
                head.type,
                start,
                end,
                first_line,
                number,
                enter_info.rstrip("\r\n") if enter_info is not None else None,
                info.rstrip("\r\n"),
            ),
        )
        return call, found, newest


def _same_binade(low: float, high: float) -> bool:
    return math.frexp(low)[1] == math.frexp(high)[1]


def scan_text(
    lines: Iterable[str],
    date: dt.date,
    counter: FileOpsCounter,
    recognizer: ActionRecognizer,
    stats: ReadStats,
    on_action: Callable[[Action], object],
    tick: Callable[[], None],
    piece_lines: int = PIECE_LINES,
) -> None:
    """Count and recognise the events of text-format `lines` in this process, as one chunk.

    Each recognised action is counted in `counter`, then given to
    `on_action`; `tick` is called after every piece of `piece_lines` lines
    (to hand out closed minutes and move a progress bar); `stats` counts
    lines, events and rejected lines as `EventReader` does.
    """
    merger = TextMerger(date, counter, recognizer, stats, on_action)
    first = True
    matching = recognizer.active()
    pieces = scan_lines(lines, merger.midnight, merger.prefilter, None, piece_lines, matching)
    # The scan keeps its tables and memos to the end of a piece or a log:
    # young-generation collections would only walk them, again and again.
    with fewer_collections():
        for piece in pieces:
            if first:
                merger.begin_chunk(piece, piece, rescanned=True)
                first = False
            merger.add(piece)
            tick()
