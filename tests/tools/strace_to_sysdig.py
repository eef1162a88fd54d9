"""Convert ``strace -f -tt [-yy] [-s N]`` output into sysdig's text or JSON output.

Sysdig cannot capture on our machines, so the test logs are real syscall
traces taken with strace and rewritten in the shape sysdig prints: each call
becomes an enter event (``>``, the arguments known before the call) and an
exit event (``<``, the result), file descriptors carry sysdig's annotation
(``fd=3(<f>/etc/ld.so.cache)``, ``fd=4(<4t>127.0.0.1:22->127.0.0.1:5555)``),
errors read ``res=-2(ENOENT)`` and buffers ``data=`` with non-printable bytes
as dots. A call strace shows as ``<unfinished ...>`` and ``<... resumed>``
keeps its two times, so threads interleave as in a sysdig capture.

File names come, as in sysdig, from the path a process opened (made absolute
with the working directory ``-yy`` prints for ``AT_FDCWD``); descriptors
opened before the trace began use strace's ``-yy`` annotation. Process names
follow ``execve`` and are inherited across ``clone``/``fork``.

    python tests/tools/strace_to_sysdig.py TRACE [--format text|absolute|json]
        [--date YYYY-MM-DD] [--since HH:MM:SS] [--until HH:MM:SS] [--pids 1,2]
        [--comm NAME] [--names TID=NAME,...] > LOG
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_LINE = re.compile(
    r"^(?:\[pid\s+(?P<bpid>\d+)\]\s+|(?P<pid>\d+)\s+)?(?P<time>\d\d:\d\d:\d\d\.\d+)\s+(?P<rest>.*)$"
)
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>\s?(?P<rest>.*)$")
_RESULT = re.compile(r"^\s*=\s*(?P<value>0x[0-9a-f]+|-?\d+|\?)(?P<annotation><.*?>)?(?P<extra>.*)$")
_FD = re.compile(r"^(?P<fd>-?\d+|AT_FDCWD)(?:<(?P<annotation>.*)>)?$")
_DEVICE = re.compile(r"<(?:char|block) \d+:\d+>$")
_SOCKET_KINDS = {
    "TCP": "4t",
    "TCPv6": "6t",
    "UDP": "4u",
    "UDPv6": "6u",
    "UNIX": "u",
    "UNIX-STREAM": "u",
    "UNIX-DGRAM": "u",
    "NETLINK": "n",
}
_ANON_KINDS = {"eventfd": "e", "eventpoll": "l", "signalfd": "s", "inotify": "i", "timerfd": "t"}
#: Calls whose first argument is a descriptor that sysdig annotates in the enter event.
_FD_FIRST = {
    "read": "size",
    "pread64": "size",
    "readv": None,
    "write": "size",
    "pwrite64": "size",
    "writev": None,
    "close": None,
    "fstat": None,
    "getdents64": None,
    "getdents": None,
    "lseek": None,
    "fcntl": None,
    "ioctl": None,
    "fsync": None,
    "fdatasync": None,
    "ftruncate": None,
    "dup": None,
    "sendto": "size",
    "recvfrom": "size",
    "sendmsg": None,
    "recvmsg": None,
}
_DATA_CALLS = {"read", "pread64", "write", "pwrite64", "recvfrom", "sendto"}
_OPEN_FLAGS = {name: getattr(os, name) for name in dir(os) if name.startswith("O_")}
DATA_LENGTH = 80


@dataclass
class Process:
    """What the converter tracks per thread: its name and its descriptor table."""

    name: str
    fds: dict[int, tuple[str, str]] = field(default_factory=dict)


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a strace call, honouring quotes and brackets."""
    arguments: list[str] = []
    depth = 0
    annotation = 0
    quoted = False
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            if char == '"':
                quoted = False
        elif annotation:
            if char == "<":
                annotation += 1
            elif char == ">" and text[index - 1] != "-":
                annotation -= 1
        elif char == '"':
            quoted = True
        elif char == "<" and index and (text[index - 1].isdigit() or text[index - 1] == "D"):
            annotation = 1
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            arguments.append(text[start:index].strip())
            start = index + 1
        index += 1
    tail = text[start:].strip()
    if tail:
        arguments.append(tail)
    return arguments


