"""DNS: each other site's name server for its own name, and a public resolver, recursively."""

from __future__ import annotations

import random
import socket
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import AF_INET, BASE_LOSS, addresses, delay_ms, loss_rate
from nntsc.demo.simulators.base import Simulator

if TYPE_CHECKING:
    from nntsc.demo.model import Site

#: The public resolver every source also asks, recursively, and what it asks.
DNS_RESOLVER = "8.8.8.8"
DNS_RECURSIVE_QUERY = "www.example.com"
DNS_UDP_PAYLOAD_SIZE = 4096


def dns_query_length(query: str) -> int:
    """Bytes of a DNS query for `query` with an EDNS0 OPT record, as amplet2 sends it."""
    name = sum(len(label) + 1 for label in query.split(".") if label) + 1
    return 12 + name + 4 + 11


def dns_header(query: str, recurse: bool) -> dict[str, Any]:
    return {
        "query_type": 1,
        "query_class": 1,
        "udp_payload_size": DNS_UDP_PAYLOAD_SIZE,
        "recurse": recurse,
        "dnssec": False,
        "nsid": False,
        "query": query,
        "dscp": 0,
    }


def dns_flags(authoritative: bool) -> dict[str, Any]:
    return {
        "qr": True,
        "opcode": 0,
        "aa": authoritative,
        "tc": False,
        "rd": not authoritative,
        "ra": not authoritative,
        "z": False,
        "ad": False,
        "cd": False,
        "rcode": 0,
    }


class Dns(Simulator):
    test = "dns"
    period = 300
    summary = "DNS queries to each other site's name server and to a public resolver"

    @cached_property
    def resolver_ms(self) -> dict[str, float]:
        """Per source, the round trip to its instance of the (anycast) public resolver."""
        setup = self.setup_random()
        # The public resolver is anycast: a nearby instance, a few to 25 ms away.
        return {src.name: setup.uniform(1.5, 25) for src in self.mesh.sites}

    def reports_per_run(self) -> int:
        return sum(len(self.mesh.others(src)) + 1 for src in self.mesh.sites)

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        """One report per query: each other site's name server, then the public resolver."""
        reports = []
        for dst in self.mesh.others(src):
            query = f"www.{dst.name}.example"
            length = dns_query_length(query)
            pair = self.mesh.pairs[(src.name, dst.name)]
            items = []
            for family, address, af in addresses(dst):
                item: dict[str, Any] = {
                    "address": address,
                    "family": af,
                    "query_length": length,
                    "name": dst.name,
                }
                if not pair.unreachable and rnd.random() >= loss_rate(pair, timestamp):
                    # One round trip plus a moment for the server to look the name up.
                    rtt = delay_ms(src, pair, family, timestamp, rnd)
                    rtt += rnd.uniform(0.03, 0.4)
                    item.update(
                        rtt=max(1, int(rtt * 1000)),
                        # The A record, an NS record for the zone and its glue (and OPT).
                        response_size=length + 16 + 17 + 16,
                        total_answer=1,
                        total_authority=1,
                        total_additional=2,
                        flags=dns_flags(authoritative=True),
                    )
                items.append(item)
            reports.append({"header": dns_header(query, recurse=False), "reports": items})

        length = dns_query_length(DNS_RECURSIVE_QUERY)
        item = {
            "address": socket.inet_pton(socket.AF_INET, DNS_RESOLVER),
            "family": AF_INET,
            "query_length": length,
            "name": DNS_RESOLVER,
        }
        if rnd.random() >= BASE_LOSS:
            rtt = self.resolver_ms[src.name] * rnd.uniform(0.95, 1.1)
            rtt += rnd.lognormvariate(0, 0.6) * 0.3
            if rnd.random() < 0.1:
                rtt += rnd.uniform(10, 150)  # not cached: the resolver asks upstream first
            item.update(
                rtt=max(1, int(rtt * 1000)),
                response_size=length + 16,
                total_answer=1,
                total_authority=0,
                total_additional=1,
                flags=dns_flags(authoritative=False),
            )
        reports.append({"header": dns_header(DNS_RECURSIVE_QUERY, recurse=True), "reports": [item]})
        return reports
