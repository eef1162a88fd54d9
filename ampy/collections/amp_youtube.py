"""YouTube playbacks: how long a video took to start and to play, and how often it stalled.

The graph (style ``youtube``) draws each line's whole test time, the time to
start playing (setup before loading plus initial buffering) and the time
stalled, in seconds, with the number of stalls on a second axis. A video
is not a site, so there is no matrix tab.
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


def startup(pre: Any, buffering: Any) -> float | None:
    """Seconds until the video played: setup before loading plus initial buffering."""
    if pre is None or buffering is None:
        return None
    return pre + buffering


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
        (Derived("startup", ("pre", "buffering"), startup, "s"),),
    ),
)
