"""A seeded corpus of series with planted changes, for the event detectors' accuracy tests.

Series are one value a minute, in milliseconds (levels 1, 20, 150, 300 ms),
stored as microseconds as AMP stores latency, with these noise models
(`docs/events.md`):

- ``gauss2``, ``gauss5``, ``gauss15``: Gaussian noise of 2, 5 and 15 % of the level;
- ``spiky``: 2 % Gaussian plus 1.5 % of points multiplied by 2 to 6;
- ``noisyquiet``: 2 % Gaussian for 16 hours, then 10 % for 8 hours (a working day);
- ``quantised``: 5 % Gaussian rounded to a tenth of the level;
- ``bimodal`` (stationary only): each value at the level or 1.3 times it, at random.

Every case is built from `random.Random(seed)` and its parameters alone, so
the corpus is the same on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

LEVELS_MS = (1.0, 20.0, 150.0, 300.0)
STEP_FACTORS = (1.25, 1.5, 2.0, 3.0, 5.0, 0.5)
NOISE_MODELS = ("gauss2", "gauss5", "gauss15", "spiky", "noisyquiet", "quantised")
INTERVAL = 60
START = 1_700_000_000
WEEK = 7 * 24 * 60


@dataclass
class Case:
    """A series (timestamps, values in us) and what was planted in it."""

    name: str
    times: list[int]
    values: list[float | None]
    #: (index of the first changed sample, new level / old level) of each planted step.
    steps: list[tuple[int, float]] = field(default_factory=list)
    level_ms: float = 0.0
    noise: str = ""


def noise_value(rng: random.Random, noise: str, level: float, index: int) -> float:
    """One sample of `noise` around `level` (any unit) at sample `index`."""
    if noise == "gauss2":
        return rng.gauss(level, 0.02 * level)
    if noise == "gauss5":
        return rng.gauss(level, 0.05 * level)
    if noise == "gauss15":
        return max(0.0, rng.gauss(level, 0.15 * level))
    if noise == "spiky":
        value = rng.gauss(level, 0.02 * level)
        if rng.random() < 0.015:
            value *= rng.uniform(2, 6)
        return value
    if noise == "noisyquiet":
        noisy = (index // 60) % 24 >= 16
        return max(0.0, rng.gauss(level, (0.10 if noisy else 0.02) * level))
    if noise == "quantised":
        step = level / 10
        return round(rng.gauss(level, 0.05 * level) / step) * step
    if noise == "bimodal":
        return rng.gauss(level * (1.3 if rng.random() < 0.5 else 1.0), 0.01 * level)
    raise ValueError(noise)


def series(rng: random.Random, noise: str, levels: list[float]) -> list[float]:
    return [noise_value(rng, noise, level, i) for i, level in enumerate(levels)]


def step_cases(seeds: int = 3, length: int = 400, at: int = 200) -> list[Case]:
    """A step of every factor at every level, under every noise model."""
    cases = []
    for level in LEVELS_MS:
        for factor in STEP_FACTORS:
            for noise in NOISE_MODELS:
                for seed in range(seeds):
                    rng = random.Random(f"step-{level}-{factor}-{noise}-{seed}")
                    # The step comes at a random minute of the day, so the
                    # noisy/quiet model meets it in both phases.
                    shift = rng.randrange(24 * 60)
                    levels = [level * 1000] * at + [level * 1000 * factor] * (length - at)
                    values = [noise_value(rng, noise, lv, i + shift) for i, lv in enumerate(levels)]
                    cases.append(
                        Case(
                            f"step x{factor} at {level:g} ms, {noise}, seed {seed}",
                            [START + INTERVAL * i for i in range(length)],
                            list(values),
                            [(at, factor)],
                            level,
                            noise,
                        )
                    )
    return cases


def stationary_cases(seeds: int = 1, length: int = WEEK) -> list[Case]:
    """A week of each noise model at each level, nothing planted."""
    cases = []
    for level in LEVELS_MS:
        for noise in (*NOISE_MODELS, "bimodal"):
            for seed in range(seeds):
                rng = random.Random(f"stationary-{level}-{noise}-{seed}")
                values = series(rng, noise, [level * 1000] * length)
                cases.append(
                    Case(
                        f"stationary {level:g} ms, {noise}, seed {seed}",
                        [START + INTERVAL * i for i in range(length)],
                        list(values),
                        [],
                        level,
                        noise,
                    )
                )
    return cases


def spike_cases(seeds: int = 4, length: int = 600) -> list[Case]:
    """Single spikes (x2 to x10, and drops to a tenth) on a quiet series: no level shift."""
    cases = []
    for level in LEVELS_MS:
        for seed in range(seeds):
            rng = random.Random(f"spikes-{level}-{seed}")
            values = series(rng, "gauss2", [level * 1000] * length)
            for index in range(30, length, rng.randrange(15, 40)):
                values[index] *= rng.choice((2, 4, 6, 10, 0.1))
            cases.append(
                Case(
                    f"spikes at {level:g} ms, seed {seed}",
                    [START + INTERVAL * i for i in range(length)],
                    list(values),
                    [],
                    level,
                    "spikes",
                )
            )
    return cases


def ramp_cases(seeds: int = 3, length: int = 400, at: int = 200, over: int = 30) -> list[Case]:
    """A doubling over `over` samples at every level (gauss2)."""
    cases = []
    for level in LEVELS_MS:
        for seed in range(seeds):
            rng = random.Random(f"ramp-{level}-{seed}")
            levels = [
                level * 1000 * (1 + min(1.0, max(0.0, (i - at) / over))) for i in range(length)
            ]
            cases.append(
                Case(
                    f"ramp x2 over {over} at {level:g} ms, seed {seed}",
                    [START + INTERVAL * i for i in range(length)],
                    series(rng, "gauss2", levels),
                    [(at, 2.0)],
                    level,
                    "gauss2",
                )
            )
    return cases


def loss_cases(runs: tuple[int, ...] = (3, 5, 30), seeds: int = 3) -> list[tuple[Case, int]]:
    """Loss fractions 0 with planted runs (whole or partial loss) and isolated single losses.

    Returns (case, number of planted runs).
    """
    cases = []
    for seed in range(seeds):
        rng = random.Random(f"loss-{seed}")
        length = 1200
        values: list[float | None] = [0.0] * length
        planted = 0
        index = 50
        for run in runs * 2:
            fraction = rng.choice((1.0, 1.0, 0.5, 0.3))
            for i in range(index, index + run):
                values[i] = fraction
            planted += 1
            index += run + rng.randrange(60, 120)
            # An isolated lost row between runs: not a run.
            values[index - 30] = 1.0
        # Untested rows (no loss figure) inside the quiet part.
        for i in range(index, min(length, index + 5)):
            values[i] = None
        cases.append(
            (
                Case(
                    f"loss runs {runs}, seed {seed}",
                    [START + INTERVAL * i for i in range(length)],
                    values,
                ),
                planted,
            )
        )
    return cases


def out_of_order(case: Case, rng: random.Random, swaps: int = 20) -> tuple[list[int], list]:
    """The case's rows with `swaps` pairs of neighbours delivered in the wrong order."""
    rows = list(zip(case.times, case.values, strict=True))
    for _ in range(swaps):
        i = rng.randrange(1, len(rows) - 1)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
    return [t for t, _ in rows], [v for _, v in rows]