def split_call(text: str) -> tuple[str, str] | None:
    """(arguments, after) of ``args) = result``: the text before and after the closing paren."""
    depth = 0
    annotation = 0
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            if char == '"':
                quoted = False
        elif annotation:
            if char == "<":
                annotation += 1
            elif char == ">" and text[index - 1] != "-":
                annotation -= 1
        elif char == '"':
            quoted = True
        elif char == "<" and index and (text[index - 1].isdigit() or text[index - 1] == "D"):
            annotation = 1
        elif char in "([{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == ")":
            if depth == 0:
                return text[:index], text[index + 1 :]
            depth -= 1
        index += 1
    return None


def decode_string(text: str) -> bytes | None:
    """The bytes of a strace string literal (``"\\177ELF\\2"...``), or None if not a string."""
    if not text.startswith('"'):
        return None
    body = text[1:]
    end = body.rfind('"')
    body = body[:end] if end >= 0 else body
    out = bytearray()
    index = 0
    simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92, '"': 34, "a": 7, "b": 8}
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.extend(char.encode())
            index += 1
            continue
        following = body[index + 1 : index + 2]
        if following == "x":
            out.append(int(body[index + 2 : index + 4], 16))
            index += 4
        elif following.isdigit():
            match = re.match(r"[0-7]{1,3}", body[index + 1 :])
            digits = match.group(0) if match else "0"
            out.append(int(digits, 8) & 0xFF)
            index += 1 + len(digits)
        else:
            out.append(simple.get(following, ord(following or "\\")))
            index += 2
    return bytes(out)


def sysdig_data(raw: bytes) -> str:
    """A buffer as sysdig prints it by default: printable ASCII kept, other bytes as dots."""
    return "".join(chr(b) if 32 <= b < 127 else "." for b in raw[:DATA_LENGTH])


def annotation_target(annotation: str) -> tuple[str, str]:
    """(sysdig kind, name) of a ``-yy`` annotation."""
    if annotation.startswith("/"):
        return "f", _DEVICE.sub("", annotation)
    prefix, _, rest = annotation.partition(":")
    if prefix in _SOCKET_KINDS:
        return _SOCKET_KINDS[prefix], rest.strip("[]")
    if prefix == "pipe":
        return "p", ""
    if prefix == "anon_inode":
        return _ANON_KINDS.get(rest.strip("[]"), "o"), ""
    return "o", annotation


def errno_text(value: int, extra: str) -> str:
    """Sysdig's ``-2(ENOENT)`` for strace's ``-1 ENOENT (...)``."""
    name = extra.split()[0] if extra.split() else ""
    number = getattr(errno, name, None)
    if value == -1 and number is not None:
        return f"-{number}({name})"
    return str(value)


