"""SIP: a 30-second call to one other site's echo service, every half hour.

Each site answers SIP at ``sip:echo@<site name>``, so the matrix's SIP tab
puts the call in the site's column. The audio flows both ways at 50 packets
a second; each direction's loss and one-way delay give its MOS.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import AF_INET, delay_ms, loss_rate
from nntsc.demo.simulators.base import PartnerSimulator
from nntsc.demo.simulators.udpstream import voip_scores

if TYPE_CHECKING:
    from nntsc.demo.model import Pair, Site

CALL_SECONDS = 30
PACKETS_PER_SECOND = 50
RTP_PAYLOAD = 160
AUDIO_FILE = "sip-test-8000.wav"


def sip_uri(site: Site) -> str:
    """The URI a site answers calls at: its host is the site's name."""
    return f"sip:echo@{site.name}"


class Sip(PartnerSimulator):
    test = "sip"
    period = 1800
    summary = "30-second SIP calls (setup, rtt, RTP loss, MOS both ways) to one other site"

    def report(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        pair = self.mesh.pairs[(src.name, dst.name)]
        header = {
            "uri": sip_uri(dst),
            "hostname": dst.name,
            "useragent": "AMP SIP test agent",
            "filename": AUDIO_FILE,
            "max_duration": CALL_SECONDS,
            "proxy": [],
            "repeat": True,
            "dscp": 0,
            "address": dst.ipv4[0],
            "family": AF_INET,
        }
        if pair.unreachable:
            # No answer: the call never connected, so there is nothing to report.
            return {"header": header, "reports": []}
        rtts = [int(delay_ms(src, pair, "ipv4", timestamp, rnd) * 1000) for _ in range(10)]
        rtt_mean = sum(rtts) / len(rtts)
        response = int(rtt_mean + rnd.uniform(2_000, 20_000))
        connected = response + int(2 * rtt_mean + rnd.uniform(5_000, 60_000))
        item = {
            "time_till_first_response": response,
            "time_till_connected": connected,
            "duration": connected + CALL_SECONDS * 1_000_000 + int(rtt_mean),
            "rtt": {
                "maximum": max(rtts),
                "minimum": min(rtts),
                "mean": round(rtt_mean),
                "sd": round((sum((r - rtt_mean) ** 2 for r in rtts) / len(rtts)) ** 0.5),
            },
            "rx": self.stream(pair, timestamp, rnd, rtt_mean),
            "tx": self.stream(pair, timestamp, rnd, rtt_mean),
        }
        return {"header": header, "reports": [item]}

    @staticmethod
    def stream(pair: Pair, timestamp: int, rnd: random.Random, rtt_us: float) -> dict[str, Any]:
        """One direction's RTP counts, jitter and voice quality."""
        sent = CALL_SECONDS * PACKETS_PER_SECOND
        loss = loss_rate(pair, timestamp)
        lost = sum(1 for _ in range(sent) if rnd.random() < loss)
        received = sent - lost
        jitter = max(0, int(rnd.lognormvariate(0, 0.5) * pair.jitter_ms * 1000))
        return {
            "packets": received,
            "bytes": received * RTP_PAYLOAD,
            "lost": lost,
            "discarded": 0,
            "reordered": sum(1 for _ in range(3) if rnd.random() < 0.05),
            "duplicated": 0,
            "jitter": {"maximum": jitter * 4, "minimum": 0, "mean": jitter, "sd": jitter // 2},
            "mos": voip_scores(rtt_us / 2000, 100 * lost / sent),
        }
