"""The import's fast path for sysdig's text formats: parse, pair, count and recognise in one loop.

The general pipeline (`EventReader` -> `pair_calls` -> `FileOpsCounter.add`
and `ActionRecognizer.feed`) builds an `Event` and a `Call` for every line,
which costs several microseconds a line: a busy host's log would import at
a tenth of the speed of merely reading it. This loop keeps each line as the
strings `str.split` gives, skips lines whose type neither the counts nor
any machine uses after one set lookup, converts a time of day only when its
second changes, remembers the file of each argument text it has parsed
(a thread repeats its calls on a file), and builds a `Call` only for the few
calls a machine is interested in. It counts and recognises exactly what the
general pipeline does; the tests compare the two on every fixture log and on
generated busy-host logs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable

from nntsc.sysdig.actions import Action, ActionRecognizer
from nntsc.sysdig.calls import Call, result_of, target_of
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
from nntsc.sysdig.reader import WRAP_THRESHOLD, ReadStats, local_midnight, split_text_line

_new_call = tuple.__new__
#: The result of a read or write exit: ``res=832 data=...``.
_RESULT = re.compile(r"res=(\d+)")
#: Enter texts whose fd target is remembered; past this the memo starts again,
#: so memory stays bounded on a log with ever new files.
KNOWN_TARGETS = 65536


def epoch(clock: str, day_start: float, newest_of_day: int) -> float:
    """Epoch seconds of a timestamp: absolute, or a time of day in the day starting `day_start`.

    `newest_of_day` is the newest time of day seen; a time much later than it
    is from before the last midnight wrap (an enter event just before midnight).
    """
    if clock[2:3] != ":":
        return float(clock)
    of_day = int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
    if of_day > newest_of_day + WRAP_THRESHOLD:
        day_start -= 86400.0
    return day_start + of_day + float(clock[8:])


def scan_text(
    lines: Iterable[str],
    first: int,
    date: dt.date,
    counter: FileOpsCounter,
    recognizer: ActionRecognizer,
    stats: ReadStats,
    on_action: Callable[[Action], None],
    tick: Callable[[], None],
    tick_every: int = 8192,
) -> None:
    """Count and recognise the events of text-format `lines` (numbered from `first`).

    `on_action` gets each recognised action, `tick` is called every
    `tick_every` lines (to hand out closed minutes and move a progress bar);
    `stats` counts lines, events and rejected lines as `EventReader` does.
    """
    slots = SLOT
    vocabulary = recognizer.vocabulary
    relevant = frozenset(slots) | vocabulary
    start_patterns = recognizer.start_patterns
    process_prefixes = recognizer.process_prefixes
    path_prefixes = recognizer.path_prefixes
    interested = recognizer.interested
    feed = recognizer.feed_with_target
    busy = recognizer.busy
    file_kinds = FILE_KINDS
    new_call = _new_call
    reject = stats.reject
    midnight = local_midnight(date)
    # Threads with a match in progress, by their tid as printed: "(1234)".
    engaged: set[str] = set()
    # Whether each process name starts with a machine's process prefix.
    watched: dict[str, bool] = {}
    # The fd target of an enter text (``fd=21(<f>/var/www/a.css) size=32768``):
    # a thread repeats its calls on a file, so most reads, writes and closes
    # find theirs here instead of parsing the annotation again.
    known: dict[str, tuple[str, str]] = {}
    named: dict[tuple[str | None, str], tuple[str, str] | None] = {}
    read_or_write = (SLOT_READ, SLOT_WRITE)

    pending: dict[str, tuple[str, str, int, str]] = {}
    # The counts of the current minute as (process, path, slot) keys, one per
    # call, counted at C speed by `Counter` when the minute changes; bytes
    # read or written are summed per key.
    keys: list[tuple[str, str, int]] = []
    sizes: dict[tuple[str, str, int], int] = {}
    # Per second of the log: its epoch time and minute (most lines share both).
    last_second = ""
    last_clock = -1
    day_offset = 0.0
    minute = -1
    keys_minute = -1
    # Every line is an event, a rejected line or a blank one: events are
    # counted at the end from the other two, not once per line.
    blank = 0
    rejected_before = stats.rejected
    number = first - 1
    next_tick = first + tick_every

    for number, line in enumerate(lines, first):
        if number >= next_tick:
            next_tick = number + tick_every
            _count(counter, keys_minute, keys, sizes)
            keys, sizes = [], {}
            tick()
        parts = line.split(" ", 7)
        try:
            tid = parts[4]
            direction = parts[5]
            if tid[:1] != "(" or (direction != ">" and direction != "<"):
                # A process name with spaces: the regular expression finds the fields.
                parts = split_text_line(line)
                tid = parts[4] = f"({parts[4]})"
                direction = parts[5]
            etype = parts[6] if len(parts) == 8 else parts[6].rstrip("\r\n")
            clock = parts[1]
            second = clock[:8]
            if second != last_second:
                if clock[2:3] == ":":
                    if clock[8:9] != ".":
                        raise ValueError(clock)
                    of_day = int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
                    if of_day < last_clock - WRAP_THRESHOLD:
                        day_offset += 86400.0
                    if of_day > last_clock + WRAP_THRESHOLD and last_clock >= 0:
                        # Just before midnight, written after an event just past it.
                        minute = int(midnight + day_offset - 86400.0 + of_day) // 60 * 60
                        second = ""
                    else:
                        last_clock = of_day
                        minute = int(midnight + day_offset + of_day) // 60 * 60
                else:
                    # Epoch seconds (``-t a``): the first eight characters are
                    # not the second, and the float may round up into the next
                    # minute as the general reader's does, so nothing is cached.
                    minute = int(float(clock)) // 60 * 60
                    second = ""
                last_second = second
            if not parts[0].isdigit():
                raise ValueError(parts[0])
        except (ValueError, IndexError):
            if line.strip():
                reject(number)
            else:
                blank += 1
            continue
        if etype not in relevant:
            continue
        # Argument texts keep their line end until a call is built or a path
        # argument is read: most calls need neither.
        info = parts[7] if len(parts) == 8 else ""
        if direction == ">":
            pending[tid] = (etype, info, number, clock)
            continue
        enter = pending.pop(tid, None)
        if enter is not None and enter[0] != etype:
            enter = None
        enter_info = enter[1] if enter is not None else None
        # The common shapes without the general parser: an fd annotation first
        # in the exit (opens), or in the enter (reads, writes, closes, ...),
        # remembered per enter text since a thread repeats its calls.
        if info[:3] == "fd=":
            found = _annotation(info) if info[3:4] != "-" else None
            if found is None:
                found = target_of(enter_info and enter_info.rstrip("\r\n"), info.rstrip("\r\n"))
        elif enter_info is not None and enter_info[:3] == "fd=":
            found = known.get(enter_info)
            if found is None:
                # `fd_target` of the enter, inline: this is most calls of a log.
                opening = enter_info.find("(", 3, 16)
                if opening > 0 and enter_info[3] != "-" and enter_info[opening + 1] == "<":
                    end = enter_info.find(") ", opening)
                    if end < 0:
                        end = enter_info.rfind(")")
                    close = enter_info.find(">", opening)
                    if opening < close < end:
                        found = (enter_info[opening + 2 : close], enter_info[close + 1 : end])
                        if len(known) >= KNOWN_TARGETS:
                            known.clear()
                        known[enter_info] = found
                if found is None:
                    # The exit may name it instead: not a function of the enter alone.
                    found = target_of(enter_info.rstrip("\r\n"), info.rstrip("\r\n"))
        else:
            # A path argument (stat, unlink, ...): the general parser, once per
            # pair of texts, since a host stats the same files over and over.
            texts = (enter_info, info)
            if texts in named:
                found = named[texts]
            else:
                found = target_of(enter_info and enter_info.rstrip("\r\n"), info.rstrip("\r\n"))
                if len(named) >= KNOWN_TARGETS:
                    named.clear()
                named[texts] = found
        if found is not None:
            path = found[1]
            slot = slots.get(etype) if found[0] in file_kinds else None
        else:
            path = slot = None
        process = parts[3]
        if slot is not None:
            if minute != keys_minute:
                _count(counter, keys_minute, keys, sizes)
                keys, sizes = [], {}
                keys_minute = minute
            equals = info.find("=")
            if info[equals + 1 : equals + 2] == "-":
                keys.append((process, path, slot + N_OPERATIONS))  # type: ignore[arg-type]
            elif slot in read_or_write:
                key = (process, path, slot)
                keys.append(key)  # type: ignore[arg-type]
                size = _RESULT.match(info)
                if size is not None:
                    sizes[key] = sizes.get(key, 0) + int(size.group(1))  # type: ignore[index]
                else:
                    sizes[key] = sizes.get(key, 0) + (result_of(info) or 0)  # type: ignore[index]
            else:
                keys.append((process, path, slot))  # type: ignore[arg-type]
        if etype in vocabulary:
            # The cheap tests first: most calls of a busy host interest no machine.
            if tid not in engaged:
                prefixed = watched.get(process)
                if prefixed is None:
                    prefixed = watched[process] = process.startswith(process_prefixes)
                if not prefixed and (path is None or not path.startswith(path_prefixes)):
                    if etype not in start_patterns:
                        continue
                    pattern = start_patterns[etype]
                    if pattern is not None and (path is None or pattern.search(path) is None):
                        continue
            thread = int(tid[1:-1])
            if interested(etype, thread, process, path):
                day_start = midnight + day_offset
                end = epoch(clock, day_start, last_clock)
                if enter is not None:
                    start, first_line = epoch(enter[3], day_start, last_clock), enter[2]
                else:
                    start, first_line = end, number
                call = new_call(
                    Call,
                    (
                        thread,
                        process,
                        etype,
                        start,
                        end,
                        first_line,
                        number,
                        enter_info.rstrip("\r\n") if enter_info is not None else None,
                        info.rstrip("\r\n"),
                    ),
                )
                for action in feed(call, found):
                    on_action(action)
                if busy(thread):
                    engaged.add(tid)
                else:
                    engaged.discard(tid)
    _count(counter, keys_minute, keys, sizes)
    stats.lines = number
    stats.events += number - first + 1 - blank - (stats.rejected - rejected_before)


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


def _count(
    counter: FileOpsCounter,
    minute: int,
    keys: list[tuple[str, str, int]],
    sizes: dict[tuple[str, str, int], int],
) -> None:
    """Add one minute's keys and byte sums to the counter's tables."""
    if not keys:
        return
    tables = counter.tables(minute)
    if tables is None:
        return
    processes, files = tables
    for (process, path, slot), count in Counter(keys).items():
        by_process = processes.get(process)
        if by_process is None:
            by_process = processes[process] = [0] * N_SLOTS
        by_file = files.get(path)
        if by_file is None:
            by_file = files[path] = [0] * N_SLOTS
        by_process[slot] += count
        by_file[slot] += count
    for (process, path, slot), size in sizes.items():
        bytes_slot = SLOT_BYTES_READ if slot == SLOT_READ else SLOT_BYTES_WRITTEN
        processes[process][bytes_slot] += size
        files[path][bytes_slot] += size
    counter.counted += len(keys)
