"""Choosing how many seconds one point of a graph covers."""

from __future__ import annotations

from ampy.words import counted

#: Binsizes a graph may get, in seconds. Each is a multiple of a rollup
#: level (5 min, 1 h, 1 day) so that any of them reads whole rollup bins.
BINSIZE_LADDER = (
    60,
    300,
    600,
    1200,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    345600,
    604800,
    1209600,
)
#: A graph gets at most this many points, and about 300 where the ladder allows.
MAX_POINTS = 400


def choose_binsize(start: int, end: int, minimum: int = 60, max_points: int = MAX_POINTS) -> int:
    """The smallest ladder binsize, at least `minimum`, that draws [start, end) in `max_points`.

    A day gets 5-minute bins (288 points), a week 30-minute bins (336), a
    month 2-hour bins (360) and a year 1-day bins (365).
    """
    span = max(end - start, 1)
    for binsize in BINSIZE_LADDER:
        if binsize >= minimum and span / binsize <= max_points:
            return binsize
    return BINSIZE_LADDER[-1]


def describe_binsize(binsize: int) -> str:
    """``5 minutes``, ``1 hour``, ``2 days``: how a graph label names a binsize."""
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if binsize % seconds == 0:
            return counted(binsize // seconds, unit)
    return counted(binsize, "second")
