"""Recognise low-level actions in a stream of calls with finite state machines.

An action (loading a shared library, typing a character over ssh, ...)
leaves the same short sequence of system calls every time, give or take an
extra ``fstat``, a different number of ``mmap`` calls or ``O_CLOEXEC``. Each
action is a machine; the recogniser feeds every call to each machine and
reports an `Action` when one reaches its end, so that `rewrite` can replace
the calls with a single line and the fileops collection can count actions
per process and minute.

Most machines are data: a `CallSequence` of `Step`s, each a set of system calls
with a quantifier, run per thread as a small NFA. Calls of a type the
sequence never mentions are ignored (they do not break a match); a call it
mentions that fits no step aborts the match. A machine that must follow
several processes, such as the ssh keystroke (sshd and the shell), is one
small class with the same `feed` method.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nntsc.sysdig.calls import Call, data, failed, result, target

OPEN_CALLS = frozenset(("open", "openat", "openat2"))
READ_CALLS = frozenset(("read", "pread", "pread64", "readv", "preadv"))
FSTAT_CALLS = frozenset(("fstat", "fstat64", "newfstatat", "fstatat64", "statx"))
STAT_CALLS = frozenset(("stat", "stat64", "lstat", "newfstatat", "fstatat64", "statx"))
MMAP_CALLS = frozenset(("mmap", "mmap2"))
CLOSE_CALLS = frozenset(("close",))
#: A match that needs more calls than this is not the action (a runaway loop).
MAX_CALLS = 200
#: Paths whose matches of the steps' patterns a machine remembers; past
#: this it starts again, so memory stays bounded on a log with ever new files.
MAX_REMEMBERED = 65536

#: Which file a step wants: the action's main file, a file matching a pattern, no file, any.
SAME = "same"
SAME_OR_NONE = "same-or-none"
ANY = "any"


@dataclass(frozen=True)
class Action:
    """A recognised action: its name, who did it, when, where in the log, and on what."""

    name: str
    process: str
    tid: int
    start: float
    end: float
    first_line: int
    last_line: int
    subject: str
    lines: tuple[int, ...] = field(repr=False, default=())

    def as_dict(self) -> dict[str, Any]:
        """The action as a JSON-ready mapping (without the full list of lines)."""
        return {
            "action": self.name,
            "process": self.process,
            "thread": self.tid,
            "start": self.start,
            "end": self.end,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "subject": self.subject,
        }


class Machine(Protocol):
    """What the recogniser needs of a machine."""

    name: str
    #: The call types it looks at; other calls are never fed to it.
    vocabulary: frozenset[str]
    #: True when its matches are per thread: a match starts on a call that
    #: passes the prefilter below and, once started, takes at most
    #: `max_calls` calls of its vocabulary in that thread, the one that ends
    #: it included. False when it is never `busy`, so the prefilter alone
    #: finds every call it uses. The import relies on this to send a machine
    #: only the calls it may use.
    per_thread: bool
    max_calls: int

    #: A superset of `interested`, as data for fast paths: call type -> regular
    #: expression of the paths that may start a match (``None``: any path) ...
    start_patterns: Mapping[str, str | None]
    #: ... processes whose calls may all interest it, paths whose calls may.
    process_prefixes: tuple[str, ...]
    path_prefixes: tuple[str, ...]

    def busy(self, tid: int) -> bool:
        """Whether a match is in progress in thread `tid` (its calls then interest it)."""
        ...

    def active(self) -> bool:
        """Whether a match is in progress in some thread."""
        ...

    def interested(self, call_type: str, tid: int, process: str, path: str | None) -> bool:
        """Whether `feed` could use such a call: a cheap test made before a call is built."""
        ...

    def feed(self, call: Call, found: tuple[str, str] | None) -> list[Action]:
        """Actions this call completes; `found` is its `target` (computed once for all)."""
        ...

    def finish(self) -> list[Action]: ...


@dataclass(frozen=True)
class Step:
    """One step of a sequence: `calls` on `file`, between `least` and `most` times.

    `file` is `SAME` (the action's main file), `SAME_OR_NONE` (the main file
    or no file, e.g. an anonymous ``mmap`` or an ``mprotect``), `ANY`, or a
    regular expression the call's path must match. `main` makes the path of
    the call the action's main file. `ok` is True (must succeed), False
    (must fail) or None (either).
    """

    calls: frozenset[str]
    file: str = SAME
    least: int = 1
    most: int = 1
    main: bool = False
    ok: bool | None = True

    def matches(self, call: Call, path: str | None, main: str | None) -> bool:
        if self.ok is not None and failed(call) == self.ok:
            return False
        wanted = self.file
        if wanted == ANY:
            return True
        if wanted == SAME:
            return path is not None and (main is None or path == main)
        if wanted == SAME_OR_NONE:
            return path is None or path == main
        return path is not None and _compiled(wanted).search(path) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


@dataclass(frozen=True)
class CallSequence:
    """A machine given as data: a name and its steps (see `Step`); the last step is mandatory."""

    name: str
    steps: tuple[Step, ...]

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset().union(*(step.calls for step in self.steps))


class _Partial:
    """A match in progress in one thread: NFA positions, main file, calls consumed."""

    __slots__ = ("calls", "main", "positions")

    def __init__(self) -> None:
        self.positions: frozenset[tuple[int, int]] = frozenset({(0, 0)})
        self.main: str | None = None
        self.calls: list[Call] = []


class SequenceMachine:
    """Runs one `CallSequence` in every thread at once."""

    per_thread = True

    def __init__(self, sequence: CallSequence) -> None:
        self.sequence = sequence
        self.name = sequence.name
        self.vocabulary = sequence.vocabulary
        self._steps = sequence.steps
        # A match takes a call only into a step that has not had its most,
        # and fails past MAX_CALLS calls; the call that ends it is one more.
        self.max_calls = min(MAX_CALLS, sum(step.most for step in self._steps)) + 1
        self._partials: dict[int, _Partial] = {}
        # Position sets recur: their closures are computed once.
        self._closures: dict[frozenset[tuple[int, int]], frozenset[tuple[int, int]]] = {}
        # Steps that may start a match: the first, and any after optional ones.
        starts: set[str] = set()
        for step in self._steps:
            starts |= step.calls
            if step.least:
                break
        self._start_calls = frozenset(starts)
        self._start_steps = []
        for step in self._steps:
            self._start_steps.append(step)
            if step.least:
                break
        patterns: dict[str, list[str] | None] = {}
        for step in self._start_steps:
            for call_type in step.calls:
                known = patterns.setdefault(call_type, [])
                if step.file in (SAME, ANY, SAME_OR_NONE) or known is None:
                    patterns[call_type] = None
                else:
                    known.append(step.file)
        self.start_patterns: Mapping[str, str | None] = {
            call_type: None if found is None else "|".join(f"(?:{p})" for p in found)
            for call_type, found in patterns.items()
        }
        self.process_prefixes: tuple[str, ...] = ()
        self.path_prefixes: tuple[str, ...] = ()
        # For `_advance`: the steps' path patterns, each path's matches of
        # them, and the transitions worked out.
        self._patterns = tuple(
            _compiled(pattern)
            for pattern in dict.fromkeys(step.file for step in self._steps)
            if pattern not in (SAME, ANY, SAME_OR_NONE)
        )
        self._signatures: dict[str | None, tuple[bool, ...]] = {}
        self._transitions: dict[
            tuple[Any, ...], tuple[frozenset[tuple[int, int]] | None, bool, bool]
        ] = {}
        # For `interested`: whether a call of a type on a path may start a match.
        self._starting: dict[tuple[str, str | None], bool] = {}

    def busy(self, tid: int) -> bool:
        return tid in self._partials

    def active(self) -> bool:
        return bool(self._partials)

    def interested(self, call_type: str, tid: int, process: str, path: str | None) -> bool:
        if tid in self._partials:
            return True
        if call_type not in self._start_calls:
            return False
        case = (call_type, path)
        starts = self._starting.get(case)
        if starts is None:
            if len(self._starting) >= MAX_REMEMBERED:
                self._starting.clear()
            starts = self._starting[case] = self._may_start(call_type, path)
        return starts

    def _may_start(self, call_type: str, path: str | None) -> bool:
        for step in self._start_steps:
            if call_type in step.calls:
                if step.file in (SAME, ANY, SAME_OR_NONE):
                    return True
                if path is not None and _compiled(step.file).search(path):
                    return True
        return False

    def feed(self, call: Call, found: tuple[str, str] | None) -> list[Action]:
        path = found[1] if found is not None else None
        partial = self._partials.get(call.tid)
        if partial is not None:
            outcome = self._advance(partial, call, path)
            if outcome is True:
                del self._partials[call.tid]
                return [self._action(partial)]
            if outcome is None:
                return []
            del self._partials[call.tid]
        if call.type not in self._start_calls:
            return []
        partial = _Partial()
        outcome = self._advance(partial, call, path)
        if outcome is True:
            return [self._action(partial)]
        if outcome is None:
            self._partials[call.tid] = partial
        return []

    def finish(self) -> list[Action]:
        self._partials.clear()
        return []

    def _advance(self, partial: _Partial, call: Call, path: str | None) -> bool | None:
        """Feed one call: True when the sequence completes, None to go on, False when it fails."""
        main = partial.main
        # What a call does to a match depends only on the match's positions,
        # the call's type and outcome, and how its path relates to the main
        # file and to the steps' patterns: each case is worked out once.
        signature = self._signatures.get(path)
        if signature is None:
            if len(self._signatures) >= MAX_REMEMBERED:
                self._signatures.clear()
            signature = self._signatures[path] = tuple(
                path is not None and pattern.search(path) is not None for pattern in self._patterns
            )
        case = (
            partial.positions,
            call.type,
            failed(call),
            path is None,
            main is None,
            path == main,
            signature,
        )
        transition = self._transitions.get(case)
        if transition is None:
            transition = self._transitions[case] = self._transition(
                partial.positions, call, path, main
            )
        reached, capture, complete = transition
        if reached is None:
            return False
        partial.positions = reached
        partial.calls.append(call)
        if capture:
            partial.main = path
        if len(partial.calls) > MAX_CALLS:
            return False
        return True if complete else None

    def _transition(
        self,
        positions: frozenset[tuple[int, int]],
        call: Call,
        path: str | None,
        main: str | None,
    ) -> tuple[frozenset[tuple[int, int]] | None, bool, bool]:
        """Where a call takes a match: its positions (None: it fails), and two flags.

        Whether the call's path becomes the main file, and whether the
        sequence is then complete.
        """
        steps = self._steps
        reached: set[tuple[int, int]] = set()
        capture = None
        for index, count in self._closure(positions):
            if index == len(steps):
                continue
            step = steps[index]
            if count < step.most and call.type in step.calls and step.matches(call, path, main):
                reached.add((index, count + 1))
                if step.main and main is None:
                    capture = path
        if not reached:
            return None, False, False
        # The last step is mandatory (a close): the sequence is complete once it matched.
        last = len(steps) - 1
        complete = any(index == last and count >= steps[last].least for index, count in reached)
        return frozenset(reached), capture is not None, complete

    def _closure(self, positions: frozenset[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        """Positions plus those reached by leaving a step that has matched enough times."""
        known = self._closures.get(positions)
        if known is not None:
            return known
        result = set(positions)
        todo = list(result)
        while todo:
            index, count = todo.pop()
            if index < len(self._steps) and count >= self._steps[index].least:
                following = (index + 1, 0)
                if following not in result:
                    result.add(following)
                    todo.append(following)
        known = self._closures[positions] = frozenset(result)
        return known

    def _action(self, partial: _Partial) -> Action:
        calls = partial.calls
        lines = sorted({n for c in calls for n in (c.first_line, c.last_line)})
        return Action(
            name=self.name,
            process=calls[0].process,
            tid=calls[0].tid,
            start=calls[0].start,
            end=calls[-1].end,
            first_line=lines[0],
            last_line=lines[-1],
            subject=partial.main or "",
            lines=tuple(lines),
        )


#: The dynamic loader (ld.so) or dlopen() mapping a shared library: open it,
#: read the ELF header (glibc also preads the program headers), fstat it,
#: map its segments (anonymous maps for .bss and mprotect calls in between),
#: close it. The number of mmap and pread calls varies with the library.
LOAD_SHARED_LIBRARY = CallSequence(
    "LoadSharedLibrary",
    (
        Step(OPEN_CALLS, r"\.so(\.[0-9][0-9.]*)?$", main=True),
        Step(READ_CALLS, SAME, 1, 3),
        Step(READ_CALLS | FSTAT_CALLS, SAME, 0, 6),
        Step(MMAP_CALLS, SAME, 1, 1),
        Step(MMAP_CALLS | frozenset(("mprotect",)) | READ_CALLS, SAME_OR_NONE, 0, 12),
        Step(CLOSE_CALLS, SAME),
    ),
)

#: CPython importing a module from source: the path finder stats the .py
#: file, the loader opens its cached .pyc (or the .py itself), fstats it
#: (FileIO also tries isatty and seeks), reads it whole and closes it.
LOAD_PYTHON_MODULE = CallSequence(
    "LoadPythonModule",
    (
        Step(STAT_CALLS, r"\.py$", 0, 4),
        Step(OPEN_CALLS, r"\.pyc?$", main=True),
        Step(
            FSTAT_CALLS | frozenset(("ioctl", "lseek", "fcntl")),
            SAME,
            0,
            6,
            ok=None,
        ),
        Step(READ_CALLS, SAME, 1, 4),
        Step(CLOSE_CALLS, SAME),
    ),
)

#: modprobe (kmod) reading one configuration file from a modprobe.d
#: directory: open, fcntl/fstat, read until end of file, close.
READ_MODPROBE_CONFIG = CallSequence(
    "ReadModprobeConfig",
    (
        Step(OPEN_CALLS, r"/modprobe\.d/[^/]+\.conf$", main=True),
        Step(FSTAT_CALLS | frozenset(("fcntl",)), SAME, 0, 4),
        Step(READ_CALLS, SAME, 1, 64),
        Step(CLOSE_CALLS, SAME),
    ),
)


@dataclass
class _Keystroke:
    char: str
    sshd: int
    start: float
    calls: list[Call]
    stage: str = "delivered"


class SSHCharInput:
    """A character typed into an ssh session, followed across sshd and the shell.

    sshd reads an encrypted packet from its TCP socket and writes the
    character to the pty master (``/dev/ptmx``); the shell reads it from
    the pty slave (``/dev/pts/N``) and writes its echo; sshd reads the echo
    from the pty master and writes it, encrypted, to the socket. When the
    terminal echoes by itself (canonical mode, before the shell reads) the
    shell's two steps are absent; the rest is required. Keystrokes are
    matched to shell reads by the character, oldest first.
    """

    name = "SSHCharInput"
    vocabulary = frozenset(("read", "write"))
    per_thread = False
    max_calls = 0
    #: Seconds after which an unfinished keystroke is forgotten.
    timeout = 2.0

    start_patterns: Mapping[str, str | None] = {}
    path_prefixes: tuple[str, ...] = ("/dev/pts/",)

    def __init__(self, server_names: Sequence[str] = ("sshd", "sshd-session")) -> None:
        self.server_names = tuple(server_names)
        self.process_prefixes = self.server_names
        # sshd thread -> its last socket read; sshd thread -> keystrokes in order.
        self._received: dict[int, Call] = {}
        self._pending: deque[_Keystroke] = deque()

    def busy(self, tid: int) -> bool:
        return False

    def active(self) -> bool:
        return False

    def interested(self, call_type: str, tid: int, process: str, path: str | None) -> bool:
        if process.startswith(self.server_names):
            return True
        return bool(self._pending) and path is not None and path.startswith("/dev/pts/")

    def feed(self, call: Call, found: tuple[str, str] | None) -> list[Action]:
        if failed(call):
            return []
        if found is None:
            return []
        kind, path = found
        self._expire(call.end)
        if call.process.startswith(self.server_names):
            return self._server(call, kind, path)
        if kind == "f" and path.startswith("/dev/pts/"):
            self._shell(call)
        return []

    def _server(self, call: Call, kind: str, path: str) -> list[Action]:
        socket = kind in ("4t", "6t")
        if call.type == "read" and socket:
            self._received[call.tid] = call
            return []
        if kind != "f" or path != "/dev/ptmx":
            if call.type == "write" and socket:
                return self._sent(call)
            return []
        text = data(call) or ""
        if call.type == "write":
            received = self._received.pop(call.tid, None)
            if received is not None and result(call) == 1 and len(text) == 1:
                self._pending.append(_Keystroke(text, call.tid, received.start, [received, call]))
            return []
        if call.type == "read":
            for keystroke in self._pending:
                if keystroke.sshd == call.tid and keystroke.stage in ("delivered", "echoed"):
                    keystroke.calls.append(call)
                    keystroke.stage = "returned"
                    break
        return []

    def _shell(self, call: Call) -> None:
        text = data(call) or ""
        for keystroke in self._pending:
            if call.type == "read" and keystroke.stage == "delivered" and text == keystroke.char:
                keystroke.calls.append(call)
                keystroke.stage = "read"
                return
            if call.type == "write" and keystroke.stage == "read":
                keystroke.calls.append(call)
                keystroke.stage = "echoed"
                return

    def _sent(self, call: Call) -> list[Action]:
        for keystroke in self._pending:
            if keystroke.sshd == call.tid and keystroke.stage == "returned":
                self._pending.remove(keystroke)
                keystroke.calls.append(call)
                calls = keystroke.calls
                lines = sorted({n for c in calls for n in (c.first_line, c.last_line)})
                return [
                    Action(
                        name=self.name,
                        process=calls[0].process,
                        tid=calls[0].tid,
                        start=calls[0].start,
                        end=call.end,
                        first_line=lines[0],
                        last_line=lines[-1],
                        subject=keystroke.char,
                        lines=tuple(lines),
                    )
                ]
        return []

    def _expire(self, now: float) -> None:
        while self._pending and now - self._pending[0].start > self.timeout:
            self._pending.popleft()

    def finish(self) -> list[Action]:
        self._pending.clear()
        self._received.clear()
        return []


#: The machines every recogniser runs unless told otherwise.
DEFAULT_SEQUENCES = (LOAD_SHARED_LIBRARY, LOAD_PYTHON_MODULE, READ_MODPROBE_CONFIG)


def default_machines() -> list[Machine]:
    """New instances of every known machine (they keep per-thread state)."""
    return [*(SequenceMachine(s) for s in DEFAULT_SEQUENCES), SSHCharInput()]


class ActionRecognizer:
    """Feeds each call to the machines whose vocabulary has its type."""

    def __init__(self, machines: Sequence[Machine] | None = None) -> None:
        self.machines = list(machines) if machines is not None else default_machines()
        by_type: dict[str, list[Machine]] = {}
        for machine in self.machines:
            for call_type in machine.vocabulary:
                by_type.setdefault(call_type, []).append(machine)
        self._by_type: Mapping[str, list[Machine]] = by_type
        #: Every call type some machine looks at.
        self.vocabulary = frozenset(by_type)
        # The machines' prefilters merged, for `scan_text`: a call is worth
        # building only if it passes one of them (see `Machine.start_patterns`).
        merged: dict[str, list[str] | None] = {}
        for machine in self.machines:
            for call_type, pattern in machine.start_patterns.items():
                known = merged.setdefault(call_type, [])
                if pattern is None or known is None:
                    merged[call_type] = None
                else:
                    known.append(pattern)
        #: Call type -> compiled pattern of paths that may start an action (None: any).
        self.start_patterns: dict[str, re.Pattern[str] | None] = {
            call_type: None if found is None else re.compile("|".join(found))
            for call_type, found in merged.items()
        }
        self.process_prefixes = tuple(p for m in self.machines for p in m.process_prefixes)
        self.path_prefixes = tuple(p for m in self.machines for p in m.path_prefixes)
        # A thread's match of a per-thread machine ends within MAX_CALLS + 1
        # calls of that machine's vocabulary, so within as many calls of the
        # types every per-thread machine looks at (see `nntsc.sysdig.scan`).
        per_thread = [m for m in self.machines if m.per_thread]
        #: Call types in the vocabulary of every per-thread machine.
        self.window_types: frozenset[str] = (
            frozenset.intersection(*(m.vocabulary for m in per_thread))
            if per_thread
            else frozenset()
        )
        #: The most calls of those types a per-thread match takes.
        self.window = max((m.max_calls for m in per_thread), default=0)
        self._stateful = [m for m in self.machines if m.per_thread]

    def busy(self, tid: int) -> bool:
        """Whether some machine has a match in progress in thread `tid`."""
        return any(machine.busy(tid) for machine in self._stateful)

    def active(self) -> bool:
        """Whether some machine has a match in progress in some thread."""
        return any(machine.active() for machine in self._stateful)

    def feed(self, call: Call) -> list[Action]:
        """Actions completed by this call (usually none); a call without exit is skipped."""
        machines = self._by_type.get(call.type)
        if machines is None or call.exit is None:
            return []
        return self.feed_with_target(call, target(call))

    def feed_with_target(self, call: Call, found: tuple[str, str] | None) -> list[Action]:
        """`feed` for a caller that already knows the call's `target`."""
        path = found[1] if found is not None else None
        actions: list[Action] = []
        for machine in self._by_type.get(call.type, ()):
            if machine.interested(call.type, call.tid, call.process, path):
                actions.extend(machine.feed(call, found))
        return actions

    def interested(self, call_type: str, tid: int, process: str, path: str | None) -> bool:
        """Whether any machine could use such a call (see `Machine.interested`)."""
        machines = self._by_type.get(call_type)
        if machines is None:
            return False
        return any(m.interested(call_type, tid, process, path) for m in machines)

    def finish(self) -> list[Action]:
        """Actions completed at the end of the log (forgets unfinished ones)."""
        found: list[Action] = []
        for machine in self.machines:
            found.extend(machine.finish())
        return found

    def recognise(self, calls: Iterable[Call]) -> Iterator[Action]:
        """Every action in `calls`, in the order they complete."""
        for call in calls:
            yield from self.feed(call)
        yield from self.finish()


def rewrite(
    lines: Iterable[tuple[int, str]],
    actions: Iterable[Action],
    render: Callable[[Action, str], str],
) -> Iterator[str]:
    """The log with each action's lines replaced by one line, at its first line.

    `lines` are (line number, text); `render(action, first_line_text)` makes
    the action's line. Lines of other threads in between stay where they are.
    """
    first: dict[int, Action] = {}
    covered: set[int] = set()
    for action in actions:
        first[action.first_line] = action
        covered.update(action.lines)
    for number, text in lines:
        starting = first.get(number)
        if starting is not None:
            yield render(starting, text)
        elif number not in covered:
            yield text
