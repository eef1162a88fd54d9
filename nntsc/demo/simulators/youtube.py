"""YouTube: each site plays one of two videos for 30 seconds, hourly.

Setup and buffering grow with the source's load; busy hours bring stalls.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import load
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

VIDEOS = ("M7lc1UVf-VE", "aqz-KE-bpKQ")
#: amplet2's quality numbers: 1 is the player's default, 5 is hd720.
QUALITY_DEFAULT = 1
QUALITY_HD720 = 5
PLAY_SECONDS = 30


class Youtube(Simulator):
    test = "youtube"
    period = 3600
    summary = "a YouTube video played for 30 seconds (setup, buffering, stalls)"

    @cached_property
    def plan(self) -> dict[str, tuple[str, int, float]]:
        """Per source: its video, the quality it asks for, and how slow its access is."""
        setup = self.setup_random()
        return {
            src.name: (
                setup.choice(VIDEOS),
                setup.choice((QUALITY_DEFAULT, QUALITY_HD720)),
                setup.uniform(0.6, 2.0),
            )
            for src in self.mesh.sites
        }

    def reports_per_run(self) -> int:
        return len(self.mesh.sites)

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        video, quality, slowness = self.plan[src.name]
        busy = load(src, timestamp)
        header = {"video": video, "quality": quality, "dscp": 0, "maxruntime": PLAY_SECONDS}
        pre = int((600 + 400 * rnd.random()) * slowness)
        buffering = int((250 + 900 * busy * rnd.random()) * slowness)
        stalls = sum(1 for _ in range(3) if rnd.random() < 0.08 * busy * slowness)
        stalled = sum(int(rnd.uniform(300, 2500) * slowness) for _ in range(stalls))
        playing = PLAY_SECONDS * 1000
        item = {
            "title": f"Demo video {video}",
            "quality": quality if quality != QUALITY_DEFAULT else QUALITY_HD720,
            "initial_buffering": buffering,
            "playing_time": playing,
            "stall_time": stalled,
            "stall_count": stalls,
            "total_time": pre + buffering + playing + stalled,
            "pre_time": pre,
            "reported_duration": 212,
            "timeline": [],
        }
        return [{"header": header, "item": item}]
