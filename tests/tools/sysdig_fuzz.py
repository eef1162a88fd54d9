"""Random sysdig text logs in every shape the scan has a path for, for equivalence tests.

A busy host's log (its planted actions included) interleaved with random
calls of a few threads: enter and exit next to each other or apart, exits
without their enter and enters without their exit, an exit of another type
than its enter, failures, fd annotations of the common shape and odd ones
(no kind, an error, no closing parenthesis, spaces in the path, a socket),
path arguments (absolute, or relative to a ``dirfd``), lines without
argument text, process names with spaces, context switches, malformed and
blank lines. Times only go forward (a second at most between two lines),
so no call is late; `start` may be just before midnight to cross it.

Calls of types neither counted nor used by a machine (futex, recvfrom),
which the import's fast path does not parse further, are made by threads
of their own and by the others, also between a call's enter and exit (a
log that lost events), where they end the call as `pair_calls` does.
"""

# The /tmp path below is contents of a log, never a file made on this machine.
# ruff: noqa: S108

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from nntsc.demo.busy_host import BusyHost

PROCESSES = ("nginx", "php-fpm8.2", "Web Content", "sshd", "python3", "ld.so")
FILES = (
    "/etc/passwd",
    "/var/www/a.css",
    "/var/www/b c.css",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/python3.11/json/__init__.pyc",
    "/usr/lib/python3.11/json/__init__.py",
    "/etc/modprobe.d/blacklist.conf",
    "/dev/pts/0",
    "/dev/ptmx",
    "/tmp/x",
)
#: Lines that are not events ({} is the time of day, so that none makes a call late).
NOT_EVENTS = ("not an event", "", "12 {} x", "x {} 1 p (1) > read", "7 {} 1 p (1) ? read")
TYPES = (
    "openat",
    "read",
    "write",
    "close",
    "fstat",
    "stat",
    "newfstatat",
    "unlink",
    "mmap",
    "mprotect",
    "ioctl",
    "lseek",
    "fcntl",
    "pread64",
    "flock",
)
#: Types that neither the counts nor the machines look at.
SKIPPED_TYPES = ("futex", "recvfrom")


class FuzzLog:
    """Writes the random lines; one instance per log."""

    def __init__(self, seed: int, start: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.number = 0
        self.time = start.hour * 3600 + start.minute * 60 + start.second + 0.0

    def _clock(self) -> str:
        self.time += self.rng.choice((0.0, 0.0, 0.0001, 0.003, 0.4, 1.0))
        whole = int(self.time) % 86400
        nanos = int((self.time - int(self.time)) * 1e9)
        return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{nanos:09d}"

    def _line(self, tid: int, process: str, direction: str, kind: str, info: str) -> str:
        self.number += 1
        line = f"{self.number} {self._clock()} {tid % 4} {process} ({tid}) {direction} {kind}"
        return f"{line} {info}" if info else line

    def _enter_text(self, kind: str, path: str, fd: int) -> str:
        rng = self.rng
        shape = rng.randrange(12)
        if kind in ("openat", "stat", "newfstatat", "unlink"):
            name = path if shape else path.rsplit("/", 1)[-1]
            return f"dirfd={fd}(<d>{path.rsplit('/', 1)[0]}) name={name} flags=1(O_RDONLY)"
        if shape == 0:
            return f"fd={fd}({path}) size=4"  # an old sysdig: no kind
        if shape == 1:
            return "fd=-9(EBADF) size=4"
        if shape == 2:
            return f"fd={fd}(<4t>10.0.0.1:22->10.0.0.2:5000) size=16"
        if shape == 3:
            return f"fd={fd}(<f>{path}"  # cut short
        if shape == 4:
            return ""
        return f"fd={fd}(<f>{path}) size={rng.choice((4, 832, 32768))}"

    def _exit_text(self, kind: str, path: str, fd: int) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            return rng.choice(
                ("res=-2(ENOENT)", "res=-11(EAGAIN) data=", f"fd=-2(ENOENT) name={path}")
            )
        if kind == "openat":
            return f"fd={fd}(<f>{path}) dirfd=-100(AT_FDCWD) name={path} flags=1(O_RDONLY)"
        if kind in ("stat", "newfstatat") and rng.random() < 0.5:
            return f"res=0 path={path}"
        if kind == "mmap":
            return "res=7F0A1B2C3000 vm_size=1024"
        if kind in ("read", "write", "pread64"):
            size = rng.choice((0, 1, 832, 4096))
            return rng.choice((f"res={size} data=......", f"res={size}", f"size={size} res={size}"))
        return rng.choice(("res=0", "res=0 extra=1", ""))

    def _random_calls(self, count: int) -> Iterator[str]:
        rng = self.rng
        waiting: list[str] = []
        for _ in range(count):
            tid = 500 + rng.randrange(6)
            process = PROCESSES[tid % len(PROCESSES)]
            kind = rng.choice(TYPES)
            path = rng.choice(FILES)
            fd = rng.randrange(3, 12)
            roll = rng.random()
            if roll < 0.02:
                yield rng.choice(NOT_EVENTS).format(self._clock())
                continue
            if roll < 0.05:
                yield self._line(tid, process, ">", "switch", "next=0 pgft_maj=0")
                continue
            if roll < 0.1:
                other = 600 + rng.randrange(3) if rng.random() < 0.5 else tid
                kind = rng.choice(SKIPPED_TYPES)
                yield self._line(other, process, ">", kind, f"fd={fd}(<f>{path}) size=4")
                yield self._line(other, process, "<", kind, "res=0")
                continue
            enter = self._line(tid, process, ">", kind, self._enter_text(kind, path, fd))
            exit_kind = kind if rng.random() > 0.03 else rng.choice(TYPES)
            exit_ = self._line(tid, process, "<", exit_kind, self._exit_text(kind, path, fd))
            if roll < 0.08:
                yield exit_  # its enter never captured
            elif roll < 0.11:
                yield enter  # its exit never captured
            elif roll < 0.4:
                # Another thread's call in between.
                yield enter
                waiting.append(exit_)
                if len(waiting) > 2 or rng.random() < 0.5:
                    yield waiting.pop(0)
            else:
                yield enter
                yield exit_
        yield from waiting

    def lines(self, count: int) -> list[str]:
        """About `count` lines, each ending with a newline."""
        rng = self.rng
        host = BusyHost(seed=rng.randrange(1000), events_per_second=100)
        planted = host.lines(count)
        log: list[str] = []
        while len(log) < count:
            if rng.random() < 0.5:
                for line in _take(planted, rng.randrange(1, 60)):
                    # The busy host keeps its own clock: give it ours, going forward.
                    fields = line.split(" ", 2)
                    self.number += 1
                    log.append(f"{self.number} {self._clock()} {fields[2]}")
            else:
                log.extend(self._random_calls(rng.randrange(1, 30)))
        return [line + "\n" for line in log]


def _take(lines: Iterator[str], count: int) -> list[str]:
    taken = []
    for line in lines:
        taken.append(line)
        if len(taken) >= count:
            break
    return taken


def fuzz_log(seed: int, count: int, start: dt.datetime | None = None) -> list[str]:
    """A random log of about `count` lines (see the module docstring)."""
    return FuzzLog(seed, start or dt.datetime(2026, 11, 2, 9, 0, 0)).lines(count)
