"""How much a change matters, 0 to 100: netevmon's magnitude curve.

netevmon's author picked by eye the smallest latency rises they would call
significant (0.5 -> 5, 3 -> 9, 8 -> 16, 100 -> 130, 300 -> 350, 400 -> 450 ms)
and fitted a "baseline ratio" to them (`docs/events.md`). A change
that lies on the curve scores 30. The curve is in milliseconds: values in
other units are converted first (the detection declares the scale), which
streamevmon forgot for three of its detectors and so saturated at 100 on AMP's
microseconds.
"""

from __future__ import annotations

import math

#: Below this level (ms) the ratio is fixed at its value there.
SMALL_LEVEL = 0.1
SMALL_RATIO = 4.8
MIN_RATIO = 1.1


def baseline_ratio(level: float) -> float:
    """The ratio to `level` (ms) that a change must reach to score 30."""
    if level < SMALL_LEVEL:
        return SMALL_RATIO
    return max(MIN_RATIO, math.exp(-0.17949 * math.log(level) + 1.13489))


def magnitude_severity(old: float, new: float, floor: float = SMALL_LEVEL) -> int:
    """Severity 1 to 100 of a change of level from `old` to `new` (both in ms-like units).

    Levels below `floor` count as `floor`, so that a change from nothing
    (zero operations, a 0 ms jitter) scores by its size rather than
    dividing by zero.
    """
    low, high = (old, new) if old <= new else (new, old)
    low = max(low, floor)
    high = max(high, floor)
    if high <= low:
        return 1
    score = 30.0 * (high - low) / ((baseline_ratio(low) - 1.0) * low)
    return int(min(100.0, max(1.0, score)))


def rise_for_severity(level: float, severity: float, floor: float = SMALL_LEVEL) -> float:
    """The smallest rise from `level` that scores `severity` (used for cheap gates)."""
    low = max(level, floor)
    return severity / 30.0 * (baseline_ratio(low) - 1.0) * low
