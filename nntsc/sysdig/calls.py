"""Pair each thread's enter and exit events into calls, and read their arguments.

Sysdig writes a system call as two events of one thread: the enter event
carries the arguments known before the call (``> read fd=3(<f>/etc/passwd)
size=4096``), the exit event the result (``< read res=1024 data=...``). A
`Call` joins them, so that one object knows the file a read was from and
how many bytes it returned. Enter events that have no exit (``switch``) and
exits whose enter was not captured become calls of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from nntsc.sysdig.reader import Event

#: The start of the next ``name=`` argument, which ends the value before it.
_NEXT_ARGUMENT = re.compile(r" [a-z_0-9]+=")
#: Arguments that name a path, in the order they are looked for.
PATH_ARGUMENTS = ("name", "path", "pathname", "filename", "oldpath", "exe")


#: Events sysdig writes without an exit: scheduler, signal and process-exit events.
ENTER_ONLY = frozenset(
    ("switch", "procexit", "signaldeliver", "page_fault", "procinfo", "notification", "drop")
)


class Call(NamedTuple):
    """One system call of one thread: its enter and exit argument text, its span.

    `enter` or `exit` is ``None`` when that event was not in the log; a call
    without its exit has no result and is neither counted nor recognised.
    """

    tid: int
    process: str
    type: str
    start: float
    end: float
    first_line: int
    last_line: int
    enter: str | None
    exit: str | None


_new_call = tuple.__new__


def pair_calls(events: Iterable[Event]) -> Iterator[Call]:
    """The calls of `events`, each yielded when its exit event arrives."""
    pending: dict[int, Event] = {}
    new = _new_call
    for event in events:
        tid = event[5]
        if event[7] in ENTER_ONLY:
            # A context switch inside a blocking call must not end that call.
            yield _lone(event)
            continue
        if event[6] == ">":
            previous = pending.get(tid)
            if previous is not None:
                yield _lone(previous)
            pending[tid] = event
            continue
        enter = pending.pop(tid, None)
        if enter is not None and enter[7] == event[7]:
            yield new(
                Call,
                (
                    tid,
                    event[4],
                    event[7],
                    enter[2],
                    event[2],
                    enter[0],
                    event[0],
                    enter[8],
                    event[8],
                ),
            )
        else:
            if enter is not None:
                yield _lone(enter)
            yield new(
                Call,
                (tid, event[4], event[7], event[2], event[2], event[0], event[0], None, event[8]),
            )
    for enter in pending.values():
        yield _lone(enter)


def _lone(enter: Event) -> Call:
    return _new_call(
        Call, (enter[5], enter[4], enter[7], enter[2], enter[2], enter[0], enter[0], enter[8], None)
    )


def argument(info: str | None, name: str) -> str | None:
    """The raw value of argument `name` in sysdig argument text, or ``None``."""
    if not info:
        return None
    key = name + "="
    if info.startswith(key):
        start = len(key)
    else:
        start = info.find(" " + key)
        if start < 0:
            return None
        start += len(key) + 1
    found = _NEXT_ARGUMENT.search(info, start)
    return info[start : found.start()] if found else info[start:]


def fd_target(info: str | None, name: str = "fd") -> tuple[str, str] | None:
    """The (kind, name) of an fd annotation such as ``fd=3(<f>/etc/passwd)``.

    The kind is sysdig's letter code: ``f`` file, ``d`` directory, ``4t``
    IPv4 TCP socket, ``u`` unix socket, ``p`` pipe, ... Old sysdig versions
    print files without a kind (``fd=3(/etc/passwd)``); those are files.
    ``None`` when there is no annotation or the value is an error
    (``fd=-2(ENOENT)``).
    """
    if not info:
        return None
    key = name + "="
    if info.startswith(key):
        start = len(key)
    else:
        start = info.find(" " + key)
        if start < 0:
            return None
        start += len(key) + 1
    opening = info.find("(", start)
    if opening < 0 or opening - start > 12 or info[start] == "-":
        return None
    end = info.find(") ", opening)
    if end < 0:
        end = info.rfind(")")
        if end < opening:
            return None
    text = info[opening + 1 : end]
    if text.startswith("<"):
        close = text.find(">")
        if close < 0:
            return None
        return text[1:close], text[close + 1 :]
    if text.startswith("/"):
        return "f", text
    return None


def result(call: Call) -> int | None:
    """The numeric result of a call: ``res=`` or the ``fd=`` an open returned."""
    return result_of(call.exit)


def result_of(info: str | None) -> int | None:
    """`result` of an exit event's argument text."""
    if not info:
        return None
    value: str | None
    if info.startswith("res="):
        value = info[4:]
    elif info.startswith("fd="):
        value = info[3:]
    else:
        value = argument(info, "res")
        if value is None:
            return None
    end = 0
    for char in value:
        if char.isdigit() or (end == 0 and char == "-"):
            end += 1
        else:
            break
    try:
        return int(value[:end])
    except ValueError:
        # mmap returns an address in hexadecimal: a success, not a number we use.
        return 0 if value[:1].isalnum() else None


def failed(call: Call) -> bool:
    """Whether the call returned an error (a negative result)."""
    return failed_of(call.exit)


def failed_of(info: str | None) -> bool:
    """`failed` of an exit event's argument text."""
    if not info:
        return False
    equals = info.find("=")
    return equals >= 0 and info[equals + 1 : equals + 2] == "-"


def target(call: Call) -> tuple[str, str] | None:
    """The (kind, name) the call worked on: the fd's file or socket, or the path argument.

    An open's file is read from its returned fd, other calls' from the fd of
    their enter event, then from the path arguments of either event; a
    relative path is joined to the directory of ``dirfd`` when sysdig gave it.
    """
    return target_of(call.enter, call.exit)


def target_of(enter: str | None, exit: str | None) -> tuple[str, str] | None:
    """`target` of a call's enter and exit argument texts."""
    # Only an exit that starts with its fd (open, accept, socket) names one:
    # elsewhere " fd=" may be inside a data buffer.
    found = (fd_target(exit) if exit and exit.startswith("fd=") else None) or fd_target(enter)
    if found is not None:
        return found
    for info in (exit, enter):
        if not info:
            continue
        for name in PATH_ARGUMENTS:
            path = argument(info, name)
            if path:
                if not path.startswith("/"):
                    directory = fd_target(info, "dirfd")
                    if directory is not None and directory[1].startswith("/"):
                        path = directory[1].rstrip("/") + "/" + path
                return "f", path
    # A call on an fd given as dirfd with an empty path (fstatat with AT_EMPTY_PATH).
    return fd_target(exit, "dirfd") or fd_target(enter, "dirfd")


def data(call: Call) -> str | None:
    """The ``data=`` buffer of the call as sysdig printed it (non-printables as dots).

    Always the last argument, so it runs to the end of the line whatever it holds.
    """
    for info in (call.exit, call.enter):
        if not info:
            continue
        if info.startswith("data="):
            return info[5:]
        start = info.find(" data=")
        if start >= 0:
            return info[start + 6 :]
    return None
