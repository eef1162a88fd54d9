"""The demo: a simulated AMP mesh, its sites, and a synthetic busy host for the sysdig pages.

- `model`: the simulated network (sites, the pairs' delay and loss model);
- `routes`: its routes, hops and AS numbers (for traceroute);
- `simulators`: one `Simulator` per amplet2 test, in one registry;
- `mesh`: `SimulatedMesh`, which runs the simulators over a time range;
- `sites`: the demo's sites and meshes as the site registry describes them;
- `feed`: keeps a served demo fed with fresh reports (`nntsc demo-feed`);
- `busy_host`: a synthetic sysdig log of a busy server.

The names below are those the rest of the project (and its tests) import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh
    from nntsc.demo.model import AF_INET, AF_INET6, PLACES, Pair, Site, distance_km
    from nntsc.demo.routes import (
        AS_PRIVATE,
        AS_UNKNOWN,
        SITE_ASN_BASE,
        TRANSIT_ASNS,
        Route,
        TraceHop,
    )
    from nntsc.demo.simulators import ALL_TESTS, SIMULATORS, TEST_PERIODS, Simulator
    from nntsc.demo.simulators.dns import DNS_RECURSIVE_QUERY, DNS_RESOLVER
    from nntsc.demo.sites import (
        DEMO_MONITOR_MESH,
        DEMO_TARGET_MESH,
        PLACE_NAMES,
        demo_site,
        demo_sites_and_meshes,
    )

#: Where each name lives. Imported when first asked for, so that the light parts (the
#: simulators' registry, which the CLI's help reads) do not load the site registry's store.
_HOMES = {
    "SimulatedMesh": "mesh",
    **dict.fromkeys(("AF_INET", "AF_INET6", "PLACES", "Pair", "Site", "distance_km"), "model"),
    **dict.fromkeys(
        ("AS_PRIVATE", "AS_UNKNOWN", "SITE_ASN_BASE", "TRANSIT_ASNS", "Route", "TraceHop"),
        "routes",
    ),
    **dict.fromkeys(("ALL_TESTS", "SIMULATORS", "TEST_PERIODS", "Simulator"), "simulators"),
    **dict.fromkeys(("DNS_RECURSIVE_QUERY", "DNS_RESOLVER"), "simulators.dns"),
    **dict.fromkeys(
        (
            "DEMO_MONITOR_MESH",
            "DEMO_TARGET_MESH",
            "PLACE_NAMES",
            "demo_site",
            "demo_sites_and_meshes",
        ),
        "sites",
    ),
}


def __getattr__(name: str) -> Any:
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "AF_INET",
    "AF_INET6",
    "ALL_TESTS",
    "AS_PRIVATE",
    "AS_UNKNOWN",
    "DEMO_MONITOR_MESH",
    "DEMO_TARGET_MESH",
    "DNS_RECURSIVE_QUERY",
    "DNS_RESOLVER",
    "PLACES",
    "PLACE_NAMES",
    "SIMULATORS",
    "SITE_ASN_BASE",
    "TEST_PERIODS",
    "TRANSIT_ASNS",
    "Pair",
    "Route",
    "SimulatedMesh",
    "Simulator",
    "Site",
    "TraceHop",
    "demo_site",
    "demo_sites_and_meshes",
    "distance_km",
]
