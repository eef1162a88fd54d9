"""HTTP: a page with its objects from two or three other sites' web servers, every 10 minutes.

Each site serves one page at ``https://<site name>/``.
"""

from __future__ import annotations

import math
import random
import socket
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nntsc.demo.model import (
    LINK_CAPACITY_BPS,
    MSS,
    THROUGHPUT_WINDOW_BYTES,
    delay_ms,
    loss_rate,
)
from nntsc.demo.simulators.base import Simulator, pick

if TYPE_CHECKING:
    from nntsc.demo.model import Site

#: (name, extension, smallest, largest size) of the objects a simulated page embeds.
PAGE_OBJECTS = (
    ("style", "css", 2_000, 40_000),
    ("app", "js", 5_000, 250_000),
    ("icon", "png", 1_000, 30_000),
    ("photo", "jpg", 20_000, 400_000),
)


def page_url(site: Site) -> str:
    """The URL of the page a site's web server serves: its host is the site's name.

    So the matrix's HTTP tab puts the fetch in the site's column (a URL's
    column is the site its host names, `ampy.matrix.Metric.destination`).
    """
    return f"https://{site.name}/"


class Http(Simulator):
    test = "http"
    period = 600
    summary = "HTTPS page fetches (with embedded objects) from 2 or 3 other sites"

    @cached_property
    def plan(self) -> tuple[dict[str, list[Site]], dict[str, tuple[int, list[tuple[str, int]]]]]:
        """Whom each source fetches from, and each site's page: its size and embedded objects."""
        setup = self.setup_random()
        targets = {
            src.name: pick(self.mesh, setup, self.mesh.others(src), setup.choice((2, 3)))
            for src in self.mesh.sites
        }
        pages = {}
        for site in self.mesh.sites:
            objects = []
            for number in range(setup.randint(4, 14)):
                name, extension, smallest, largest = setup.choice(PAGE_OBJECTS)
                size = int(math.exp(setup.uniform(math.log(smallest), math.log(largest))))
                objects.append((f"/static/{name}{number}.{extension}", size))
            pages[site.name] = (setup.randint(15_000, 90_000), objects)
        return targets, pages

    def reports_per_run(self) -> int:
        return sum(len(targets) for targets in self.plan[0].values())

    def run(self, src: Site, timestamp: int, rnd: random.Random) -> list[dict[str, Any]]:
        return [self.fetch(src, dst, timestamp, rnd) for dst in self.plan[0][src.name]]

    def fetch(self, src: Site, dst: Site, timestamp: int, rnd: random.Random) -> dict[str, Any]:
        """One page fetch over HTTPS (IPv6 where the server has it), timed as curl does."""
        host = dst.name
        if dst.ipv6:
            family, address = "ipv6", socket.inet_ntop(socket.AF_INET6, dst.ipv6[0])
        else:
            family, address = "ipv4", socket.inet_ntop(socket.AF_INET, dst.ipv4[0])
        pair = self.mesh.pairs[(src.name, dst.name)]
        loss = loss_rate(pair, timestamp)
        rtt = delay_ms(src, pair, family, timestamp, rnd) / 1000
        timeout = max(0.2, 2 * rtt)  # a retransmission timeout
        window_rate = THROUGHPUT_WINDOW_BYTES * 8 / rtt
        bandwidth = min(LINK_CAPACITY_BPS, window_rate) * rnd.uniform(0.2, 0.8)

        def handshake() -> float | None:
            """Seconds until the TCP connection is up; None when every SYN is lost."""
            waited = 0.0
            for backoff in (1.0, 2.0, 4.0):
                if not pair.unreachable and rnd.random() >= loss:
                    return waited + rtt
                waited += backoff
            return None

        def exchange() -> float:
            """One request and its answer, with a timeout when either is lost."""
            return rtt + (timeout if rnd.random() < loss else 0.0)

        def transfer(size: int, cwnd: int) -> tuple[float, int]:
            """Seconds to receive `size` bytes in slow start from `cwnd`; the new cwnd."""
            seconds = size * 8 / bandwidth
            sent = cwnd
            while sent < size:
                seconds += rtt
                if rnd.random() < 1 - (1 - loss) ** (cwnd / MSS):
                    seconds += timeout
                    cwnd = max(2 * MSS, cwnd // 2)
                else:
                    cwnd = min(THROUGHPUT_WINDOW_BYTES, cwnd * 2)
                sent += cwnd
            return seconds, cwnd

        main_size, embedded = self.plan[1][dst.name]
        lookup = rnd.uniform(0.0005, 0.02)
        objects: list[dict[str, Any]] = []

        def record(
            path: str,
            begin: float,
            timings: tuple[float, float, float, float],
            code: int,
            size: int,
            connects: int,
        ) -> float:
            """Add one object; return when it finished (seconds from the test's start)."""
            looked, connected, first_byte, total = timings
            # The page itself is made afresh; what it embeds is kept for a year.
            cache: dict[str, Any] = {"max_age": 0, "no_cache": True}
            if path != "/":
                cache = {"max_age": 31_536_000, "pub": True}
            objects.append(
                {
                    "path": path,
                    "start": round(timestamp + begin, 6),
                    "end": round(timestamp + begin + total, 6),
                    "lookup": round(looked, 6),
                    "connect": round(connected, 6),
                    "start_transfer": round(first_byte, 6),
                    "total_time": round(total, 6),
                    "code": code,
                    "size": size,
                    "connect_count": connects,
                    "cache_headers": cache,
                }
            )
            return begin + total

        connected = handshake()
        if connected is None:
            # Nothing answered: curl gives up on the page after the SYN retries.
            finished = record("/", 0.0, (lookup, 0.0, 0.0, lookup + 7.0), 0, 0, 1)
        else:
            connect = lookup + connected
            # The TLS handshake, then the request; the page is made as it is asked for.
            first_byte = connect + exchange() + exchange() + rnd.uniform(0.005, 0.08)
            size = max(1000, main_size + rnd.randint(-300, 300))
            seconds, cwnd = transfer(size, 10 * MSS)
            finished = record(
                "/", 0.0, (lookup, connect, first_byte, first_byte + seconds), 200, size, 1
            )
            # The embedded objects, over the page's connection and a second one.
            connections: list[list[Any]] = [[finished, cwnd, True], [finished, 10 * MSS, False]]
            for path, size in embedded:
                slot = min(connections, key=lambda c: c[0])
                begin, cwnd, up = slot
                connect, connects, first_byte = 0.0, 0, 0.0
                if not up:
                    new = handshake()
                    if new is None:
                        finished = max(finished, record(path, begin, (0.0, 0.0, 0.0, 7.0), 0, 0, 1))
                        connections.remove(slot)
                        continue
                    # A new connection: TCP, then the TLS handshake.
                    connect, connects = new, 1
                    first_byte = connect + exchange()
                first_byte += exchange() + rnd.uniform(0.0005, 0.005)
                seconds, cwnd = transfer(size, cwnd)
                total = first_byte + seconds
                end = record(path, begin, (0.0, connect, first_byte, total), 200, size, connects)
                slot[:] = [end, cwnd, True]
                finished = max(finished, end)

        fetched = sum(obj["size"] for obj in objects)
        server = {
            "hostname": host,
            "start": round(float(timestamp), 6),
            "end": round(timestamp + finished, 6),
            "address": address,
            "total_bytes": fetched,
            "objects": objects,
        }
        header = {
            "url": page_url(dst),
            "duration": round(finished * 1000),
            "total_bytes": fetched,
            "total_objects": len(objects),
            "max_connections": 24,
            "max_connections_per_server": 8,
            "pipelining_maxrequests": 4,
            "max_persistent_connections_per_server": 2,
            "persist": True,
            "pipelining": False,
            "caching": False,
            "dscp": 0,
            "useragent": "AMP HTTP test agent",
        }
        return {"header": header, "servers": [server]}
