"""The detectors: small classes holding one stream's state for one watched series.

A detector is fed the rows of one stream in time order, one value at a
time (`feed`), and returns the changes it found (`Finding`), usually none.
It knows nothing of the database: the engine (`nntsc.events.engine`) makes
one detector per stream and `nntsc.collections.Detection`, feeds it, and
stores its findings as events. Every detector:

- ignores a row at or before the newest one it has seen (out-of-order input
  cannot rewrite a window), and a row without a value;
- forgets its state after a gap of more than `PURGE_INTERVALS` times the
  stream's usual interval (and at least `PURGE_MIN` seconds), so a change
  across an outage is not reported as a change of level;
- keeps its windows in `array` buffers, so a stream's state is a few KiB
  (see bench/events.py), and does the expensive part of its test only when
  a cheap gate passes, so a row costs microseconds.

The four detectors follow `docs/events.md`: a robust two-window
level shift detector, loss runs with an open and a close event, path
changes that persist, and changes of mode of quantised series.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple

from nntsc.events.severity import magnitude_severity, rise_for_severity
from nntsc.store.paths import PathKey, same_path

#: A gap longer than this many usual intervals resets a detector...
PURGE_INTERVALS = 30
#: ...and never a gap shorter than this (seconds).
PURGE_MIN = 1800


class Finding(NamedTuple):
    """A change a detector found; the engine adds the stream and stores it as an event."""

    kind: str
    direction: str
    onset: int
    detected: int
    severity: int
    old_value: float | None
    new_value: float | None
    description: str
    details: dict[str, Any] | None = None
    ended: int | None = None


def _number(value: float) -> str:
    """A value for a description: three significant figures, no exponent for usual sizes."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}"


class Detector:
    """Base class: interval tracking and the purge after a gap."""

    name: ClassVar[str]
    __slots__ = ("interval", "last")

    def __init__(self) -> None:
        self.last = -1
        self.interval = 0.0

    def _advance(self, timestamp: int) -> bool:
        """Whether a row at `timestamp` is new; resets the state after a long gap."""
        if timestamp <= self.last:
            return False
        if self.last >= 0:
            gap = timestamp - self.last
            interval = self.interval
            if interval and gap > max(PURGE_MIN, PURGE_INTERVALS * interval):
                self.reset()
            elif not interval:
                self.interval = float(gap)
            else:
                # A slow average of the usual gap; one long gap moves it little.
                self.interval = interval + 0.1 * (min(gap, 4 * interval) - interval)
        self.last = timestamp
        return True

    def reset(self) -> None:
        """Forget the windows (not the interval or the newest timestamp)."""

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        """The changes the row at `timestamp` with `value` reveals, or ``None``."""
        raise NotImplementedError

    def feed_rows(
        self,
        rows: Sequence[tuple[int, int, Mapping[str, Any]]],
        field: str,
        convert: Callable[[Any], Any] | None = None,
    ) -> tuple[list[Finding], int]:
        """`feed` each row's `field` (through `convert` when not None), in order.

        Rows are (stream id, timestamp, values) in time order; a row at or
        before the row before it (or the newest fed earlier) is skipped.
        Returns the findings and the number of rows skipped so.
        """
        found: list[Finding] = []
        late = 0
        seen = self.last
        feed = self.feed
        for _, timestamp, values in rows:
            if timestamp <= seen:
                late += 1
                continue
            seen = timestamp
            value = values.get(field)
            if convert is not None and value is not None:
                value = convert(value)
            findings = feed(timestamp, value)
            if findings:
                found.extend(findings)
        return found, late


def _median(ordered: array) -> float:
    n = len(ordered)
    half = n >> 1
    if n & 1:
        return ordered[half]
    return (ordered[half - 1] + ordered[half]) / 2


