"""The registry of collections: one module per measurement type."""

from __future__ import annotations

from nntsc.collections.amp_dns import AmpDns
from nntsc.collections.amp_external import AmpExternal
from nntsc.collections.amp_fastping import AmpFastping
from nntsc.collections.amp_http import AmpHttp
from nntsc.collections.amp_icmp import AmpIcmp
from nntsc.collections.amp_sip import AmpSip
from nntsc.collections.amp_tcpping import AmpTcpping
from nntsc.collections.amp_throughput import AmpThroughput
from nntsc.collections.amp_traceroute import AmpAsTraceroute, AmpTraceroute
from nntsc.collections.amp_udpstream import AmpUdpstream
from nntsc.collections.amp_youtube import AmpYoutube
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property, Row
from nntsc.collections.fileops import FileOps
from nntsc.errors import UnknownCollection

__all__ = [
    "Collection",
    "Detection",
    "Field",
    "ParsedRow",
    "Property",
    "Row",
    "all_collections",
    "changes",
    "for_amp_test",
    "get",
    "register",
    "unregister",
]

_REGISTRY: dict[str, Collection] = {
    c.name: c
    for c in (
        AmpIcmp(),
        AmpTcpping(),
        AmpDns(),
        AmpHttp(),
        AmpThroughput(),
        AmpUdpstream(),
        AmpTraceroute(),
        AmpAsTraceroute(),
        AmpYoutube(),
        AmpFastping(),
        AmpExternal(),
        AmpSip(),
        FileOps(),
    )
}


#: How many times the registry has changed (`changes`).
_CHANGES = 0


def changes() -> int:
    """A number that changes whenever a collection is registered or forgotten: what is
    computed from the registry can be kept until it does."""
    return _CHANGES


def all_collections() -> list[Collection]:
    """Every registered collection, in a stable order."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


_BY_TEST: dict[str, tuple[Collection, ...]] = {}


def register(collection: Collection) -> None:
    """Add `collection` at run time (a test's own collection, or a plugin's).

    Its tables join the metadata through `nntsc.store.models.define_tables`;
    the shipped collections are listed above instead.
    """
    global _CHANGES
    _REGISTRY[collection.name] = collection
    _BY_TEST.clear()
    _CHANGES += 1


def unregister(name: str) -> None:
    """Forget a collection added by `register`."""
    global _CHANGES
    _REGISTRY.pop(name, None)
    _BY_TEST.clear()
    _CHANGES += 1


def get(name: str) -> Collection:
    """The collection called `name`; raises `UnknownCollection`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCollection(name) from None


def for_amp_test(test_type: str) -> tuple[Collection, ...]:
    """The collections fed by amplet2 reports of `test_type` (empty if none)."""
    found = _BY_TEST.get(test_type)
    if found is None:
        found = tuple(c for c in all_collections() if c.amp_test == test_type)
        if found:
            _BY_TEST[test_type] = found
    return found
