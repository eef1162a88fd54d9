"""Synthetic sysdig logs of a busy server, for `make demo`, tests and `bench/sysdig.py`.

The host runs nginx serving static files and writing its access log,
php-fpm workers opening a new session file per request and statting
scripts (some missing), PostgreSQL reading and writing relation files and
its WAL, journald, a temp-file churner, cron starting short-lived programs
(whose dynamic loader maps shared libraries), a Python worker importing
modules, modprobe reading its configuration and an ssh session with typed
characters. Every call is an enter and an exit line in sysdig's default
text format; calls of other threads (futex, epoll_wait, switch, ...) are
interleaved between the calls of an action, as on a real multi-core host.
The actions planted are counted in `planted`, so tests can check that the
recogniser finds each one and nothing else.

    python -m nntsc.demo.busy_host --lines 1000000 > busy.log
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections import Counter
from collections.abc import Iterable, Iterator

#: A call: thread, process, type, enter arguments, exit arguments.
CallSpec = tuple[int, str, str, str, str]

LIBRARIES = (
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libselinux.so.1",
    "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
    "/lib/x86_64-linux-gnu/libacl.so.1",
    "/lib/x86_64-linux-gnu/libattr.so.1",
    "/lib/x86_64-linux-gnu/libtinfo.so.6",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/lib/x86_64-linux-gnu/libz.so.1",
)
PROGRAMS = ("sh", "run-parts", "logger", "date", "find", "gzip", "stat", "sed")
MODULES = (
    "json/__init__",
    "json/decoder",
    "json/scanner",
    "json/encoder",
    "email/parser",
    "logging/__init__",
    "urllib/parse",
    "http/client",
    "base64",
    "decimal",
)
MODPROBE_FILES = (
    "/lib/modprobe.d/aliases.conf",
    "/lib/modprobe.d/systemd.conf",
    "/etc/modprobe.d/blacklist.conf",
)
NOISE = (
    ("futex", "addr=7F5B5C2AE000 op=129(FUTEX_PRIVATE_FLAG|FUTEX_WAKE) val=1", "res=0"),
    ("epoll_wait", "maxevents=512", "res=1"),
    ("clock_gettime", "", "res=0"),
    ("switch", "next=0 pgft_maj=0 pgft_min=12 vm_size=36848 vm_rss=8604 vm_swap=0", ""),
    ("sendto", "fd=12(<4t>10.0.0.5:443->203.0.113.9:51234) size=1448", "res=1448 data=......"),
    (
        "recvfrom",
        "fd=12(<4t>10.0.0.5:443->203.0.113.9:51234) size=8192",
        "res=517 data=GET /static/app.css HTTP/1.1..Host: example.org",
    ),
)


def _zipf_index(rng: random.Random, size: int) -> int:
    """An index in [0, size) with a heavy head, as file popularity has."""
    return min(size - 1, int(size * rng.random() ** 3))


class BusyHost:
    """Generates the log; `planted` counts (action, process) of the actions written."""

    def __init__(
        self,
        seed: int = 1,
        start: dt.datetime | None = None,
        events_per_second: float = 20_000.0,
        absolute: bool = False,
    ) -> None:
        self.rng = random.Random(seed)
        self.start = start or dt.datetime(2026, 11, 2, 9, 0, 0)
        self.step = 1.0 / events_per_second
        self.absolute = absolute
        self.planted: Counter[tuple[str, str]] = Counter()
        self.number = 0
        self.clock = 0.0
        self._midnight = dt.datetime.combine(self.start.date(), dt.time()).astimezone().timestamp()
        self._offset = (self.start - dt.datetime.combine(self.start.date(), dt.time())).seconds
        self._next_pid = 30_000

    # -- writing lines -------------------------------------------------------------

    def _stamp(self) -> str:
        seconds = self._offset + self.clock
        whole = int(seconds)
        nanos = int((seconds - whole) * 1e9)
        if self.absolute:
            return f"{int(self._midnight) + whole}.{nanos:09d}"
        whole %= 86400
        return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{nanos:09d}"

    def _event(self, tid: int, process: str, direction: str, kind: str, info: str) -> str:
        self.number += 1
        self.clock += self.step
        line = f"{self.number} {self._stamp()} {tid % 8} {process} ({tid}) {direction} {kind}"
        return f"{line} {info}" if info else line

    def _call(self, call: CallSpec) -> Iterator[str]:
        tid, process, kind, enter, exit_ = call
        yield self._event(tid, process, ">", kind, enter)
        if kind != "switch":
            yield self._event(tid, process, "<", kind, exit_)

    def _noise(self) -> Iterator[str]:
        kind, enter, exit_ = NOISE[self.rng.randrange(len(NOISE))]
        tid = 1000 + self.rng.randrange(40)
        yield from self._call(
            (tid, ("nginx", "php-fpm8.2", "postgres", "java")[tid % 4], kind, enter, exit_)
        )

    def _block(self, calls: list[CallSpec]) -> Iterator[str]:
        """The calls of one action or request, with other threads' calls in between."""
        for call in calls:
            yield from self._call(call)
            if self.rng.random() < 0.3:
                yield from self._noise()

    # -- what the host does --------------------------------------------------------

    def lines(self, count: int) -> Iterator[str]:
        """About `count` lines (whole actions are never cut), in time order."""
        rng = self.rng
        activities = (
            (30, self._nginx),
            (25, self._php),
            (30, self._postgres),
            (8, self._journal),
            (4, self._temp_files),
            (1.2, self._cron_program),
            (0.8, self._python_imports),
            (0.1, self._modprobe),
            (1.5, self._ssh_keystroke),
        )
        total = sum(weight for weight, _ in activities)
        while self.number < count:
            pick = rng.random() * total
            chosen = activities[-1][1]
            for weight, activity in activities:
                pick -= weight
                if pick <= 0:
                    chosen = activity
                    break
            yield from self._block(chosen())

    def _fd(self) -> int:
        return self.rng.randrange(5, 40)

    def _open(
        self, tid: int, proc: str, path: str, fd: int, flags: str = "1(O_RDONLY)"
    ) -> CallSpec:
        return (
            tid,
            proc,
            "openat",
            f"dirfd=-100(AT_FDCWD) name={path} flags={flags} mode=0",
            f"fd={fd}(<f>{path}) dirfd=-100(AT_FDCWD) name={path} flags={flags} mode=0 dev=803",
        )

    def _nginx(self) -> list[CallSpec]:
        rng = self.rng
        tid = 2101 + rng.randrange(4)
        fd = self._fd()
        index = _zipf_index(rng, 3000)
        path = f"/var/www/html/static/{index % 40}/asset-{index}.{('png', 'css', 'js')[index % 3]}"
        if rng.random() < 0.03:
            missing = f"/var/www/html/static/missing-{rng.randrange(500)}.png"
            return [
                (
                    tid,
                    "nginx",
                    "openat",
                    f"dirfd=-100(AT_FDCWD) name={missing} flags=1(O_RDONLY)",
                    f"fd=-2(ENOENT) dirfd=-100(AT_FDCWD) name={missing} flags=1(O_RDONLY) mode=0",
                )
            ]
        size = rng.randrange(200, 60000)
        log = "/var/log/nginx/access.log"
        return [
            self._open(tid, "nginx", path, fd),
            (tid, "nginx", "fstat", f"fd={fd}(<f>{path})", "res=0"),
            (
                tid,
                "nginx",
                "read",
                f"fd={fd}(<f>{path}) size=32768",
                f"res={min(size, 32768)} data=......",
            ),
            (tid, "nginx", "close", f"fd={fd}(<f>{path})", "res=0"),
            (
                tid,
                "nginx",
                "write",
                f"fd=4(<f>{log}) size=180",
                'res=180 data=203.0.113.9 - - [02/Nov/2026:09:00:00 +0000] "GET /static/',
            ),
        ]

    def _php(self) -> list[CallSpec]:
        rng = self.rng
        tid = 2300 + rng.randrange(8)
        proc = "php-fpm8.2"
        session = f"/var/lib/php/sessions/sess_{rng.getrandbits(100):025x}"
        script = (
            f"/var/www/html/app/{('index', 'login', 'api', 'cart', 'search')[rng.randrange(5)]}.php"
        )
        fd = self._fd()
        calls: list[CallSpec] = [
            (tid, proc, "stat", "", f"res=0 path={script}"),
            self._open(tid, proc, session, fd, "578(O_RDWR|O_CREAT)"),
            (tid, proc, "flock", f"fd={fd}(<f>{session}) operation=2(LOCK_EX)", "res=0"),
            (tid, proc, "read", f"fd={fd}(<f>{session}) size=8192", "res=0 data="),
            (tid, proc, "write", f"fd={fd}(<f>{session}) size=96", 'res=96 data=user|s:5:"alice";'),
            (tid, proc, "close", f"fd={fd}(<f>{session})", "res=0"),
        ]
        if rng.random() < 0.2:
            missing = f"/var/www/html/app/vendor/autoload_{rng.randrange(50)}.php"
            calls.insert(0, (tid, proc, "stat", "", f"res=-2(ENOENT) path={missing}"))
        return calls

    def _postgres(self) -> list[CallSpec]:
        rng = self.rng
        tid = 2400 + rng.randrange(12)
        relation = f"/var/lib/postgresql/15/main/base/16384/{16400 + _zipf_index(rng, 600)}"
        fd = 20 + rng.randrange(30)
        if rng.random() < 0.7:
            return [
                (
                    tid,
                    "postgres",
                    "pread64",
                    f"fd={fd}(<f>{relation}) size=8192 pos=0",
                    "res=8192 data=................",
                )
            ]
        wal = f"/var/lib/postgresql/15/main/pg_wal/00000001000000000000{rng.randrange(4):02X}"
        return [
            (
                tid,
                "postgres",
                "pwrite64",
                f"fd={fd}(<f>{relation}) size=8192 pos=0",
                "res=8192 data=...",
            ),
            (tid, "postgres", "write", f"fd=9(<f>{wal}) size=8192", "res=8192 data=..."),
            (tid, "postgres", "fdatasync", f"fd=9(<f>{wal})", "res=0"),
        ]

    def _journal(self) -> list[CallSpec]:
        path = "/var/log/journal/3f2a9c/system.journal"
        return [
            (
                300,
                "systemd-journal",
                "pwrite64",
                f"fd=22(<f>{path}) size=512 pos=0",
                "res=512 data=...",
            )
        ]

    def _temp_files(self) -> list[CallSpec]:
        rng = self.rng
        tid = 2600 + rng.randrange(3)
        # A path written into the log, never created on this machine.
        directory = f"/tmp/tmp{rng.getrandbits(32):08x}"  # noqa: S108
        path = f"{directory}/part.dat"
        fd = self._fd()
        return [
            (tid, "java", "mkdir", "", f"res=0 path={directory} mode=0700"),
            self._open(tid, "java", path, fd, "578(O_RDWR|O_CREAT)"),
            (tid, "java", "write", f"fd={fd}(<f>{path}) size=4096", "res=4096 data=..."),
            (tid, "java", "close", f"fd={fd}(<f>{path})", "res=0"),
            (tid, "java", "rename", "", f"res=0 oldpath={path} newpath={directory}/done.dat"),
            (tid, "java", "unlink", "", f"res=0 path={directory}/done.dat"),
            (tid, "java", "rmdir", "", f"res=0 path={directory}"),
        ]

    def _library(self, tid: int, proc: str, path: str, fd: int = 3) -> list[CallSpec]:
        """One shared library mapped by ld.so, with the variations real loaders show."""
        rng = self.rng
        calls = [
            self._open(
                tid, proc, path, fd, rng.choice(("524288(O_RDONLY|O_CLOEXEC)", "1(O_RDONLY)"))
            ),
            (
                tid,
                proc,
                "read",
                f"fd={fd}(<f>{path}) size=832",
                "res=832 data=.ELF..............>.....",
            ),
        ]
        if "libc.so" in path:
            calls.append(
                (tid, proc, "pread64", f"fd={fd}(<f>{path}) size=784 pos=64", "res=784 data=....")
            )
        calls.append(
            (tid, proc, rng.choice(("fstat", "newfstatat")), f"fd={fd}(<f>{path})", "res=0")
        )
        for index in range(rng.randrange(1, 5)):
            calls.append(
                (
                    tid,
                    proc,
                    "mmap",
                    f"addr=0 length=16384 prot=1(PROT_READ) flags=2050(MAP_PRIVATE|MAP_DENYWRITE) "
                    f"fd={fd}(<f>{path}) offset={index * 4096}",
                    "res=7F5B5C2AE000 vm_size=0 vm_rss=0 vm_swap=0",
                )
            )
        if rng.random() < 0.5:
            calls.append((tid, proc, "mprotect", "addr=7F5B5C2B0000 length=4096 prot=0", "res=0"))
            calls.append(
                (
                    tid,
                    proc,
                    "mmap",
                    "addr=7F5B5C2B4000 length=5840 prot=3(PROT_READ|PROT_WRITE) "
                    "flags=50(MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS) fd=4294967295 offset=0",
                    "res=7F5B5C2B4000 vm_size=0 vm_rss=0 vm_swap=0",
                )
            )
        calls.append((tid, proc, "close", f"fd={fd}(<f>{path})", "res=0"))
        return calls

    def _cron_program(self) -> list[CallSpec]:
        rng = self.rng
        self._next_pid += 1
        tid = self._next_pid
        proc = PROGRAMS[rng.randrange(len(PROGRAMS))]
        calls: list[CallSpec] = [
            (tid, proc, "execve", f"filename=/usr/bin/{proc}", f"res=0 exe=/usr/bin/{proc}"),
            (tid, proc, "access", "mode=4(R_OK)", "res=-2(ENOENT) name=/etc/ld.so.preload"),
            self._open(tid, proc, "/etc/ld.so.cache", 3, "524288(O_RDONLY|O_CLOEXEC)"),
            (tid, proc, "fstat", "fd=3(<f>/etc/ld.so.cache)", "res=0"),
            (tid, proc, "close", "fd=3(<f>/etc/ld.so.cache)", "res=0"),
        ]
        for path in rng.sample(LIBRARIES, rng.randrange(1, 4)):
            calls.extend(self._library(tid, proc, path))
            self.planted["LoadSharedLibrary", proc] += 1
        return calls

    def _python_imports(self) -> list[CallSpec]:
        rng = self.rng
        tid = 2500 + rng.randrange(2)
        proc = "python3"
        calls: list[CallSpec] = []
        for module in rng.sample(MODULES, rng.randrange(1, 4)):
            source = f"/usr/lib/python3.11/{module}.py"
            directory, _, stem = f"/usr/lib/python3.11/{module}".rpartition("/")
            cached = f"{directory}/__pycache__/{stem}.cpython-311.pyc"
            calls.append(
                (
                    tid,
                    proc,
                    "newfstatat",
                    "",
                    f"res=-2(ENOENT) dirfd=-100(AT_FDCWD) path={source[:-3]}.abi3.so flags=0",
                )
            )
            calls.extend(
                [(tid, proc, "newfstatat", "", f"res=0 dirfd=-100(AT_FDCWD) path={source} flags=0")]
                * rng.randrange(1, 3)
            )
            calls.append(self._open(tid, proc, cached, 3, "524288(O_RDONLY|O_CLOEXEC)"))
            calls.append(
                (
                    tid,
                    proc,
                    "newfstatat",
                    "",
                    f"res=0 dirfd=3(<f>{cached}) path= flags=4096(AT_EMPTY_PATH)",
                )
            )
            if rng.random() < 0.7:
                calls.append(
                    (tid, proc, "ioctl", f"fd=3(<f>{cached}) request=5401", "res=-25(ENOTTY)")
                )
                calls.append(
                    (tid, proc, "lseek", f"fd=3(<f>{cached}) offset=0 whence=1(SEEK_CUR)", "res=0")
                )
            calls.append(
                (tid, proc, "read", f"fd=3(<f>{cached}) size=14221", "res=14220 data=........")
            )
            calls.append((tid, proc, "read", f"fd=3(<f>{cached}) size=1", "res=0 data="))
            calls.append((tid, proc, "close", f"fd=3(<f>{cached})", "res=0"))
            self.planted["LoadPythonModule", proc] += 1
        return calls

    def _modprobe(self) -> list[CallSpec]:
        self._next_pid += 1
        tid = self._next_pid
        calls: list[CallSpec] = []
        for path in MODPROBE_FILES:
            calls.extend(
                [
                    self._open(tid, "modprobe", path, 3, "524288(O_RDONLY|O_CLOEXEC)"),
                    (tid, "modprobe", "fcntl", f"fd=3(<f>{path}) cmd=3(F_GETFL)", "res=32768"),
                    (tid, "modprobe", "fstat", f"fd=3(<f>{path})", "res=0"),
                    (
                        tid,
                        "modprobe",
                        "read",
                        f"fd=3(<f>{path}) size=4096",
                        "res=624 data=# These are the standard aliases",
                    ),
                    (tid, "modprobe", "read", f"fd=3(<f>{path}) size=4096", "res=0 data="),
                    (tid, "modprobe", "close", f"fd=3(<f>{path})", "res=0"),
                ]
            )
            self.planted["ReadModprobeConfig", "modprobe"] += 1
        return calls

    def _ssh_keystroke(self) -> list[CallSpec]:
        rng = self.rng
        char = rng.choice("abcdefghijklmnopqrstuvwxyz ")
        socket = "fd=4(<4t>203.0.113.7:51515->10.0.0.5:22)"
        sshd, bash = 2700, 2701
        self.planted["SSHCharInput", "sshd"] += 1
        return [
            (sshd, "sshd", "read", f"{socket} size=262144", "res=36 data=4.xa.,.q......"),
            (sshd, "sshd", "write", "fd=9(<f>/dev/ptmx) size=1", f"res=1 data={char}"),
            (bash, "bash", "read", "fd=0(<f>/dev/pts/3) size=1", f"res=1 data={char}"),
            (bash, "bash", "write", "fd=2(<f>/dev/pts/3) size=1", f"res=1 data={char}"),
            (sshd, "sshd", "read", "fd=11(<f>/dev/ptmx) size=32768", f"res=1 data={char}"),
            (sshd, "sshd", "write", f"{socket} size=36", "res=36 data=|.t...f(.5tA.'"),
        ]


