"""UDP stream: 100 packets of 100 bytes every 20 ms, both ways, to one other site, half-hourly."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import AF_INET, delay_ms, loss_rate
from nntsc.demo.simulators.base import PartnerSimulator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nntsc.demo.model import Pair, Site

UDPSTREAM_PACKET_COUNT = 100
UDPSTREAM_PACKET_SIZE = 100
UDPSTREAM_PACKET_SPACING_US = 20_000
UDPSTREAM_RTT_SAMPLES = 10


def nearest_rank_deciles(ordered: Sequence[int]) -> list[int]:
    """The ten deciles of sorted values by nearest rank; the values themselves if fewer."""
    count = len(ordered)
    if count <= 10:
        return list(ordered)
    return [ordered[-(-k * count // 10) - 1] for k in range(1, 11)]


def voip_scores(one_way_ms: float, loss_percent: float) -> dict[str, Any]:
    """ITU-T G.107 E-model rating and MOS of a G.711 call (and Cisco's ICPIF) for a path."""
    delay_impairment = 0.024 * one_way_ms
    if one_way_ms > 177.3:
        delay_impairment += 0.11 * (one_way_ms - 177.3)
    loss_impairment = 95 * loss_percent / (loss_percent + 25.1)
    rating = 93.2 - delay_impairment - loss_impairment

    def mos(r: float) -> float:
        if r <= 0:
            return 1.0
        if r >= 100:
            return 4.5
        return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)

    icpif = round(delay_impairment + loss_impairment)
    return {
        "icpif": icpif,
        "cisco_mos": round(mos(100 - icpif), 3),
        "itu_rating": round(rating, 3),
        "itu_mos": round(mos(rating), 3),
    }


class UdpStream(PartnerSimulator):
    test = "udpstream"
    period = 1800
    summary = "UDP streams (delay variation, loss, MOS) both ways to one other site"

    def report(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        """A stream out (monitor to server), then one in; a report without items could not run."""
        pair = self.mesh.pairs[(src.name, dst.name)]
        loss = loss_rate(pair, timestamp)
        header = {
            "address": dst.ipv4[0],
            "family": AF_INET,
            "packet_size": UDPSTREAM_PACKET_SIZE,
            "packet_spacing": UDPSTREAM_PACKET_SPACING_US,
            "packet_count": UDPSTREAM_PACKET_COUNT,
            "name": dst.name,
            "dscp": 0,
            "rtt_samples": UDPSTREAM_RTT_SAMPLES,
        }
        items = []
        if not pair.unreachable and rnd.random() >= loss**3:
            for direction in (2, 1):
                items.append(self.direction(src, pair, timestamp, rnd, direction, loss))
        return {"header": header, "reports": items}

    @staticmethod
    def direction(
        src: Site,
        pair: Pair,
        timestamp: int,
        rnd: random.Random,
        direction: int,
        loss: float,
    ) -> dict[str, Any]:
        """What the receiver of one direction saw; rtt and MOS for the stream in (1) only."""
        base_ms = delay_ms(src, pair, "ipv4", timestamp, rnd, jitter=False) / 2
        delays = []  # one-way delays (us) of the packets that arrived, in sending order
        periods: list[dict[str, Any]] = []
        lost = False
        for _ in range(UDPSTREAM_PACKET_COUNT):
            # Losses come in runs: a lost packet makes the next one likelier to go too.
            lost = rnd.random() < (max(loss, 0.3) if lost else loss)
            if not lost:
                delay = base_ms + rnd.lognormvariate(0, 0.6) * pair.jitter_ms / 2
                delays.append(int(delay * 1000))
            status = 0 if lost else 1
            if periods and periods[-1]["status"] == status:
                periods[-1]["length"] += 1
            else:
                periods.append({"status": status, "length": 1})
        received = len(delays)
        item: dict[str, Any] = {
            "direction": direction,
            "percentiles": [],
            "packets_received": received,
            "loss_periods": periods,
            "loss_percent": 100 * (UDPSTREAM_PACKET_COUNT - received) / UDPSTREAM_PACKET_COUNT,
        }
        if direction == 1:
            rtts = [
                int(delay_ms(src, pair, "ipv4", timestamp, rnd) * 1000)
                for _ in range(UDPSTREAM_RTT_SAMPLES)
                if rnd.random() >= loss
            ]
            if rtts:
                item["rtt"] = {
                    "maximum": max(rtts),
                    "minimum": min(rtts),
                    "mean": round(sum(rtts) / len(rtts)),
                    "samples": len(rtts),
                }
        variations = [later - earlier for earlier, later in pairwise(delays)]
        if variations:
            item["jitter"] = {
                "maximum": max(variations),
                "minimum": min(variations),
                "mean": round(sum(variations) / len(variations)),
                "samples": len(variations),
            }
            item["percentiles"] = nearest_rank_deciles(sorted(variations))
        if direction == 1 and received:
            one_way_ms = sum(delays) / received / 1000
            item["voip"] = voip_scores(one_way_ms, item["loss_percent"])
        return item
