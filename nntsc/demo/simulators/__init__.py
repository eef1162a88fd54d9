"""The simulated amplet2 tests: one `Simulator` per test, in one registry.

`SIMULATORS` maps each test's name to its class, in the order in which the
reports of one instant are yielded; `nntsc demo-data --help`, `bin/demo.sh`
(through ``python -m nntsc.demo.simulators``) and `SimulatedMesh` read it.
A new simulated test is a module here with one `Simulator` subclass, added
to `SIMULATORS`.
"""

from __future__ import annotations

from nntsc.demo.simulators.base import Simulator
from nntsc.demo.simulators.dns import Dns
from nntsc.demo.simulators.external import External
from nntsc.demo.simulators.fastping import Fastping
from nntsc.demo.simulators.http import Http
from nntsc.demo.simulators.icmp import Icmp
from nntsc.demo.simulators.sip import Sip
from nntsc.demo.simulators.tcpping import TcpPing
from nntsc.demo.simulators.throughput import Throughput
from nntsc.demo.simulators.traceroute import Traceroute
from nntsc.demo.simulators.udpstream import UdpStream
from nntsc.demo.simulators.youtube import Youtube

SIMULATORS: dict[str, type[Simulator]] = {
    cls.test: cls
    for cls in (
        Icmp,
        TcpPing,
        Dns,
        Http,
        Throughput,
        UdpStream,
        Traceroute,
        Fastping,
        Youtube,
        External,
        Sip,
    )
}
#: The amplet2 tests `SimulatedMesh.test_reports` runs, in the order in which
#: the reports of one instant are yielded.
ALL_TESTS: tuple[str, ...] = tuple(SIMULATORS)
#: Seconds between two runs of a test at one source; ``None`` is the mesh's interval.
TEST_PERIODS: dict[str, int | None] = {name: cls.period for name, cls in SIMULATORS.items()}

__all__ = ["ALL_TESTS", "SIMULATORS", "TEST_PERIODS", "Simulator"]
