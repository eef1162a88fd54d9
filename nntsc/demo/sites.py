"""The demo's sites and meshes, as the site registry describes them to people."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from nntsc.demo.simulators.dns import DNS_RECURSIVE_QUERY, DNS_RESOLVER
from nntsc.store.sites import MeshInfo, SiteInfo

if TYPE_CHECKING:
    from nntsc.demo.mesh import SimulatedMesh
    from nntsc.demo.model import Site

#: The city and country of each of `PLACES`, to describe the demo's sites to people.
PLACE_NAMES: dict[str, tuple[str, str]] = {
    "amp-akl": ("Auckland", "New Zealand"),
    "amp-wlg": ("Wellington", "New Zealand"),
    "amp-chc": ("Christchurch", "New Zealand"),
    "amp-syd": ("Sydney", "Australia"),
    "amp-sin": ("Singapore", "Singapore"),
    "amp-tyo": ("Tokyo", "Japan"),
    "amp-lax": ("Los Angeles", "United States"),
    "amp-sjc": ("San Jose", "United States"),
    "amp-nyc": ("New York", "United States"),
    "amp-lon": ("London", "United Kingdom"),
    "amp-fra": ("Frankfurt", "Germany"),
    "amp-ams": ("Amsterdam", "Netherlands"),
    "amp-hkg": ("Hong Kong", "China"),
    "amp-sao": ("São Paulo", "Brazil"),
    "amp-jnb": ("Johannesburg", "South Africa"),
    "amp-per": ("Perth", "Australia"),
    "amp-ord": ("Chicago", "United States"),
    "amp-sea": ("Seattle", "United States"),
}
#: The demo's meshes: the simulated amplets, and everything they test.
DEMO_MONITOR_MESH = "demo-monitors"
DEMO_TARGET_MESH = "demo-targets"


def demo_site(site: Site) -> SiteInfo:
    """How the site registry describes one simulated amplet: names, place and addresses."""
    if site.name in PLACE_NAMES:
        city, country = PLACE_NAMES[site.name]
        long_name, location = f"{city} amplet", f"{city}, {country}"
    else:
        number = site.name.removeprefix("amp-site")
        long_name = f"Simulated amplet {number}"
        north = f"{abs(site.latitude):.2f}°{'N' if site.latitude >= 0 else 'S'}"
        east = f"{abs(site.longitude):.2f}°{'E' if site.longitude >= 0 else 'W'}"
        location = f"{north}, {east}"
    return SiteInfo(
        name=site.name,
        long_name=long_name,
        location=location,
        description="A simulated AMP monitor of the demo mesh; it tests every other site.",
        addresses=tuple(str(ipaddress.ip_address(packed)) for packed in site.ipv4 + site.ipv6),
    )


def demo_sites_and_meshes(mesh: SimulatedMesh) -> tuple[list[SiteInfo], list[MeshInfo]]:
    """The sites and meshes of the simulated mesh, for `SiteRegistry.save_all`.

    Every amplet is a site, and so is the public DNS resolver they all query
    (named by its address, as the DNS reports name it). The monitor mesh holds
    the amplets, as both matrix sources and destinations; the target mesh holds
    everything they test, the amplets and the resolver, as destinations. The
    same mesh gives the same definitions, so loading them twice changes nothing.
    """
    monitors = [demo_site(site) for site in mesh.sites]
    resolver = SiteInfo(
        name=DNS_RESOLVER,
        long_name="Public DNS resolver",
        location="Anycast",
        description=f"The public resolver the amplets ask for {DNS_RECURSIVE_QUERY}.",
        addresses=(DNS_RESOLVER,),
    )
    monitor_names = tuple(sorted(site.name for site in monitors))
    meshes = [
        MeshInfo(
            name=DEMO_MONITOR_MESH,
            long_name="Demo monitors",
            description="The simulated amplets, which test one another.",
            is_source=True,
            is_destination=True,
            members=monitor_names,
        ),
        MeshInfo(
            name=DEMO_TARGET_MESH,
            long_name="Demo targets",
            description="Everything the simulated amplets test: one another and a DNS resolver.",
            is_destination=True,
            members=tuple(sorted((*monitor_names, resolver.name))),
        ),
    ]
    return [*monitors, resolver], meshes
