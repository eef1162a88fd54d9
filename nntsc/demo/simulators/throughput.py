"""Throughput: "t10000,T10000" (ten seconds in, ten out) to one or two other sites, hourly."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import (
    AF_INET,
    BASE_LOSS,
    LINK_CAPACITY_BPS,
    MSS,
    THROUGHPUT_WINDOW_BYTES,
    delay_ms,
    load,
    loss_rate,
)
from nntsc.demo.simulators.base import PartnerSimulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

THROUGHPUT_SCHEDULE = "t10000,T10000"
THROUGHPUT_WRITE_SIZE = 131072


class Throughput(PartnerSimulator):
    test = "throughput"
    period = 3600
    summary = "TCP throughput, 10 s each way, to 1 or 2 other sites"

    partners = (1, 2)

    def report(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        """Ten seconds in (server to monitor), then ten out, over IPv4.

        A transfer moves one 4 MB window per round trip, at most the 1 Gbit/s
        link less a little for the busy hours; in a loss burst TCP's rate
        falls to about MSS / rtt * 1.22 / sqrt(loss) (Mathis et al.). A
        report without items is a run that could not connect.
        """
        pair = self.mesh.pairs[(src.name, dst.name)]
        loss = loss_rate(pair, timestamp)
        header = {
            "address": dst.ipv4[0],
            "family": AF_INET,
            "schedule": THROUGHPUT_SCHEDULE,
            "write_size": THROUGHPUT_WRITE_SIZE,
            "name": dst.name,
            "dscp": 0,
            "protocol": 0,
        }
        items = []
        if not pair.unreachable and rnd.random() >= loss**3:
            for direction in (1, 2):  # t10000 is server to client, T10000 client to server
                rtt_ms = delay_ms(src, pair, "ipv4", timestamp, rnd)
                rtt = rtt_ms / 1000
                rate = min(LINK_CAPACITY_BPS, THROUGHPUT_WINDOW_BYTES * 8 / rtt)
                rate *= rnd.uniform(0.85, 0.97) * (1 - 0.25 * load(src, timestamp))
                if loss > BASE_LOSS:
                    mathis = MSS * 8 / rtt * 1.22 / math.sqrt(loss)
                    rate = min(rate, mathis * rnd.uniform(0.7, 1.1))
                duration = 10 * 10**9 + int(rnd.uniform(0.5, 2.0) * rtt * 1e9)
                size = max(MSS, int(rate * duration / 8e9))
                if loss > BASE_LOSS:
                    retransmits = int(size / MSS * loss * rnd.uniform(0.5, 1.5))
                else:
                    retransmits = rnd.randint(0, 40)
                floor_us = int(pair.base_ms["ipv4"] * 1000)
                items.append(
                    {
                        "duration": duration,
                        "bytes": size,
                        "direction": direction,
                        "tcpinfo": {
                            "delivery_rate": int(rate / 8 * rnd.uniform(0.95, 1.08)),
                            "total_retrans": retransmits,
                            # Under load the queue at the bottleneck adds to the round trip.
                            "rtt": int(rtt_ms * 1000 * rnd.uniform(1.05, 1.5)),
                            "rttvar": int(pair.jitter_ms * 1000 * rnd.uniform(0.5, 2.0)) + 50,
                            "busy_time": duration // 1000,
                            "min_rtt": min(floor_us, int(rtt_ms * 1000)),
                        },
                    }
                )
        return {"header": header, "reports": items}