class Converter:
    """Turns strace lines into sysdig event lines; see the module docstring."""

    def __init__(
        self,
        date: dt.date,
        output: str = "text",
        since: str | None = None,
        until: str | None = None,
        pids: set[int] | None = None,
        comm: str | None = None,
        names: dict[int, str] | None = None,
    ) -> None:
        self.date = date
        self.output = output
        self.since = since
        self.until = until
        self.pids = pids
        self.comm = comm
        # Threads whose execve is before the part of the trace kept (a cropped trace).
        self.processes: dict[int, Process] = {
            tid: Process(name) for tid, name in (names or {}).items()
        }
        self.unfinished: dict[int, tuple[str, str, str]] = {}
        self.number = 0
        self.midnight = dt.datetime.combine(date, dt.time()).astimezone().timestamp()
        self.skipped = 0

    def process(self, tid: int) -> Process:
        found = self.processes.get(tid)
        if found is None:
            found = self.processes[tid] = Process(self.comm or "?")
        return found

    def convert(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            match = _LINE.match(line.rstrip("\n"))
            if match is None:
                self.skipped += 1
                continue
            tid = int(match.group("pid") or match.group("bpid") or 0)
            clock = match.group("time")
            rest = match.group("rest")
            if rest.startswith("+++ exited with"):
                status = rest.split()[3]
                yield from self._emit(tid, clock, ">", "procexit", f"status={status}")
                continue
            if rest.startswith(("+++", "---")):
                if rest.startswith("--- SIG"):
                    signal = rest.split()[1]
                    yield from self._emit(tid, clock, ">", "signaldeliver", f"sig={signal}")
                continue
            resumed = _RESUMED.match(rest)
            if resumed is not None:
                stashed = self.unfinished.pop(tid, None)
                if stashed is None:
                    self.skipped += 1
                    continue
                name, start, partial = stashed
                yield from self._call(tid, name, start, clock, partial + resumed.group("rest"))
                continue
            name, paren, text = rest.partition("(")
            if not paren or not re.fullmatch(r"\w+", name):
                self.skipped += 1
                continue
            if text.endswith("<unfinished ...>"):
                partial = text[: -len("<unfinished ...>")].rstrip()
                self.unfinished[tid] = (name, clock, partial)
                yield from self._enter(tid, name, clock, split_arguments(partial))
                continue
            yield from self._call(tid, name, clock, None, text)

    def _call(self, tid: int, name: str, start: str, end: str | None, text: str) -> Iterator[str]:
        parts = split_call(text)
        if parts is None:
            self.skipped += 1
            return
        arguments = split_arguments(parts[0])
        outcome = _RESULT.match(parts[1])
        if end is None:
            yield from self._enter(tid, name, start, arguments)
            end = start
        if outcome is None:
            return
        yield from self._exit(tid, name, end, arguments, outcome)

    def _fd(self, tid: int, text: str, directory: bool = False) -> str:
        """Sysdig's rendering of a descriptor argument: ``3(<f>/etc/passwd)``."""
        match = _FD.match(text)
        if match is None:
            return text
        if match.group("fd") == "AT_FDCWD":
            return "-100(AT_FDCWD)"
        fd = int(match.group("fd"))
        known = self.process(tid).fds.get(fd)
        if known is None and match.group("annotation"):
            known = annotation_target(match.group("annotation"))
        if known is None:
            return str(fd) if fd >= 0 else str(fd & 0xFFFFFFFF)
        kind, target = known
        return f"{fd}(<{kind}>{target})"

    def _path(self, tid: int, dirfd: str | None, path_text: str) -> str:
        raw = decode_string(path_text)
        path = raw.decode(errors="replace") if raw is not None else path_text
        if path.startswith("/") or not path or dirfd is None:
            return path
        match = _FD.match(dirfd)
        if match and match.group("annotation"):
            base = _DEVICE.sub("", match.group("annotation"))
            if match.group("fd") != "AT_FDCWD":
                known = self.process(tid).fds.get(int(match.group("fd")))
                base = known[1] if known else base
            return os.path.normpath(os.path.join(base, path))
        return path

    def _enter(self, tid: int, name: str, clock: str, arguments: list[str]) -> Iterator[str]:
        info = ""
        if name in _FD_FIRST and arguments:
            info = f"fd={self._fd(tid, arguments[0])}"
            size_name = _FD_FIRST[name]
            if size_name and len(arguments) >= 3:
                info += f" {size_name}={arguments[2]}"
        elif name in ("mmap", "mmap2") and len(arguments) >= 6:
            info = (
                f"addr={arguments[0]} length={arguments[1]} prot={arguments[2]} "
                f"flags={arguments[3]} fd={self._fd(tid, arguments[4])} offset={arguments[5]}"
            )
        elif name == "mprotect" and len(arguments) >= 3:
            info = f"addr={arguments[0]} length={arguments[1]} prot={arguments[2]}"
        elif name == "execve" and arguments:
            path = self._path(tid, None, arguments[0])
            info = f"filename={path}"
            if self.process(tid).name == "?":
                # The trace began with this execve: its caller's name is unknown.
                self.process(tid).name = os.path.basename(path)[:15]
        elif name == "openat" and len(arguments) >= 3:
            dirfd = self._fd(tid, arguments[0])
            path = self._path(tid, arguments[0], arguments[1])
            info = f"dirfd={dirfd} name={path} flags={self._flags(arguments[2])}"
        yield from self._emit(tid, clock, ">", name, info)

    @staticmethod
    def _flags(text: str) -> str:
        value = 0
        for flag in text.split("|"):
            value |= _OPEN_FLAGS.get(flag, 0)
        return f"{value}({text})"

    def _exit(
        self, tid: int, name: str, clock: str, arguments: list[str], outcome: re.Match[str]
    ) -> Iterator[str]:
        process = self.process(tid)
        value_text = outcome.group("value")
        extra = outcome.group("extra").strip()
        if value_text == "?":
            return
        value = int(value_text, 16) if value_text.startswith("0x") else int(value_text)
        res = errno_text(value, extra) if value < 0 else str(value)
        info = f"res={res}"
        if name in ("open", "openat", "creat"):
            dirfd = arguments[0] if name == "openat" else None
            path_argument = arguments[1] if name == "openat" else arguments[0]
            path = self._path(tid, dirfd or "AT_FDCWD", path_argument)
            flags = arguments[2] if name == "openat" and len(arguments) > 2 else "O_RDONLY"
            if value >= 0:
                kind = "d" if "O_DIRECTORY" in flags else "f"
                process.fds[value] = (kind, path)
                fd_text = f"{value}(<{kind}>{path})"
            else:
                fd_text = res
            info = f"fd={fd_text}"
            if dirfd:
                info += f" dirfd={self._fd(tid, dirfd)}"
            info += f" name={path} flags={self._flags(flags)} mode=0 dev=0"
        elif name in _DATA_CALLS and value >= 0 and len(arguments) >= 2:
            raw = decode_string(arguments[1])
            info += f" data={sysdig_data(raw)}" if raw is not None else ""
        elif name in ("newfstatat", "fstatat64", "statx") and len(arguments) >= 2:
            dirfd = arguments[0]
            path = self._path(tid, dirfd, arguments[1])
            flag = arguments[3] if name == "newfstatat" and len(arguments) > 3 else "0"
            info += f" dirfd={self._fd(tid, dirfd)} path={path} flags={flag}"
        elif name in ("stat", "lstat", "access", "readlink", "chdir", "mkdir", "rmdir", "unlink"):
            key = "name" if name == "access" else "path"
            info += f" {key}={self._path(tid, 'AT_FDCWD', arguments[0])}"
        elif name in ("faccessat", "faccessat2", "unlinkat", "mkdirat", "readlinkat"):
            key = "name" if name.startswith("faccess") or name == "unlinkat" else "path"
            path = self._path(tid, arguments[0], arguments[1])
            info += f" dirfd={self._fd(tid, arguments[0])} {key}={path}"
        elif name in ("rename", "renameat", "renameat2"):
            offset = 0 if name == "rename" else 1
            info += (
                f" oldpath={self._path(tid, 'AT_FDCWD', arguments[offset])}"
                f" newpath={self._path(tid, 'AT_FDCWD', arguments[offset * 2 + 1])}"
            )
        elif name in ("mmap", "mmap2") and value >= 0:
            info = f"res={value:X} vm_size=0 vm_rss=0 vm_swap=0"
        elif name in ("dup", "dup2", "dup3", "fcntl") and value >= 0 and arguments:
            if name != "fcntl" or arguments[1:2] in (["F_DUPFD"], ["F_DUPFD_CLOEXEC"]):
                source = _FD.match(arguments[0])
                if source and source.group("fd").isdigit():
                    known = process.fds.get(int(source.group("fd")))
                    if known is None and source.group("annotation"):
                        known = annotation_target(source.group("annotation"))
                    if known is not None:
                        process.fds[value] = known
                        info = f"res={value}(<{known[0]}>{known[1]})"
        elif name == "close" and arguments:
            match = _FD.match(arguments[0])
            if match and match.group("fd").isdigit():
                process.fds.pop(int(match.group("fd")), None)
        elif name in ("socket", "accept", "accept4", "pipe", "pipe2", "socketpair"):
            annotated = outcome.group("annotation")
            if value >= 0 and annotated:
                process.fds[value] = annotation_target(annotated[1:-1])
                info = f"fd={self._fd(tid, f'{value}{annotated}')}"
        elif name in ("clone", "clone3", "fork", "vfork") and value > 0:
            child = self.process(value)
            child.name = process.name
            flags = " ".join(arguments)
            child.fds = process.fds if "CLONE_FILES" in flags else dict(process.fds)
        elif name == "execve" and value == 0 and arguments:
            path = self._path(tid, None, arguments[0])
            process.name = os.path.basename(path)[:15]
            info += f" exe={path}"
        yield from self._emit(tid, clock, "<", name, info)

    def _emit(self, tid: int, clock: str, direction: str, name: str, info: str) -> Iterator[str]:
        if self.pids is not None and tid not in self.pids:
            return
        if (self.since and clock < self.since) or (self.until and clock >= self.until):
            return
        self.number += 1
        hours, minutes, seconds = clock.split(":")
        whole, _, fraction = seconds.partition(".")
        # strace prints microseconds; exits come half a microsecond after their call.
        nanoseconds = int(fraction.ljust(9, "0")[:9]) + (500 if direction == "<" else 0)
        seconds_of_day = int(hours) * 3600 + int(minutes) * 60 + int(whole)
        process = self.process(tid).name
        cpu = tid % 2
        if self.output == "json":
            epoch_ns = int(self.midnight + seconds_of_day) * 1_000_000_000 + nanoseconds
            record = {
                "evt.cpu": cpu,
                "evt.dir": direction,
                "evt.info": info + " " if info else "",
                "evt.num": self.number,
                "evt.outputtime": epoch_ns,
                "evt.type": name,
                "proc.name": process,
                "thread.tid": tid,
            }
            prefix = "[" if self.number == 1 else ","
            yield prefix + json.dumps(record, separators=(",", ":"))
            return
        if self.output == "absolute":
            stamp = f"{int(self.midnight + seconds_of_day)}.{nanoseconds:09d}"
        else:
            stamp = f"{hours}:{minutes}:{whole}.{nanoseconds:09d}"
        text = f"{self.number} {stamp} {cpu} {process} ({tid}) {direction} {name}"
        yield f"{text} {info}" if info else text


def convert_file(
    path: str, output: str = "text", date: dt.date | None = None, **options: object
) -> list[str]:
    """The sysdig lines of the strace trace at `path` (see `Converter` for `options`)."""
    converter = Converter(date or dt.date(2026, 11, 2), output, **options)  # type: ignore[arg-type]
    with open(path, encoding="utf-8", errors="replace") as trace:
        lines = list(converter.convert(trace))
    if output == "json" and lines:
        lines[-1] += "]"
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("trace")
    parser.add_argument("--format", choices=("text", "absolute", "json"), default="text")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 2))
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--pids", help="comma-separated thread ids to keep")
    parser.add_argument("--comm", help="name of the traced process before its first execve")
    parser.add_argument(
        "--names", help="names of threads that exec'd before the trace: 12=sshd,13=bash"
    )
    args = parser.parse_args()
    pids = {int(p) for p in args.pids.split(",")} if args.pids else None
    names = dict(item.split("=", 1) for item in args.names.split(",")) if args.names else {}
    for line in convert_file(
        args.trace,
        args.format,
        args.date,
        since=args.since,
        until=args.until,
        pids=pids,
        comm=args.comm,
        names={int(tid): name for tid, name in names.items()},
    ):
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