def write_log(
    path: str,
    lines: int,
    seed: int = 1,
    start: dt.datetime | None = None,
    events_per_second: float = 20_000.0,
    absolute: bool = False,
) -> BusyHost:
    """Write about `lines` lines of a busy host's log to `path`; return the generator."""
    host = BusyHost(seed, start, events_per_second, absolute)
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in host.lines(lines))
    return host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20_000.0, help="events per second")
    parser.add_argument("--absolute", action="store_true", help="epoch timestamps (sysdig -t a)")
    parser.add_argument(
        "--start",
        type=float,
        default=None,
        help="Unix time of the first event (default 2026-11-02 09:00 local time)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="a progress bar on stderr, not the actions planted"
    )
    args = parser.parse_args()
    start = None if args.start is None else dt.datetime.fromtimestamp(args.start)
    host = BusyHost(args.seed, events_per_second=args.rate, absolute=args.absolute, start=start)
    lines: Iterable[str] = host.lines(args.lines)
    if args.progress:
        from tqdm import tqdm

        lines = tqdm(lines, total=args.lines, unit="line", desc="generate", file=sys.stderr)
    sys.stdout.writelines(line + "\n" for line in lines)
    if not args.progress:
        print(dict(host.planted), file=sys.stderr)


if __name__ == "__main__":
    main()