def _iqr_sigma(ordered: array) -> float:
    """The standard deviation a normal sample with this interquartile range would have."""
    n = len(ordered)
    return (ordered[(3 * n) // 4] - ordered[n // 4]) / 1.349


def _resolution(ordered: array) -> float:
    """The smallest gap between two different values: the step of quantised data."""
    gaps = [b - a for a, b in pairwise(ordered) if b > a]
    return min(gaps) if gaps else 0.0


class LevelShift(Detector):
    """A robust two-window level shift detector (medians and their spread), both directions.

    The recent window (the last `recent` values) is compared with the
    reference window (up to `reference` values before it). A shift is
    reported when three tests pass, cheapest first:

    1. the medians differ by at least what scores `min_severity` on the
       magnitude curve (in the declared unit);
    2. the difference is at least `z` standard errors of the difference of
       two medians, the spread estimated by the interquartile range of the
       noisier window (and at least the data's resolution);
    3. at least `agreement` of the recent values lie beyond the midpoint of
       the two medians, on the new side: a few spikes cannot move it.

    The onset is the split of the recent window and the reference's tail
    that best separates the two levels (least absolute deviations). Then the
    reference restarts from the values since the onset: one event per
    episode, and the next shift is measured from the new level.
    """

    name = "level"
    __slots__ = (
        "agreement",
        "floor",
        "metric",
        "min_reference",
        "min_severity",
        "recent",
        "ref_sorted",
        "ref_times",
        "ref_values",
        "reference",
        "scale",
        "unit",
        "win_sorted",
        "win_times",
        "win_values",
        "z",
    )

    def __init__(
        self,
        metric: str = "value",
        unit: str = "",
        scale: float = 1.0,
        floor: float = 0.1,
        recent: int = 8,
        reference: int = 60,
        min_reference: int = 16,
        min_severity: float = 20.0,
        z: float = 4.5,
        agreement: float = 0.75,
    ) -> None:
        super().__init__()
        self.metric = metric
        self.unit = unit
        self.scale = scale
        self.floor = floor
        self.recent = recent
        self.reference = reference
        self.min_reference = min_reference
        self.min_severity = min_severity
        self.z = z
        self.agreement = agreement
        self.reset()

    def reset(self) -> None:
        self.ref_values = array("d")
        self.ref_times = array("q")
        self.ref_sorted = array("d")
        self.win_values = array("d")
        self.win_times = array("q")
        self.win_sorted = array("d")

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        # The hot path of detection (every latency row of every stream): the
        # usual case of `_advance` and the medians are written out here.
        if value is None or timestamp <= self.last:
            return None
        interval = self.interval
        if interval and self.last >= 0:
            gap = timestamp - self.last
            if gap > PURGE_INTERVALS * interval and gap > PURGE_MIN:
                self.reset()
            else:
                self.interval = interval + 0.1 * (min(gap, 4 * interval) - interval)
            self.last = timestamp
        elif not self._advance(timestamp):
            return None
        value = float(value)
        if value != value:  # NaN
            return None
        win_values = self.win_values
        win_sorted = self.win_sorted
        win_values.append(value)
        self.win_times.append(timestamp)
        insort(win_sorted, value)
        if len(win_values) > self.recent:
            old = win_values.pop(0)
            old_time = self.win_times.pop(0)
            del win_sorted[bisect_left(win_sorted, old)]
            ref_sorted = self.ref_sorted
            self.ref_values.append(old)
            self.ref_times.append(old_time)
            insort(ref_sorted, old)
            if len(self.ref_values) > self.reference:
                gone = self.ref_values.pop(0)
                self.ref_times.pop(0)
                del ref_sorted[bisect_left(ref_sorted, gone)]
        ref_sorted = self.ref_sorted
        count = len(ref_sorted)
        if count < self.min_reference or len(win_values) < self.recent:
            return None
        half = count >> 1
        before = ref_sorted[half] if count & 1 else (ref_sorted[half - 1] + ref_sorted[half]) * 0.5
        count = len(win_sorted)
        half = count >> 1
        after = win_sorted[half] if count & 1 else (win_sorted[half - 1] + win_sorted[half]) * 0.5
        scale = self.scale
        # Gate 1: the change must score min_severity. The baseline ratio is
        # at least 1.1, which bounds the change needed cheaply; the exact
        # bound (a logarithm and an exponential) only for what passes.
        if after > before:
            change = (after - before) * scale
            low = before * scale
        elif after < before:
            change = (before - after) * scale
            low = after * scale
        else:
            return None
        floor = self.floor
        if low < floor:
            low = floor
        if change < self.min_severity * 0.0033333333333333335 * low:
            return None
        if change < rise_for_severity(low, self.min_severity, floor):
            return None
        return self._test(timestamp, before, after)

    def feed_rows(
        self,
        rows: Sequence[tuple[int, int, Mapping[str, Any]]],
        field: str,
        convert: Callable[[Any], Any] | None = None,
    ) -> tuple[list[Finding], int]:
        """`Detector.feed_rows` with `feed` written out in the loop, its state in locals.

        The same steps as `feed`, row by row (tests compare the two): what a
        row costs is mostly the interpreter's, and a call and a dozen
        attribute reads and writes a row were half of it.
        """
        if convert is not None:
            return super().feed_rows(rows, field, convert)
        found: list[Finding] = []
        late = 0
        seen = last = self.last
        interval = self.interval
        recent = self.recent
        reference = self.reference
        min_reference = self.min_reference
        scale = self.scale
        floor = self.floor
        min_severity = self.min_severity
        cheap_gate = min_severity * 0.0033333333333333335
        win_values, win_times, win_sorted = self.win_values, self.win_times, self.win_sorted
        ref_values, ref_times, ref_sorted = self.ref_values, self.ref_times, self.ref_sorted
        # The windows' lengths (each sorted copy is as long as its window).
        in_win, in_ref = len(win_values), len(ref_values)
        # The recent window's median, when it is full: its middle (or two).
        win_half, win_odd = recent >> 1, recent & 1
        try:
            for _, timestamp, values in rows:
                if timestamp <= seen:
                    late += 1
                    continue
                seen = timestamp
                value = values.get(field)
                if value is None:
                    continue
                # `feed` from here on (`timestamp` is after `last`).
                if interval and last >= 0:
                    gap = timestamp - last
                    if gap > PURGE_INTERVALS * interval and gap > PURGE_MIN:
                        self.reset()
                        win_values, win_times = self.win_values, self.win_times
                        win_sorted, ref_sorted = self.win_sorted, self.ref_sorted
                        ref_values, ref_times = self.ref_values, self.ref_times
                        in_win = in_ref = 0
                    else:
                        # interval + 0.1 * (min(gap, 4 * interval) - interval)
                        longest = 4 * interval
                        interval = interval + 0.1 * (
                            (gap if gap <= longest else longest) - interval
                        )
                elif last >= 0:
                    interval = float(timestamp - last)
                last = timestamp
                value = float(value)
                if value != value:  # NaN
                    continue
                win_values.append(value)
                win_times.append(timestamp)
                insort(win_sorted, value)
                in_win += 1
                if in_win > recent:
                    in_win = recent
                    old = win_values.pop(0)
                    old_time = win_times.pop(0)
                    del win_sorted[bisect_left(win_sorted, old)]
                    ref_values.append(old)
                    ref_times.append(old_time)
                    insort(ref_sorted, old)
                    in_ref += 1
                    if in_ref > reference:
                        in_ref = reference
                        gone = ref_values.pop(0)
                        ref_times.pop(0)
                        del ref_sorted[bisect_left(ref_sorted, gone)]
                if in_ref < min_reference or in_win < recent:
                    continue
                half = in_ref >> 1
                before = (
                    ref_sorted[half]
                    if in_ref & 1
                    else (ref_sorted[half - 1] + ref_sorted[half]) * 0.5
                )
                after = (
                    win_sorted[win_half]
                    if win_odd
                    else (win_sorted[win_half - 1] + win_sorted[win_half]) * 0.5
                )
                if after > before:
                    change = (after - before) * scale
                    low = before * scale
                elif after < before:
                    change = (before - after) * scale
                    low = after * scale
                else:
                    continue
                if low < floor:
                    low = floor
                if change < cheap_gate * low:
                    continue
                if change < rise_for_severity(low, min_severity, floor):
                    continue
                self.last, self.interval = last, interval
                findings = self._test(timestamp, before, after)
                if findings:
                    found.extend(findings)
                    # A finding restarts the windows.
                    win_values, win_times = self.win_values, self.win_times
                    win_sorted, ref_sorted = self.win_sorted, self.ref_sorted
                    ref_values, ref_times = self.ref_values, self.ref_times
                    in_win, in_ref = len(win_values), len(ref_values)
        finally:
            self.last, self.interval = last, interval
        return found, late

    def _test(self, timestamp: int, before: float, after: float) -> list[Finding] | None:
        ref_values = self.ref_values
        win_values = self.win_values
        # The spread of the noisier window stands for both: a series that
        # turns noisy (or quiet) without moving is not a shift. The IQR, not
        # the MAD, as a random mix of two levels has a MAD near zero; and
        # never below the data's resolution, as quantised values have an
        # IQR of zero.
        spread = max(
            _iqr_sigma(self.ref_sorted), _iqr_sigma(self.win_sorted), _resolution(self.ref_sorted)
        )
        # Standard error of a median is about 1.2533 sigma / sqrt(n).
        error = 1.2533 * spread * math.sqrt(1 / len(ref_values) + 1 / len(win_values))
        if abs(after - before) < self.z * error:
            return None
        middle = (before + after) / 2
        beyond = sum(1 for v in win_values if (v > middle) == (after > before))
        if beyond < self.agreement * len(win_values):
            return None
        # Onset: the split of the reference's tail and the recent window
        # minimising the absolute deviations from the two levels.
        tail = min(len(ref_values), self.recent)
        values = list(ref_values[len(ref_values) - tail :]) + list(win_values)
        times = list(self.ref_times[len(ref_values) - tail :]) + list(self.win_times)
        cost = sum(abs(v - after) for v in values)
        best, split = cost, 0
        for index, v in enumerate(values):
            cost += abs(v - before) - abs(v - after)
            if cost < best:
                best, split = cost, index + 1
        split = min(split, len(values) - 1)
        new_values = values[split:]
        new_times = times[split:]
        new_level = sorted(new_values)[len(new_values) >> 1]
        old_level = before
        scale = self.scale
        severity = magnitude_severity(old_level * scale, new_level * scale, self.floor)
        if severity < self.min_severity:
            severity = int(self.min_severity)
        rising = new_level > old_level
        finding = Finding(
            kind="incr" if rising else "decr",
            direction="up" if rising else "down",
            onset=new_times[0],
            detected=timestamp,
            severity=severity,
            old_value=old_level * scale,
            new_value=new_level * scale,
            description=(
                f"{self.metric} {_number(old_level * scale)} {self.unit} -> "
                f"{_number(new_level * scale)} {self.unit}"
            ).replace("  ", " "),
        )
        # One event per episode: the new level is the reference from now on.
        self.reset()
        self.ref_values = array("d", new_values)
        self.ref_times = array("q", new_times)
        self.ref_sorted = array("d", sorted(new_values))
        return [finding]


class LossRuns(Detector):
    """Runs of lost measurements: one event when a run opens, one when it closes.

    A row is lost when its loss fraction is above zero. A run opens after
    `consecutive` lost rows in a row, or when `window_lost` of the last
    `window` rows were lost (intermittent loss); it closes after `recovery`
    loss-free rows in a row, at the first of them. Severity grows with the
    mean loss fraction and the duration (a full outage of `full_minutes`
    or more scores 100).
    """

    name = "loss"
    __slots__ = (
        "clear",
        "clear_start",
        "consecutive",
        "count",
        "full_minutes",
        "lost_at",
        "metric",
        "open_onset",
        "open_rows",
        "open_sum",
        "recovery",
        "streak",
        "streak_start",
        "streak_sum",
        "window",
        "window_lost",
    )

    def __init__(
        self,
        metric: str = "loss",
        consecutive: int = 3,
        window: int = 20,
        window_lost: int = 6,
        recovery: int = 3,
        full_minutes: float = 30.0,
        **_: Any,
    ) -> None:
        super().__init__()
        self.metric = metric
        self.consecutive = consecutive
        self.window = window
        self.window_lost = window_lost
        self.recovery = recovery
        self.full_minutes = full_minutes
        self.reset()

    def reset(self) -> None:
        # Rows fed, and the numbers of the lost ones among the last `window`.
        self.count = 0
        self.lost_at = array("q")
        self.streak = 0
        self.streak_start = 0
        self.open_onset = -1
        self.open_sum = 0.0
        self.open_rows = 0
        self.clear = 0
        self.clear_start = 0
        self.streak_sum = 0.0

    def _severity(self, fraction: float, seconds: int) -> int:
        minutes = max(seconds, self.interval or 60) / 60.0
        duration = min(1.0, 0.5 + 0.5 * minutes / self.full_minutes)
        return int(min(100.0, max(1.0, round(100 * fraction * duration))))

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        if value is None or not self._advance(timestamp):
            return None
        fraction = float(value)
        if fraction != fraction:  # NaN
            return None
        return self._fraction(timestamp, fraction)

    def feed_rows(
        self,
        rows: Sequence[tuple[int, int, Mapping[str, Any]]],
        field: str,
        convert: Callable[[Any], Any] | None = None,
    ) -> tuple[list[Finding], int]:
        """`Detector.feed_rows` with the usual row (no loss, no run open) written out."""
        if convert is not None:
            return super().feed_rows(rows, field, convert)
        found: list[Finding] = []
        late = 0
        seen = last = self.last
        interval = self.interval
        count, streak, open_onset = self.count, self.streak, self.open_onset
        try:
            for _, timestamp, values in rows:
                if timestamp <= seen:
                    late += 1
                    continue
                seen = timestamp
                value = values.get(field)
                if value is None:
                    continue
                # `_advance` (`timestamp` is after `last`).
                if last >= 0:
                    gap = timestamp - last
                    # gap > max(PURGE_MIN, PURGE_INTERVALS * interval), as `_advance`
                    if interval and gap > PURGE_MIN and gap > PURGE_INTERVALS * interval:
                        self.reset()
                        count, streak, open_onset = self.count, self.streak, self.open_onset
                    elif not interval:
                        interval = float(gap)
                    else:
                        # interval + 0.1 * (min(gap, 4 * interval) - interval)
                        longest = 4 * interval
                        interval = interval + 0.1 * (
                            (gap if gap <= longest else longest) - interval
                        )
                last = timestamp
                fraction = float(value)
                if fraction != fraction:  # NaN
                    continue
                if fraction <= 0 and open_onset < 0:
                    count += 1
                    streak = 0
                    continue
                self.last, self.interval = last, interval
                self.count, self.streak = count, streak
                findings = self._fraction(timestamp, fraction)
                count, streak, open_onset = self.count, self.streak, self.open_onset
                if findings:
                    found.extend(findings)
        finally:
            self.last, self.interval = last, interval
            self.count, self.streak = count, streak
        return found, late

    def _fraction(self, timestamp: int, fraction: float) -> list[Finding] | None:
        """`feed` of a new row with a loss fraction (not NaN)."""
        self.count += 1
        if fraction <= 0:  # no loss: the usual row
            self.streak = 0
            if self.open_onset < 0:
                return None
            lost = False
        else:
            lost = True
            # Row numbers of the lost rows among the last `window`.
            lost_at = self.lost_at
            lost_at.append(self.count)
            while lost_at[0] <= self.count - self.window:
                del lost_at[0]
            if self.streak == 0:
                self.streak_start = timestamp
                self.streak_sum = 0.0
            self.streak += 1
            self.streak_sum += fraction
        if self.open_onset < 0:
            if not lost:
                return None
            if self.streak >= self.consecutive:
                onset = self.streak_start
            elif len(self.lost_at) >= self.window_lost:
                onset = timestamp
            else:
                return None
            self.open_onset = onset
            if onset == timestamp:
                self.open_sum, self.open_rows = fraction, 1
            else:
                self.open_sum, self.open_rows = self.streak_sum, self.streak
            self.clear = 0
            mean = self.open_sum / self.open_rows
            return [
                Finding(
                    kind="loss",
                    direction="up",
                    onset=onset,
                    detected=timestamp,
                    severity=self._severity(mean, timestamp - onset),
                    old_value=0.0,
                    new_value=100 * mean,
                    description=f"{self.metric} {_number(100 * mean)} % since loss began",
                )
            ]
        # A run is open: count it until `recovery` clean rows close it.
        if lost:
            self.open_sum += fraction
            self.open_rows += 1
            self.clear = 0
            return None
        if self.clear == 0:
            self.clear_start = timestamp
        self.clear += 1
        if self.clear < self.recovery:
            return None
        onset, mean = self.open_onset, self.open_sum / self.open_rows
        end = self.clear_start
        self.open_onset = -1
        self.open_sum = 0.0
        self.open_rows = 0
        self.lost_at = array("q")
        return [
            Finding(
                kind="loss_end",
                direction="down",
                onset=end,
                detected=timestamp,
                severity=self._severity(mean, end - onset),
                old_value=100 * mean,
                new_value=0.0,
                description=(
                    f"{self.metric} ended after {_duration(end - onset)} "
                    f"({_number(100 * mean)} % lost on average)"
                ),
                details={"loss_onset": onset},
                ended=end,
            )
        ]


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


class PathChange(Detector):
    """A new path that persists for `persist` runs in a row.

    Values are (path id, `nntsc.store.paths.PathKey`) pairs, compared with
    `same_path`: a path whose last hops stopped answering is the path it
    was. A path seen for fewer than `persist` runs before the old one
    returns (a flap) is no event.
    """

    name = "path"
    __slots__ = (
        "candidate",
        "candidate_id",
        "candidate_onset",
        "count",
        "current",
        "current_id",
        "metric",
        "persist",
    )

    def __init__(self, metric: str = "path", persist: int = 3, **_: Any) -> None:
        super().__init__()
        self.metric = metric
        self.persist = persist
        self.reset()

    def reset(self) -> None:
        self.current: PathKey | None = None
        self.current_id: Any = None
        self.candidate: PathKey | None = None
        self.candidate_id: Any = None
        self.count = 0
        self.candidate_onset = 0

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        if value is None or not self._advance(timestamp):
            return None
        path_id, key = value
        if key is None:
            return None
        current = self.current
        if current is None or same_path(key, current):
            # The same route; remember the fuller view of it.
            if current is None or (current.truncated and len(key.hops) >= len(current.hops)):
                self.current, self.current_id = key, path_id
            self.candidate = None
            self.count = 0
            return None
        if self.candidate is None or not same_path(key, self.candidate):
            self.candidate, self.candidate_id = key, path_id
            self.count = 0
            self.candidate_onset = timestamp
        self.count += 1
        if self.count < self.persist:
            return None
        old, old_id = current, self.current_id
        self.current, self.current_id = key, path_id
        self.candidate = None
        self.count = 0
        return [
            Finding(
                kind="pathchange",
                direction="none",
                onset=self.candidate_onset,
                detected=timestamp,
                severity=_path_severity(old.hops, key.hops),
                old_value=float(len(old.hops)),
                new_value=float(len(key.hops)),
                description=(
                    f"{self.metric.replace('_', ' ')} changed: "
                    + _path_change_text(old.hops, key.hops)
                ),
                details={
                    "old_path_id": old_id,
                    "new_path_id": path_id,
                    "old_path": list(old.hops),
                    "new_path": list(key.hops),
                },
            )
        ]


#: How AS path hops that are no AS number read (`nntsc.collections.amp_traceroute`).
_AS_WORDS = {-1: "*", -2: "private", 0: "?"}


def _path_text(path: tuple[Any, ...]) -> str:
    """Hops for people: IP addresses, or AS numbers as ``AS64496``; ``*`` for silence."""
    parts = [
        "*"
        if hop is None
        else (_AS_WORDS.get(hop, f"AS{hop}") if isinstance(hop, int) else str(hop))
        for hop in path
    ]
    if len(parts) > 8:
        parts = [*parts[:3], "...", *parts[-3:]]
    return " ".join(parts)


def _path_change_text(old: tuple[Any, ...], new: tuple[Any, ...]) -> str:
    """The part of two paths that differs, with one shared hop either side for context."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    start = max(0, prefix - 1)
    lead = "... " if start else ""
    old_part = old[start : len(old) - max(0, suffix - 1)]
    new_part = new[start : len(new) - max(0, suffix - 1)]
    trail = " ..." if suffix > 1 else ""
    return f"{lead}{_path_text(old_part)}{trail} -> {lead}{_path_text(new_part)}{trail}"


def _path_severity(old: tuple[Any, ...], new: tuple[Any, ...]) -> int:
    """More of the path changed, more severe: 30 plus up to 50 for the share of hops replaced."""
    shared = len(set(old) & set(new))
    longest = max(len(old), len(new), 1)
    return int(30 + 50 * (1 - shared / longest))


class ModeChange(Detector):
    """A change of the dominant value of a quantised series (path length, bucketed RTT).

    Values are bucketed (to `quantum`, or to two significant figures when
    `quantum` is 0). The established mode holds at least `dominance` of the
    `history` values before the recent `recent` ones; a change is reported
    when another bucket holds all but at most `stray` of the recent values.
    A series without a dominant value (a random mix of two levels) has no
    established mode and gives no event.
    """

    name = "mode"
    __slots__ = (
        "dominance",
        "floor",
        "history",
        "metric",
        "quantum",
        "recent",
        "scale",
        "stray",
        "times",
        "unit",
        "values",
    )

    def __init__(
        self,
        metric: str = "value",
        unit: str = "",
        scale: float = 1.0,
        floor: float = 0.1,
        quantum: float = 0.0,
        history: int = 20,
        recent: int = 8,
        dominance: float = 0.85,
        stray: int = 1,
    ) -> None:
        super().__init__()
        self.metric = metric
        self.unit = unit
        self.scale = scale
        self.floor = floor
        self.quantum = quantum
        self.history = history
        self.recent = recent
        self.dominance = dominance
        self.stray = stray
        self.reset()

    def reset(self) -> None:
        self.values = array("d")
        self.times = array("q")

    def _bucket(self, value: float) -> float:
        value *= self.scale
        if self.quantum:
            return round(value / self.quantum) * self.quantum
        if value == 0:
            return 0.0
        digits = 1 - math.floor(math.log10(abs(value)))
        return round(value, digits)

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        if value is None or not self._advance(timestamp):
            return None
        bucket = self._bucket(float(value))
        values = self.values
        values.append(bucket)
        self.times.append(timestamp)
        size = self.history + self.recent
        if len(values) > size:
            del values[0]
            del self.times[0]
        # Cheap exit for the usual row: the same bucket as the one before the recent window.
        if len(values) < size or bucket == values[self.history - 1]:
            return None
        recent = values[self.history :]
        if recent.count(bucket) < self.recent - self.stray:
            return None
        older = values[: self.history]
        mode = max(set(older), key=older.count)
        if mode == bucket or older.count(mode) < self.dominance * self.history:
            return None
        if recent.count(mode) > self.stray:
            return None
        onset_index = self.history + next(i for i, v in enumerate(recent) if v == bucket)
        onset = self.times[onset_index]
        finding = Finding(
            kind="mode",
            direction="up" if bucket > mode else "down",
            onset=onset,
            detected=timestamp,
            severity=magnitude_severity(mode, bucket, self.floor),
            old_value=mode,
            new_value=bucket,
            description=(
                f"{self.metric} mode {_number(mode)} {self.unit} -> {_number(bucket)} {self.unit}"
            ).replace("  ", " "),
        )
        # The new mode becomes the history: once per change.
        kept = values[onset_index:]
        kept_times = self.times[onset_index:]
        self.values = kept
        self.times = kept_times
        return [finding]


#: Detector classes by the name a `Detection` gives.
DETECTORS: Mapping[str, type[Detector]] = {
    cls.name: cls for cls in (LevelShift, LossRuns, PathChange, ModeChange)
}

#: Builds a detector for a stream: (declared options) -> detector.
DetectorFactory = Callable[..., Detector]
