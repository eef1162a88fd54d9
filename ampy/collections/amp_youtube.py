"""YouTube playbacks: how long a video took to start and to play, and how often it stalled.

The graph (style ``youtube``) leaves the playing time out, as it is the
length asked for: it draws, in seconds, each line's time not playing
(``waiting``: setup, initial buffering and stalls), the time until the video
played (``startup``: setup and initial buffering) and the setup before the
video started loading, stacked so that the gaps between them are the
buffering and the stalling; the number of stalls goes on a second axis. A
video is not a site, so there is no matrix tab.
"""

from __future__ import annotations

from typing import Any

from ampy.collections import DAY, CollectionSpec, ViewStyle
from ampy.groups import GroupSpec
from ampy.series import Column, Derived, SeriesSpec, same_columns

NAME = "amp-youtube"
MS_TO_S = 0.001

YOUTUBE = ViewStyle("youtube", "YouTube", default_span=2 * DAY)


def _seconds(name: str, field: str, function: str = "mean") -> Column:
    return Column(name, field, function, MS_TO_S, "s")


def total_of(*parts: Any) -> float | None:
    """The sum of `parts` (seconds), None when one is missing."""
    if any(part is None for part in parts):
        return None
    return float(sum(parts))


_TOTAL = _seconds("total", "total_time")
_STALLS = Column("stalls", "stall_count", "mean")

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(YOUTUBE,),
    tab_order=75,
    groups=GroupSpec(
        NAME,
        ("source", "destination", "quality"),
        keywords={"destination": "VIDEO"},
        title=lambda v: f"video {v['destination']} from {v['source']} ({v['quality']})",
    ),
    series=SeriesSpec(
        NAME,
        300,
        "mean",
        same_columns(
            (
                _TOTAL,
                _seconds("total_smoke", "total_time", "smoke"),
                _seconds("pre", "pre_time"),
                _seconds("buffering", "initial_buffering"),
                _seconds("playing", "playing_time"),
                _seconds("stalled", "stall_time"),
                _STALLS,
                Column("plays", "results", "sum"),
            ),
            (_TOTAL, _STALLS),
        ),
        (
            Derived("startup", ("pre", "buffering"), total_of, "s"),
            Derived("waiting", ("pre", "buffering", "stalled"), total_of, "s"),
        ),
    ),
)
