"""The compiled detectors (`nntsc.events.detectors` when built) against their source module.

`nntsc/events/_detectors.py` runs as plain Python where it is not built;
the build must find exactly what it finds and end in the same state, for
any input: the accuracy corpus (`tests/tools/event_corpus.py`), and random
series with gaps that purge, late and repeated rows, missing values, NaN,
integers, and settings the collections do not use (a reference shorter than
twice the recent window, fewer rows than `min_reference`), fed in random
chunks (`feed_rows`, and as columns: `feed_values`) and row by row (`feed`).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from nntsc.events import _detectors, detectors
from nntsc.store.paths import as_path_key
from tests.tools.event_corpus import (
    Case,
    loss_cases,
    ramp_cases,
    spike_cases,
    stationary_cases,
    step_cases,
)

pytestmark = pytest.mark.skipif(not detectors.COMPILED, reason="the detectors are not compiled")

LEVEL = ("median", "ms", 0.001)
SETTINGS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("LevelShift", LEVEL, {}),
    ("LevelShift", ("rtt", "ms", 1.0), {"recent": 5, "reference": 7, "min_reference": 3}),
    ("LevelShift", ("rtt", "ms", 1.0), {"recent": 4, "reference": 20, "min_reference": 25}),
    ("LevelShift", ("mos", "MOS"), {"min_severity": 3.0}),
    ("LevelShift", ("x", ""), {"recent": 3, "reference": 10, "min_reference": 4, "z": 2.0}),
    ("LossRuns", ("loss",), {}),
    ("LossRuns", ("loss",), {"consecutive": 1, "window": 5, "window_lost": 2, "recovery": 1}),
    ("ModeChange", ("path_length", "hops"), {"quantum": 0.5}),
    ("ModeChange", ("rtt", "ms", 0.001), {}),
]


def both(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    return (
        getattr(_detectors, name)(*args, **kwargs),
        getattr(detectors.implementation, name)(*args, **kwargs),
    )


def random_series(rng: random.Random, name: str) -> tuple[list[int], list[Any]]:
    timestamp, times, values = 1_700_000_000, [], []
    level = rng.choice([0.0, 0.5, 12.0, 500.0, 50_000.0]) if name != "LossRuns" else 0.0
    for _ in range(rng.randint(10, 1200)):
        draw = rng.random()
        if draw < 0.02:
            timestamp += rng.choice([1, 3000, 90_000])  # a purge after the long one
        elif draw < 0.04:
            timestamp -= rng.randint(0, 200)  # late or repeated
        else:
            timestamp += 60
        if rng.random() < 0.03:
            level = (
                rng.choice([0.0, 0.02, 0.5, 1.0])
                if name == "LossRuns"
                else level * rng.choice([0.3, 0.5, 1.2, 2.0, 3.0]) + rng.choice([0, 1])
            )
        draw = rng.random()
        if draw < 0.02:
            value: Any = None
        elif draw < 0.03:
            value = float("nan")
        elif name == "LossRuns":
            value = level if rng.random() < 0.7 else 0
        elif draw < 0.5:
            value = round(level * (1 + rng.gauss(0, 0.05)))
        else:
            value = level * (1 + rng.gauss(0, 0.1))
        times.append(timestamp)
        values.append(value)
    return times, values


def compare(rng: random.Random, source: Any, build: Any, rows: list[Any], field: str) -> int:
    """Feed `rows` to both in the same random chunks; the same findings, late rows and state."""
    found: list[Any] = [[], []]
    late = [0, 0]
    start = 0
    while start < len(rows):
        chunk = rows[start : start + rng.randint(1, 300)]
        start += len(chunk)
        for which, detector in enumerate((source, build)):
            findings, skipped = detector.feed_rows(chunk, field)
            found[which] += findings
            late[which] += skipped
    assert found[1] == found[0]
    assert late[1] == late[0]
    assert build.state() == source.state()
    return len(found[0])


def compare_columns(
    rng: random.Random,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    rows: list[Any],
    field: str,
) -> None:
    """`feed_values` (the rows as columns) finds what `feed_rows` finds, source and build,
    in random chunks, and ends in the same state."""
    by_rows = getattr(_detectors, name)(*args, **kwargs)
    expected = by_rows.feed_rows(rows, field)
    for detector in both(name, args, kwargs):
        found: list[Any] = []
        late = 0
        start = 0
        while start < len(rows):
            chunk = rows[start : start + rng.randint(1, 300)]
            start += len(chunk)
            findings, skipped = detector.feed_values(
                [t for _, t, _ in chunk], [v.get(field) for _, _, v in chunk]
            )
            found += findings
            late += skipped
        assert (found, late) == expected
        assert detector.state() == by_rows.state()


def test_the_build_finds_what_the_source_finds_in_the_corpus() -> None:
    rng = random.Random(1)
    cases: list[tuple[str, tuple[Any, ...], Case]] = [
        *(("LevelShift", LEVEL, case) for case in step_cases(seeds=1)),
        *(("LevelShift", LEVEL, case) for case in stationary_cases(seeds=1)),
        *(("LevelShift", LEVEL, case) for case in spike_cases()),
        *(("LevelShift", LEVEL, case) for case in ramp_cases()),
        *(("LossRuns", ("loss",), case) for case, _ in loss_cases()),
    ]
    found = 0
    for name, args, case in cases:
        rows = [(1, t, {"v": v}) for t, v in zip(case.times, case.values, strict=True)]
        found += compare(rng, *both(name, args, {}), rows, "v")
        compare_columns(rng, name, args, {}, rows, "v")
    assert found > len(cases) / 2


@pytest.mark.parametrize("seed", range(4))
def test_the_build_finds_what_the_source_finds_in_random_series(seed: int) -> None:
    rng = random.Random(seed)
    found = 0
    for _ in range(15):
        for name, args, kwargs in SETTINGS:
            times, values = random_series(rng, name)
            rows = [(1, t, {"v": v}) for t, v in zip(times, values, strict=True)]
            found += compare(rng, *both(name, args, kwargs), rows, "v")
            # Row by row too.
            source, build = both(name, args, kwargs)
            for timestamp, value in zip(times, values, strict=True):
                assert build.feed(timestamp, value) == source.feed(timestamp, value)
            assert build.state() == source.state()
    assert found > 100


def test_the_build_finds_the_path_changes_the_source_finds() -> None:
    rng = random.Random(3)
    hops = [
        [[-2, 1], [64496, 2], [64499, 1]],
        [[-2, 1], [64496, 2], [-1, 3]],  # the first whose end went silent
        [[-2, 1], [64497, 3], [64499, 1]],
        [[-2, 1], [64500, 4]],
    ]
    keys = [as_path_key(path) for path in hops]

    def convert(path_id: int) -> tuple[int, Any]:
        return path_id, keys[path_id]

    found = 0
    for _ in range(40):
        rows, timestamp, path = [], 1_700_000_000, 0
        for _ in range(rng.randint(10, 400)):
            timestamp += 60 if rng.random() > 0.03 else rng.choice([-60, 100_000])
            if rng.random() < 0.1:
                path = rng.randrange(len(keys))
            rows.append((1, timestamp, {"p": None if rng.random() < 0.02 else path}))
        source, build = both("PathChange", ("as_path",), {})
        expected = source.feed_rows(rows, "p", convert)
        assert build.feed_rows(rows, "p", convert) == expected
        assert build.state() == source.state()
        # As columns, source and build.
        stamps, paths = [t for _, t, _ in rows], [v["p"] for _, _, v in rows]
        for detector in both("PathChange", ("as_path",), {}):
            assert detector.feed_values(stamps, paths, convert) == expected
            assert detector.state() == source.state()
        found += len(expected[0])
    assert found > 10
