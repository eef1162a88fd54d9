"""The demo's test schedules: what each simulated amplet would be told to run.

The tests every amplet runs alike towards the same destinations are items of
the monitor mesh (`DEMO_MONITOR_MESH`), staggered between its members; those
whose simulator picks partners per source (throughput, UDP stream, HTTP,
SIP, ...) are items of each site, towards the partners the simulator picked,
so that `/yaml/<site>` says what that site's simulated reports come from.
Frequencies are the simulators' periods (the mesh's interval for those that
run every interval).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from nntsc.demo.simulators import SIMULATORS
from nntsc.demo.simulators.base import PartnerSimulator
from nntsc.demo.simulators.dns import DNS_RECURSIVE_QUERY, DNS_RESOLVER
from nntsc.demo.simulators.external import COMMAND
from nntsc.demo.simulators.http import page_url
from nntsc.demo.simulators.sip import sip_uri
from nntsc.demo.sites import DEMO_MONITOR_MESH
from nntsc.schedules.options import TESTS

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh
    from nntsc.demo.model import Site
    from nntsc.demo.simulators import Simulator
    from nntsc.schedules.registry import ScheduleRegistry

#: Arguments of the tests every amplet runs alike, and their destinations
#: (``None``: the monitor mesh).
MESH_TESTS: dict[str, tuple[str, str | None]] = {
    "icmp": ("-s 84", None),
    "tcpping": ("-P 443 -s 64", None),
    "traceroute": ("-a", None),
    "dns": (f"-q {DNS_RECURSIVE_QUERY} -r", DNS_RESOLVER),
}
#: Seconds between one member starting a mesh item and the next.
MESH_OFFSET = 2


#: Arguments of a source's item towards a partner `dst`, for the tests whose
#: simulator picks partners per source (the server of http and sip is in them).
PARTNER_ARGS: dict[str, Callable[[Site], str]] = {
    "http": lambda dst: f"-u {page_url(dst)}",
    "sip": lambda dst: f"-u {sip_uri(dst)}",
    "throughput": lambda dst: "-t 10",
    "udpstream": lambda dst: "-n 100 -z 100 -D 20000",
    "fastping": lambda dst: "-c 100 -r 20",
}


def _args(test: str, dst: Site) -> str:
    return PARTNER_ARGS.get(test, lambda dst: "")(dst)


def _site_items(test: str, simulator: Simulator, src: Site, frequency: int) -> list[dict[str, Any]]:
    """`src`'s own items for `test`: one towards its partners, or one per partner's server."""
    partners: list[Site]
    if isinstance(simulator, PartnerSimulator):
        partners = simulator.targets[src.name]
    elif test == "http":
        partners = simulator.plan[0][src.name]  # type: ignore[attr-defined]
    else:
        partners = []
    if test == "youtube":
        video = simulator.plan[src.name][0]  # type: ignore[attr-defined]
        return [{"test": test, "frequency": frequency, "args": f"-y {video} -t 30"}]
    if test == "external":
        return [{"test": test, "frequency": frequency, "args": f"-c {COMMAND}"}]
    if not TESTS[test].has_targets:
        return [
            {"test": test, "frequency": frequency, "args": _args(test, dst)} for dst in partners
        ]
    if not partners:
        return []
    return [
        {
            "test": test,
            "frequency": frequency,
            "args": _args(test, partners[0]),
            "destination_sites": sorted(dst.name for dst in partners),
        }
    ]


def demo_schedules(
    mesh: SimulatedMesh, tests: Iterable[str]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The monitor mesh's items and each site's own, for the simulated `tests`.

    Items are `ScheduleRegistry.create_item` keyword arguments; tests the
    schedule option table does not know are left out.
    """
    mesh_items: list[dict[str, Any]] = []
    site_items: dict[str, list[dict[str, Any]]] = {site.name: [] for site in mesh.sites}
    for test in tests:
        if test not in TESTS or test not in SIMULATORS:
            continue
        cls = SIMULATORS[test]
        frequency = cls.period or mesh.interval
        if test in MESH_TESTS:
            args, destination = MESH_TESTS[test]
            destinations: dict[str, list[str]] = (
                {"destination_meshes": [DEMO_MONITOR_MESH]}
                if destination is None
                else {"destination_sites": [destination]}
            )
            mesh_items.append(
                {
                    "test": test,
                    "frequency": frequency,
                    "args": args,
                    "mesh_offset": MESH_OFFSET,
                    **destinations,
                }
            )
            continue
        simulator = cls(mesh)
        for src in mesh.sites:
            site_items[src.name].extend(_site_items(test, simulator, src, frequency))
    return mesh_items, site_items


def save_demo_schedules(
    registry: ScheduleRegistry, mesh: SimulatedMesh, tests: Iterable[str]
) -> None:
    """Store the demo's schedules (after its sites and meshes); the same twice changes nothing."""
    mesh_items, site_items = demo_schedules(mesh, tests)
    registry.save_items("mesh", DEMO_MONITOR_MESH, mesh_items)
    for site, items in site_items.items():
        registry.save_items("site", site, items)
