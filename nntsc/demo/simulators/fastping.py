"""Fastping: a burst of 100 echoes at 20 a second to one other site, every 15 minutes."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import AF_INET, delay_ms, loss_rate
from nntsc.demo.simulators.base import PartnerSimulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

FASTPING_COUNT = 100
FASTPING_RATE = 20
FASTPING_SIZE = 64
#: The percentiles amplet2 reports, in its order.
PERCENTILE_POINTS = (0, 0.1, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9, 100)


def percentiles(ordered: list[int]) -> list[int]:
    """amplet2's percentiles of sorted values: value number ``floor(p / 100 * n)``, capped."""
    count = len(ordered)
    return [ordered[min(count - 1, int(point / 100 * count))] for point in PERCENTILE_POINTS]


def summary(values: list[int], with_percentiles: bool) -> dict[str, Any]:
    """Minimum, maximum, mean, standard deviation and count (and percentiles) of values."""
    count = len(values)
    mean = sum(values) / count
    return {
        "maximum": max(values),
        "minimum": min(values),
        "mean": round(mean),
        "samples": count,
        "sd": round((sum((v - mean) ** 2 for v in values) / count) ** 0.5),
        "percentiles": percentiles(sorted(values)) if with_percentiles else [],
    }


class Fastping(PartnerSimulator):
    test = "fastping"
    period = 900
    summary = "bursts of 100 ICMP echoes at 20 a second to one other site"

    def report(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        pair = self.mesh.pairs[(src.name, dst.name)]
        loss = loss_rate(pair, timestamp)
        header = {
            "address": dst.ipv4[0],
            "family": AF_INET,
            "name": dst.name,
            "count": FASTPING_COUNT,
            "rate": FASTPING_RATE,
            "size": FASTPING_SIZE,
            "preprobe": False,
            "dscp": 0,
        }
        rtts = []
        if not pair.unreachable:
            rtts = [
                max(1, int(delay_ms(src, pair, "ipv4", timestamp, rnd) * 1000))
                for _ in range(FASTPING_COUNT)
                if rnd.random() >= loss
            ]
        item: dict[str, Any] = {
            "runtime": int(FASTPING_COUNT / FASTPING_RATE * 1_000_000) + rnd.randint(0, 50_000)
        }
        if rtts:
            item["rtt"] = summary(rtts, True)
            if len(rtts) > 1:
                item["jitter"] = summary([b - a for a, b in pairwise(rtts)], True)
        return {"header": header, "reports": [item]}
