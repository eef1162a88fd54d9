"""The detectors: small classes holding one stream's state for one watched series.

A detector is fed the rows of one stream in time order (`feed_rows`, or
one value at a time: `feed`) and returns the changes it found (`Finding`),
usually none. It knows nothing of the database: the engine
(`nntsc.events.engine`) makes one detector per stream and
`nntsc.collections.Detection`, feeds it, and stores its findings as events.
Every detector:

- ignores a row at or before the newest one it has seen (out-of-order input
  cannot rewrite a window), and a row without a value;
- forgets its state after a gap of more than `PURGE_INTERVALS` times the
  stream's usual interval (and at least `PURGE_MIN` seconds), so a change
  across an outage is not reported as a change of level;
- keeps its windows in `array` buffers, so a stream's state is a few KiB
  (see bench/events.py), and does the expensive part of its test only when
  a cheap gate passes, so a row costs little.

Every way in takes the same path: `Detector.feed_rows` (and `feed_values`,
the same for a series given as columns) skips the late rows and the rows
without a value, `Detector._advance` tracks the interval and
purges after a gap, and each detector's `_value` takes the row's value.

The four detectors follow `docs/events.md`: a robust two-window
level shift detector, loss runs with an open and a close event, path
changes that persist, and changes of mode of quantised series.

This module is plain Python that Cython compiles at install (`setup.py`):
its `cython` declarations (extension types, typed fields and locals, a
branch for the compiled build) change nothing when it runs as Python.
`nntsc.events.detectors` gives the build when it is current, else this
module.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, ClassVar, NamedTuple

import cython

from nntsc.events.severity import magnitude_severity, rise_for_severity
from nntsc.store.paths import same_path

#: A gap longer than this many usual intervals resets a detector...
PURGE_INTERVALS = 30
#: ...and never a gap shorter than this (seconds).
PURGE_MIN = 1800
# The same, typed for the compiled build.
_purge_intervals = cython.declare(cython.double, PURGE_INTERVALS)
_purge_min = cython.declare(cython.double, PURGE_MIN)


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


@cython.cclass
class Detector:
    """Base class: the rows' way in, interval tracking and the purge after a gap.

    A subclass implements `_value` (a new row's value) and `reset`, and
    lists the fields `state` gives in `STATE`.
    """

    name: ClassVar[str]
    #: The fields that make up a detector's state and settings (`state`).
    STATE: ClassVar[tuple[str, ...]] = ("last", "interval")

    #: Timestamp of the newest row taken (-1: none yet).
    last = cython.declare(cython.longlong, visibility="readonly")
    #: A slow average of the gap between rows (s; 0: not known yet).
    interval = cython.declare(cython.double, visibility="readonly")

    def __init__(self) -> None:
        self.last = -1
        self.interval = 0.0

    @cython.cfunc
    @cython.locals(gap=cython.longlong, interval=cython.double, longest=cython.double)
    def _advance(self, timestamp: cython.longlong) -> cython.bint:
        """Whether a row at `timestamp` is new; resets the state after a long gap."""
        if timestamp <= self.last:
            return False
        if self.last >= 0:
            gap = timestamp - self.last
            interval = self.interval
            if not interval:
                self.interval = float(gap)
            elif gap > _purge_intervals * interval and gap > _purge_min:
                self.reset()
            else:
                # A slow average of the usual gap; one long gap moves it little.
                longest = 4 * interval
                self.interval = interval + 0.1 * ((gap if gap <= longest else longest) - interval)
        self.last = timestamp
        return True

    @cython.ccall
    def reset(self) -> None:
        """Forget the windows (not the interval or the newest timestamp)."""

    @cython.cfunc
    def _value(self, timestamp: cython.longlong, value: Any) -> Any:
        """The findings (a list, or None) of a new row at `timestamp` with `value` (not None)."""
        raise NotImplementedError

    def feed(self, timestamp: int, value: Any) -> list[Finding] | None:
        """The changes the row at `timestamp` with `value` reveals, or ``None``."""
        if value is None or not self._advance(timestamp):
            return None
        return self._value(timestamp, value)

    @cython.cfunc
    @cython.inline
    def _take(
        self,
        timestamp: cython.longlong,
        value: Any,
        convert: Callable[[Any], Any] | None,
        found: list,
    ) -> None:
        """`feed_rows` and `feed_values`' step for a new row (after every row fed before it)
        with a value: convert it, advance to it, add what it reveals to `found`."""
        if convert is not None:
            value = convert(value)
        self._advance(timestamp)
        findings = self._value(timestamp, value)
        if findings is not None:
            found.extend(findings)

    @cython.locals(
        item=tuple, late=cython.Py_ssize_t, seen=cython.longlong, timestamp=cython.longlong
    )
    def feed_rows(
        self,
        rows: Sequence[tuple[int, int, Mapping[str, Any]]],
        field: object,
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
        for row in rows:
            if cython.compiled:
                # A Row is a tuple, its values a dict: the build reads them directly.
                item = cython.cast(tuple, row) if isinstance(row, tuple) else tuple(row)
                timestamp = item[1]
                values = item[2]
            else:
                _, timestamp, values = row
            if timestamp <= seen:
                late += 1
                continue
            seen = timestamp
            if cython.compiled and type(values) is dict:
                value = cython.cast(dict, values).get(field)
            else:
                value = values.get(field)
            if value is not None:
                self._take(timestamp, value, convert, found)
        return found, late

    @cython.locals(
        stamps=list,
        column=list,
        late=cython.Py_ssize_t,
        seen=cython.longlong,
        timestamp=cython.longlong,
        i=cython.Py_ssize_t,
        n=cython.Py_ssize_t,
    )
    def feed_values(
        self,
        timestamps: Sequence[int],
        values: Sequence[Any],
        convert: Callable[[Any], Any] | None = None,
    ) -> tuple[list[Finding], int]:
        """`feed_rows` for a series as two columns: rows' timestamps and one field's values.

        The same as `feed_rows` on rows (stream id, `timestamps[i]`, {field:
        `values[i]`}): what the live path keeps of the feed's rows
        (`nntsc.events.live`), without a row object per row.
        """
        stamps = timestamps if isinstance(timestamps, list) else list(timestamps)
        column = values if isinstance(values, list) else list(values)
        n = len(stamps)
        if len(column) != n:
            raise ValueError(f"{n} timestamps but {len(column)} values")
        found: list[Finding] = []
        late = 0
        seen = self.last
        for i in range(n):
            timestamp = stamps[i]
            if timestamp <= seen:
                late += 1
                continue
            seen = timestamp
            value = column[i]
            if value is not None:
                self._take(timestamp, value, convert, found)
        return found, late

    def state(self) -> dict[str, Any]:
        """The detector's fields by name (`STATE` of its class and those above): for tests."""
        names = [
            name for cls in reversed(type(self).__mro__) for name in vars(cls).get("STATE", ())
        ]
        return {name: getattr(self, name) for name in dict.fromkeys(names)}


def _iqr_sigma(ordered: array) -> float:
    """The standard deviation a normal sample with this interquartile range would have."""
    n = len(ordered)
    return (ordered[(3 * n) // 4] - ordered[n // 4]) / 1.349


def _resolution(ordered: array) -> float:
    """The smallest gap between two different values: the step of quantised data."""
    gaps = [b - a for a, b in pairwise(ordered) if b > a]
    return min(gaps) if gaps else 0.0


@cython.cclass
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

    Both windows live in one array of doubles (`window`), allocated once:
    a ring of (value, time) pairs in time order, the reference's values
    then the recent window's (`in_ref` and `in_win` of them from `head`),
    then each window's values sorted, for the medians. A row writes one
    pair and moves a value or two in the sorted runs; nothing is allocated.
    """

    name = "level"
    STATE = (
        "metric",
        "unit",
        "scale",
        "floor",
        "recent",
        "reference",
        "min_reference",
        "min_severity",
        "z",
        "agreement",
        "window",
        "head",
        "in_ref",
        "in_win",
    )

    metric = cython.declare(object, visibility="readonly")
    unit = cython.declare(object, visibility="readonly")
    scale = cython.declare(cython.double, visibility="readonly")
    floor = cython.declare(cython.double, visibility="readonly")
    recent = cython.declare(cython.Py_ssize_t, visibility="readonly")
    reference = cython.declare(cython.Py_ssize_t, visibility="readonly")
    min_reference = cython.declare(cython.Py_ssize_t, visibility="readonly")
    min_severity = cython.declare(cython.double, visibility="readonly")
    z = cython.declare(cython.double, visibility="readonly")
    agreement = cython.declare(cython.double, visibility="readonly")
    #: The ring of pairs, the reference's sorted values, the recent window's.
    window = cython.declare(object, visibility="readonly")
    #: The ring's oldest pair, and how many pairs each window holds.
    head = cython.declare(cython.Py_ssize_t, visibility="readonly")
    in_ref = cython.declare(cython.Py_ssize_t, visibility="readonly")
    in_win = cython.declare(cython.Py_ssize_t, visibility="readonly")
    # Pairs the ring holds, and where the sorted runs start.
    pairs: cython.Py_ssize_t
    ref_start: cython.Py_ssize_t
    win_start: cython.Py_ssize_t
    # `window` as the compiled build indexes it.
    view: cython.double[::1]

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
        # A restart after a finding may leave up to twice `recent` in the reference.
        longest_reference = max(reference, 2 * recent)
        self.pairs = longest_reference + recent
        self.ref_start = 2 * self.pairs
        self.win_start = self.ref_start + longest_reference
        self.window = array("d", bytes(8 * (self.win_start + recent)))
        self.view = self.window
        self.reset()

    @cython.ccall
    def reset(self) -> None:
        self.head = self.in_ref = self.in_win = 0

    def _series(self, first: int, count: int) -> tuple[list[float], list[int]]:
        """The values and times of `count` pairs from the `first` after `head`, in time order."""
        window, pairs = self.window, self.pairs
        slots = [(self.head + first + k) % pairs for k in range(count)]
        return [window[2 * s] for s in slots], [int(window[2 * s + 1]) for s in slots]

    # The sorted runs: each keeps `count` values at `start` (a window's length).

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.locals(i=cython.Py_ssize_t)
    def _insert(
        self, start: cython.Py_ssize_t, count: cython.Py_ssize_t, value: cython.double
    ) -> None:
        """Insert `value` into a sorted run (after equal values, as `bisect.insort`)."""
        if cython.compiled:
            i = start + count
            while i > start and self.view[i - 1] > value:
                self.view[i] = self.view[i - 1]
                i -= 1
            self.view[i] = value
        else:
            window = self.window
            i = bisect_right(window, value, start, start + count)
            window[i + 1 : start + count + 1] = window[i : start + count]
            window[i] = value

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.locals(i=cython.Py_ssize_t, end=cython.Py_ssize_t)
    def _remove(
        self, start: cython.Py_ssize_t, count: cython.Py_ssize_t, value: cython.double
    ) -> None:
        """Remove the first `value` (which it holds) from a sorted run."""
        end = start + count
        if cython.compiled:
            i = start
            while self.view[i] < value:
                i += 1
            while i < end - 1:
                self.view[i] = self.view[i + 1]
                i += 1
        else:
            window = self.window
            i = bisect_left(window, value, start, end)
            window[i : end - 1] = window[i + 1 : end]

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.locals(half=cython.Py_ssize_t)
    def _middle(self, start: cython.Py_ssize_t, count: cython.Py_ssize_t) -> cython.double:
        """The median of a sorted run of `count` (> 0) values."""
        half = start + (count >> 1)
        if count & 1:
            return self.view[half]
        return (self.view[half - 1] + self.view[half]) * 0.5

    @cython.cfunc
    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.locals(
        number=cython.double,
        in_ref=cython.Py_ssize_t,
        in_win=cython.Py_ssize_t,
        head=cython.Py_ssize_t,
        slot=cython.Py_ssize_t,
        old=cython.double,
        before=cython.double,
        after=cython.double,
        change=cython.double,
        low=cython.double,
    )
    def _value(self, timestamp: cython.longlong, value: Any) -> Any:
        number = float(value)
        if number != number:  # NaN
            return None
        in_ref, in_win, head = self.in_ref, self.in_win, self.head
        if in_win >= self.recent:
            # The recent window's oldest value moves to the reference...
            slot = head + in_ref
            if slot >= self.pairs:
                slot -= self.pairs
            old = self.view[2 * slot]
            self._remove(self.win_start, in_win, old)
            in_win -= 1
            if in_ref >= self.reference:
                # ...whose oldest goes.
                self._remove(self.ref_start, in_ref, self.view[2 * head])
                in_ref -= 1
                head += 1
                if head == self.pairs:
                    head = 0
            self._insert(self.ref_start, in_ref, old)
            in_ref += 1
        slot = head + in_ref + in_win
        if slot >= self.pairs:
            slot -= self.pairs
        self.view[2 * slot] = number
        self.view[2 * slot + 1] = timestamp
        self._insert(self.win_start, in_win, number)
        in_win += 1
        self.in_ref, self.in_win, self.head = in_ref, in_win, head
        if in_ref < self.min_reference or in_win < self.recent:
            return None
        before = self._middle(self.ref_start, in_ref)
        after = self._middle(self.win_start, in_win)
        # Gate 1: the change must score min_severity. The baseline ratio is
        # at least 1.1, which bounds the change needed cheaply; the exact
        # bound (a logarithm and an exponential) only for what passes.
        if after > before:
            change = (after - before) * self.scale
            low = before * self.scale
        elif after < before:
            change = (before - after) * self.scale
            low = after * self.scale
        else:
            return None
        if low < self.floor:
            low = self.floor
        if change < self.min_severity * 0.0033333333333333335 * low:
            return None
        if change < rise_for_severity(low, self.min_severity, self.floor):
            return None
        return self._test(timestamp, before, after)

    def _test(self, timestamp: int, before: float, after: float) -> list[Finding] | None:
        in_ref, in_win = self.in_ref, self.in_win
        ref_sorted = self.window[self.ref_start : self.ref_start + in_ref]
        win_sorted = self.window[self.win_start : self.win_start + in_win]
        # The spread of the noisier window stands for both: a series that
        # turns noisy (or quiet) without moving is not a shift. The IQR, not
        # the MAD, as a random mix of two levels has a MAD near zero; and
        # never below the data's resolution, as quantised values have an
        # IQR of zero.
        spread = max(_iqr_sigma(ref_sorted), _iqr_sigma(win_sorted), _resolution(ref_sorted))
        # Standard error of a median is about 1.2533 sigma / sqrt(n).
        error = 1.2533 * spread * math.sqrt(1 / in_ref + 1 / in_win)
        if abs(after - before) < self.z * error:
            return None
        middle = (before + after) / 2
        win_values, win_times = self._series(in_ref, in_win)
        beyond = sum(1 for v in win_values if (v > middle) == (after > before))
        if beyond < self.agreement * in_win:
            return None
        # Onset: the split of the reference's tail and the recent window
        # minimising the absolute deviations from the two levels.
        tail = min(in_ref, self.recent)
        tail_values, tail_times = self._series(in_ref - tail, tail)
        values = tail_values + win_values
        times = tail_times + win_times
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
        window = self.window
        for k, (value, time) in enumerate(zip(new_values, new_times, strict=True)):
            window[2 * k] = value
            window[2 * k + 1] = time
        count = len(new_values)
        window[self.ref_start : self.ref_start + count] = array("d", sorted(new_values))
        self.head, self.in_ref, self.in_win = 0, count, 0
        return [finding]


@cython.cclass
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
    STATE = (
        "metric",
        "consecutive",
        "window",
        "window_lost",
        "recovery",
        "full_minutes",
        "count",
        "lost_at",
        "streak",
        "streak_start",
        "streak_sum",
        "open_onset",
        "open_sum",
        "open_rows",
        "clear",
        "clear_start",
    )

    metric = cython.declare(object, visibility="readonly")
    consecutive = cython.declare(cython.longlong, visibility="readonly")
    window = cython.declare(cython.longlong, visibility="readonly")
    window_lost = cython.declare(cython.longlong, visibility="readonly")
    recovery = cython.declare(cython.longlong, visibility="readonly")
    full_minutes = cython.declare(cython.double, visibility="readonly")
    #: Rows taken, and the numbers of the lost ones among the last `window`.
    count = cython.declare(cython.longlong, visibility="readonly")
    lost_at = cython.declare(object, visibility="readonly")
    #: Lost rows in a row: how many, the first's time, their loss fractions' sum.
    streak = cython.declare(cython.longlong, visibility="readonly")
    streak_start = cython.declare(cython.longlong, visibility="readonly")
    streak_sum = cython.declare(cython.double, visibility="readonly")
    #: The open run: its onset (-1: none), loss fractions' sum, rows.
    open_onset = cython.declare(cython.longlong, visibility="readonly")
    open_sum = cython.declare(cython.double, visibility="readonly")
    open_rows = cython.declare(cython.longlong, visibility="readonly")
    #: Loss-free rows in a row in an open run, and the first's time.
    clear = cython.declare(cython.longlong, visibility="readonly")
    clear_start = cython.declare(cython.longlong, visibility="readonly")

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
        self.full_minutes = float(full_minutes)
        self.reset()

    @cython.ccall
    def reset(self) -> None:
        self.count = 0
        self.lost_at = array("q")
        self.streak = 0
        self.streak_start = 0
        self.streak_sum = 0.0
        self.open_onset = -1
        self.open_sum = 0.0
        self.open_rows = 0
        self.clear = 0
        self.clear_start = 0

    def _severity(self, fraction: float, seconds: int) -> int:
        minutes = max(seconds, self.interval or 60) / 60.0
        duration = min(1.0, 0.5 + 0.5 * minutes / self.full_minutes)
        return int(min(100.0, max(1.0, round(100 * fraction * duration))))

    @cython.cfunc
    @cython.locals(fraction=cython.double, lost=cython.bint, onset=cython.longlong)
    def _value(self, timestamp: cython.longlong, value: Any) -> Any:
        fraction = float(value)
        if fraction != fraction:  # NaN
            return None
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


@cython.cclass
class PathChange(Detector):
    """A new path that persists for `persist` runs in a row.

    Values are (path id, `nntsc.store.paths.PathKey`) pairs, compared with
    `same_path`: a path whose last hops stopped answering is the path it
    was. A path seen for fewer than `persist` runs before the old one
    returns (a flap) is no event.
    """

    name = "path"
    STATE = (
        "metric",
        "persist",
        "current",
        "current_id",
        "candidate",
        "candidate_id",
        "count",
        "candidate_onset",
    )

    metric = cython.declare(object, visibility="readonly")
    persist = cython.declare(object, visibility="readonly")
    #: The established path (a `PathKey`, None: none yet) and its id.
    current = cython.declare(object, visibility="readonly")
    current_id = cython.declare(object, visibility="readonly")
    #: A new path seen `count` runs in a row since `candidate_onset`, and its id.
    candidate = cython.declare(object, visibility="readonly")
    candidate_id = cython.declare(object, visibility="readonly")
    count = cython.declare(object, visibility="readonly")
    candidate_onset = cython.declare(object, visibility="readonly")

    def __init__(self, metric: str = "path", persist: int = 3, **_: Any) -> None:
        super().__init__()
        self.metric = metric
        self.persist = persist
        self.reset()

    @cython.ccall
    def reset(self) -> None:
        self.current = None
        self.current_id = None
        self.candidate = None
        self.candidate_id = None
        self.count = 0
        self.candidate_onset = 0

    @cython.cfunc
    def _value(self, timestamp: cython.longlong, value: Any) -> Any:
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


@cython.cclass
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
    STATE = (
        "metric",
        "unit",
        "scale",
        "floor",
        "quantum",
        "history",
        "recent",
        "dominance",
        "stray",
        "values",
        "times",
    )

    metric = cython.declare(object, visibility="readonly")
    unit = cython.declare(object, visibility="readonly")
    scale = cython.declare(object, visibility="readonly")
    floor = cython.declare(object, visibility="readonly")
    quantum = cython.declare(object, visibility="readonly")
    history = cython.declare(object, visibility="readonly")
    recent = cython.declare(object, visibility="readonly")
    dominance = cython.declare(object, visibility="readonly")
    stray = cython.declare(object, visibility="readonly")
    #: The buckets of the last `history` + `recent` values, and their times.
    values = cython.declare(object, visibility="readonly")
    times = cython.declare(object, visibility="readonly")

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

    @cython.ccall
    def reset(self) -> None:
        self.values = array("d")
        self.times = array("q")

    def _bucket(self, value: Any) -> Any:
        value *= self.scale
        if self.quantum:
            return round(value / self.quantum) * self.quantum
        if value == 0:
            return 0.0
        digits = 1 - math.floor(math.log10(abs(value)))
        return round(value, digits)

    @cython.cfunc
    def _value(self, timestamp: cython.longlong, value: Any) -> Any:
        number = float(value)
        if number != number:  # NaN: no bucket (it failed the rows of its stream before)
            return None
        bucket = self._bucket(number)
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
        self.values = values[onset_index:]
        self.times = self.times[onset_index:]
        return [finding]


#: Detector classes by the name a `Detection` gives.
DETECTORS: Mapping[str, type[Detector]] = {
    cls.name: cls for cls in (LevelShift, LossRuns, PathChange, ModeChange)
}

#: Builds a detector for a stream: (declared options) -> detector.
DetectorFactory = Callable[..., Detector]
