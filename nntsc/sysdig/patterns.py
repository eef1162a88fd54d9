"""Find the most common repeated syscall sequences in a sysdig log.

Each thread's calls become tokens: the call type and, when it works on a
file or socket, the target generalised so that repetitions of one action
look alike (``/lib/x86_64-linux-gnu/libc.so.6`` becomes ``<lib>.so``, a
pty ``/dev/pts/<n>``, a TCP socket ``<tcp>``). Sequences of 3 to 16 tokens
that repeat are counted per thread without overlap; the patterns are then
chosen greedily by how many calls of the log they explain that no pattern
chosen before explains, so the list reads as "what the log is made of".
Each pattern comes with its count, its processes and example line ranges
to track down the action that causes it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nntsc.sysdig.calls import Call, target

MIN_LENGTH = 3
MAX_LENGTH = 16
#: Candidate sequences kept (by first-pass score) for the greedy choice.
CANDIDATES = 400
#: Example occurrences kept per pattern.
EXAMPLES = 3

#: Enter-only scheduler and process events: not part of any action.
IGNORED_TYPES = frozenset(("switch", "procexit", "signaldeliver", "page_fault", "procinfo"))

#: (pattern, replacement) applied in order to a file path; the first match wins.
GENERALISATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\.so(\.[0-9][0-9.]*)?$", "<lib>.so"),
        (r"/__pycache__/[^/]+\.pyc$", "<module>.pyc"),
        (r"\.py$", "<module>.py"),
        (r"/modprobe\.d/[^/]+\.conf$", "<modprobe.d>/<conf>.conf"),
        (r"^/dev/pts/\d+$", "/dev/pts/<n>"),
        (r"^/proc/\d+/", "/proc/<pid>/"),
        (r"^/proc/self/fd/\d+$", "/proc/self/fd/<n>"),
    )
)
_DIGITS = re.compile(r"\d+")
_SOCKETS = {
    "4t": "<tcp>",
    "6t": "<tcp>",
    "4u": "<udp>",
    "6u": "<udp>",
    "u": "<unix>",
    "p": "<pipe>",
}


def generalise(kind: str, name: str) -> str:
    """The target of a call as it appears in a pattern token."""
    if kind not in ("f", "d"):
        return _SOCKETS.get(kind, f"<{kind}>")
    for pattern, replacement in GENERALISATIONS:
        if pattern.search(name):
            return replacement
    return _DIGITS.sub("<n>", name)


def token(call: Call) -> str:
    """The pattern token of a call: its type, and its generalised target if it has one."""
    found = target(call)
    if found is None:
        return call.type
    return f"{call.type} {generalise(*found)}"


@dataclass
class Pattern:
    """A repeated sequence: its tokens, how often, by whom, where, and how much it explains."""

    tokens: tuple[str, ...]
    count: int
    calls: int
    share: float
    processes: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tokens": list(self.tokens),
            "count": self.count,
            "calls": self.calls,
            "share": round(self.share, 6),
            "processes": dict(self.processes.most_common()),
            "examples": [{"first_line": a, "last_line": b} for a, b in self.examples],
        }


@dataclass
class PatternReport:
    """The chosen patterns and the log they were found in."""

    patterns: list[Pattern]
    total_calls: int

    @property
    def explained(self) -> float:
        """The share of all calls explained by the patterns together."""
        return sum(p.calls for p in self.patterns) / self.total_calls if self.total_calls else 0.0


def find_patterns(
    calls: Iterable[Call],
    top: int = 10,
    min_length: int = MIN_LENGTH,
    max_length: int = MAX_LENGTH,
    min_count: int = 2,
) -> PatternReport:
    """The `top` patterns of `calls` (see the module docstring)."""
    threads: dict[int, list[Call]] = defaultdict(list)
    total = 0
    for call in calls:
        if call.type in IGNORED_TYPES:
            continue
        threads[call.tid].append(call)
        total += 1
    sequences = {tid: tuple(token(c) for c in thread) for tid, thread in threads.items()}

    # First pass: non-overlapping counts of every sequence, per thread.
    counts: Counter[tuple[str, ...]] = Counter()
    for tokens in sequences.values():
        for length in range(min_length, max_length + 1):
            last_end: dict[tuple[str, ...], int] = {}
            for start in range(len(tokens) - length + 1):
                key = tokens[start : start + length]
                if last_end.get(key, -1) <= start:
                    counts[key] += 1
                    last_end[key] = start + length
    candidates = sorted(
        (key for key, n in counts.items() if n >= min_count),
        key=lambda key: (-counts[key] * len(key), key),
    )[:CANDIDATES]

    # Second pass: the occurrences of the candidates, then a greedy choice
    # by calls explained that no earlier choice explains.
    occurrences: dict[tuple[str, ...], list[tuple[int, int]]] = {key: [] for key in candidates}
    lengths = sorted({len(key) for key in candidates})
    for tid, tokens in sequences.items():
        for length in lengths:
            for start in range(len(tokens) - length + 1):
                found = occurrences.get(tokens[start : start + length])
                if found is not None:
                    found.append((tid, start))
    covered: dict[int, set[int]] = defaultdict(set)
    chosen: list[Pattern] = []
    remaining = set(candidates)
    while remaining and len(chosen) < top:
        best = None
        best_places: list[tuple[int, int]] = []
        for key in remaining:
            places = _free_places(occurrences[key], len(key), covered)
            if len(places) >= min_count and (
                best is None
                or len(places) * len(key) > len(best_places) * len(best)
                or (len(places) * len(key) == len(best_places) * len(best) and key < best)
            ):
                best, best_places = key, places
        if best is None:
            break
        remaining.discard(best)
        processes: Counter[str] = Counter()
        for tid, start in best_places:
            covered[tid].update(range(start, start + len(best)))
            processes[threads[tid][start].process] += 1
        examples = [
            (threads[tid][start].first_line, threads[tid][start + len(best) - 1].last_line)
            for tid, start in sorted(
                best_places, key=lambda place: threads[place[0]][place[1]].first_line
            )[:EXAMPLES]
        ]
        explained = len(best_places) * len(best)
        chosen.append(
            Pattern(best, len(best_places), explained, explained / total, processes, examples)
        )
    return PatternReport(chosen, total)


def _free_places(
    places: list[tuple[int, int]], length: int, covered: dict[int, set[int]]
) -> list[tuple[int, int]]:
    """Occurrences that overlap neither each other nor calls already explained."""
    free = []
    last_end: dict[int, int] = {}
    for tid, start in places:
        if start < last_end.get(tid, -1):
            continue
        taken = covered.get(tid)
        if taken and any(index in taken for index in range(start, start + length)):
            continue
        free.append((tid, start))
        last_end[tid] = start + length
    return free


def format_report(report: PatternReport) -> str:
    """The report as text for a terminal."""
    lines = [
        f"{len(report.patterns)} patterns explain {report.explained:.1%} "
        f"of {report.total_calls} calls"
    ]
    for rank, pattern in enumerate(report.patterns, 1):
        processes = ", ".join(f"{name} ({n})" for name, n in pattern.processes.most_common(5))
        lines.append("")
        lines.append(
            f"#{rank}  {pattern.share:.1%} of calls: {pattern.count} times, "
            f"{len(pattern.tokens)} calls each, in {processes}"
        )
        lines.extend(f"      {tok}" for tok in pattern.tokens)
        examples = ", ".join(f"{a}-{b}" for a, b in pattern.examples)
        lines.append(f"    lines {examples}")
    return "\n".join(lines)
