"""TCP ping: a SYN to port 443 of every address of every other site, every mesh interval."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import addresses, delay_ms, loss_rate
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

TCPPING_PORT = 443
#: The flags of the SYN-ACK that answers.
SYN_ACK = {"fin": False, "syn": True, "rst": False, "psh": False, "ack": True, "urg": False}


class TcpPing(Simulator):
    test = "tcpping"
    period = None
    summary = "TCP SYN round trips to port 443 of every address of every other site"

    def reports_per_run(self) -> int:
        return sum(1 for src in self.mesh.sites if self.mesh.others(src))

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        items = []
        for dst in self.mesh.others(src):
            pair = self.mesh.pairs[(src.name, dst.name)]
            for family, address, af in addresses(dst):
                item: dict[str, Any] = {"address": address, "family": af, "name": dst.name}
                if not pair.unreachable and rnd.random() >= loss_rate(pair, timestamp):
                    # The SYN-ACK comes from the kernel: a touch slower than an echo reply.
                    rtt = delay_ms(src, pair, family, timestamp, rnd)
                    rtt += rnd.uniform(0.02, 0.25)
                    item["rtt"] = max(1, int(rtt * 1000))
                    item["flags"] = dict(SYN_ACK)
                items.append(item)
        if not items:
            return []  # a mesh of one site: nothing to probe
        header = {"packet_size": 64, "random": False, "port": TCPPING_PORT, "dscp": 0}
        return [{"header": header, "reports": items}]
