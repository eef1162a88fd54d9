"""Read sysdig output: the default text format, absolute timestamps and JSON.

The default format is ``%evt.num %evt.time %evt.cpu %proc.name (%thread.tid)
%evt.dir %evt.type %evt.info``, one event per line. ``%evt.time`` is the time
of day (``17:41:13.628568857``) unless sysdig ran with ``-t a``, which prints
seconds since the epoch (``1454006412.567364637``). ``sysdig -j`` prints one
JSON object per event, either newline-delimited or as one array written a
line per event; both are read.

The time of day carries no date: the caller gives the date of the first
event, and a jump back of more than half a day is taken as midnight passing.
Times of day are local time of the capturing host, converted with this
machine's time zone.

A line that is not an event is counted and its number kept, never fatal.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, NamedTuple

from nntsc.sysdig import BadSysdigLog
from nntsc.text import decimal_int

#: Line numbers of rejected lines kept for the report (the count is always exact).
MAX_REJECTED_KEPT = 20
#: A time of day earlier than the previous one by more than this is the next day.
WRAP_THRESHOLD = 43200

# Process names may contain spaces ("Web Content"); the fast path splits on
# spaces and falls back to this pattern when the thread id is not where expected.
_TEXT_LINE = re.compile(r"^(\d+) (\S+) (\d+) (.*?) \((-?\d+)\) ([<>]) (\S+) ?(.*)$")


class Event(NamedTuple):
    """One sysdig event.

    `time` is seconds since the epoch; `info` is the argument text exactly as
    sysdig printed it (``fd=3(<f>/etc/passwd) size=832``).
    """

    line: int
    number: int
    time: float
    cpu: int
    process: str
    tid: int
    direction: str
    type: str
    info: str


_new_event = tuple.__new__


@dataclass
class ReadStats:
    """What a reader saw: lines, events, and the lines it rejected."""

    lines: int = 0
    events: int = 0
    rejected: int = 0
    rejected_lines: list[int] = field(default_factory=list)
    first_time: float | None = None
    last_time: float | None = None

    def reject(self, line: int) -> None:
        self.rejected += 1
        if len(self.rejected_lines) < MAX_REJECTED_KEPT:
            self.rejected_lines.append(line)

    def rejected_text(self) -> str:
        """The rejected line numbers as text, with an ellipsis when not all were kept."""
        shown = ", ".join(str(n) for n in self.rejected_lines)
        return shown + (", ..." if self.rejected > len(self.rejected_lines) else "")


def local_midnight(date: dt.date) -> float:
    """The epoch seconds of local midnight starting `date` (this machine's time zone)."""
    return dt.datetime.combine(date, dt.time()).astimezone().timestamp()


class EventReader:
    """Iterate the events of sysdig output lines; `stats` counts as it goes.

    `date` is the local date of the first event, used only by the default
    time-of-day format (default: today); `first` is the number of the first line.
    """

    def __init__(self, lines: Iterable[str], date: dt.date | None = None, first: int = 1) -> None:
        self.lines = lines
        self.date = date or dt.date.today()
        self.first = first
        self.stats = ReadStats()

    def __iter__(self) -> Iterator[Event]:
        lines = iter(self.lines)
        stats = self.stats
        for number, line in enumerate(lines, self.first):
            stripped = line.strip()
            if not stripped:
                stats.lines = number
                continue
            if stripped[0] in "[{,":
                stats.lines = number - 1
                yield from self._json(_chain_first(line, lines), number)
            else:
                stats.lines = number - 1
                yield from self._text(_chain_first(line, lines), number)
            return

    def _text(self, lines: Iterable[str], first: int) -> Iterator[Event]:
        """Events of the default text format, with either kind of timestamp."""
        stats = self.stats
        reject = stats.reject
        midnight = local_midnight(self.date)
        day_offset = 0.0
        # The second string of the previous event and its epoch seconds: most
        # events share their second with the one before, so this is a cache.
        last_second = ""
        last_base = 0.0
        last_clock = -1.0
        number = first - 1
        events = 0
        new = _new_event
        time = None
        for number, line in enumerate(lines, first):
            parts = line.rstrip("\r\n").split(" ", 7)
            try:
                num, clock, cpu, process, tid, direction, etype = parts[:7]
                if tid[0] != "(" or (direction != ">" and direction != "<"):
                    num, clock, cpu, process, tid, direction, etype, info = split_text_line(line)
                else:
                    tid = tid[1:-1]
                    info = parts[7] if len(parts) == 8 else ""
                second = clock[:8]
                if second != last_second:
                    if clock[2] == ":":
                        seconds_of_day = (
                            int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
                        )
                        if clock[8] != ".":
                            raise ValueError(clock)
                        if seconds_of_day < last_clock - WRAP_THRESHOLD:
                            day_offset += 86400.0
                        elif seconds_of_day > last_clock + WRAP_THRESHOLD and last_clock >= 0:
                            # Just before midnight, written after an event just past it.
                            time = midnight + day_offset - 86400.0 + seconds_of_day
                            time += float(clock[8:])
                            last_second = ""
                            event = new(
                                Event,
                                (
                                    number,
                                    int(num),
                                    time,
                                    int(cpu),
                                    process,
                                    int(tid),
                                    direction,
                                    etype,
                                    info,
                                ),
                            )
                            events += 1
                            yield event
                            continue
                        last_clock = seconds_of_day
                        last_base = midnight + day_offset + seconds_of_day
                        last_second = second
                        time = last_base + float(clock[8:])
                    else:
                        time = float(clock)
                        last_second = ""
                else:
                    time = last_base + float(clock[8:])
                event = new(
                    Event,
                    (number, int(num), time, int(cpu), process, int(tid), direction, etype, info),
                )
            except (ValueError, IndexError):
                if line.strip():
                    reject(number)
                continue
            events += 1
            yield event
        stats.lines = number
        stats.events += events
        if events:
            stats.last_time = time

    def _json(self, lines: Iterable[str], first: int) -> Iterator[Event]:
        """Events of ``sysdig -j``: one object per line, inside an array or not."""
        stats = self.stats
        loads = json.loads
        number = first - 1
        time = None
        for number, line in enumerate(lines, first):
            text = line.strip().lstrip("[,").rstrip(",]").strip()
            if not text:
                continue
            try:
                record = loads(text)
                raw_time = record.get("evt.outputtime", record.get("evt.rawtime"))
                time = int(raw_time) / 1e9 if raw_time is not None else float(record["evt.time"])
                # Sysdig ends evt.info with one space; a data buffer may end with more.
                info = record.get("evt.info") or ""
                event = _new_event(
                    Event,
                    (
                        number,
                        int(record["evt.num"]),
                        time,
                        int(record.get("evt.cpu", 0)),
                        str(record["proc.name"]),
                        int(record["thread.tid"]),
                        _direction(record["evt.dir"]),
                        str(record["evt.type"]),
                        info[:-1] if info.endswith(" ") else info,
                    ),
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                stats.reject(number)
                continue
            stats.events += 1
            yield event
        stats.lines = number
        stats.last_time = time


def _direction(value: object) -> str:
    if value not in (">", "<"):
        raise ValueError(f"event direction {value!r}")
    return value


def split_text_line(line: str) -> list[str]:
    """The eight fields of a text event line whose process name has spaces (tid without parens).

    Raises `ValueError` when the line is not an event.
    """
    match = _TEXT_LINE.match(line.rstrip("\r\n"))
    if match is None:
        raise ValueError("not a sysdig event line")
    return list(match.groups())


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


class SysdigLog:
    """A sysdig log file (plain or gzip) or ``-`` for standard input.

    Use as a context manager; `events()` iterates once. `position()` is how
    many bytes of the file (compressed bytes for gzip) have been read, for a
    progress bar; `size` is the file size (``None`` for a pipe).
    """

    def __init__(self, path: str, date: dt.date | None = None) -> None:
        self.path = path
        self._raw: IO[bytes] | None = None
        self._text: IO[str] | None = None
        self.reader: EventReader | None = None
        #: Whether the file is gzip-compressed (known once open).
        self.compressed = False
        if path == "-":
            self.size = None
            self.date = date or dt.date.today()
            return
        try:
            stat = os.stat(path)
        except OSError as error:
            raise BadSysdigLog(f"cannot read {path}: {error.strerror}") from None
        self.size = stat.st_size
        self.date = date or dt.date.fromtimestamp(stat.st_mtime)

    def __enter__(self) -> SysdigLog:
        if self.path == "-":
            self._text = sys.stdin
            return self
        self._raw = open(self.path, "rb")
        magic = self._raw.peek(2)[:2] if hasattr(self._raw, "peek") else b""
        binary: IO[bytes] | gzip.GzipFile = self._raw
        if magic == b"\x1f\x8b":
            self.compressed = True
            binary = gzip.GzipFile(fileobj=self._raw)
        # Sysdig escapes non-printable bytes, but a truncated capture may
        # still end in garbage: such a line is rejected, not fatal.
        self._text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace")
        return self

    def __exit__(self, *_: object) -> None:
        if self._text is not None and self._text is not sys.stdin:
            self._text.close()
        if self._raw is not None:
            self._raw.close()

    def events(self) -> EventReader:
        """The reader of this log's events (its `stats` fill as it is iterated)."""
        if self._text is None:
            raise BadSysdigLog(f"{self.path} is not open")
        self.reader = EventReader(self._text, self.date)
        return self.reader

    def lines(self) -> Iterable[str]:
        """The raw text lines of the log (for a second pass that copies them)."""
        if self._text is None:
            raise BadSysdigLog(f"{self.path} is not open")
        return self._text

    def position(self) -> int:
        """Bytes read so far from the file (0 for a pipe)."""
        if self._raw is None or self._raw.closed:
            return 0
        return self._raw.tell()


def read_events(path: str, date: dt.date | None = None) -> Iterator[Event]:
    """Every event of the log at `path` (``-`` for standard input)."""
    with SysdigLog(path, date) as log:
        yield from log.events()


#: Longest part of a rejected line quoted in its reason.
QUOTE_LENGTH = 80
_CLOCK = re.compile(r"^\d\d:\d\d:\d\d\.\d+$")
# The shape of an event line with any field values, to say which field is wrong.
_LOOSE_LINE = re.compile(r"^(\S+) (\S+) (\S+) (.*?) \((\S*)\) ([<>]) (\S+) ?(.*)$")
_JSON_FIELDS = ("evt.num", "proc.name", "thread.tid", "evt.dir", "evt.type")


def _quote(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= QUOTE_LENGTH else text[:QUOTE_LENGTH] + "...")


def rejection_reason(line: str) -> str:
    """Why the reader rejects `line`, in words (for the report of an import that failed)."""
    if line.strip()[:1] in ("[", "{", ","):
        return _json_rejection(line.strip().lstrip("[,").rstrip(",]").strip())
    match = _LOOSE_LINE.match(line.rstrip("\r\n"))
    if match is None:
        return (
            f"not a sysdig event: {_quote(line)} (expected: number time cpu process (tid) "
            "> or < type arguments, or sysdig -j JSON)"
        )
    number, clock, cpu, tid = match.group(1, 2, 3, 5)
    if not _CLOCK.match(clock):
        try:
            float(clock)
        except ValueError:
            return (
                f"time {_quote(clock)} is neither a time of day (HH:MM:SS.nnnnnnnnn) "
                "nor seconds since the epoch"
            )
    for name, value in (("event number", number), ("cpu", cpu), ("thread id", tid)):
        if decimal_int(value, signed=True) is None:
            return f"{name} {_quote(value)} is not a number"
    return f"not a sysdig event: {_quote(line)}"


def _json_rejection(text: str) -> str:
    try:
        record = json.loads(text)
    except ValueError as error:
        return f"not JSON ({error.args[0].split(':')[0]}): {_quote(text)}"
    if not isinstance(record, dict):
        return f"not a JSON object: {_quote(text)}"
    for name in _JSON_FIELDS:
        if name not in record:
            return f"JSON event without {name!r}: {_quote(text)}"
    if not {"evt.outputtime", "evt.rawtime", "evt.time"} & record.keys():
        return f"JSON event without evt.outputtime, evt.rawtime or evt.time: {_quote(text)}"
    if record["evt.dir"] not in (">", "<"):
        return f"evt.dir {record['evt.dir']!r} is neither > nor <"
    return f"a JSON event with a malformed field: {_quote(text)}"


def explain_rejections(path: str, numbers: Iterable[int], count: int = 5) -> list[tuple[int, str]]:
    """(line number, reason) for the first `count` of the rejected line `numbers` of log `path`.

    Reads the log again up to the last of them; standard input (``-``) cannot
    be read again, so it gets none.
    """
    wanted = sorted(numbers)[:count]
    if path == "-" or not wanted:
        return []
    reasons: list[tuple[int, str]] = []
    with SysdigLog(path) as log:
        for number, line in enumerate(log.lines(), 1):
            if number == wanted[len(reasons)]:
                reasons.append((number, rejection_reason(line)))
                if len(reasons) == len(wanted):
                    break
    return reasons
